// DataParallel: every rank holds the whole model and a shard of each batch; gradients are averaged across
// ranks with bucketed allreduces that start while backward is still producing earlier layers' gradients.
import type { Comm } from '../comm/index.js';
import { planBuckets, type Bucket } from './buckets.js';
import { describe, fail, isFloatArray, type FloatArray } from './types.js';

export interface DataParallelOptions {
  /** Target size of one gradient allreduce in bytes (default 4 MiB). Smaller starts earlier, larger costs fewer messages. */
  bucketBytes?: number;
}

/** Timings of the last completed gradient step, in milliseconds (performance.now() clock). */
export interface StepTimes {
  /** From the first bucket's allreduce start to the last one's end. */
  commMs: number;
  /** Time `wait()` spent blocked on allreduces that had not finished: the communication not hidden behind backward. */
  exposedMs: number;
}

const dtypeOf = (a: FloatArray): 'float32' | 'float64' => (a instanceof Float32Array ? 'float32' : 'float64');
const BUFFER = { float32: Float32Array, float64: Float64Array } as const;

/**
 * Averages gradients across the ranks of `comm` for a model whose parameters are the typed arrays `params`
 * (the same count, lengths and dtypes on every rank). Gradients are packed in buckets (`planBuckets`) in
 * reverse parameter order; a bucket's allreduce starts as soon as all its gradients were handed over with
 * `gradReady`, and buckets start in plan order on every rank (a bucket that fills early waits for the ones
 * before it), so the collectives match across ranks whatever order backward reports gradients in.
 *
 * The average is sum / size, computed after an allreduce whose result is bit-identical on every rank, so
 * every rank ends each step with bit-identical gradients, and, applying the same optimizer, identical weights.
 */
export class DataParallel {
  readonly comm: Comm;
  readonly params: readonly FloatArray[];
  /** The bucket plan: the allreduces of one step, in the order they start. */
  readonly buckets: readonly Bucket[];
  private readonly buffers: FloatArray[];
  private readonly bucketOf: Int32Array;
  private readonly offsetOf: Int32Array;
  // State of the step in progress: the gradient buffer given per parameter, what each bucket still waits for.
  private grads: (FloatArray | undefined)[];
  private missing: Int32Array;
  private nextLaunch = 0;
  private inflight: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;
  private firstLaunch = 0;
  private lastDone = 0;
  private times: StepTimes = { commMs: 0, exposedMs: 0 };

  constructor(comm: Comm, params: readonly FloatArray[], opts: DataParallelOptions = {}) {
    const ctx = { rank: comm.rank, op: 'DataParallel' };
    if (!Array.isArray(params) || params.length === 0) fail(`params must be a non-empty array of Float32Array/Float64Array, got ${describe(params)}`, ctx);
    params.forEach((p, i) => {
      if (!isFloatArray(p)) fail(`params[${i}] must be a Float32Array or Float64Array, got ${describe(p)}`, ctx);
    });
    const { bucketBytes = 4 << 20 } = opts;
    if (!Number.isSafeInteger(bucketBytes) || bucketBytes <= 0) fail(`bucketBytes must be a positive integer, got ${String(bucketBytes)}`, ctx);
    this.comm = comm;
    this.params = [...params];
    this.buckets = planBuckets(params.map((p) => ({ length: p.length, dtype: dtypeOf(p) })), bucketBytes);
    this.buffers = this.buckets.map((b) => new BUFFER[b.dtype](b.length));
    this.bucketOf = new Int32Array(params.length);
    this.offsetOf = new Int32Array(params.length);
    this.buckets.forEach((b, k) => b.params.forEach((i, j) => { this.bucketOf[i] = k; this.offsetOf[i] = b.offsets[j]; }));
    this.grads = new Array(params.length).fill(undefined);
    this.missing = Int32Array.from(this.buckets, (b) => b.params.length);
  }

  /**
   * Collective: copies rank `root`'s parameter values into every rank's `params`, in place. Checks first that
   * every rank has the same parameter layout, and throws on every rank (naming the ranks that differ) if not.
   */
  async broadcastParameters(root = 0): Promise<void> {
    const op = 'DataParallel.broadcastParameters';
    const layout = this.params.map((p) => `${dtypeOf(p)}[${p.length}]`).join(',');
    const all = await this.comm.allgather(layout);
    const odd = all.map((l, r) => (l === all[root] ? -1 : r)).filter((r) => r >= 0);
    if (odd.length) {
      fail(`parameter layouts differ from root ${root}'s (${all[root]}) on rank(s) ${odd.join(', ')}: ${odd.map((r) => all[r]).join(' | ')}`, { rank: this.comm.rank, op });
    }
    for (let k = 0; k < this.buckets.length; k++) {
      const b = this.buckets[k];
      const buf = this.buffers[k];
      if (this.comm.rank === root) b.params.forEach((i, j) => buf.set(this.params[i], b.offsets[j]));
      const got = (await this.comm.bcast(buf, root)) as FloatArray;
      if (this.comm.rank !== root) b.params.forEach((i, j) => this.params[i].set(got.subarray(b.offsets[j], b.offsets[j] + this.params[i].length)));
    }
  }

