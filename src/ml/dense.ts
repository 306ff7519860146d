// DenseStack: a framework-free stack of fully connected layers over typed arrays that implements the pipeline
// Stage interface and reports each layer's gradients as soon as they are final (DDP's overlap hook).
import type { PassInfo, Stage } from './pipeline.js';
import { describe, fail, isFloatArray, type FloatArray } from './types.js';

export type Activation = 'relu' | 'tanh' | 'none';

export interface DenseLayer {
  inputs: number;
  outputs: number;
  activation: Activation;
}

/** A row-major matrix operand: element (i, j) at data[offset + i * ld + j]; the kernels' `Mat`. */
export interface MatRef { data: FloatArray; offset?: number; ld: number }
/** C(m x n) = alpha op(A) op(B) + beta C, the BLAS contract (src/kernels' gemm fits; it runs off the event loop). */
export type GemmFn = (transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
  A: MatRef, B: MatRef, beta: number, C: MatRef) => void | Promise<void>;

export interface DenseOptions {
  dtype?: 'float32' | 'float64';
  /** Seed of the Glorot-uniform weight initialisation (biases start at zero). Same seed, same weights. */
  seed?: number;
  /** Matrix product to use; default a plain TypeScript loop. */
  gemm?: GemmFn;
  /**
   * Called during backward with (index into `params`, gradient) as soon as that parameter's gradient is final
   * for this pass, last layer first: hand it to `DataParallel.gradReady`. Awaited, so it may yield.
   */
  onGrad?: (index: number, grad: FloatArray) => void | Promise<void>;
}

/** Plain-loop gemm, the default and the tests' independent reference (i-k-j order, row-major). */
export function loopGemm(tA: boolean, tB: boolean, m: number, n: number, k: number, alpha: number,
  A: MatRef, B: MatRef, beta: number, C: MatRef): void {
  const a = A.data, b = B.data, c = C.data, ao = A.offset ?? 0, bo = B.offset ?? 0, co = C.offset ?? 0;
  for (let i = 0; i < m; i++) {
    const ci = co + i * C.ld;
    for (let j = 0; j < n; j++) c[ci + j] = beta === 0 ? 0 : beta * c[ci + j];
    for (let p = 0; p < k; p++) {
      const aip = alpha * (tA ? a[ao + p * A.ld + i] : a[ao + i * A.ld + p]);
      if (aip === 0) continue;
      if (tB) for (let j = 0; j < n; j++) c[ci + j] += aip * b[bo + j * B.ld + p];
      else for (let j = 0, bp = bo + p * B.ld; j < n; j++) c[ci + j] += aip * b[bp + j];
    }
  }
}

