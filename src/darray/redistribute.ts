// Data movement between tilings: redistribute to another blockSize/grid, transpose (any axis permutation)
// and copy. Each is one exchange in which every element moves once, straight to its new owner.

import { allocateDArray } from './alloc.js';
import { type DArray, tileBreak, withTiles } from './darray.js';
import type { Dtype } from './dtype.js';
import { exchange, mapLookup } from './exchange.js';
import { identityMapping, permuteMapping } from './exchange-plan.js';
import { type DArrayOptions, fail, resolveLayout } from './validate.js';

/** Target of a redistribution; omitted fields keep the source's values. */
export interface RedistributeOptions {
  blockSize?: number[];
  grid?: number[];
  /** Changing dtype is not a redistribution: use map. Given, it must equal the source's. */
  dtype?: Dtype;
}

const same = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);

/** True when two arrays have the same shape, block size and grid, so their tiles correspond one to one. */
export function sameLayout(a: DArray, b: DArray): boolean {
  return same(a.shape, b.shape) && same(a.blockSize, b.blockSize) && same(a.grid, b.grid);
}

/** Collective: a new array with the same values under another blockSize and/or grid. */
export async function redistribute(a: DArray, opts: RedistributeOptions = {}): Promise<DArray> {
  if (opts.dtype !== undefined && opts.dtype !== a.dtype) {
    fail(a.comm, 'redistribute', `cannot change dtype ${a.dtype} to ${opts.dtype} by redistribution; use map`);
  }
  const l = resolveLayout(a.comm, 'redistribute', a.shape, {
    dtype: a.dtype, blockSize: opts.blockSize ?? a.blockSize, grid: opts.grid ?? a.grid,
  });
  const out = allocateDArray(a.comm, l);
  await exchange(a.comm, a.dtype, a.layout, mapLookup(a.tiles, 'redistribute'), out.layout,
    mapLookup(out.tiles, 'redistribute'), identityMapping(a.ndim));
  return out;
}

/** Collective: an independent copy with the same layout (tile copies, no messages, one tile pair in memory at a time). */
export async function copy(a: DArray): Promise<DArray> {
  const out = allocateDArray(a.comm, { shape: [...a.shape], dtype: a.dtype, blockSize: [...a.blockSize], grid: [...a.grid] });
  for (const index of a.tileIndices()) {
    withTiles([a, out], index, (src, dst) => dst.set(src));
    await tileBreak();
  }
  return out;
}

/**
 * Collective: result axis d is source axis axes[d] (default: reversed). Default layout of the result: the
 * source's grid, and the source's block sizes permuted like the axes.
 */
export async function transpose(a: DArray, axes?: number[], opts: DArrayOptions = {}): Promise<DArray> {
  const nd = a.ndim;
  const perm = axes ?? Array.from({ length: nd }, (_, d) => nd - 1 - d);
  if (!Array.isArray(perm) || perm.length !== nd || !same([...perm].sort((x, y) => x - y), Array.from({ length: nd }, (_, d) => d))) {
    fail(a.comm, 'transpose', `axes must be a permutation of 0..${nd - 1}, got ${JSON.stringify(axes)}`);
  }
  if (opts.dtype !== undefined && opts.dtype !== a.dtype) fail(a.comm, 'transpose', `cannot change dtype ${a.dtype} to ${opts.dtype}`);
  const l = resolveLayout(a.comm, 'transpose', perm.map((p) => a.shape[p]), {
    dtype: a.dtype, blockSize: opts.blockSize ?? perm.map((p) => a.blockSize[p]), grid: opts.grid ?? a.grid,
  });
  const out = allocateDArray(a.comm, l);
  await exchange(a.comm, a.dtype, a.layout, mapLookup(a.tiles, 'transpose'), out.layout,
    mapLookup(out.tiles, 'transpose'), permuteMapping(perm));
  return out;
}
