// The map from tile key to tile data that a DArray holds, backed by the tile store: reading an entry brings
// the tile into memory (from a spill file or the array's file) and hands out an array that keeps it there
// for as long as the caller holds it. Plain Map semantics otherwise, so the DArray code reads as before.

import { type Dtype, type TypedArray, allocate, dtypeOf } from '../dtype.js';
import { tileKey } from '../distribution.js';
import { TileEntry, type TileSource, tileStore } from './tile-store.js';

const PLACEHOLDER: Record<Dtype, TypedArray> = {
  float64: allocate('float64', 0), float32: allocate('float32', 0), int32: allocate('int32', 0),
};

export class TileMap extends Map<string, TypedArray> {
  // Kept apart from the Map's own slots (which hold empty placeholders) so the store can drop the entries
  // when this map becomes unreachable without the map itself being kept alive.
  private readonly store = new Map<string, TileEntry>();

  constructor(rank: number) {
    super();
    tileStore.rank = rank;
    tileStore.track(this, this.store);
  }

  /** Adds a tile that is materialised on first use: zero-filled, or read by `source` (file-backed arrays). */
  addLazy(key: string, dtype: Dtype, length: number, source?: TileSource): void {
    this.replace(key, new TileEntry(dtype, length, length * PLACEHOLDER[dtype].BYTES_PER_ELEMENT, source));
  }

  /** The store entry of a tile (tests and the I/O layer look at its state). */
  entry(key: string): TileEntry | undefined {
    return this.store.get(key);
  }

  /** Runs `fn` on the tile's data without handing it out (see TileStore.borrow); undefined if not stored. */
  borrow<T>(key: string, fn: (data: TypedArray) => T): T | undefined {
    const e = this.store.get(key);
    return e && tileStore.borrow(e, fn);
  }

  /** Pins the tile in memory and returns the store's array with its release (see TileStore.pin). */
  pin(key: string, overwrite = false): { data: TypedArray; release: () => void } | undefined {
    const e = this.store.get(key);
    return e && tileStore.pin(e, overwrite);
  }

  override get(key: string): TypedArray | undefined {
    const e = this.store.get(key);
    return e && tileStore.use(e);
  }

  /** Stores a copy of `value`'s contents as the tile (the caller's array is not kept). */
  override set(key: string, value: TypedArray): this {
    const e = tileStore.adopt(dtypeOf(value)!, value.slice());
    return this.replace(key, e);
  }

  override delete(key: string): boolean {
    const e = this.store.get(key);
    if (e) tileStore.drop(e);
    this.store.delete(key);
    return super.delete(key);
  }

  override clear(): void {
    for (const k of [...this.store.keys()]) this.delete(k);
  }

  override *entries(): MapIterator<[string, TypedArray]> {
    for (const k of this.store.keys()) yield [k, this.get(k)!];
  }

  override *values(): MapIterator<TypedArray> {
    for (const k of this.store.keys()) yield this.get(k)!;
  }

  override [Symbol.iterator](): MapIterator<[string, TypedArray]> {
    return this.entries();
  }

  override forEach(fn: (value: TypedArray, key: string, map: Map<string, TypedArray>) => void, thisArg?: unknown): void {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  private replace(key: string, e: TileEntry): this {
    const old = this.store.get(key);
    if (old) tileStore.drop(old);
    this.store.set(key, e);
    super.set(key, PLACEHOLDER[e.dtype]);
    return this;
  }
}

/**
 * Runs `fn` on this rank's tile `index` of `A` (synchronously, the data valid only inside `fn`), so that loops
 * over all tiles keep one tile in memory at a time. Throws if the rank does not own the tile.
 */
export function withTile<T>(A: { tiles: Map<string, TypedArray>; comm: { rank: number } }, index: readonly number[], fn: (data: TypedArray) => T): T {
  const key = tileKey(index);
  if (A.tiles instanceof TileMap) {
    const r = A.tiles.borrow(key, fn);
    if (r !== undefined || A.tiles.has(key)) return r as T;
  } else {
    const t = A.tiles.get(key);
    if (t) return fn(t);
  }
  throw new Error(`rank ${A.comm.rank}: tile [${index.join(', ')}] is not stored on this rank (internal error)`);
}
