// Data-parallel training of an MLP on MNIST digits with TensorFlow.js (CPU backend) and darray's DataParallel:
//   npx tsx scripts/mpirun.ts -n 4 examples/mnist-ddp.ts [--epochs 4] [--train 2000] [--test 1000] [--batch 64]
// Every rank holds the model; each trains on its shard of every global batch; gradients are averaged.
import * as tf from '@tensorflow/tfjs';
import { finalize, init } from '../src/comm/index.js';
import { digits } from './mnist-data.js';
import { DataParallel, DistributedSampler } from '../src/ml/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const EPOCHS = arg('epochs', 4), TRAIN = arg('train', 2000), TEST = arg('test', 1000), BATCH = arg('batch', 64);
const MIN_ACCURACY = arg('min-accuracy', 0.85);

const rows = (src: Float32Array, width: number, idx: ArrayLike<number>) => {
  const out = new Float32Array(idx.length * width);
  for (let r = 0; r < idx.length; r++) out.set(src.subarray(idx[r] * width, (idx[r] + 1) * width), r * width);
  return out;
};

const comm = await init();
const { rank, size } = comm;
if (BATCH % size !== 0) throw new Error(`[rank ${rank}] mnist-ddp: global batch ${BATCH} must divide by ${size} ranks`);
await tf.setBackend('cpu');
const train = digits(TRAIN, 0), test = digits(TEST, Math.ceil(TRAIN / 10));

// The model: 784 -> 128 (relu) -> 10, as tfjs variables; initial values differ per rank until broadcast.
const shapes: [number, number][] = [[784, 128], [1, 128], [128, 10], [1, 10]];
const vars = shapes.map(([r, c], i) => tf.variable(i % 2 ? tf.zeros([r, c]) : tf.randomNormal([r, c], 0, Math.sqrt(2 / r), 'float32', 1 + rank)));
const params = vars.map((v) => Float32Array.from(v.dataSync()));
const ddp = new DataParallel(comm, params, { bucketBytes: 256 << 10 });
await ddp.broadcastParameters();
vars.forEach((v, i) => v.assign(tf.tensor(params[i], shapes[i])));
const logits = (x: tf.Tensor) => tf.tidy(() => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, vars[0]), vars[1])), vars[2]), vars[3]));
const optimizer = tf.train.adam(0.002);

const sampler = new DistributedSampler(comm, TRAIN, { seed: 42 });
const local = BATCH / size;
const t0 = performance.now();
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  sampler.setEpoch(epoch);
  let lossSum = 0, steps = 0;
  for (const idx of sampler.batches(local)) {
    if (idx.length < local) break; // keep every global batch the same size
    const x = tf.tensor(rows(train.x, 784, idx), [idx.length, 784]);
    const y = tf.tensor(rows(train.y, 10, idx), [idx.length, 10]);
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, logits(x)) as tf.Scalar, vars);
    const g = vars.map((v) => Float32Array.from(grads[v.name].dataSync()));
    await ddp.syncGradients(g); // every rank now holds the mean gradient of the global batch
    const averaged = vars.map((v, i) => ({ name: v.name, tensor: tf.tensor(g[i], shapes[i]) }));
    optimizer.applyGradients(averaged);
    lossSum += value.dataSync()[0];
    steps++;
    tf.dispose([x, y, value, ...Object.values(grads), ...averaged.map((a) => a.tensor)]);
  }
  const loss = (await comm.allreduce(lossSum / steps)) / size;
  if (rank === 0) console.log(`epoch ${epoch + 1}/${EPOCHS}: mean training loss ${loss.toFixed(4)}`);
}
const seconds = (performance.now() - t0) / 1000;

// Test accuracy, each rank scoring its shard of the test set; the weights must be the same bits everywhere.
const shard = new DistributedSampler(comm, TEST, { shuffle: false, dropLast: true }).indices();
const pred = tf.tidy(() => tf.argMax(logits(tf.tensor(rows(test.x, 784, shard), [shard.length, 784])), 1).dataSync());
let correct = 0;
shard.forEach((s, r) => { if (test.y[s * 10 + pred[r]] === 1) correct++; });
const accuracy = (await comm.allreduce(correct)) / (shard.length * size);
const sum = vars.reduce((acc, v) => acc + tf.sum(v).dataSync()[0], 0);
const same = (await comm.allreduce(sum, 'max')) === (await comm.allreduce(sum, 'min'));
if (rank === 0) {
  console.log(`mnist-ddp: ${size} rank(s), ${TRAIN} training digits, ${EPOCHS} epochs, global batch ${BATCH}: ` +
    `test accuracy ${(100 * accuracy).toFixed(1)}% on ${shard.length * size} digits, ${seconds.toFixed(1)} s, ` +
    `${((EPOCHS * Math.floor(TRAIN / BATCH) * BATCH) / seconds).toFixed(0)} samples/s; weights identical on all ranks: ${same}`);
}
await finalize();
if (!same || accuracy < MIN_ACCURACY) {
  console.error(`[rank ${rank}] mnist-ddp: ${!same ? 'weights differ between ranks' : `accuracy ${accuracy} below ${MIN_ACCURACY}`}`);
  process.exit(1);
}
