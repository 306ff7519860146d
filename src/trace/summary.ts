// The numbers of a merged trace: per rank, the compute / communication / idle split of its wall time, messages
// and bytes; over the job, the busiest kernels. Computed from the Chrome events alone, so any merged file works.
import type { ChromeEvent, KernelStat, RankInfo, RankSummary, TraceSummary } from './format.js';

/** Total length of the union of intervals [s, e). */
export function unionLength(iv: [number, number][]): number {
  const s = [...iv].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cs = -Infinity;
  let ce = -Infinity;
  for (const [a, b] of s) {
    if (a > ce) {
      if (ce > cs) total += ce - cs;
      [cs, ce] = [a, b];
    } else if (b > ce) ce = b;
  }
  if (ce > cs) total += ce - cs;
  return total;
}

const span = (e: ChromeEvent): [number, number] => [e.ts!, e.ts! + (e.dur ?? 0)];
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/**
 * Compute is the union of kernel spans; communication the time some collective, send or receive was pending
 * while no kernel ran (overlapped communication is hidden, so it costs nothing); idle the rest of the wall time.
 */
export function summarize(events: readonly ChromeEvent[], ranks: readonly RankInfo[], flows: { flows: number; unmatchedSends: number; unmatchedRecvs: number }): TraceSummary {
  const byRank = new Map<number, ChromeEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X') continue;
    let l = byRank.get(e.pid);
    if (!l) byRank.set(e.pid, (l = []));
    l.push(e);
  }
  const kernels = new Map<string, KernelStat & { flops: number }>();
  const out: RankSummary[] = [];
  for (const info of ranks) {
    const evs = byRank.get(info.rank) ?? [];
    const comp: [number, number][] = [];
    const comm: [number, number][] = [];
    const s: RankSummary = {
      rank: info.rank, wallUs: Math.max(0, info.end - info.start), computeUs: 0, commUs: 0, idleUs: 0, compute: 0, comm: 0, idle: 0,
      kernelCount: 0, kernelSumUs: 0, collectiveCount: 0, messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0,
    };
    for (const e of evs) {
      const a = e.args ?? {};
      if (e.cat === 'kernel') {
        comp.push(span(e));
        s.kernelCount++;
        s.kernelSumUs += e.dur ?? 0;
        const shape = Array.isArray(a.shape) ? a.shape.join('x') : '';
        const key = `${e.name} ${shape}`;
        const k = kernels.get(key) ?? { name: e.name, shape, count: 0, totalUs: 0, gflops: null, flops: 0 };
        k.count++;
        k.totalUs += e.dur ?? 0;
        k.flops += num(a.flops);
        kernels.set(key, k);
      } else if (e.cat === 'collective' || e.cat === 'send' || e.cat === 'recv') {
        comm.push(span(e));
        if (e.cat === 'collective') s.collectiveCount++;
        else if (e.cat === 'send') {
          s.messagesSent++;
          s.bytesSent += Math.max(0, num(a.bytes));
        } else {
          s.messagesReceived++;
          s.bytesReceived += Math.max(0, num(a.bytes));
        }
      }
    }
    s.computeUs = unionLength(comp);
    s.commUs = unionLength([...comp, ...comm]) - s.computeUs;
    s.idleUs = Math.max(0, s.wallUs - s.computeUs - s.commUs);
    const w = s.computeUs + s.commUs + s.idleUs;
    if (w > 0) [s.compute, s.comm, s.idle] = [s.computeUs / w, s.commUs / w, s.idleUs / w];
    out.push(s);
  }
  const ks = [...kernels.values()]
    .map(({ flops, ...k }) => ({ ...k, gflops: flops > 0 && k.totalUs > 0 ? flops / k.totalUs / 1e3 : null }))
    .sort((a, b) => b.totalUs - a.totalUs);
  return { ranks: out, kernels: ks, bytesMoved: out.reduce((t, r) => t + r.bytesSent, 0), ...flows };
}