  /**
   * Hands over parameter `i`'s gradient for this step; call it from backward as soon as the gradient is
   * final. It is copied into its bucket at once; when the bucket is complete its allreduce starts, and when
   * that finishes the average is written back into `grad`, so `grad` must stay alive and unmodified until
   * `wait()` resolves. Not collective by itself, but every rank must hand over every parameter each step.
   */
  gradReady(i: number, grad: FloatArray): void {
    const ctx = { rank: this.comm.rank, op: 'DataParallel.gradReady' };
    if (!Number.isInteger(i) || i < 0 || i >= this.params.length) fail(`parameter index ${String(i)} out of range 0..${this.params.length - 1}`, ctx);
    const p = this.params[i];
    if (!isFloatArray(grad) || grad.constructor !== p.constructor || grad.length !== p.length) {
      fail(`gradient of parameter ${i} must be a ${p.constructor.name}(${p.length}) like the parameter, got ${describe(grad)}`, ctx);
    }
    if (this.grads[i]) fail(`gradient of parameter ${i} was handed over twice in one step`, ctx);
    this.grads[i] = grad;
    const k = this.bucketOf[i];
    this.buffers[k].set(grad, this.offsetOf[i]);
    if (--this.missing[k] === 0) this.launchReady();
  }

  /** Starts, in plan order, every bucket that is complete and whose predecessors have started. */
  private launchReady(): void {
    while (this.nextLaunch < this.buckets.length && this.missing[this.nextLaunch] === 0) {
      const k = this.nextLaunch++;
      if (this.comm.size === 1) continue; // the local gradient is already the average
      if (this.inflight.length === 0) this.firstLaunch = performance.now();
      const done = this.comm.allreduce(this.buffers[k], 'sum').then((sum) => {
        this.unpack(k, sum as FloatArray);
        this.lastDone = performance.now();
      });
      // Keep the first failure for wait(); no unhandled rejection in between.
      this.inflight.push(done.catch((error: unknown) => { this.failure ??= { error }; }));
    }
  }

  /** Writes bucket k's average into the gradient buffers it came from. */
  private unpack(k: number, sum: FloatArray): void {
    const b = this.buckets[k];
    const n = this.comm.size;
    b.params.forEach((i, j) => {
      const g = this.grads[i]!;
      const off = b.offsets[j];
      for (let e = 0; e < g.length; e++) g[e] = sum[off + e] / n;
    });
  }

  /**
   * Waits until every bucket's allreduce has finished and every gradient handed over this step holds the
   * average; then the next step may begin. Throws, naming the parameters, if some gradient was not handed over.
   */
  async wait(): Promise<void> {
    const missing = this.grads.flatMap((g, i) => (g ? [] : [i]));
    if (missing.length) {
      const list = missing.length > 8 ? `${missing.slice(0, 8).join(', ')}, ... (${missing.length} in all)` : missing.join(', ');
      fail(`gradients of parameter(s) ${list} were not handed over before wait()`, { rank: this.comm.rank, op: 'DataParallel.wait' });
    }
    const t0 = performance.now();
    await Promise.all(this.inflight);
    const t1 = performance.now();
    const launched = this.inflight.length > 0;
    this.times = { commMs: launched ? this.lastDone - this.firstLaunch : 0, exposedMs: launched ? t1 - t0 : 0 };
    this.grads = new Array(this.params.length).fill(undefined);
    this.missing = Int32Array.from(this.buckets, (b) => b.params.length);
    this.nextLaunch = 0;
    this.inflight = [];
    const f = this.failure;
    this.failure = undefined;
    if (f) throw f.error;
  }

  /** Collective: averages all gradients in place (`grads[i]` belongs to `params[i]`) and waits. */
  async syncGradients(grads: readonly FloatArray[]): Promise<void> {
    if (!Array.isArray(grads) || grads.length !== this.params.length) {
      fail(`grads must be an array of ${this.params.length} gradients, one per parameter, got ${describe(grads)}`, { rank: this.comm.rank, op: 'DataParallel.syncGradients' });
    }
    for (let i = grads.length - 1; i >= 0; i--) this.gradReady(i, grads[i]);
    await this.wait();
  }

  /** Timings of the last step that `wait()` completed. */
  get lastStep(): StepTimes {
    return { ...this.times };
  }
}
