// The DArray class: an N-d array cut into tiles dealt block-cyclically over a process grid. It holds this
// rank's tiles and the layout; the operations themselves live in the modules this class delegates to.

import ndarray from 'ndarray';
import type { Comm } from '../comm/index.js';
import { collect, getElement, setElement, slice, type SliceRange } from './access.js';
import { prod, tileKey, tileOffset, tileShape } from './distribution.js';
import type { Dtype, TypedArray } from './dtype.js';
import { binary, type BinaryOp, fill, map, type ElementwiseOptions, type MapOptions, type Operand } from './elementwise.js';
import type { Layout } from './exchange-plan.js';
import { reduceAll, reduceAxis, type ReduceOp } from './reductions.js';
import { copy, redistribute, type RedistributeOptions, transpose } from './redistribute.js';
import { type DArrayOptions, resolveLayout } from './validate.js';
import { allocateDArray } from './alloc.js';
import { TileMap, withTile } from './store/tile-map.js';
import { tileStore } from './store/tile-store.js';

/** One tile this rank owns: its tile index, global offset, shape and row-major data (also as an ndarray view). */
export interface LocalTile {
  index: number[];
  offset: number[];
  shape: number[];
  data: TypedArray;
  view: ndarray.NdArray<TypedArray>;
}

/** Options of an axis reduction. */
export interface AxisOptions {
  axis: number;
}

/**
 * A distributed N-d array. Create one with the factories (`empty`, `zeros`, `fromFunction`, `rand`, ...),
 * never with `new`. Every method that returns a Promise is collective: all ranks of `comm` call it in the
 * same order with the same arguments (values that differ per rank are taken from the rank that owns them).
 */
export class DArray {
  /** @internal Use the factories. `tiles` maps tileKey(index) to each owned tile. */
  constructor(
    readonly comm: Comm,
    readonly shape: number[],
    readonly dtype: Dtype,
    readonly blockSize: number[],
    readonly grid: number[],
    /** @internal */ readonly tiles: Map<string, TypedArray>,
  ) {}

  get ndim(): number {
    return this.shape.length;
  }

  /** Total number of elements. */
  get size(): number {
    return prod(this.shape);
  }

  /** @internal The tiling, as the exchange plans see it. */
  get layout(): Layout {
    return { shape: this.shape, blockSize: this.blockSize, grid: this.grid };
  }

  /** This rank's tile at `index` (contiguous, row-major, shape = tileShape(...)), or undefined if not owned. */
  tile(index: number[]): TypedArray | undefined {
    return this.tiles.get(tileKey(index));
  }

  /**
   * This rank's tile at `index`, kept in memory until `release()`; undefined if not owned. Code that holds
   * a tile across awaits under a memory limit (a kernel in flight) uses this instead of `tile()`: after
   * release the tile may spill at once, while an array from `tile()` stays until it is garbage collected.
   * Do not use `data` after release. `overwrite`: the caller writes every element of the tile before reading
   * any, so a tile not yet in memory need not be zeroed first.
   */
  pinTile(index: number[], opts: { overwrite?: boolean } = {}): { data: TypedArray; release: () => void } | undefined {
    if (this.tiles instanceof TileMap) return this.tiles.pin(tileKey(index), opts.overwrite);
    const data = this.tiles.get(tileKey(index));
    return data && { data, release: () => undefined };
  }

  /**
   * @internal Makes this rank's tile at `index` zero again without writing memory: its data is dropped and a
   * zero tile is made on next use. Returns the array it held in memory, if any, so the caller can give its memory
   * and device copy back (`kernels.discard`). For a factorization in place whose result leaves the tile zero.
   */
  zeroTile(index: number[]): TypedArray | undefined {
    const key = tileKey(index);
    if (!(this.tiles instanceof TileMap)) {
      const data = this.tiles.get(key);
      data?.fill(0);
      return undefined;
    }
    const e = this.tiles.entry(key);
    if (!e) return undefined;
    const held = e.data;
    this.tiles.addLazy(key, this.dtype, e.length);
    return held;
  }

  /** @internal The indices of the tiles this rank owns, row-major, without bringing any tile into memory. */
  tileIndices(): number[][] {
    return [...this.tiles.keys()].map(keyIndex);
  }

  /** The tiles this rank owns, row-major by tile index; writing to `data` or `view` writes the array. */
  localTiles(): LocalTile[] {
    return [...this.tiles.entries()].map(([key, data]) => {
      const index = keyIndex(key);
      const shape = tileShape(this.shape, this.blockSize, index);
      return { index, offset: tileOffset(this.blockSize, index), shape, data, view: ndarray(data, shape) };
    });
  }

  /** Collective: the whole array as an ndarray on every rank, or with `{ root }` on root only (else undefined). */
  collect(): Promise<ndarray.NdArray<TypedArray>>;
  collect(opts: { root: number }): Promise<ndarray.NdArray<TypedArray> | undefined>;
  collect(opts?: { root?: number }): Promise<ndarray.NdArray<TypedArray> | undefined> {
    return collect(this, opts?.root);
  }

  /** Collective: the element at a global index, on every rank. */
  get(index: number[]): Promise<number> {
    return getElement(this, index);
  }

