// Training across ranks, re-exported by src/index.ts: data parallelism, its sampler, pipelines and placement.
export { DataParallel, type DataParallelOptions, type StepTimes } from './ddp.js';
export { planBuckets, type Bucket, type ParamInfo } from './buckets.js';
export { DistributedSampler, permutation, shardIndices, shardLength, type SamplerOptions } from './sampler.js';
export { pipeline, Pipeline, type Stage, type StageSpec, type PassInfo, type LossFn, type PipelineOptions } from './pipeline.js';
export { pipelineSchedule, type PipeOp, type ScheduleKind } from './schedule.js';
export { onRank, type Handle, type Remote } from './on-rank.js';
export { splitMicrobatches, type FloatArray } from './types.js';
export { DenseStack, loopGemm, softmaxCrossEntropy, type Activation, type DenseLayer, type DenseOptions, type GemmFn, type MatRef } from './dense.js';