/** mulberry32: a small seeded generator for reproducible initial weights. */
function generator(seed: number): () => number {
  let s = (seed ^ 0x5bd1e995) | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/**
 * Consecutive dense layers y = act(x W + b), W of inputs x outputs, row-major, on batches of rows. Keeps each
 * training micro-batch's inputs and outputs until its backward. Parameter gradients accumulate (+=) in
 * `grads` across backward passes; call `zeroGrad()` before a step.
 */
export class DenseStack implements Stage {
  /** [W0, b0, W1, b1, ...] in the stack's dtype. */
  readonly params: FloatArray[];
  /** Gradients, the same layout as `params`. */
  readonly grads: FloatArray[];
  readonly inputs: number;
  readonly outputs: number;
  private readonly make: (n: number) => FloatArray;
  private readonly gemm: GemmFn;
  private readonly saved = new Map<number, FloatArray[]>();
  /** The gradient hook (see DenseOptions.onGrad); may be set after construction, e.g. once DDP exists. */
  onGrad: DenseOptions['onGrad'];

  constructor(readonly layers: readonly DenseLayer[], readonly opts: DenseOptions = {}) {
    const ctx = { op: 'DenseStack' };
    if (!Array.isArray(layers) || layers.length === 0) fail(`layers must be a non-empty array, got ${describe(layers)}`, ctx);
    layers.forEach((l, i) => {
      if (!Number.isSafeInteger(l?.inputs) || l.inputs <= 0 || !Number.isSafeInteger(l.outputs) || l.outputs <= 0) fail(`layer ${i} needs positive integer inputs and outputs`, ctx);
      if (!['relu', 'tanh', 'none'].includes(l.activation)) fail(`layer ${i} activation must be relu, tanh or none, got ${String(l.activation)}`, ctx);
      if (i > 0 && layers[i - 1].outputs !== l.inputs) fail(`layer ${i} takes ${l.inputs} inputs but layer ${i - 1} gives ${layers[i - 1].outputs}`, ctx);
    });
    const dtype = opts.dtype ?? 'float32';
    this.make = dtype === 'float32' ? (n) => new Float32Array(n) : (n) => new Float64Array(n);
    this.gemm = opts.gemm ?? loopGemm;
    this.onGrad = opts.onGrad;
    this.inputs = layers[0].inputs;
    this.outputs = layers[layers.length - 1].outputs;
    const rnd = generator(opts.seed ?? 0);
    this.params = layers.flatMap((l) => {
      const w = this.make(l.inputs * l.outputs);
      const a = Math.sqrt(6 / (l.inputs + l.outputs));
      for (let e = 0; e < w.length; e++) w[e] = (2 * rnd() - 1) * a;
      return [w, this.make(l.outputs)];
    });
    this.grads = this.params.map((p) => this.make(p.length));
  }

  zeroGrad(): void {
    for (const g of this.grads) g.fill(0);
  }

  /** Output for a batch of rows (inputs values each); in training keeps what backward needs under the micro-batch. */
  async forward(x: FloatArray, info: PassInfo = { microbatch: 0, training: true }): Promise<FloatArray> {
    const rows = this.rowsOf(x, this.inputs, 'forward');
    let a = x.constructor === this.params[0].constructor ? x : this.convert(x);
    const keep: FloatArray[] = [a];
    for (let l = 0; l < this.layers.length; l++) {
      const { inputs, outputs, activation } = this.layers[l];
      const w = this.params[2 * l], b = this.params[2 * l + 1];
      const z = this.make(rows * outputs);
      for (let i = 0; i < rows; i++) z.set(b, i * outputs);
      await this.gemm(false, false, rows, outputs, inputs, 1, { data: a, ld: inputs }, { data: w, ld: outputs }, 1, { data: z, ld: outputs });
      if (activation === 'relu') for (let e = 0; e < z.length; e++) z[e] = z[e] > 0 ? z[e] : 0;
      else if (activation === 'tanh') for (let e = 0; e < z.length; e++) z[e] = Math.tanh(z[e]);
      keep.push(z);
      a = z;
    }
    if (info.training) this.saved.set(info.microbatch, keep);
    return a;
  }

  /** Backward of a training micro-batch: accumulates parameter gradients, returns d(loss)/d(input). */
  async backward(gradOutput: FloatArray, info: PassInfo = { microbatch: 0, training: true }): Promise<FloatArray> {
    const keep = this.saved.get(info.microbatch);
    if (!keep) fail(`no forward of micro-batch ${info.microbatch} is waiting for its backward`, { op: 'DenseStack.backward' });
    this.saved.delete(info.microbatch);
    const rows = this.rowsOf(gradOutput, this.outputs, 'backward');
    // A copy: the activation derivative is applied in place, and gradOutput belongs to the caller.
    let g = this.convert(gradOutput);
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const { inputs, outputs, activation } = this.layers[l];
      const y = keep[l + 1], x = keep[l];
      if (activation === 'relu') for (let e = 0; e < g.length; e++) g[e] = y[e] > 0 ? g[e] : 0;
      else if (activation === 'tanh') for (let e = 0; e < g.length; e++) g[e] *= 1 - y[e] * y[e];
      const gw = this.grads[2 * l], gb = this.grads[2 * l + 1];
      // dW += X^T dZ; db += column sums of dZ; dX = dZ W^T (the previous layer's, or previous stage's, dZ).
      await this.gemm(true, false, inputs, outputs, rows, 1, { data: x, ld: inputs }, { data: g, ld: outputs }, 1, { data: gw, ld: outputs });
      for (let i = 0; i < rows; i++) for (let j = 0; j < outputs; j++) gb[j] += g[i * outputs + j];
      // Report before computing dX, so the layer's allreduce already overlaps that product.
      if (this.onGrad) {
        await this.onGrad(2 * l + 1, gb);
        await this.onGrad(2 * l, gw);
      }
      const gx = this.make(rows * inputs);
      await this.gemm(false, true, rows, inputs, outputs, 1, { data: g, ld: outputs }, { data: this.params[2 * l], ld: outputs }, 0, { data: gx, ld: inputs });
      g = gx;
    }
    return g;
  }

  private rowsOf(x: FloatArray, width: number, pass: string): number {
    if (!isFloatArray(x) || x.length % width !== 0) fail(`${pass} needs a float array of rows of ${width} values, got ${describe(x)}`, { op: `DenseStack.${pass}` });
    return x.length / width;
  }

  private convert(x: FloatArray): FloatArray {
    const y = this.make(x.length);
    y.set(x);
    return y;
  }
}

/**
 * Mean softmax cross-entropy of logits (rows x classes) against one-hot (or probability) targets, and its
 * gradient (softmax - target) / rows: a `LossFn` for the pipeline's last stage.
 */
export function softmaxCrossEntropy(logits: FloatArray, target: FloatArray, classes: number): { loss: number; grad: FloatArray } {
  if (logits.length !== target.length || logits.length % classes !== 0) {
    fail(`logits (${logits.length}) and target (${target.length}) must both be rows of ${classes} classes`, { op: 'softmaxCrossEntropy' });
  }
  const rows = logits.length / classes;
  const grad = new (logits.constructor as { new (n: number): FloatArray })(logits.length);
  let loss = 0;
  for (let i = 0; i < rows; i++) {
    const o = i * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[o + j]);
    let sum = 0;
    for (let j = 0; j < classes; j++) sum += Math.exp(logits[o + j] - max);
    const logSum = Math.log(sum) + max;
    for (let j = 0; j < classes; j++) {
      loss -= target[o + j] * (logits[o + j] - logSum);
      grad[o + j] = (Math.exp(logits[o + j] - logSum) - target[o + j]) / rows;
    }
  }
  return { loss: loss / rows, grad };
}
