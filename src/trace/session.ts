// The recorder's part in a rank's lifecycle, called by init() and finalize(): clock exchanges with rank 0 at
// both ends, the part file written at finalize, and (with DARRAY_TRACE alone) rank 0 merging the parts.
import { rmSync, writeFileSync } from 'node:fs';
import type { Comm } from '../comm/comm.js';
import { measureOffset } from './clock.js';
import { mergeParts, readParts } from './merge.js';
import { pause, recorder } from './recorder.js';

/** Longest the finalize-time exchanges may take: a lost peer must not keep a rank from exiting. */
const FINISH_MS = 10_000;

let clockComm: Comm | null = null;

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** Collective over the world when tracing is on (every rank has it on: the launcher sets it for all). */
export async function traceAttach(world: Comm): Promise<void> {
  const r = recorder();
  if (!r) return;
  r.rank = world.rank;
  r.size = world.size;
  pause(true);
  try {
    // A private communicator: the exchanges never meet a user message, at init or at finalize.
    clockComm = world.size > 1 ? await world.split(0) : null;
    if (clockComm) r.clock.push(await measureOffset(clockComm));
    r.start = performance.now();
  } finally {
    pause(false);
  }
}

/**
 * Collective over the world when tracing is on: a last clock exchange, the part written; with DARRAY_TRACE and
 * no launcher directory, rank 0 waits for every part and merges them into the DARRAY_TRACE file.
 */
export async function traceFinish(): Promise<void> {
  const r = recorder();
  if (!r || r.written) return;
  r.end = performance.now();
  pause(true);
  const c = clockComm;
  try {
    if (c) r.clock.push(await bounded(measureOffset(c), FINISH_MS, 'the closing clock exchange'));
  } catch (e) {
    process.stderr.write(`[rank ${r.rank}] darray trace: ${(e as Error).message}; offsets from init only\n`);
  }
  r.write();
  const out = process.env.DARRAY_TRACE_DIR ? undefined : process.env.DARRAY_TRACE;
  try {
    if (out && c) await bounded(c.gather(true, 0), FINISH_MS, 'collecting the trace parts');
    if (out && r.rank === 0) {
      const merged = mergeParts(readParts(r.dir));
      writeFileSync(out, JSON.stringify(merged));
      rmSync(r.dir, { recursive: true, force: true });
    }
  } catch (e) {
    process.stderr.write(`[rank ${r.rank}] darray trace: merging into ${out} failed: ${(e as Error).message}; parts kept in ${r.dir}\n`);
  } finally {
    c?.free();
    clockComm = null;
  }
}
