// Public entry of darray: re-exports only. What is exported here is the contract in the design's api.md.
export * from './errors.js';

// Lifecycle and communicator.
export { init, finalize, Comm, ANY_SOURCE, ANY_TAG, TAG_UB } from './comm/index.js';
export type { Status, ReduceOp } from './comm/index.js';

// Distributed arrays.
export * from './darray/index.js';

// Files and memory: Zarr save/load/open, .npy export, the per-rank memory limit.
export * from './darray/io/index.js';

// Dense linear algebra.
export * from './linalg/index.js';

// Kernel backend choice (the kernels themselves are internal).
export { setBackend, getBackend } from './kernels/index.js';

// One progress line per job (from rank 0) for long operations of user programs.
export { progress, type Progress, type ProgressOptions } from './progress.js';

// Sparse matrices and graphs, as namespaces: da.sparse.fromEdges, da.graph.pagerank.
export * as sparse from './sparse/index.js';
export * as graph from './graph/index.js';

// Training across ranks.
export {
  DataParallel, DistributedSampler, pipeline, Pipeline, onRank, splitMicrobatches, DenseStack, softmaxCrossEntropy,
} from './ml/index.js';
export type {
  DataParallelOptions, StepTimes, SamplerOptions, Stage, StageSpec, PipelineOptions, PassInfo, LossFn, Handle, Remote,
} from './ml/index.js';
