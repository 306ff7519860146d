// Pipeline parallelism: a model cut into consecutive stages, stage i on rank i; micro-batches stream through
// forward and backward with a GPipe or 1F1B schedule, and only activations and their gradients travel.
import type { Comm } from '../comm/index.js';
import { pipelineSchedule, type ScheduleKind } from './schedule.js';
import { describe, fail, isFloatArray, type FloatArray } from './types.js';

/** What a stage learns about the pass it runs. */
export interface PassInfo {
  /** Micro-batch index within the step, 0 <= microbatch < microbatches. */
  microbatch: number;
  /** True inside `step` (keep what backward needs, keyed by micro-batch); false inside `predict` (keep nothing). */
  training: boolean;
}

/**
 * One stage of a pipelined model: a group of consecutive layers that owns its parameters and gradients.
 *
 * - `forward(x, info)` returns the stage's output for input `x` (the previous stage's output, or the
 *   micro-batch itself on stage 0). In training it keeps what its backward needs, keyed by `info.microbatch`:
 *   with 1F1B several micro-batches are in flight at once.
 * - `backward(gradOutput, info)` receives d(loss)/d(output) of that micro-batch, adds the parameter
 *   gradients to the stage's own accumulators (the pipeline never zeroes them: do it before each step), may
 *   drop what it kept, and returns d(loss)/d(input) (stage 0 may return nothing).
 *
 * Returned arrays are sent to the neighbour without a copy: do not modify them afterwards.
 */
export interface Stage {
  forward(x: FloatArray, info: PassInfo): FloatArray | Promise<FloatArray>;
  backward(gradOutput: FloatArray, info: PassInfo): FloatArray | void | Promise<FloatArray | void>;
}

/**
 * The loss, run on the last stage per micro-batch: its value (a mean over the micro-batch's samples) and
 * d(value)/d(output). The pipeline scales the gradient by 1/microbatches in place, so the accumulated
 * gradients are those of the step's loss, the mean of the micro-batch values.
 */
export type LossFn = (output: FloatArray, target: FloatArray, microbatch: number) => { loss: number; grad: FloatArray };

export interface PipelineOptions {
  /** Micro-batches per step (default 4); `step` takes exactly this many. */
  microbatches?: number;
  /** 'gpipe' or '1f1b' (default '1f1b'). */
  schedule?: ScheduleKind;
  /** Required for `step`; not needed for `predict`. */
  loss?: LossFn;
}

/** A stage object, or a function that makes it, called only on the stage's own rank. */
export type StageSpec = Stage | (() => Stage | Promise<Stage>);

// On the pipeline's private communicator, activations of micro-batch m travel with tag 2m, their gradients
// with 2m + 1; messages of one tag between two ranks arrive in order, so successive steps cannot mix.
const ACT = (mb: number) => 2 * mb;
const GRAD = (mb: number) => 2 * mb + 1;

/**
 * Builds a pipeline over `comm`: stage i on rank i (ranks at or beyond `stages.length` hold none and only
 * take part in the collective calls). Collective: every rank calls it with the same number of stages and the
 * same options. A stage given as a function is built only on its rank.
 */
