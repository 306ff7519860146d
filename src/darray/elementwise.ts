// Elementwise operations: arithmetic and comparisons with a number or a DArray of the same shape, map and
// fill. Tile-local loops do the work, one tile per operand in memory at a time (so they stay within a memory
// limit); an operand with another tiling is first redistributed to match.

import type { DArray } from './darray.js';
import { emptyLike, tileBreak, withTiles } from './darray.js';
import type { Dtype, TypedArray } from './dtype.js';
import { exchange, mapLookup } from './exchange.js';
import { identityMapping } from './exchange-plan.js';
import { redistribute, sameLayout } from './redistribute.js';
import { fail } from './validate.js';

export type Operand = DArray | number;
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge';

/** `out`: an existing DArray of the same shape (and the result's dtype) to write into instead of a new one. */
export interface ElementwiseOptions {
  out?: DArray;
}

export interface MapOptions extends ElementwiseOptions {
  /** dtype of the result; default the input's. */
  dtype?: Dtype;
}

const COMPARISONS = new Set<BinaryOp>(['eq', 'ne', 'lt', 'le', 'gt', 'ge']);

const SCALAR: Record<BinaryOp, (x: number, y: number) => number> = {
  add: (x, y) => x + y, sub: (x, y) => x - y, mul: (x, y) => x * y, div: (x, y) => x / y, pow: Math.pow,
  eq: (x, y) => +(x === y), ne: (x, y) => +(x !== y), lt: (x, y) => +(x < y), le: (x, y) => +(x <= y),
  gt: (x, y) => +(x > y), ge: (x, y) => +(x >= y),
};

/**
 * out[i] = x[i] op y[i] (or op y for a number) over n elements. The four arithmetic operations get their own
 * loops because a call per element would halve their speed; the rest go through SCALAR.
 */
export function binaryKernel(op: BinaryOp, x: TypedArray, y: TypedArray | number, out: TypedArray): void {
  const n = out.length;
  if (typeof y === 'number') {
    switch (op) {
      case 'add': for (let i = 0; i < n; i++) out[i] = x[i] + y; return;
      case 'sub': for (let i = 0; i < n; i++) out[i] = x[i] - y; return;
      case 'mul': for (let i = 0; i < n; i++) out[i] = x[i] * y; return;
      case 'div': for (let i = 0; i < n; i++) out[i] = x[i] / y; return;
      default: { const f = SCALAR[op]; for (let i = 0; i < n; i++) out[i] = f(x[i], y); return; }
    }
  }
  switch (op) {
    case 'add': for (let i = 0; i < n; i++) out[i] = x[i] + y[i]; return;
    case 'sub': for (let i = 0; i < n; i++) out[i] = x[i] - y[i]; return;
    case 'mul': for (let i = 0; i < n; i++) out[i] = x[i] * y[i]; return;
    case 'div': for (let i = 0; i < n; i++) out[i] = x[i] / y[i]; return;
    default: { const f = SCALAR[op]; for (let i = 0; i < n; i++) out[i] = f(x[i], y[i]); return; }
  }
}

/** Checks that `b` may combine with `a` elementwise: same communicator, shape and dtype. */
export function checkOperand(a: DArray, b: DArray, op: string, role = 'operand'): void {
  if (b.comm !== a.comm) fail(a.comm, op, `${role} lives on another communicator`);
  if (b.shape.length !== a.shape.length || b.shape.some((n, d) => n !== a.shape[d])) {
    fail(a.comm, op, `${role} shape [${b.shape.join(', ')}] differs from [${a.shape.join(', ')}]`);
  }
}

/** `b` in a's tiling: b itself when the layouts agree, else a redistributed copy. */
async function aligned(a: DArray, b: DArray): Promise<DArray> {
  return sameLayout(a, b) ? b : redistribute(b, { blockSize: a.blockSize, grid: a.grid });
}

/**
 * Writes the result into `opts.out` when given (checked first on every rank), else into a new array of a's
 * layout. `compute(dst)` fills a DArray laid out like a; an `out` with another tiling receives it by exchange.
 */
async function withOut(a: DArray, op: string, dtype: Dtype, opts: ElementwiseOptions, compute: (dst: DArray) => Promise<void>): Promise<DArray> {
  const out = opts.out;
  if (out === undefined) {
    const dst = emptyLike(a, { dtype });
    await compute(dst);
    return dst;
  }
  checkOperand(a, out, op, 'out');
  if (out.dtype !== dtype) fail(a.comm, op, `out has dtype ${out.dtype} but the result is ${dtype}`);
  if (sameLayout(a, out)) {
    await compute(out);
    return out;
  }
  const tmp = emptyLike(a, { dtype });
  await compute(tmp);
  await exchange(a.comm, dtype, tmp.layout, mapLookup(tmp.tiles, op), out.layout, mapLookup(out.tiles, op), identityMapping(a.ndim));
  return out;
}

/** Collective: a op b elementwise; comparisons give int32 0/1, arithmetic keeps a's dtype. */
export async function binary(a: DArray, b: Operand, op: BinaryOp, opts: ElementwiseOptions = {}): Promise<DArray> {
  if (!(op in SCALAR)) fail(a.comm, 'elementwise', `unknown operation ${JSON.stringify(op)}`);
  if (typeof b !== 'number') {
    if (!b || typeof b !== 'object' || !('tiles' in b)) fail(a.comm, op, `operand must be a number or a DArray, got ${typeof b}`);
    checkOperand(a, b, op);
    if (b.dtype !== a.dtype) fail(a.comm, op, `operand dtype ${b.dtype} differs from ${a.dtype}`);
  }
  const dtype: Dtype = COMPARISONS.has(op) ? 'int32' : a.dtype;
  if (opts.out !== undefined) checkOperand(a, opts.out, op, 'out');
  const bb = typeof b === 'number' ? b : await aligned(a, b);
  return withOut(a, op, dtype, opts, async (dst) => {
    for (const index of a.tileIndices()) {
      if (typeof bb === 'number') withTiles([a, dst], index, (x, y) => binaryKernel(op, x, bb, y));
      else withTiles([a, bb, dst], index, (x, y, z) => binaryKernel(op, x, y, z));
      await tileBreak();
    }
  });
}

/** Collective: fn applied to every element. */
export async function map(a: DArray, fn: (x: number) => number, opts: MapOptions = {}): Promise<DArray> {
  if (typeof fn !== 'function') fail(a.comm, 'map', `fn must be a function, got ${typeof fn}`);
  const dtype = opts.dtype ?? opts.out?.dtype ?? a.dtype;
  return withOut(a, 'map', dtype, opts, async (dst) => {
    for (const index of a.tileIndices()) {
      withTiles([a, dst], index, (x, y) => { for (let i = 0; i < x.length; i++) y[i] = fn(x[i]); });
      await tileBreak();
    }
  });
}

/** Collective, in place: every element set to `value`. */
export async function fill<T extends DArray>(a: T, value: number): Promise<T> {
  if (typeof value !== 'number') fail(a.comm, 'fill', `value must be a number, got ${typeof value}`);
  for (const index of a.tileIndices()) {
    withTiles([a], index, (t) => t.fill(value));
    await tileBreak();
  }
  return a;
}
