// Benchmark of data-parallel training (`npm run bench:ml`): samples/s of an MLP at 1, 2 and 4 ranks, each beside
// the same ranks' compute-only rate, and the share of the gradient allreduce time hidden behind backward.
// Run plain, it launches itself through scripts/mpirun.ts; under the launcher (DARRAY_RANK set) it measures.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const GLOBAL = Number(process.env.BENCH_BATCH ?? 256);
const STEPS = Number(process.env.BENCH_STEPS ?? 6);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const HIDDEN = Number(process.env.BENCH_HIDDEN ?? 512);

async function worker(): Promise<void> {
  const { init, finalize } = await import('../src/comm/index.js');
  const { DataParallel, DenseStack } = await import('../src/ml/index.js');
  const kernels = await import('../src/kernels/index.js');
  const comm = await init();
  const local = GLOBAL / comm.size;
  // 784 -> HIDDEN -> HIDDEN -> 10 on the native gemm, which runs off the event loop: while a layer's
  // gradient is computed, the allreduces of the layers after it make progress.
  const net = new DenseStack([
    { inputs: 784, outputs: HIDDEN, activation: 'relu' },
    { inputs: HIDDEN, outputs: HIDDEN, activation: 'relu' },
    { inputs: HIDDEN, outputs: 10, activation: 'none' },
  ], { dtype: 'float32', seed: 1, gemm: kernels.gemm });
  const ddp = new DataParallel(comm, net.params, { bucketBytes: 1 << 20 });
  await ddp.broadcastParameters();
  const x = Float32Array.from({ length: local * 784 }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const gy = Float32Array.from({ length: local * 10 }, (_, i) => ((i % 10) - 4.5) / (10 * GLOBAL));

  const step = async (mode: 'overlap' | 'compute' | 'after') => {
    net.zeroGrad();
    net.onGrad = mode === 'overlap' ? (i, g) => ddp.gradReady(i, g) : undefined;
    await net.forward(x, { microbatch: 0, training: true });
    await net.backward(gy, { microbatch: 0, training: true });
    if (mode === 'overlap') await ddp.wait();
    if (mode === 'after') await ddp.syncGradients(net.grads);
  };
  /** The slowest rank's time for `fn`, started together after a barrier. */
  const timed = async (fn: () => Promise<void>) => {
    await comm.barrier();
    const t0 = performance.now();
    await fn();
    return comm.allreduce((performance.now() - t0) / 1000, 'max');
  };
  const steps = (mode: 'overlap' | 'compute' | 'after') => async () => { for (let s = 0; s < STEPS; s++) await step(mode); };
  // The allreduces alone, on the gradients of one backward: the communication there is to hide.
  const syncOnly = async () => { for (let s = 0; s < STEPS; s++) await ddp.syncGradients(net.grads); };
  await steps('overlap')(); // warm-up: JIT, BLAS buffers, socket buffers
  await steps('after')();
  // The modes take turns within each repetition, so a change in machine load hits them all alike; best of REPS.
  let tOverlap = Infinity, tCompute = Infinity, tComm = Infinity, tAfter = Infinity, exposed = 0, comm1 = 0;
  for (let r = 0; r < REPS; r++) {
    tOverlap = Math.min(tOverlap, await timed(steps('overlap')));
    exposed += ddp.lastStep.exposedMs;
    comm1 += ddp.lastStep.commMs;
    tCompute = Math.min(tCompute, await timed(steps('compute')));
    tComm = Math.min(tComm, await timed(syncOnly));
    tAfter = Math.min(tAfter, await timed(steps('after')));
  }
  // Spot check: every rank ends with the same averaged gradients (a fast wrong answer must not pass).
  let sum = 0;
  for (const g of net.grads) for (let e = 0; e < g.length; e++) sum += g[e];
  if ((await comm.allreduce(sum, 'max')) !== (await comm.allreduce(sum, 'min'))) throw new Error('ranks ended with different gradients');
  if (comm.rank === 0) {
    const rate = (t: number) => +((GLOBAL * STEPS) / t).toFixed(1);
    const hidden = comm.size > 1 && tComm > 0 ? (tCompute + tComm - tOverlap) / tComm : null;
    console.log(JSON.stringify({
      bench: 'ml', op: 'ddp-train-step', ranks: comm.size, model: `mlp 784-${HIDDEN}-${HIDDEN}-10 float32`,
      params: net.params.reduce((a, p) => a + p.length, 0), globalBatch: GLOBAL, buckets: ddp.buckets.length,
      samplesPerSec: rate(tOverlap),
      reference: 'forward+backward without communication, same ranks', refSamplesPerSec: rate(tCompute),
      ratio: +(tCompute / tOverlap).toFixed(3),
      syncAfterBackwardSamplesPerSec: rate(tAfter), overlapGain: +(tAfter / tOverlap).toFixed(3),
      allreduceSecondsPerStep: +(tComm / STEPS).toFixed(5),
      hiddenShare: hidden === null ? null : +Math.max(0, Math.min(1, hidden)).toFixed(3),
      hiddenShareByTimers: comm.size > 1 && comm1 > 0 ? +(1 - exposed / comm1).toFixed(3) : null,
    }));
  }
  await finalize();
}

function driver(): void {
  const self = fileURLToPath(import.meta.url);
  const launcher = fileURLToPath(new URL('../scripts/mpirun.ts', import.meta.url));
  let one: number | undefined;
  for (const n of [1, 2, 4]) {
    const r = spawnSync('npx', ['tsx', launcher, '-n', String(n), '--timeout', '600', self], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const lines = (r.stdout ?? '').split('\n').map((l) => /^\[0\]\s*(\{.*\})\s*$/.exec(l)?.[1]).filter((l): l is string => !!l);
    if (r.status !== 0 || lines.length === 0) {
      process.stderr.write(`bench ml at ${n} ranks failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}\n`);
      process.exitCode = 1;
      continue;
    }
    for (const l of lines) {
      const o = JSON.parse(l) as { samplesPerSec: number };
      // Scaling against the 1-rank figure of this same run.
      if (n === 1) one = o.samplesPerSec;
      console.log(JSON.stringify({ ...o, oneRankSamplesPerSec: one ?? null, speedupVs1Rank: one ? +(o.samplesPerSec / one).toFixed(3) : null }));
    }
  }
}

if (process.env.DARRAY_RANK !== undefined) await worker();
else driver();