export async function pipeline(comm: Comm, stages: readonly StageSpec[], opts: PipelineOptions = {}): Promise<Pipeline> {
  const ctx = { rank: comm.rank, op: 'pipeline' };
  if (!Array.isArray(stages) || stages.length === 0) fail(`stages must be a non-empty array of stages or stage factories, got ${describe(stages)}`, ctx);
  if (stages.length > comm.size) fail(`${stages.length} stages need at least ${stages.length} ranks, the communicator has ${comm.size}`, ctx);
  const { microbatches = 4, schedule = '1f1b', loss } = opts;
  if (!Number.isSafeInteger(microbatches) || microbatches < 1) fail(`microbatches must be a positive integer, got ${String(microbatches)}`, ctx);
  if (schedule !== 'gpipe' && schedule !== '1f1b') fail(`schedule must be 'gpipe' or '1f1b', got ${String(schedule)}`, ctx);
  if (loss !== undefined && typeof loss !== 'function') fail(`loss must be a function, got ${describe(loss)}`, ctx);
  // Every rank must agree on the shape of the pipeline, or the schedules would not match.
  const mine = `${stages.length} stages, ${microbatches} microbatches, ${schedule}`;
  const all = await comm.allgather(mine);
  const odd = all.map((s, r) => (s === mine ? -1 : r)).filter((r) => r >= 0);
  if (odd.length) fail(`ranks disagree on the pipeline: here ${mine}; ${odd.map((r) => `rank ${r}: ${all[r]}`).join('; ')}`, ctx);
  const own = comm.rank < stages.length ? stages[comm.rank] : undefined;
  let stage: Stage | undefined;
  let problem: string | null = null;
  if (own !== undefined) {
    try {
      stage = typeof own === 'function' ? await own() : own;
      if (!stage || typeof stage.forward !== 'function' || typeof stage.backward !== 'function') {
        problem = `stage ${comm.rank} must have forward and backward methods, got ${describe(stage)}`;
      }
    } catch (e) {
      problem = `building stage ${comm.rank} threw ${(e as Error)?.name ?? 'an error'}: ${(e as Error)?.message ?? String(e)}`;
    }
  }
  // A stage that cannot be built fails the call on every rank, rather than leaving the others waiting.
  const problems = (await comm.allgather(problem)).filter((p): p is string => p !== null);
  if (problems.length) fail(problems.join('; '), ctx);
  const priv = await comm.split(0);
  return new Pipeline(priv!, stage, stages.length, microbatches, schedule, loss);
}

/** A built pipeline; see `pipeline()`. */
export class Pipeline {
  /** This rank's stage index, or -1 when it holds no stage. */
  readonly stageIndex: number;
  private closed = false;

  /** @internal Use `pipeline()`. */
  constructor(
    private readonly comm: Comm,
    /** This rank's stage, undefined on ranks that hold none. */
    readonly stage: Stage | undefined,
    readonly numStages: number,
    readonly microbatches: number,
    readonly schedule: ScheduleKind,
    private readonly loss: LossFn | undefined,
  ) {
    this.stageIndex = comm.rank < numStages ? comm.rank : -1;
  }

  /** Rank of the last stage: where the loss and the outputs are. */
  get lastRank(): number {
    return this.numStages - 1;
  }

  /**
   * Collective over the pipeline's ranks: one training step (forward and backward of every micro-batch) by
   * the schedule. `inputs` (micro-batches) are read on stage 0's rank, `targets` on the last stage's; other
   * ranks may pass undefined. Returns the step's loss (mean over micro-batches) on every rank. Parameter
   * gradients are left accumulated in the stages; apply the optimizer and zero them before the next step.
   */
  async step(inputs?: readonly FloatArray[], targets?: readonly FloatArray[]): Promise<number> {
    const op = 'Pipeline.step';
    this.live(op);
    const s = this.stageIndex;
    if (s === 0) this.checkBatch(inputs, 'inputs', op);
    if (s === this.lastRank) {
      this.checkBatch(targets, 'targets', op);
      if (!this.loss) fail('step needs a loss function: pass { loss } to pipeline()', { rank: this.comm.rank, op });
    }
    let total = 0;
    if (s >= 0) {
      const out = new Outbox(this.comm);
      const lossGrads: FloatArray[] = [];
      try {
        for (const { op: kind, mb } of pipelineSchedule(this.schedule, this.numStages, s, this.microbatches)) {
          if (kind === 'F') {
            const x = s === 0 ? inputs![mb] : await this.recvArray(s - 1, ACT(mb), op, 'activation', mb);
            const y = await this.stage!.forward(x, { microbatch: mb, training: true });
            this.checkOutput(y, 'forward', mb, op);
            if (s === this.lastRank) {
              const r = this.loss!(y, targets![mb], mb);
              if (!r || typeof r.loss !== 'number' || !isFloatArray(r.grad) || r.grad.length !== y.length) {
                fail(`loss of micro-batch ${mb} must return { loss: number, grad } with grad of ${y.length} elements like the output, got ${describe(r?.grad)}`, { rank: this.comm.rank, op });
              }
              total += r.loss;
              for (let e = 0; e < r.grad.length; e++) r.grad[e] /= this.microbatches;
              lossGrads[mb] = r.grad;
            } else {
              out.post(y, s + 1, ACT(mb));
            }
          } else {
            const g = s === this.lastRank ? lossGrads[mb] : await this.recvArray(s + 1, GRAD(mb), op, 'gradient', mb);
            delete lossGrads[mb];
            const gx = await this.stage!.backward(g, { microbatch: mb, training: true });
            if (s > 0) {
              this.checkOutput(gx, 'backward', mb, op);
              out.post(gx as FloatArray, s - 1, GRAD(mb));
            }
          }
        }
      } finally {
        await out.flush();
      }
    }
    return this.comm.bcast(total / this.microbatches, this.lastRank);
  }

