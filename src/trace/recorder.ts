// The per-rank trace recorder: spans kept in memory (collectives, p2p sends and receives, tile kernels, phases)
// and written at exit. Off unless DARRAY_TRACE_DIR or DARRAY_TRACE is set; then every hook costs one branch.
import { writeFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Category, ClockSample, PartEvent, TracePart } from './format.js';
import { kernelShape } from './kernels.js';

/** Events kept per rank before further ones are only counted (DARRAY_TRACE_MAX_EVENTS): bounds memory. */
const DEFAULT_MAX_EVENTS = 2_000_000;

export class Recorder {
  readonly events: PartEvent[] = [];
  readonly clock: ClockSample[] = [];
  dropped = 0;
  start = performance.now();
  end: number | undefined;
  rank: number;
  size: number;
  written = false;
  // Messages so far per (peer, ctx, tag), each way: the ordinal pairs a send with its receive.
  private readonly sent = new Map<string, number>();
  private readonly received = new Map<string, number>();

  constructor(readonly dir: string, readonly maxEvents = DEFAULT_MAX_EVENTS) {
    this.rank = Number(process.env.DARRAY_RANK ?? 0) || 0;
    this.size = Number(process.env.DARRAY_SIZE ?? 1) || 1;
  }

  push(c: Category, n: string, t: number, a?: Record<string, unknown>): void {
    if (this.events.length >= this.maxEvents) {
      this.dropped++;
      return;
    }
    const e: PartEvent = { c, n, t, d: performance.now() - t };
    if (a) e.a = a;
    this.events.push(e);
  }

  ordinal(dir: 'send' | 'recv', peer: number, ctx: number, tag: number): number {
    const m = dir === 'send' ? this.sent : this.received;
    const k = `${peer},${ctx},${tag}`;
    const o = m.get(k) ?? 0;
    m.set(k, o + 1);
    return o;
  }

  part(): TracePart {
    return {
      format: 'darray-trace-part', version: 1, rank: this.rank, size: this.size, host: hostname(), pid: process.pid,
      timeOrigin: performance.timeOrigin, start: this.start, end: this.end ?? performance.now(), clock: this.clock,
      dropped: this.dropped, events: this.events,
    };
  }

  /** Writes `rank-<r>.json` into the trace directory (synchronous: it also runs from the 'exit' handler). */
  write(): string {
    this.end ??= performance.now();
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `rank-${this.rank}.json`);
    writeFileSync(file, JSON.stringify(this.part()));
    this.written = true;
    return file;
  }
}

/** Where parts go: DARRAY_TRACE_DIR (the launcher's), else `<DARRAY_TRACE>.parts` (merged by rank 0 at finalize). */
export function traceDirFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.DARRAY_TRACE_DIR) return env.DARRAY_TRACE_DIR;
  if (env.DARRAY_TRACE) return `${env.DARRAY_TRACE}.parts`;
  return undefined;
}

function fromEnv(): Recorder | undefined {
  const dir = traceDirFromEnv();
  if (!dir) return undefined;
  const max = Number(process.env.DARRAY_TRACE_MAX_EVENTS);
  const r = new Recorder(dir, Number.isInteger(max) && max > 0 ? max : DEFAULT_MAX_EVENTS);
  const save = () => {
    if (!r.written) try { r.write(); } catch { /* nothing left to report it to */ }
  };
  // A rank that exits without finalize (an error, process.exit) still leaves its part behind; so does one the
  // launcher stops (another rank failed, --timeout): the signal is raised again once the part is written.
  process.on('exit', save);
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const onSignal = () => {
      save();
      if (process.listenerCount(sig) === 1) {
        process.off(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
  return r;
}

/** The live recorder, or undefined when tracing is off (also while the clock exchanges run, so they are not recorded). */
let active: Recorder | undefined = fromEnv();
const owner = active;

export function recorder(): Recorder | undefined {
  return owner;
}

/** True when this process records a trace. */
export function tracing(): boolean {
  return owner !== undefined;
}

/** Stops (false) or resumes (true) recording; the lifecycle's own messages are kept out of the trace this way. */
export function pause(paused: boolean): void {
  active = paused ? undefined : owner;
}

/** @internal Tests install their own recorder (undefined: off); returns the previous one. */
export function setRecorderForTest(r: Recorder | undefined): Recorder | undefined {
  const prev = active;
  active = r;
  return prev;
}

const isView = (d: unknown): d is ArrayBufferView => ArrayBuffer.isView(d);

/** Runs tile kernel `op` (args as passed to the addon) as a 'kernel' span with its shape and flops. */
export function traceKernel<T>(op: string, args: readonly unknown[], run: () => Promise<T>): Promise<T> {
  const r = active;
  if (!r) return run();
  const t = performance.now();
  const { shape, flops } = kernelShape(op, args);
  return run().finally(() => r.push('kernel', op, t, { shape, flops }));
}

/** Runs a send of `data` to world rank `peer` on (ctx, tag) as a 'send' span; bytes -1 when not a typed array. */
export function traceSend<T>(op: string, peer: number, ctx: number, tag: number, data: unknown, run: () => Promise<T>): Promise<T> {
  const r = active;
  if (!r) return run();
  const t = performance.now();
  const ord = r.ordinal('send', peer, ctx, tag);
  const bytes = isView(data) ? data.byteLength : -1;
  return run().finally(() => r.push('send', op, t, { peer, ctx, tag, bytes, ord }));
}

/** Runs a receive on `ctx` as a 'recv' span: from posting it until the message is matched (the wait). */
export function traceRecv<M extends { src: number; tag: number; bytes: number }>(op: string, ctx: number, run: () => Promise<M>): Promise<M> {
  const r = active;
  if (!r) return run();
  const t = performance.now();
  return run().then((m) => {
    r.push('recv', op, t, { peer: m.src, ctx, tag: m.tag, bytes: m.bytes, ord: r.ordinal('recv', m.src, ctx, m.tag) });
    return m;
  });
}

/** Runs collective `op` of the communicator with context `ctx` and `size` ranks as a 'collective' span. */
export function traceCollective<T>(op: string, ctx: number, size: number, run: () => Promise<T>): Promise<T> {
  const r = active;
  if (!r) return run();
  const t = performance.now();
  return run().finally(() => r.push('collective', op, t, { ctx, size }));
}

/** Opens a 'phase' span (a whole algorithm, a user region); returns its end, or undefined when tracing is off. */
export function phase(name: string, args?: Record<string, unknown>): (() => void) | undefined {
  const r = active;
  if (!r) return undefined;
  const t = performance.now();
  return () => r.push('phase', name, t, args);
}
