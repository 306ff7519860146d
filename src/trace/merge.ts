// Merges the ranks' part files into one Chrome Trace Event file (Perfetto, chrome://tracing): a process per
// rank, lanes per category, flow arrows from each send to its receive, every clock moved onto rank 0's.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { offsetAt } from './clock.js';
import { CATEGORIES, LANES, type Category, type ChromeEvent, type MergedTrace, type PartEvent, type RankInfo, type TracePart } from './format.js';
import { summarize } from './summary.js';

/** Reads every `rank-<r>.json` of a trace directory; a missing directory or a malformed part is a clear error. */
export function readParts(dir: string): TracePart[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => /^rank-\d+\.json$/.test(f));
  } catch (e) {
    throw new Error(`trace: cannot read the parts directory ${dir}: ${(e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`trace: no rank-<r>.json parts in ${dir} (did the program call da.init()?)`);
  return names.map((f) => {
    const file = join(dir, f);
    let v: unknown;
    try {
      v = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`trace: ${file} is not valid JSON: ${(e as Error).message}`);
    }
    return checkPart(v, file);
  });
}

/** Checks the shape of a part (what merge relies on) and returns it typed. */
export function checkPart(v: unknown, where: string): TracePart {
  const p = v as TracePart;
  const bad = (what: string) => new Error(`trace: ${where} is not a darray trace part: ${what}`);
  if (!p || typeof p !== 'object' || p.format !== 'darray-trace-part') throw bad('format is not "darray-trace-part"');
  if (p.version !== 1) throw bad(`unknown version ${String(p.version)}`);
  if (!Number.isInteger(p.rank) || p.rank < 0 || !Number.isInteger(p.size) || p.rank >= p.size) throw bad(`rank ${p.rank} of size ${p.size}`);
  for (const k of ['timeOrigin', 'start', 'end'] as const) if (typeof p[k] !== 'number' || !Number.isFinite(p[k])) throw bad(`${k} is not a number`);
  if (!Array.isArray(p.events) || !Array.isArray(p.clock)) throw bad('events or clock is not an array');
  for (const e of p.events) {
    if (!e || !CATEGORIES.includes(e.c) || typeof e.n !== 'string' || !Number.isFinite(e.t) || !Number.isFinite(e.d)) {
      throw bad(`malformed event ${JSON.stringify(e)?.slice(0, 120)}`);
    }
  }
  return p;
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Greedy lanes: each span goes to the first lane of its category that is free at its start, so lanes never overlap. */
function assignLanes(events: PartEvent[]): number[] {
  const lane = new Array<number>(events.length);
  const ends = new Map<Category, number[]>();
  const order = events.map((_, i) => i).sort((a, b) => events[a].t - events[b].t || events[b].d - events[a].d);
  for (const i of order) {
    const e = events[i];
    const l = ends.get(e.c) ?? [];
    ends.set(e.c, l);
    let k = l.findIndex((end) => end <= e.t);
    if (k < 0) k = l.push(0) - 1;
    l[k] = e.t + Math.max(0, e.d);
    lane[i] = k;
  }
  return lane;
}

/** Merges parts (any order, one per rank) into the Chrome trace; timestamps in µs from the earliest rank start. */
export function mergeParts(parts: readonly TracePart[]): MergedTrace {
  if (parts.length === 0) throw new Error('trace: nothing to merge');
  const sorted = [...parts].sort((a, b) => a.rank - b.rank);
  for (let i = 1; i < sorted.length; i++) if (sorted[i].rank === sorted[i - 1].rank) throw new Error(`trace: two parts for rank ${sorted[i].rank}`);
  const size = Math.max(...sorted.map((p) => p.size));
  // Absolute ms on rank 0's clock of a local time t of part p.
  const abs = (p: TracePart, t: number) => p.timeOrigin + t - offsetAt(p.clock, t);
  const t0 = Math.min(...sorted.map((p) => abs(p, p.start)));
  const us = (p: TracePart, t: number) => r3((abs(p, t) - t0) * 1000);

  const out: ChromeEvent[] = [];
  const ranks: RankInfo[] = [];
  // Pairing key `from>to:ctx:tag#ord` -> the send (or receive) Chrome event.
  const sends = new Map<string, ChromeEvent>();
  const recvs = new Map<string, ChromeEvent>();
  for (const p of sorted) {
    const rtts = p.clock.filter((c) => c.rtt > 0).map((c) => c.rtt * 1000);
    ranks.push({
      rank: p.rank, host: p.host, pid: p.pid, start: us(p, p.start), end: us(p, p.end),
      offsetUs: [r3(offsetAt(p.clock, p.start) * 1000), r3(offsetAt(p.clock, p.end) * 1000)],
      rttUs: rtts.length ? r3(Math.min(...rtts)) : null, dropped: p.dropped,
    });
    out.push({ name: 'process_name', ph: 'M', ts: 0, pid: p.rank, args: { name: `rank ${p.rank} (${p.host}, pid ${p.pid})` } });
    out.push({ name: 'process_sort_index', ph: 'M', ts: 0, pid: p.rank, args: { sort_index: p.rank } });
    const lanes = assignLanes(p.events);
    const named = new Set<number>();
    p.events.forEach((e, i) => {
      const tid = LANES[e.c].tidBase + lanes[i];
      if (!named.has(tid)) {
        named.add(tid);
        const label = lanes[i] === 0 ? LANES[e.c].label : `${LANES[e.c].label} ${lanes[i] + 1}`;
        out.push({ name: 'thread_name', ph: 'M', ts: 0, pid: p.rank, tid, args: { name: label } });
        out.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid: p.rank, tid, args: { sort_index: tid } });
      }
      const ts = us(p, e.t);
      const ev: ChromeEvent = { name: e.n, cat: e.c, ph: 'X', ts, dur: Math.max(0, r3(us(p, e.t + e.d) - ts)), pid: p.rank, tid };
      if (e.a) ev.args = { ...e.a };
      out.push(ev);
      if (e.c === 'send' || e.c === 'recv') {
        const a = e.a ?? {};
        const [from, to] = e.c === 'send' ? [p.rank, a.peer] : [a.peer, p.rank];
        (e.c === 'send' ? sends : recvs).set(`${from}>${to}:${a.ctx}:${a.tag}#${a.ord}`, ev);
      }
    });
  }
  let id = 0;
  for (const [key, s] of sends) {
    const r = recvs.get(key);
    if (!r) continue;
    recvs.delete(key);
    sends.delete(key);
    id++;
    s.args!.flow = id;
    r.args!.flow = id;
    if (typeof s.args!.bytes !== 'number' || (s.args!.bytes as number) < 0) s.args!.bytes = r.args!.bytes;
    // Inside each slice, so that each end binds to its own span and not to a neighbour that touches it.
    const inside = (e: ChromeEvent, atEnd: boolean) => r3(atEnd ? e.ts! + e.dur! - Math.min(e.dur!, 1) / 2 : e.ts! + Math.min(e.dur!, 1) / 2);
    out.push({ name: 'message', cat: 'flow', ph: 's', id, ts: inside(s, false), pid: s.pid, tid: s.tid });
    out.push({ name: 'message', cat: 'flow', ph: 'f', bp: 'e', id, ts: inside(r, true), pid: r.pid, tid: r.tid });
  }
  const present = new Set(sorted.map((p) => p.rank));
  const missing = Array.from({ length: size }, (_, i) => i).filter((i) => !present.has(i));
  const summary = summarize(out, ranks, { flows: id, unmatchedSends: sends.size, unmatchedRecvs: recvs.size });
  return {
    traceEvents: out,
    displayTimeUnit: 'ms',
    otherData: { darray: { format: 'darray-trace', version: 1, size, ranks, missing, summary } },
  };
}
