// Matrix and vector norms of a DArray: Frobenius (2-norm for vectors), 1 (max column sum) and Infinity
// (max row sum), each from local partial sums combined with one or two allreduces.
import type { DArray } from '../darray/darray.js';
import * as kernels from '../kernels/index.js';
import type { FloatArray } from '../kernels/index.js';
import { checkFloat, shapeError } from './context.js';

export interface NormOptions {
  /** 'fro' (default; the 2-norm of a vector), 1 or Infinity, as numpy.linalg.norm. */
  ord?: 'fro' | 1 | number;
}

/** The norm of a 1-D or 2-D float DArray, the same number on every rank. Collective. */
export async function norm(A: DArray, opts: NormOptions = {}): Promise<number> {
  const op = 'norm';
  const ord = opts.ord ?? 'fro';
  checkFloat(op, 'A', A, [1, 2]);
  if (ord !== 'fro' && ord !== 1 && ord !== Infinity) {
    throw shapeError(A.comm, op, `ord must be 'fro', 1 or Infinity, got ${String(ord)}`);
  }
  const tiles = A.localTiles();
  await kernels.sync(...tiles.map((t) => t.data as FloatArray));
  const comm = A.comm;
  if (ord === 'fro') {
    // Scale by the largest magnitude so that squares neither overflow nor underflow.
    let amax = 0;
    for (const t of tiles) for (const x of t.data) amax = Math.max(amax, Math.abs(x));
    const scale = (await comm.allreduce(amax, 'max')) as number;
    if (scale === 0 || !Number.isFinite(scale)) return scale;
    let ssq = 0;
    for (const t of tiles) for (const x of t.data) { const y = x / scale; ssq += y * y; }
    return scale * Math.sqrt((await comm.allreduce(ssq, 'sum')) as number);
  }
  const vector = A.shape.length === 1;
  if (vector) {
    let acc = 0;
    for (const t of tiles) for (const x of t.data) acc = ord === 1 ? acc + Math.abs(x) : Math.max(acc, Math.abs(x));
    return (await comm.allreduce(acc, ord === 1 ? 'sum' : 'max')) as number;
  }
  // Column sums (ord 1) or row sums (Infinity) of |a|, partial per rank, summed across ranks.
  const axis = ord === 1 ? 1 : 0;
  const sums = new Float64Array(A.shape[axis]);
  for (const t of tiles) {
    const [r, c] = t.shape;
    const [r0, c0] = t.offset;
    for (let i = 0; i < r; i++) {
      for (let j = 0; j < c; j++) sums[axis === 1 ? c0 + j : r0 + i] += Math.abs(t.data[i * c + j]);
    }
  }
  const total = (await comm.allreduce(sums, 'sum')) as Float64Array;
  let best = 0;
  for (const x of total) best = x > best || Number.isNaN(x) ? x : best;
  return best;
}
