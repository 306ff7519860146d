// spmd: ranks=2 timeout=400
// Runs examples/mnist-pipeline.ts as a test: the 2-stage pipelined MLP must reach its stated test accuracy
// (85%); the example exits non-zero otherwise.
await import('../../examples/mnist-pipeline.js');
