// spmd: ranks=1,2,4 timeout=400
// Runs examples/mnist-ddp.ts as a test: the MLP must reach its stated test accuracy (85%) on 1, 2 and 4 ranks
// with bit-identical weights everywhere; the example exits non-zero otherwise.
await import('../../examples/mnist-ddp.js');
