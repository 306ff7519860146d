// The MNIST MLP of mnist-ddp.ts split into a 2-stage pipeline: layer 1 on rank 0, layer 2 and the loss on rank 1.
//   npx tsx scripts/mpirun.ts -n 2 examples/mnist-pipeline.ts [--epochs 4] [--train 2000] [--batch 64] [--microbatches 4]
// Only activations (batch x 128) and their gradients travel between the ranks; each rank keeps its own weights.
import * as tf from '@tensorflow/tfjs';
import { finalize, init } from '../src/comm/index.js';
import { digits } from './mnist-data.js';
import { pipeline, softmaxCrossEntropy, splitMicrobatches, type FloatArray, type PassInfo, type Stage } from '../src/ml/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const EPOCHS = arg('epochs', 4), TRAIN = arg('train', 2000), TEST = arg('test', 1000), BATCH = arg('batch', 64);
const M = arg('microbatches', 4), MIN_ACCURACY = arg('min-accuracy', 0.85);


/**
 * One dense layer y = act(x W + b) as a pipeline Stage on tfjs. Forward keeps its input per micro-batch;
 * backward gets d(loss)/dW, d(loss)/db and d(loss)/dx from tf.grads, adds the first two to its accumulators
 * and returns the last for the previous stage. After a step, `apply` runs the optimizer on the accumulated sums.
 */
class DenseStage implements Stage {
  private readonly w: tf.Variable;
  private readonly b: tf.Variable;
  private readonly kept = new Map<number, tf.Tensor2D>();
  private gw: tf.Tensor | undefined;
  private gb: tf.Tensor | undefined;
  private readonly optimizer = tf.train.adam(0.002);

  constructor(private readonly inputs: number, private readonly outputs: number, private readonly relu: boolean, seed: number) {
    this.w = tf.variable(tf.randomNormal([inputs, outputs], 0, Math.sqrt(2 / inputs), 'float32', seed));
    this.b = tf.variable(tf.zeros([outputs]));
  }

  private apply1(x: tf.Tensor2D, w: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
    const z = tf.add(tf.matMul(x, w as tf.Tensor2D), b) as tf.Tensor2D;
    return this.relu ? tf.relu(z) : z;
  }

  forward(x: FloatArray, info: PassInfo): FloatArray {
    const xt = tf.tensor2d(x as Float32Array, [x.length / this.inputs, this.inputs]);
    const y = tf.tidy(() => this.apply1(xt, this.w, this.b));
    const out = y.dataSync() as Float32Array;
    y.dispose();
    if (info.training) this.kept.set(info.microbatch, xt);
    else xt.dispose();
    return out;
  }

  backward(gradOutput: FloatArray, info: PassInfo): FloatArray {
    const xt = this.kept.get(info.microbatch)!;
    this.kept.delete(info.microbatch);
    const dy = tf.tensor2d(gradOutput as Float32Array, [gradOutput.length / this.outputs, this.outputs]);
    const [dx, dw, db] = tf.grads((x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => this.apply1(x as tf.Tensor2D, w, b))([xt, this.w, this.b], dy);
    const accumulate = (sum: tf.Tensor | undefined, g: tf.Tensor) => (sum ? tf.tidy(() => { const s = tf.add(sum, g); sum.dispose(); g.dispose(); return s; }) : g);
    this.gw = accumulate(this.gw, dw);
    this.gb = accumulate(this.gb, db);
    const out = dx.dataSync() as Float32Array;
    tf.dispose([xt, dy, dx]);
    return out;
  }

  /** One optimizer step on the gradients accumulated over the micro-batches, which are then cleared. */
  apply(): void {
    this.optimizer.applyGradients([{ name: this.w.name, tensor: this.gw! }, { name: this.b.name, tensor: this.gb! }]);
    tf.dispose([this.gw!, this.gb!]);
    this.gw = this.gb = undefined;
  }
}

const comm = await init();
const { rank } = comm;
if (comm.size !== 2) throw new Error(`[rank ${rank}] mnist-pipeline: run on 2 ranks (one stage each), not ${comm.size}`);
if (BATCH % M !== 0) throw new Error(`[rank ${rank}] mnist-pipeline: batch ${BATCH} must divide into ${M} micro-batches`);
await tf.setBackend('cpu');
const train = digits(TRAIN, 0), test = digits(TEST, Math.ceil(TRAIN / 10));

const pipe = await pipeline(comm, [() => new DenseStage(784, 128, true, 1), () => new DenseStage(128, 10, false, 2)], {
  microbatches: M, schedule: '1f1b', loss: (logits, target) => softmaxCrossEntropy(logits, target, 10),
});
const stage = pipe.stage as DenseStage;

// Every rank shuffles the same way (same seed); rank 0 feeds images, rank 1 the labels.
let seed = 42;
const order = Array.from({ length: TRAIN }, (_, i) => i);
const t0 = performance.now();
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  for (let i = order.length - 1; i > 0; i--) { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; const j = (seed >>> 8) % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
  let lossSum = 0, steps = 0;
  for (let k = 0; k + BATCH <= TRAIN; k += BATCH) {
    const idx = order.slice(k, k + BATCH);
    const src = rank === 0 ? train.x : train.y, width = rank === 0 ? 784 : 10;
    const batch = new Float32Array(BATCH * width);
    idx.forEach((s, r) => batch.set(src.subarray(s * width, (s + 1) * width), r * width));
    const micro = splitMicrobatches(batch, width, M);
    lossSum += await pipe.step(rank === 0 ? micro : undefined, rank === 1 ? micro : undefined);
    stage.apply();
    steps++;
  }
  if (rank === 0) console.log(`epoch ${epoch + 1}/${EPOCHS}: mean training loss ${(lossSum / steps).toFixed(4)}`);
}
const seconds = (performance.now() - t0) / 1000;

// Test accuracy: the images stream through the pipeline in chunks of 100; rank 1 scores the outputs.
const chunks = splitMicrobatches(test.x, 784, TEST / 100);
const outs = await pipe.predict(rank === 0 ? chunks : chunks.length);
let correct = 0;
outs?.forEach((o, c) => {
  for (let r = 0; r < o.length / 10; r++) {
    let best = 0;
    for (let j = 1; j < 10; j++) if (o[r * 10 + j] > o[r * 10 + best]) best = j;
    if (test.y[(c * 100 + r) * 10 + best] === 1) correct++;
  }
});
const accuracy = (await comm.bcast(correct, 1)) / TEST;
if (rank === 0) {
  console.log(`mnist-pipeline: 2 stages, ${TRAIN} training digits, ${EPOCHS} epochs, batch ${BATCH} in ${M} micro-batches (1F1B): ` +
    `test accuracy ${(100 * accuracy).toFixed(1)}% on ${TEST} digits, ${seconds.toFixed(1)} s, ` +
    `${((EPOCHS * Math.floor(TRAIN / BATCH) * BATCH) / seconds).toFixed(0)} samples/s`);
}
pipe.close();
await finalize();
if (accuracy < MIN_ACCURACY) {
  console.error(`[rank ${rank}] mnist-pipeline: accuracy ${accuracy} below ${MIN_ACCURACY}`);
  process.exit(1);
}
