// Benchmark of training across ranks (`npm run bench:ml`): data-parallel samples/s of an MLP at 1, 2 and 4 ranks
// beside the same ranks' compute-only rate, the share of allreduce time hidden behind backward, and pipelined
// (GPipe, 1F1B) samples/s beside the unsplit model on one rank. Run plain, it launches itself through the launcher.
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
    // What communication costs a step when it starts only after backward (tAfter - tCompute; this includes
    // waiting for the slowest rank), and the share of that cost the overlapped step saves.
    const cost = tAfter - tCompute;
    const hidden = comm.size > 1 && cost > 0 ? (tAfter - tOverlap) / cost : null;
    console.log(JSON.stringify({
      bench: 'ml', op: 'ddp-train-step', ranks: comm.size, model: `mlp 784-${HIDDEN}-${HIDDEN}-10 float32`,
      params: net.params.reduce((a, p) => a + p.length, 0), globalBatch: GLOBAL, buckets: ddp.buckets.length,
      samplesPerSec: rate(tOverlap),
      reference: 'forward+backward without communication, same ranks', refSamplesPerSec: rate(tCompute),
      ratio: +(tCompute / tOverlap).toFixed(3),
      syncAfterBackwardSamplesPerSec: rate(tAfter), overlapGain: +(tAfter / tOverlap).toFixed(3),
      commCostPerStepSec: +(cost / STEPS).toFixed(5), allreduceAloneSecondsPerStep: +(tComm / STEPS).toFixed(5),
      hiddenShare: hidden === null ? null : +hidden.toFixed(3),
      hiddenShareByTimers: comm.size > 1 && comm1 > 0 ? +(1 - exposed / comm1).toFixed(3) : null,
    }));
  }
  if (comm.size > 1) await pipelineBench(comm, kernels.gemm, timed);
  await finalize();
}

/**
 * A 4-layer MLP cut into one stage per rank (layers dealt in order), trained on GLOBAL samples per step in 8
 * micro-batches, beside the same model unsplit on rank 0 alone (the others wait) in the same job.
 */
async function pipelineBench(comm: import('../src/comm/index.js').Comm, gemm: import('../src/ml/index.js').GemmFn,
  timed: (fn: () => Promise<void>) => Promise<number>): Promise<void> {
  const { DenseStack, pipeline, softmaxCrossEntropy, splitMicrobatches } = await import('../src/ml/index.js');
  const M = 8, S = comm.size;
  const layers = [784, HIDDEN, HIDDEN, HIDDEN, 10].slice(1).map((out, l, a) => ({ inputs: l ? a[l - 1] : 784, outputs: out, activation: (l === 3 ? 'none' : 'relu') as 'none' | 'relu' }));
  const mine = (s: number) => layers.filter((_, l) => Math.floor((l * S) / layers.length) === s);
  const x = Float32Array.from({ length: GLOBAL * 784 }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const t = Float32Array.from({ length: GLOBAL * 10 }, (_, i) => (i % 10 === (Math.floor(i / 10) * 7) % 10 ? 1 : 0));
  const loss = (y: import('../src/ml/index.js').FloatArray, tgt: import('../src/ml/index.js').FloatArray) => softmaxCrossEntropy(y, tgt, 10);
  const whole = new DenseStack(layers, { dtype: 'float32', seed: 3, gemm });
  const serialStep = async () => {
    if (comm.rank !== 0) return;
    whole.zeroGrad();
    await whole.backward(loss(await whole.forward(x), t).grad);
  };
  const rate = (sec: number) => +((GLOBAL * STEPS) / sec).toFixed(1);
  for (const schedule of ['gpipe', '1f1b'] as const) {
    const pipe = await pipeline(comm, Array.from({ length: S }, (_, s) => () => new DenseStack(mine(s), { dtype: 'float32', seed: 3 + s, gemm })), { microbatches: M, schedule, loss });
    const xs = splitMicrobatches(x, 784, M), ts = splitMicrobatches(t, 10, M);
    const run = async () => { for (let k = 0; k < STEPS; k++) { (pipe.stage as InstanceType<typeof DenseStack>).zeroGrad(); await pipe.step(xs, ts); } };
    const serial = async () => { for (let k = 0; k < STEPS; k++) await serialStep(); };
    await run();
    let tPipe = Infinity, tSerial = Infinity;
    for (let r = 0; r < REPS; r++) {
      tPipe = Math.min(tPipe, await timed(run));
      tSerial = Math.min(tSerial, await timed(serial));
    }
    if (comm.rank === 0) {
      console.log(JSON.stringify({
        bench: 'ml', op: `pipeline-train-step-${schedule}`, ranks: S, stages: S, microbatches: M,
        model: `mlp 784-${HIDDEN}-${HIDDEN}-${HIDDEN}-10 float32`, globalBatch: GLOBAL, samplesPerSec: rate(tPipe),
        reference: 'the unsplit model on one rank, same job', refSamplesPerSec: rate(tSerial), ratio: +(tSerial / tPipe).toFixed(3),
      }));
    }
    pipe.close();
  }
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
      const o = JSON.parse(l) as { op: string; samplesPerSec: number };
      if (o.op !== 'ddp-train-step') { console.log(l); continue; }
      // Scaling against the 1-rank figure of this same run.
      if (n === 1) one = o.samplesPerSec;
      console.log(JSON.stringify({ ...o, oneRankSamplesPerSec: one ?? null, speedupVs1Rank: one ? +(o.samplesPerSec / one).toFixed(3) : null }));
    }
  }
}

if (process.env.DARRAY_RANK !== undefined) await worker();
else driver();
