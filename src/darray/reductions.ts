// Reductions: sum, prod, min, max and mean of a whole DArray (a number on every rank) or along one axis (a
// DArray). Tiles are folded locally first; only one number, or one partial per output tile, crosses ranks.

import { allocateDArray } from './alloc.js';
import { type DArray, tileBreak, withTiles } from './darray.js';
import { defaultGrid, prod, tileCounts, tileKey, tileOwner, tileShape } from './distribution.js';
import type { Dtype } from './dtype.js';
import { layoutTiles } from './exchange-plan.js';
import { checkAxis, fail, resolveLayout } from './validate.js';

export type ReduceOp = 'sum' | 'prod' | 'min' | 'max' | 'mean';
type Fold = 'sum' | 'prod' | 'min' | 'max';

const IDENTITY: Record<Fold, number> = { sum: 0, prod: 1, min: Infinity, max: -Infinity };

/** Folds one tile into an accumulator: acc op= x over all elements (the whole-array reduction's kernel). */
export function foldTile(op: Fold, acc: number, x: ArrayLike<number>): number {
  const n = x.length;
  switch (op) {
    case 'sum': for (let i = 0; i < n; i++) acc += x[i]; return acc;
    case 'prod': for (let i = 0; i < n; i++) acc *= x[i]; return acc;
    case 'min': for (let i = 0; i < n; i++) if (x[i] < acc || x[i] !== x[i]) acc = x[i]; return acc;
    case 'max': for (let i = 0; i < n; i++) if (x[i] > acc || x[i] !== x[i]) acc = x[i]; return acc;
  }
}

function combine(op: Fold, a: number, b: number): number {
  switch (op) {
    case 'sum': return a + b;
    case 'prod': return a * b;
    case 'min': return a < b || a !== a ? a : b;
    case 'max': return a > b || a !== a ? a : b;
  }
}

function checkOp(a: DArray, op: ReduceOp, what: string): Fold {
  if (!['sum', 'prod', 'min', 'max', 'mean'].includes(op)) fail(a.comm, 'reduce', `unknown reduction ${JSON.stringify(op)}`);
  if ((op === 'min' || op === 'max') && a.size === 0) fail(a.comm, op, `${op} of ${what} with no elements is undefined`);
  return op === 'mean' ? 'sum' : op;
}

/** Collective: the reduction of every element, the same number on every rank (NaN propagates). */
export async function reduceAll(a: DArray, op: ReduceOp): Promise<number> {
  const fold = checkOp(a, op, 'an array');
  let acc = IDENTITY[fold];
  for (const index of a.tileIndices()) {
    acc = withTiles([a], index, (t) => foldTile(fold, acc, t));
    await tileBreak();
  }
  const total = a.comm.size === 1 ? acc : ((await a.comm.allreduce(acc, fold)) as number);
  return op === 'mean' ? total / a.size : total;
}

/** Folds a tile along `axis` into a partial of the tile shape without that axis. */
function foldAxis(op: Fold, x: ArrayLike<number>, ts: number[], axis: number, p: Float64Array): void {
  const outer = prod(ts.slice(0, axis)), len = ts[axis], inner = prod(ts.slice(axis + 1));
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < len; j++) {
      const xb = (o * len + j) * inner, pb = o * inner;
      for (let i = 0; i < inner; i++) p[pb + i] = combine(op, p[pb + i], x[xb + i]);
    }
  }
}

/**
 * Collective: the reduction along `axis`, a DArray of the shape without that axis (block sizes kept, default
 * grid). sum/prod/mean of int32 give float64 (no overflow); min/max keep the dtype. Partials are float64.
 */
export async function reduceAxis(a: DArray, op: ReduceOp, axisArg: number): Promise<DArray> {
  const comm = a.comm;
  const axis = checkAxis(comm, op, a.ndim, axisArg);
  const fold = checkOp(a, op, `an axis`);
  if ((op === 'min' || op === 'max') && a.shape[axis] === 0) fail(comm, op, `${op} along axis ${axis} of extent 0 is undefined`);
  const drop = <T>(xs: readonly T[]) => xs.filter((_, d) => d !== axis);
  const dtype: Dtype = a.dtype === 'int32' && op !== 'min' && op !== 'max' ? 'float64' : a.dtype;
  const out = allocateDArray(comm, resolveLayout(comm, op, drop(a.shape), {
    dtype, blockSize: drop(a.blockSize), grid: defaultGrid(comm.size, a.ndim - 1),
  }));
  // This rank's partial per output tile, from all its tiles along the axis.
  const partials = new Map<string, Float64Array>();
  for (const index of a.tileIndices()) {
    const shape = tileShape(a.shape, a.blockSize, index);
    const key = tileKey(drop(index));
    let p = partials.get(key);
    if (!p) partials.set(key, (p = new Float64Array(prod(drop(shape))).fill(IDENTITY[fold])));
    const part = p;
    withTiles([a], index, (t) => foldAxis(fold, t, shape, axis, part));
    await tileBreak();
  }
  const nAlong = tileCounts(a.shape, a.blockSize)[axis];
  const contributors = (t: number[]) => {
    const s = new Set<number>();
    for (let j = 0; j < nAlong; j++) s.add(tileOwner([...t.slice(0, axis), j, ...t.slice(axis)], a.grid));
    return s;
  };
  // To each rank, the partials for its output tiles in its tile order; the receiver knows who holds which.
  const size = comm.size;
  const outgoing = Array.from({ length: size }, (_, d) => {
    const parts = layoutTiles(out.layout, d).map((t) => partials.get(tileKey(t))).filter((p): p is Float64Array => !!p);
    const buf = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) { buf.set(p, o); o += p.length; }
    return buf;
  });
  const incoming = size === 1 ? outgoing : ((await comm.alltoall(outgoing)) as Float64Array[]);
  const cursor = new Array<number>(size).fill(0);
  for (const index of out.tileIndices()) {
    const acc = new Float64Array(prod(tileShape(out.shape, out.blockSize, index))).fill(IDENTITY[fold]);
    for (const s of [...contributors(index)].sort((x, y) => x - y)) {
      const src = incoming[s];
      for (let i = 0; i < acc.length; i++) acc[i] = combine(fold, acc[i], src[cursor[s] + i]);
      cursor[s] += acc.length;
    }
    withTiles([out], index, (t) => { for (let i = 0; i < acc.length; i++) t[i] = op === 'mean' ? acc[i] / a.shape[axis] : acc[i]; });
    await tileBreak();
  }
  incoming.forEach((buf, s) => {
    if (cursor[s] !== buf.length) fail(comm, op, `axis reduction used ${cursor[s]} of ${buf.length} values from rank ${s}`);
  });
  return out;
}
