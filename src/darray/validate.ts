// Argument checks for DArray operations. They look only at data every rank holds alike (shapes, dtypes,
// block sizes, grids, indices), so every rank throws the same ShapeError before any collective begins.

import type { Comm } from '../comm/index.js';
import { ShapeError } from '../errors.js';
import { defaultBlockSize, defaultGrid, prod } from './distribution.js';
import { type Dtype, isDtype } from './dtype.js';

/** Layout and element type options accepted by every factory. */
export interface DArrayOptions {
  /** Element type; default 'float64'. */
  dtype?: Dtype;
  /** Tile extent per dimension; default from `defaultBlockSize` (512 per dimension for 2-D, see there). */
  blockSize?: number[];
  /** Process grid the tiles are dealt over; prod(grid) <= comm.size; default `defaultGrid(size, ndim)`. */
  grid?: number[];
}

export interface ResolvedLayout {
  shape: number[];
  dtype: Dtype;
  blockSize: number[];
  grid: number[];
}

export function fail(comm: Comm, op: string, message: string): never {
  throw new ShapeError(message, { rank: comm.rank, op });
}

function isCount(x: unknown, min: number): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= min;
}

export function checkShape(comm: Comm, op: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((n) => isCount(n, 0))) {
    fail(comm, op, `shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return [...shape];
}

/** Fills in defaults and checks a shape with its layout options. */
export function resolveLayout(comm: Comm, op: string, shape: unknown, opts: DArrayOptions = {}): ResolvedLayout {
  const sh = checkShape(comm, op, shape);
  const dtype = opts.dtype ?? 'float64';
  if (!isDtype(dtype)) fail(comm, op, `dtype must be 'float64', 'float32' or 'int32', got ${JSON.stringify(dtype)}`);
  let grid = opts.grid;
  if (grid === undefined) grid = defaultGrid(comm.size, sh.length);
  else if (!Array.isArray(grid) || grid.length !== sh.length || !grid.every((g) => isCount(g, 1))) {
    fail(comm, op, `grid must be ${sh.length} positive integers (one per dimension), got ${JSON.stringify(grid)}`);
  } else if (prod(grid) > comm.size) {
    fail(comm, op, `grid ${JSON.stringify(grid)} needs ${prod(grid)} ranks but the communicator has ${comm.size}`);
  }
  let bs = opts.blockSize;
  if (bs === undefined) bs = defaultBlockSize(sh, grid);
  else if (!Array.isArray(bs) || bs.length !== sh.length || !bs.every((b) => isCount(b, 1))) {
    fail(comm, op, `blockSize must be ${sh.length} positive integers (one per dimension), got ${JSON.stringify(bs)}`);
  }
  return { shape: sh, dtype, blockSize: [...bs], grid: [...grid] };
}

/** Checks a full index into an array of `shape`. */
export function checkIndex(comm: Comm, op: string, shape: readonly number[], idx: unknown): number[] {
  if (!Array.isArray(idx) || idx.length !== shape.length || !idx.every((i) => Number.isSafeInteger(i))) {
    fail(comm, op, `index must be ${shape.length} integers, got ${JSON.stringify(idx)}`);
  }
  idx.forEach((i: number, d) => {
    if (i < 0 || i >= shape[d]) fail(comm, op, `index ${JSON.stringify(idx)} is out of range for shape [${shape.join(', ')}] (axis ${d})`);
  });
  return [...idx];
}

/** Checks an axis argument against a number of dimensions. */
export function checkAxis(comm: Comm, op: string, ndim: number, axis: unknown): number {
  if (!Number.isSafeInteger(axis) || (axis as number) < -ndim || (axis as number) >= ndim) {
    fail(comm, op, `axis ${JSON.stringify(axis)} is out of range for a ${ndim}-d array`);
  }
  return (axis as number) < 0 ? (axis as number) + ndim : (axis as number);
}
