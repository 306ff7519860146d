// Access to a DArray's elements as a whole or one at a time: collect (to every rank or one root), collective
// get/set, and slice into a new DArray.

import ndarray from 'ndarray';
import { allocateDArray } from './alloc.js';
import { type DArray, withTiles } from './darray.js';
import { defaultGrid, locate, prod } from './distribution.js';
import { allocate, type TypedArray } from './dtype.js';
import { exchange, mapLookup } from './exchange.js';
import { identityMapping, type Mapping, wholeOnRoot } from './exchange-plan.js';
import { checkIndex, type DArrayOptions, fail, resolveLayout } from './validate.js';

/** Collective: the whole array on `root` (undefined elsewhere), or on every rank when root is undefined. */
export async function collect(a: DArray, root?: number): Promise<ndarray.NdArray<TypedArray> | undefined> {
  const comm = a.comm;
  const target = root ?? 0;
  if (!Number.isSafeInteger(target) || target < 0 || target >= comm.size) {
    fail(comm, 'collect', `root ${root} is not a rank of a communicator of size ${comm.size}`);
  }
  let data: TypedArray | undefined = comm.rank === target ? allocate(a.dtype, a.size) : undefined;
  await exchange(comm, a.dtype, a.layout, mapLookup(a.tiles, 'collect'), wholeOnRoot(a.shape, target),
    () => data!, identityMapping(a.ndim));
  if (root === undefined && comm.size > 1) data = (await comm.bcast(data, target)) as TypedArray;
  return data === undefined ? undefined : ndarray(data, [...a.shape]);
}

/** Collective: the element at `index`, read by its owner and broadcast. */
export async function getElement(a: DArray, index: number[]): Promise<number> {
  const idx = checkIndex(a.comm, 'get', a.shape, index);
  const { tile, rank, offset } = locate(a.shape, a.blockSize, a.grid, idx);
  const v = a.comm.rank === rank ? withTiles([a], tile, (t) => t[offset]) : undefined;
  return a.comm.size === 1 ? v! : ((await a.comm.bcast(v, rank)) as number);
}

/** Collective, in place: the owner stores `value` at `index`; the other ranks only check the arguments. */
export async function setElement(a: DArray, index: number[], value: number): Promise<void> {
  const idx = checkIndex(a.comm, 'set', a.shape, index);
  if (typeof value !== 'number') fail(a.comm, 'set', `value must be a number, got ${typeof value}`);
  const { tile, rank, offset } = locate(a.shape, a.blockSize, a.grid, idx);
  if (a.comm.rank === rank) withTiles([a], tile, (t) => { t[offset] = value; });
}

/** One axis of a slice: [start, stop], [start, stop, step], null (whole axis) or an integer (axis dropped). */
export type SliceRange = [number, number] | [number, number, number] | number | null | undefined;

/** Turns slice ranges into a Mapping and the result shape, with numpy's rules for negative start/stop. */
export function sliceMapping(a: DArray, ranges: SliceRange[]): { map: Mapping; shape: number[] } {
  const comm = a.comm, nd = a.ndim;
  if (!Array.isArray(ranges) || ranges.length > nd) fail(comm, 'slice', `expected at most ${nd} ranges, got ${JSON.stringify(ranges)}`);
  const map: Mapping = { axes: [], start: [], step: [], fixed: new Array<number>(nd).fill(0) };
  const shape: number[] = [];
  for (let d = 0; d < nd; d++) {
    const r = ranges[d], n = a.shape[d];
    if (r === null || r === undefined) {
      map.axes.push(d); map.start.push(0); map.step.push(1); shape.push(n);
    } else if (typeof r === 'number') {
      const i = r < 0 ? r + n : r;
      if (!Number.isSafeInteger(r) || i < 0 || i >= n) fail(comm, 'slice', `index ${r} is out of range for axis ${d} of extent ${n}`);
      map.fixed[d] = i;
    } else if (Array.isArray(r) && (r.length === 2 || r.length === 3) && r.every((x) => Number.isSafeInteger(x))) {
      const step = r[2] ?? 1;
      const start = r[0] < 0 ? r[0] + n : r[0], stop = r[1] < 0 ? r[1] + n : r[1];
      if (step < 1) fail(comm, 'slice', `step must be a positive integer, got ${step} on axis ${d}`);
      if (start < 0 || stop > n || start > stop) fail(comm, 'slice', `range [${r.join(', ')}] is out of bounds for axis ${d} of extent ${n}`);
      map.axes.push(d); map.start.push(start); map.step.push(step); shape.push(Math.ceil((stop - start) / step));
    } else {
      fail(comm, 'slice', `axis ${d}: expected [start, stop], [start, stop, step], null or an integer, got ${JSON.stringify(r)}`);
    }
  }
  return { map, shape };
}

/**
 * Collective: a new DArray with the selected part. Default layout: the source's block size on the kept axes
 * (capped by the new extent) and the source's grid when no axis is dropped, else a default grid.
 */
export async function slice(a: DArray, ranges: SliceRange[], opts: DArrayOptions = {}): Promise<DArray> {
  const { map, shape } = sliceMapping(a, ranges);
  const keptAll = map.axes.length === a.ndim;
  const l = resolveLayout(a.comm, 'slice', shape, {
    dtype: opts.dtype ?? a.dtype,
    blockSize: opts.blockSize ?? map.axes.map((ax, d) => Math.max(1, Math.min(a.blockSize[ax], shape[d]))),
    grid: opts.grid ?? (keptAll ? a.grid : defaultGrid(a.comm.size, shape.length)),
  });
  if (l.dtype !== a.dtype) fail(a.comm, 'slice', `dtype ${l.dtype} differs from the source's ${a.dtype}; use map to convert`);
  const out = allocateDArray(a.comm, l);
  if (prod(shape) > 0) {
    await exchange(a.comm, a.dtype, a.layout, mapLookup(a.tiles, 'slice'), out.layout, mapLookup(out.tiles, 'slice'), map);
  }
  return out;
}
