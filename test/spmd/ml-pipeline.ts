// spmd: ranks=1,2,3,4 timeout=120
// SPMD test of pipeline(): a 4-layer model cut into one stage per rank (and into 2 stages with idle ranks)
// gives the loss, gradients, predictions and trained weights of the unsplit model, under GPipe and 1F1B.
import assert from 'node:assert/strict';
import { finalize, init } from '../../src/comm/index.js';
import { DenseStack, pipeline, softmaxCrossEntropy, splitMicrobatches, type DenseLayer, type FloatArray } from '../../src/ml/index.js';

const comm = await init();
const { rank, size } = comm;

const LAYERS: DenseLayer[] = [
  { inputs: 6, outputs: 10, activation: 'tanh' },
  { inputs: 10, outputs: 10, activation: 'relu' },
  { inputs: 10, outputs: 8, activation: 'tanh' },
  { inputs: 8, outputs: 4, activation: 'none' },
];
const ROWS = 12, IN = 6, OUT = 4, LR = 0.3;
const x = Float64Array.from({ length: ROWS * IN }, (_, i) => Math.cos(i * 0.37) * 1.5);
const t = new Float64Array(ROWS * OUT);
for (let r = 0; r < ROWS; r++) t[r * OUT + ((r * 5) % OUT)] = 1;

/** Layer indices of stage s when the 4 layers are cut into S near-equal consecutive groups. */
const groupOf = (S: number, s: number) => LAYERS.map((_, l) => l).filter((l) => Math.floor((l * S) / LAYERS.length) === s);
const stageStack = (S: number, s: number) => new DenseStack(groupOf(S, s).map((l) => LAYERS[l]), { dtype: 'float64', seed: 40 + 10 * S + s });

/** The unsplit model: one stack of all 4 layers holding the same weights as the S stages together. */
function unsplit(S: number): DenseStack {
  const whole = new DenseStack(LAYERS, { dtype: 'float64' });
  for (let s = 0; s < S; s++) {
    const part = stageStack(S, s);
    groupOf(S, s).forEach((l, j) => { whole.params[2 * l].set(part.params[2 * j]); whole.params[2 * l + 1].set(part.params[2 * j + 1]); });
  }
  return whole;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) => {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])), `rank ${rank} ${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

const configs = [{ S: size, M: 4, schedule: '1f1b' as const }, { S: size, M: 4, schedule: 'gpipe' as const }, { S: size, M: 6, schedule: '1f1b' as const }, { S: size, M: 1, schedule: '1f1b' as const }];
if (size >= 3) configs.push({ S: 2, M: 3, schedule: '1f1b' as const }); // ranks 2.. hold no stage
for (const { S, M, schedule } of configs) {
  const what = `${S} stages, ${M} microbatches, ${schedule}`;
  const ref = unsplit(S);
  const pipe = await pipeline(comm, Array.from({ length: S }, (_, s) => () => stageStack(S, s)), {
    microbatches: M, schedule, loss: (y, tgt) => softmaxCrossEntropy(y, tgt, OUT),
  });
  const mine = pipe.stage as DenseStack | undefined;
  assert.equal(pipe.stageIndex, rank < S ? rank : -1);
  const xs = splitMicrobatches(x, IN, M), ts = splitMicrobatches(t, OUT, M);
  for (let step = 0; step < 3; step++) {
    // Reference: the whole batch at once through the unsplit model.
    ref.zeroGrad();
    const r = softmaxCrossEntropy(await ref.forward(x), t, OUT);
    await ref.backward(r.grad);
    mine?.zeroGrad();
    const loss = await pipe.step(rank === 0 ? xs : undefined, rank === S - 1 ? ts : undefined);
    close([loss], [r.loss], 1e-12, `${what} step ${step} loss`);
    if (mine) {
      groupOf(S, rank).forEach((l, j) => {
        close(mine.grads[2 * j], ref.grads[2 * l], 1e-10, `${what} step ${step} dW${l}`);
        close(mine.grads[2 * j + 1], ref.grads[2 * l + 1], 1e-10, `${what} step ${step} db${l}`);
      });
      for (const [p, g] of mine.params.map((p, i) => [p, mine.grads[i]] as const)) for (let e = 0; e < p.length; e++) p[e] -= LR * g[e];
    }
    ref.params.forEach((p, i) => { for (let e = 0; e < p.length; e++) p[e] -= LR * ref.grads[i][e]; });
  }
  // Inference through the trained pipeline: the last stage gets the unsplit model's outputs.
  const outs = await pipe.predict(rank === 0 ? xs : M);
  if (rank === S - 1) {
    const want = await ref.forward(x, { microbatch: 0, training: false });
    close(Float64Array.from(outs!.flatMap((o: FloatArray) => [...o])), want, 1e-10, `${what} predict`);
  } else {
    assert.equal(outs, undefined);
  }
  pipe.close();
}

// Bad arguments are refused on every rank before any message moves.
await assert.rejects(pipeline(comm, []), new RegExp(`rank ${rank}, pipeline\\] stages must be a non-empty array`));
await assert.rejects(pipeline(comm, Array.from({ length: size + 1 }, () => stageStack(1, 0))), /stages need at least/);
await assert.rejects(pipeline(comm, [stageStack(1, 0)], { schedule: 'zigzag' as never }), /schedule must be 'gpipe' or '1f1b'/);
await assert.rejects(pipeline(comm, Array.from({ length: size }, (_, s) => () => { if (s === size - 1) throw new RangeError('out of memory'); return stageStack(1, 0); })),
  new RegExp(`rank ${rank}, pipeline\\] building stage ${size - 1} threw RangeError: out of memory`));
await assert.rejects(pipeline(comm, [{ forward: () => x } as never]), /stage 0 must have forward and backward methods/);
if (size === 1) {
  const p = await pipeline(comm, [stageStack(1, 0)], { microbatches: 2 });
  await assert.rejects(p.step([x], [t]), /stage 0 needs inputs as an array of 2 Float32Array\/Float64Array micro-batches/);
  await assert.rejects(p.step(splitMicrobatches(x, IN, 2), splitMicrobatches(t, OUT, 2)), /step needs a loss function/);
  p.close();
}

if (rank === 0) console.log(`ml-pipeline: ${size} rank(s): ${configs.length} configurations match the unsplit model`);
await finalize();
