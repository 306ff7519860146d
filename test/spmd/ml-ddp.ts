// spmd: ranks=1,2,3,4 timeout=120
// SPMD test of DataParallel: N SGD steps with the same global batch at any rank count give the weights of a
// serial reference (to 1e-5), bit-identical on every rank; plus the sampler's coverage across real ranks.
import assert from 'node:assert/strict';
import { finalize, init } from '../../src/comm/index.js';
import { DataParallel, DenseStack, DistributedSampler, shardIndices, softmaxCrossEntropy, type FloatArray } from '../../src/ml/index.js';

const comm = await init();
const { rank, size } = comm;

// A synthetic 3-class problem: 96 samples of 8 features, values a fixed function of the sample index.
const N = 96, F = 8, C = 3, GLOBAL = 24, STEPS = 8, LR = 0.5;
const feat = (i: number, f: number) => Math.sin(i * 0.71 + f * 1.3) + 0.1 * f;
const label = (i: number) => (Math.floor(i * 7 / 5) + (feat(i, 0) > 0 ? 1 : 0)) % C;
function batch(idx: ArrayLike<number>): { x: Float32Array; t: Float64Array } {
  const x = new Float32Array(idx.length * F), t = new Float64Array(idx.length * C);
  for (let r = 0; r < idx.length; r++) {
    for (let f = 0; f < F; f++) x[r * F + f] = feat(idx[r], f);
    t[r * C + label(idx[r])] = 1;
  }
  return { x, t };
}

/** Two stacks, float32 then float64, so that buckets of both dtypes travel. */
function model(seed: number) {
  const a = new DenseStack([{ inputs: F, outputs: 16, activation: 'tanh' }], { dtype: 'float32', seed });
  const b = new DenseStack([{ inputs: 16, outputs: 12, activation: 'relu' }, { inputs: 12, outputs: C, activation: 'none' }], { dtype: 'float64', seed: seed + 1 });
  return { a, b, params: [...a.params, ...b.params], grads: [...a.grads, ...b.grads] };
}
const sgd = (params: FloatArray[], grads: FloatArray[]) => params.forEach((p, i) => { for (let e = 0; e < p.length; e++) p[e] -= LR * grads[i][e]; });

// Serial reference: one process, the whole global batch per step, no communication.
const ref = model(11);
for (let step = 0; step < STEPS; step++) {
  const epoch = Math.floor(step * GLOBAL / N), k = (step * GLOBAL) % N;
  const { x, t } = batch(shardIndices(N, 1, 0, { seed: 5, epoch }).subarray(k, k + GLOBAL));
  ref.a.zeroGrad(); ref.b.zeroGrad();
  const { grad } = softmaxCrossEntropy(await ref.b.forward(await ref.a.forward(x)), t, C);
  await ref.a.backward(await ref.b.backward(grad));
  sgd(ref.params, ref.grads);
}

// Data parallel: different initial weights per rank (broadcastParameters must fix that), local batch
// GLOBAL / size, gradients handed over per layer during backward with small buckets so several are in flight.
const m = model(rank === 0 ? 11 : 100 + rank);
const ddp = new DataParallel(comm, m.params, { bucketBytes: 200 });
assert.ok(ddp.buckets.length >= 4, `${ddp.buckets.length} buckets`);
const hook = async (offset: number, i: number, g: FloatArray) => {
  ddp.gradReady(offset + i, g);
  await new Promise((r) => setImmediate(r)); // let the allreduces move while backward goes on
};
m.a.onGrad = (i, g) => hook(0, i, g);
m.b.onGrad = (i, g) => hook(2, i, g);
await ddp.broadcastParameters();
const sampler = new DistributedSampler(comm, N, { seed: 5 });
const local = GLOBAL / size;
for (let step = 0; step < STEPS; step++) {
  const epoch = Math.floor(step * GLOBAL / N), k = ((step * GLOBAL) % N) / size;
  sampler.setEpoch(epoch);
  const { x, t } = batch(sampler.indices().subarray(k, k + local));
  m.a.zeroGrad(); m.b.zeroGrad();
  const { grad } = softmaxCrossEntropy(await m.b.forward(await m.a.forward(x)), t, C);
  await m.a.backward(await m.b.backward(grad));
  await ddp.wait();
  sgd(m.params, m.grads);
}

// Same weights as the serial reference, to 1e-5.
let worst = 0;
m.params.forEach((p, i) => p.forEach((v, e) => { worst = Math.max(worst, Math.abs(v - ref.params[i][e]) / (1 + Math.abs(ref.params[i][e]))); }));
assert.ok(worst < 1e-5, `rank ${rank}: DDP weights differ from the serial reference by ${worst}`);
// Bit-identical on every rank: compare the raw bytes of all weights with rank 0's.
const bytes = Buffer.concat(m.params.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
const root = await comm.bcast(new Uint8Array(bytes), 0);
assert.ok(Buffer.from(root).equals(bytes), `rank ${rank}: weights differ from rank 0's`);
assert.ok(ddp.lastStep.commMs >= 0 && ddp.lastStep.exposedMs >= 0);

// The sampler across real ranks: the shards of one epoch together hold every sample exactly once.
const all = await comm.allgather(new DistributedSampler(comm, 60, { seed: 3 }).indices(4));
const seen = new Array(60).fill(0);
all.forEach((s) => { assert.equal(s.length, all[0].length, 'equal shard sizes'); s.forEach((i: number) => seen[i]++); });
if (60 % size === 0) assert.ok(seen.every((c) => c === 1), 'every sample once');
else assert.ok(seen.every((c) => c >= 1), 'every sample at least once (padded)');

if (rank === 0) console.log(`ml-ddp: ${size} rank(s), ${STEPS} steps, ${ddp.buckets.length} buckets, max deviation from serial ${worst.toExponential(2)}`);
await finalize();