  /** Collective, in place: sets one element (the owning rank's `value` is the one stored). */
  set(index: number[], value: number): Promise<void> {
    return setElement(this, index, value);
  }

  /**
   * Collective: a new DArray holding a part of this one. Per axis `[start, stop]` or `[start, stop, step]`
   * (negative start/stop count from the end), `null` for the whole axis, or an integer to drop the axis.
   */
  slice(ranges: SliceRange[], opts?: DArrayOptions): Promise<DArray> {
    return slice(this, ranges, opts);
  }

  add(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'add', opts); }
  sub(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'sub', opts); }
  mul(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'mul', opts); }
  div(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'div', opts); }
  pow(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'pow', opts); }
  /** Comparisons give int32 arrays of 0 and 1. */
  eq(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'eq', opts); }
  ne(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'ne', opts); }
  lt(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'lt', opts); }
  le(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'le', opts); }
  gt(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'gt', opts); }
  ge(b: Operand, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, 'ge', opts); }
  /** @internal Any binary operation by name. */
  elementwise(b: Operand, op: BinaryOp, opts?: ElementwiseOptions): Promise<DArray> { return binary(this, b, op, opts); }

  /** Collective: fn applied to every element (result dtype `opts.dtype`, default this dtype). */
  map(fn: (x: number) => number, opts?: MapOptions): Promise<DArray> {
    return map(this, fn, opts);
  }

  /** Collective, in place: every element set to `value`. Returns this array. */
  fill(value: number): Promise<this> {
    return fill(this, value);
  }

  /** Collective: an independent copy with the same layout. */
  copy(): Promise<DArray> {
    return copy(this);
  }

  /** A new array of the same shape and layout (contents unspecified: zeros), optionally another dtype/layout. */
  similar(opts?: DArrayOptions): DArray {
    return emptyLike(this, opts);
  }

  sum(): Promise<number>;
  sum(opts: AxisOptions): Promise<DArray>;
  sum(opts?: Partial<AxisOptions>): Promise<number | DArray> { return this.reduce('sum', opts); }
  prod(): Promise<number>;
  prod(opts: AxisOptions): Promise<DArray>;
  prod(opts?: Partial<AxisOptions>): Promise<number | DArray> { return this.reduce('prod', opts); }
  min(): Promise<number>;
  min(opts: AxisOptions): Promise<DArray>;
  min(opts?: Partial<AxisOptions>): Promise<number | DArray> { return this.reduce('min', opts); }
  max(): Promise<number>;
  max(opts: AxisOptions): Promise<DArray>;
  max(opts?: Partial<AxisOptions>): Promise<number | DArray> { return this.reduce('max', opts); }
  mean(): Promise<number>;
  mean(opts: AxisOptions): Promise<DArray>;
  mean(opts?: Partial<AxisOptions>): Promise<number | DArray> { return this.reduce('mean', opts); }

  private reduce(op: ReduceOp, opts?: Partial<AxisOptions>): Promise<number | DArray> {
    return opts?.axis === undefined ? reduceAll(this, op) : reduceAxis(this, op, opts.axis);
  }

  /**
   * Collective: the array with its axes permuted (reversed by default). The result keeps the process grid
   * and permutes the block size, so A.transpose() of an n x m array with [b0, b1] tiles has [b1, b0] tiles.
   */
  transpose(axes?: number[], opts?: DArrayOptions): Promise<DArray> {
    return transpose(this, axes, opts);
  }

  /** Collective: the same values under another blockSize, grid or dtype; each element moves once. */
  redistribute(opts: RedistributeOptions): Promise<DArray> {
    return redistribute(this, opts);
  }
}

const keyIndex = (key: string): number[] => (key === '' ? [] : key.split(',').map(Number));

/**
 * @internal Runs `fn` on this rank's tile `index` of every array in `arrays` (nested withTile): the tiles are
 * in memory only while `fn` runs, so a loop over tiles holds one tile per operand. `fn` must not keep them.
 */
export function withTiles<T>(arrays: readonly DArray[], index: readonly number[], fn: (...data: TypedArray[]) => T): T {
  const go = (k: number, got: TypedArray[]): T =>
    k === arrays.length ? fn(...got) : withTile(arrays[k], index, (d) => go(k + 1, [...got, d]));
  return go(0, []);
}

/**
 * @internal The await point between tiles of a loop under a memory limit. Arrays handed out earlier by
 * `tile()` or `localTiles()` keep their tiles in memory until a collection shows them gone, which cannot
 * happen before the current task ends; when the tiles exceed the limit, one turn of the event loop lets the
 * store spill them before the next tile comes in. Within the limit (always, without one) it does not wait.
 */
export function tileBreak(): Promise<void> | undefined {
  const s = tileStore.stats();
  return s.residentBytes > s.limit ? new Promise((resolve) => setImmediate(resolve)) : undefined;
}

/** A DArray of the same shape as `a`, with a's layout unless `opts` says otherwise; tiles zero-filled. */
export function emptyLike(a: DArray, opts: DArrayOptions = {}): DArray {
  return allocateDArray(a.comm, resolveLayout(a.comm, 'similar', a.shape, {
    dtype: opts.dtype ?? a.dtype,
    blockSize: opts.blockSize ?? a.blockSize,
    grid: opts.grid ?? a.grid,
  }));
}