  /**
   * Collective over the pipeline's ranks: forward only (training: false); each stage passes a micro-batch on
   * and starts the next at once, so all stages work together. Returns the last stage's outputs per micro-batch on the last stage's rank, undefined
   * elsewhere. `inputs` are read on stage 0's rank; their count may differ from `microbatches`, but every
   * rank must pass the same count (others may pass an array of that length or just the count).
   */
  async predict(inputs: readonly FloatArray[] | number): Promise<FloatArray[] | undefined> {
    const op = 'Pipeline.predict';
    this.live(op);
    const s = this.stageIndex;
    const n = typeof inputs === 'number' ? inputs : Array.isArray(inputs) ? inputs.length : -1;
    if (!Number.isSafeInteger(n) || n < 0) fail(`inputs must be an array of micro-batches or their count, got ${describe(inputs)}`, { rank: this.comm.rank, op });
    if (s === 0 && (typeof inputs === 'number' || !inputs.every(isFloatArray))) {
      fail(`stage 0 needs the micro-batches themselves (Float32Array/Float64Array), got ${describe(inputs)}`, { rank: this.comm.rank, op });
    }
    if (s < 0) return undefined;
    const outputs: FloatArray[] = [];
    const out = new Outbox(this.comm);
    try {
      for (let mb = 0; mb < n; mb++) {
        const x = s === 0 ? (inputs as readonly FloatArray[])[mb] : await this.recvArray(s - 1, ACT(mb), op, 'activation', mb);
        const y = await this.stage!.forward(x, { microbatch: mb, training: false });
        this.checkOutput(y, 'forward', mb, op);
        if (s === this.lastRank) outputs.push(y);
        else out.post(y, s + 1, ACT(mb));
      }
    } finally {
      await out.flush();
    }
    return s === this.lastRank ? outputs : undefined;
  }

  /** Releases the pipeline's private communicator. Call on every rank once no step is running. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.comm.free();
  }

  private live(op: string): void {
    if (this.closed) fail('the pipeline was closed', { rank: this.comm.rank, op });
  }

  private checkBatch(b: readonly FloatArray[] | undefined, what: string, op: string): void {
    if (!Array.isArray(b) || b.length !== this.microbatches || !b.every(isFloatArray)) {
      const stage = what === 'inputs' ? 'stage 0' : `the last stage (${this.lastRank})`;
      fail(`${stage} needs ${what} as an array of ${this.microbatches} Float32Array/Float64Array micro-batches, got ${describe(b)}${Array.isArray(b) ? ` with ${b.filter((x) => !isFloatArray(x)).length} non-float entries` : ''}`, { rank: this.comm.rank, op });
    }
  }

  private checkOutput(y: unknown, pass: string, mb: number, op: string): asserts y is FloatArray {
    if (!isFloatArray(y)) fail(`stage ${this.stageIndex} ${pass} of micro-batch ${mb} must return a Float32Array or Float64Array, got ${describe(y)}`, { rank: this.comm.rank, op });
  }

  private async recvArray(src: number, tag: number, op: string, what: string, mb: number): Promise<FloatArray> {
    const x = await this.comm.recv(src, tag);
    if (!isFloatArray(x)) fail(`expected the ${what} of micro-batch ${mb} as a float array, got ${describe(x)}`, { rank: this.comm.rank, op, peer: src, tag });
    return x;
  }
}

/** Sends without waiting, so a stage moves on to its next pass while the neighbour takes the data; flush waits. */
class Outbox {
  private readonly pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly comm: Comm) {}

  post(data: FloatArray, dest: number, tag: number): void {
    this.pending.push(this.comm.send(data, dest, tag).catch((error: unknown) => { this.failure ??= { error }; }));
  }

  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure.error;
  }
}
