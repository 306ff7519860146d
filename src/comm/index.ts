// The communicator's public face, re-exported by src/index.ts: init/finalize, Comm and the wildcard constants.
export { init, finalize } from './init.js';
export { Comm, type Status } from './comm.js';
export { ANY_SOURCE, ANY_TAG, TAG_UB } from './tags.js';
export type { ReduceOp } from './reduce-ops.js';
