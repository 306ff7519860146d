// The tracing layer's face for the other layers: hooks for the communicator and the kernels, the lifecycle
// calls of init/finalize, and the merge and summary used by the launcher and darray-report.
export { phase, traceCollective, traceKernel, traceRecv, traceSend, tracing } from './recorder.js';
export { traceAttach, traceFinish } from './session.js';
export { mergeParts, readParts } from './merge.js';
export { summarize } from './summary.js';
export type * from './format.js';
