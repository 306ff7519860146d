// Pipeline schedules as pure functions: the order in which one stage runs the forward (F) and backward (B)
// passes of the micro-batches of one training step. The pipeline runtime executes these lists.

export type ScheduleKind = 'gpipe' | '1f1b';

/** One pass of one micro-batch on one stage. */
export interface PipeOp {
  op: 'F' | 'B';
  mb: number;
}

/**
 * The ops stage `stage` (0-based, of `stages`) runs in one step of `microbatches` micro-batches.
 *
 * - `gpipe` (Huang et al. 2019): every forward, then every backward. Simple, but each stage holds the
 *   activations of all micro-batches at once.
 * - `1f1b` (PipeDream-Flush, Narayanan et al. 2021): stage s runs min(S - s - 1, M) warm-up forwards, then
 *   alternates one forward and one backward, then drains the remaining backwards. It takes as long as GPipe
 *   but holds at most S - s micro-batches' activations.
 *
 * Backwards run in micro-batch order 0, 1, ... in both, so parameter gradients accumulate in the same order
 * as on an unsplit model that processes the micro-batches one after another.
 */
export function pipelineSchedule(kind: ScheduleKind, stages: number, stage: number, microbatches: number): PipeOp[] {
  if (!Number.isInteger(stages) || stages < 1) throw new RangeError(`pipelineSchedule: stages must be a positive integer, got ${stages}`);
  if (!Number.isInteger(stage) || stage < 0 || stage >= stages) throw new RangeError(`pipelineSchedule: stage ${stage} not in 0..${stages - 1}`);
  if (!Number.isInteger(microbatches) || microbatches < 1) throw new RangeError(`pipelineSchedule: microbatches must be a positive integer, got ${microbatches}`);
  const M = microbatches;
  const ops: PipeOp[] = [];
  if (kind === 'gpipe') {
    for (let mb = 0; mb < M; mb++) ops.push({ op: 'F', mb });
    for (let mb = 0; mb < M; mb++) ops.push({ op: 'B', mb });
    return ops;
  }
  if (kind !== '1f1b') throw new RangeError(`pipelineSchedule: unknown schedule '${String(kind)}' (expected 'gpipe' or '1f1b')`);
  const warmup = Math.min(stages - stage - 1, M);
  let f = 0;
  let b = 0;
  while (f < warmup) ops.push({ op: 'F', mb: f++ });
  while (f < M) {
    ops.push({ op: 'F', mb: f++ });
    ops.push({ op: 'B', mb: b++ });
  }
  while (b < M) ops.push({ op: 'B', mb: b++ });
  return ops;
}
