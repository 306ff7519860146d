// Progress of long operations: one line for the whole job, written by rank 0 to stderr, when that is a terminal
// (the launcher passes DARRAY_PROGRESS=1 when its own is) or when DARRAY_PROGRESS=1 forces it; =0 turns it off.
import { phase } from './trace/recorder.js';

export interface Progress {
  /** Marks `units` more of the total as done. */
  add(units?: number): void;
  /** Ends the operation (a last line if any was written); also ends its trace phase. Idempotent. */
  done(): void;
}

export interface ProgressOptions {
  /** Where lines go (default process.stderr). */
  out?: { write(s: string): unknown; isTTY?: boolean };
  /** Quiet time before the first line and between lines, ms (default DARRAY_PROGRESS_INTERVAL_MS or 1000). */
  intervalMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Whether this process writes progress lines: rank 0 only, then DARRAY_PROGRESS, else whether `out` is a terminal. */
export function progressEnabled(rank: number, out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (rank !== 0) return false;
  if (env.DARRAY_PROGRESS === '1') return true;
  if (env.DARRAY_PROGRESS === '0') return false;
  return out.isTTY === true;
}

const fmt = (s: number): string => (s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`);

/**
 * Progress of an operation of `total` units (not collective: every rank may call it, only rank 0 writes).
 * Nothing is written for an operation that ends within the interval. On a terminal the line is rewritten in
 * place; through a pipe (the launcher tags whole lines) each update is a line of its own. Also a trace phase.
 */
export function progress(comm: { rank: number }, label: string, total: number, opts: ProgressOptions = {}): Progress {
  if (!(total > 0) || !Number.isFinite(total)) throw new RangeError(`progress: total must be a positive number, got ${total}`);
  const endPhase = phase(label, { total });
  const env = opts.env ?? process.env;
  const out = opts.out ?? process.stderr;
  if (!progressEnabled(comm.rank, out, env)) {
    let ended = false;
    return { add() {}, done() { if (!ended) { ended = true; endPhase?.(); } } };
  }
  const envMs = Number(env.DARRAY_PROGRESS_INTERVAL_MS);
  const interval = opts.intervalMs ?? (env.DARRAY_PROGRESS_INTERVAL_MS !== undefined && envMs >= 0 ? envMs : 1000);
  const inPlace = out.isTTY === true;
  const t0 = performance.now();
  let last = t0;
  let doneUnits = 0;
  let shown = false;
  let ended = false;
  const write = (line: string, final: boolean) => {
    out.write(inPlace ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
    shown = true;
  };
  return {
    add(units = 1) {
      if (ended) return;
      doneUnits = Math.min(total, doneUnits + units);
      const now = performance.now();
      if (now - last < interval || doneUnits >= total) return;
      last = now;
      const sec = (now - t0) / 1000;
      const frac = doneUnits / total;
      const left = frac > 0 ? ` about ${fmt((sec * (1 - frac)) / frac)} left` : '';
      write(`${label}: ${Math.floor(frac * 100)}% after ${fmt(sec)},${left}`, false);
    },
    done() {
      if (ended) return;
      ended = true;
      endPhase?.();
      if (shown) write(`${label}: done in ${fmt((performance.now() - t0) / 1000)}`, true);
    },
  };
}
