// Unit tests of DenseStack and softmaxCrossEntropy against central finite differences (an independent
// check of every analytic gradient), and of loopGemm against a naive triple loop.
import assert from 'node:assert/strict';
import { DenseStack, loopGemm, softmaxCrossEntropy } from '../../src/ml/index.js';

const layers = [
  { inputs: 3, outputs: 4, activation: 'tanh' as const },
  { inputs: 4, outputs: 5, activation: 'relu' as const },
  { inputs: 5, outputs: 2, activation: 'none' as const },
];
const rows = 6;
const x = Float64Array.from({ length: rows * 3 }, (_, i) => Math.sin(i * 1.7) + 0.3);
const t = Float64Array.from({ length: rows * 2 }, (_, i) => ((i >> 1) % 2 === i % 2 ? 1 : 0));

async function lossOf(net: DenseStack, input: Float64Array): Promise<number> {
  return softmaxCrossEntropy(await net.forward(input, { microbatch: 0, training: false }), t, 2).loss;
}

describe('ml: DenseStack', () => {
  it('parameter and input gradients agree with central differences', async () => {
    const net = new DenseStack(layers, { dtype: 'float64', seed: 3 });
    for (const b of [1, 3, 5]) net.params[b].forEach((_, j, a) => (a[j] = 0.05 * (j + 1))); // non-zero biases
    const out = await net.forward(x);
    const { grad } = softmaxCrossEntropy(out, t, 2);
    net.zeroGrad();
    const gx = await net.backward(grad);
    const h = 1e-6;
    for (let p = 0; p < net.params.length; p++) {
      for (let e = 0; e < net.params[p].length; e++) {
        const keep = net.params[p][e];
        net.params[p][e] = keep + h;
        const up = await lossOf(net, x);
        net.params[p][e] = keep - h;
        const down = await lossOf(net, x);
        net.params[p][e] = keep;
        const num = (up - down) / (2 * h);
        assert.ok(Math.abs(num - net.grads[p][e]) < 1e-6 * Math.max(1, Math.abs(num)), `param ${p}[${e}]: ${net.grads[p][e]} vs ${num}`);
      }
    }
    for (let e = 0; e < x.length; e++) {
      const xp = x.slice(); xp[e] += h;
      const xm = x.slice(); xm[e] -= h;
      const num = ((await lossOf(net, xp)) - (await lossOf(net, xm))) / (2 * h);
      assert.ok(Math.abs(num - gx[e]) < 1e-6, `input ${e}: ${gx[e]} vs ${num}`);
    }
  });

  it('reports gradients last layer first through onGrad, accumulates across passes', async () => {
    const order: number[] = [];
    const net = new DenseStack(layers, { dtype: 'float32', seed: 1, onGrad: (i) => { order.push(i); } });
    const g1 = net.grads.map((g) => g.slice());
    await net.forward(x, { microbatch: 0, training: true });
    await net.forward(x, { microbatch: 1, training: true });
    const { grad } = softmaxCrossEntropy(await net.forward(x, { microbatch: 2, training: false }), t, 2);
    await net.backward(grad, { microbatch: 0, training: true });
    const once = net.grads.map((g) => g.slice());
    await net.backward(grad, { microbatch: 1, training: true });
    assert.deepEqual(order, [5, 4, 3, 2, 1, 0, 5, 4, 3, 2, 1, 0]);
    net.grads.forEach((g, p) => g.forEach((v, e) => assert.ok(Math.abs(v - 2 * once[p][e]) < 1e-5 + 1e-5 * Math.abs(v))));
    assert.ok(g1.every((g) => g.every((v) => v === 0)));
    await assert.rejects(net.backward(grad, { microbatch: 1, training: true }), /no forward of micro-batch 1/);
  });

  it('same seed gives the same weights, Glorot-bounded; bad layers are refused', () => {
    const a = new DenseStack(layers, { seed: 9 }), b = new DenseStack(layers, { seed: 9 }), c = new DenseStack(layers, { seed: 10 });
    assert.deepEqual(a.params, b.params);
    assert.notDeepEqual(a.params[0], c.params[0]);
    assert.ok(a.params[0].every((v) => Math.abs(v) <= Math.sqrt(6 / 7)));
    assert.throws(() => new DenseStack([{ inputs: 3, outputs: 4, activation: 'tanh' }, { inputs: 5, outputs: 2, activation: 'none' }]), /layer 1 takes 5 inputs but layer 0 gives 4/);
  });

  it('loopGemm matches a naive triple loop for all transposes, alpha and beta', () => {
    const m = 4, n = 3, k = 5;
    const A = Float64Array.from({ length: m * k }, (_, i) => Math.cos(i)), B = Float64Array.from({ length: k * n }, (_, i) => Math.sin(i));
    for (const tA of [false, true]) for (const tB of [false, true]) {
      const C = Float64Array.from({ length: m * n }, (_, i) => i), want = C.map((c, i) => {
        const r = Math.floor(i / n), col = i % n;
        let s = 0;
        for (let p = 0; p < k; p++) s += (tA ? A[p * m + r] : A[r * k + p]) * (tB ? B[col * k + p] : B[p * n + col]);
        return 2 * s + 0.5 * c;
      });
      loopGemm(tA, tB, m, n, k, 2, { data: A, ld: tA ? m : k }, { data: B, ld: tB ? k : n }, 0.5, { data: C, ld: n });
      C.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
    }
  });
});
