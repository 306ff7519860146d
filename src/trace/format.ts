// The shapes written by the trace recorder (one part file per rank) and by the merge (one Chrome Trace Event
// file for the job); docs/trace.md describes both. Shared by src/trace, the launcher's merge and darray-report.

/** Recorder categories; each becomes a group of lanes (Chrome "threads") in the merged trace. */
export type Category = 'kernel' | 'collective' | 'send' | 'recv' | 'phase';
export const CATEGORIES: readonly Category[] = ['kernel', 'collective', 'send', 'recv', 'phase'];

/** Lane group names as they appear in Perfetto, and the base of their thread ids (lane k of a group: base + k). */
export const LANES: Record<Category, { label: string; tidBase: number }> = {
  kernel: { label: 'compute', tidBase: 1000 },
  collective: { label: 'collectives', tidBase: 2000 },
  send: { label: 'send', tidBase: 3000 },
  recv: { label: 'recv', tidBase: 4000 },
  phase: { label: 'phases', tidBase: 5000 },
};

/**
 * One span as recorded: category, name, start and duration in ms on this process's performance.now() clock,
 * and arguments. p2p spans carry {peer, ctx, tag, bytes, ord}: peer is a world rank, and the ord-th message
 * from A to B on (ctx, tag) is the ord-th received by B from A on (ctx, tag) (MPI's non-overtaking order),
 * which is how the merge pairs a send with its receive.
 */
export interface PartEvent {
  c: Category;
  n: string;
  t: number;
  d: number;
  a?: Record<string, unknown>;
}

/** A clock sample: at local time `at` (ms), this rank's clock minus rank 0's was `offset` ms, measured with round trip `rtt`. */
export interface ClockSample {
  at: number;
  offset: number;
  rtt: number;
}

/** The file `rank-<r>.json` a rank writes at exit. Times in ms relative to `timeOrigin` (ms since the epoch). */
export interface TracePart {
  format: 'darray-trace-part';
  version: 1;
  rank: number;
  size: number;
  host: string;
  pid: number;
  timeOrigin: number;
  start: number;
  end: number;
  clock: ClockSample[];
  dropped: number;
  events: PartEvent[];
}

/** A Chrome Trace Event (the subset we write). ts and dur in µs. */
export interface ChromeEvent {
  name: string;
  ph: 'X' | 'M' | 's' | 'f';
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  cat?: string;
  id?: number;
  bp?: 'e';
  args?: Record<string, unknown>;
}

/** Per-rank facts the merge keeps beside the events (times in µs of the merged timeline). */
export interface RankInfo {
  rank: number;
  host: string;
  pid: number;
  start: number;
  end: number;
  /** Correction applied: this rank's clock minus rank 0's, in µs, at start and end of the run. */
  offsetUs: [number, number];
  /** Best round trip of the clock exchanges, µs (the offset's uncertainty is half of it); null without samples. */
  rttUs: number | null;
  dropped: number;
}

export interface KernelStat {
  name: string;
  shape: string;
  count: number;
  totalUs: number;
  gflops: number | null;
}

/** Per-rank totals of the summary (µs unless named otherwise); fractions are of wallUs and sum to 1. */
export interface RankSummary {
  rank: number;
  wallUs: number;
  computeUs: number;
  commUs: number;
  idleUs: number;
  compute: number;
  comm: number;
  idle: number;
  kernelCount: number;
  kernelSumUs: number;
  collectiveCount: number;
  messagesSent: number;
  messagesReceived: number;
  bytesSent: number;
  bytesReceived: number;
}

export interface TraceSummary {
  ranks: RankSummary[];
  kernels: KernelStat[];
  bytesMoved: number;
  flows: number;
  unmatchedSends: number;
  unmatchedRecvs: number;
}

/** The merged file: Chrome's JSON object format; our own facts under otherData.darray. */
export interface MergedTrace {
  traceEvents: ChromeEvent[];
  displayTimeUnit: 'ms';
  otherData: {
    darray: {
      format: 'darray-trace';
      version: 1;
      size: number;
      ranks: RankInfo[];
      /** Ranks of the job (by the parts' `size`) whose part was missing: they died before writing it. */
      missing: number[];
      summary: TraceSummary;
    };
  };
}
