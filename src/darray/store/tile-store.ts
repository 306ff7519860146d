// The per-rank tile store: every DArray tile is an entry that is resident, spilled to a file, backed by a
// stored chunk (da.open), or not yet materialised (zeros). When resident tiles exceed the memory limit, the
// least recently used ones that nobody holds move to spill files; a tile comes back on its next use.

import v8 from 'node:v8';
import vm from 'node:vm';
import { allocate, allocateUninitialized, type Dtype, type TypedArray } from '../dtype.js';
import { memoryLimit, onLimitChange } from './limit.js';
import { SpillError, SpillFiles } from './spill-files.js';

/** Fills a freshly allocated tile from its file (file-backed arrays); called on first use only. */
export type TileSource = (into: TypedArray) => void;

/** One tile's storage. `data` is the store's own array while the tile is in memory. */
export class TileEntry {
  /** @internal */ data: TypedArray | undefined;
  /** @internal The array last handed out; while it is reachable the tile stays in memory (it may be written). */
  view: WeakRef<TypedArray> | undefined;
  /** @internal Spill file holding the tile while it is not in memory. */
  spill: string | undefined;
  /** @internal Calls of `borrow` in progress on this tile (it stays in memory meanwhile). */
  pins = 0;
  /** @internal Handed-out arrays not yet known to be collected (a count, so no WeakRef is dereferenced). */
  liveViews = 0;
  constructor(readonly dtype: Dtype, readonly length: number, readonly bytes: number, /** @internal */ public source?: TileSource) {}

  /** Where the tile is now. */
  get state(): 'memory' | 'spilled' | 'file' | 'unset' {
    return this.data ? 'memory' : this.spill ? 'spilled' : this.source ? 'file' : 'unset';
  }
}

/** Counters for tests and benchmarks. */
export interface StoreStats {
  residentBytes: number;
  spilledBytes: number;
  spills: number;
  restores: number;
  fileReads: number;
  /** Most bytes resident at once since the process started (or since `resetPeak`). */
  peakResidentBytes: number;
  limit: number;
}

export class TileStore {
  /** Entries in memory, least recently used first (Map keeps insertion order; a use re-inserts). */
  private readonly lru = new Map<TileEntry, true>();
  private resident = 0;
  private counts = { spills: 0, restores: 0, fileReads: 0, peakResidentBytes: 0 };
  private shrinkQueued = false;
  rank = 0;
  readonly files = new SpillFiles(() => this.rank);
  // A handed-out array that becomes unreachable releases its tile for spilling.
  private readonly views = new FinalizationRegistry<TileEntry>((e) => { e.liveViews--; this.queueShrink(); });
  private admittedSinceGc = 0;
  private gcFn: (() => void) | undefined;
  // Entries of a DArray that became unreachable leave the store (and their spill files go).
  private readonly owners = new FinalizationRegistry<Map<string, TileEntry>>((m) => { for (const e of m.values()) this.drop(e); });

  constructor() {
    onLimitChange(() => this.shrinkQuietly());
  }

  /** Ties the entries in `entries` to the life of `owner` (a DArray's tile map). */
  track(owner: object, entries: Map<string, TileEntry>): void {
    this.owners.register(owner, entries);
  }

  /** A new entry holding `data`, resident now. */
  adopt(dtype: Dtype, data: TypedArray): TileEntry {
    const e = new TileEntry(dtype, data.length, data.byteLength);
    this.makeRoom(e);
    e.data = data;
    this.admit(e);
    return e;
  }

  /**
   * The tile's array for a caller, brought back into memory if needed and marked most recently used. The
   * same array is returned while the caller keeps it; while anyone holds it the tile is never spilled.
   */
  use(e: TileEntry): TypedArray {
    const held = e.view?.deref();
    if (held && e.data) { this.touch(e); return held; }
    if (!e.data) this.materialise(e);
    else this.touch(e);
    const d = e.data!;
    const v = new (d.constructor as new (b: ArrayBufferLike, o: number, n: number) => TypedArray)(d.buffer, d.byteOffset, d.length);
    e.view = new WeakRef(v);
    e.liveViews++;
    this.views.register(v, e);
    return v;
  }

  /**
   * Runs `fn` on the store's own array of the tile, brought into memory if needed, without handing it out:
   * once `fn` returns the tile may spill again, so loops over many tiles stay within the limit. `fn` must
   * not keep the array.
   */
  borrow<T>(e: TileEntry, fn: (data: TypedArray) => T): T {
    if (!e.data) this.materialise(e);
    else this.touch(e);
    e.pins++;
    try {
      return fn(e.data!);
    } finally {
      e.pins--;
    }
  }

  /**
   * The store's own array of the tile, kept in memory until `release()` is called (once); after that the
   * caller must not touch the array. For async code (a kernel in flight): unlike a handed-out array, the
   * tile can spill right after release, without waiting for a garbage collection. `overwrite`: the caller
   * writes every element before reading any (a tile not yet in memory then comes unzeroed).
   */
  pin(e: TileEntry, overwrite = false): { data: TypedArray; release: () => void } {
    if (!e.data) this.materialise(e, overwrite);
    else this.touch(e);
    e.pins++;
    let done = false;
    return {
      data: e.data!,
      release: () => {
        if (done) return;
        done = true;
        e.pins--;
        this.queueShrink();
      },
    };
  }

  /** Removes an entry for good (its array was dropped). */
  drop(e: TileEntry): void {
    if (e.data) { this.lru.delete(e); this.resident -= e.bytes; e.data = undefined; }
    if (e.spill) { this.files.remove(e.spill, e.bytes); e.spill = undefined; }
    e.source = undefined;
  }

  /** Spills least recently used unheld tiles until the resident bytes fit the limit (SpillError if a write fails). */
  shrink(need = 0, keep?: TileEntry): void {
    const limit = memoryLimit();
    if (this.resident + need <= limit) return;
    this.spillWhile(need, limit, keep, false);
    // Handed-out arrays nobody holds any more are only known after a collection. Collect now and then, and
    // look again: WeakRefs of collected arrays read empty at once (their finalizers run later).
    if (this.resident + need > limit && this.admittedSinceGc >= Math.max(limit / 4, 4 << 20)) {
      this.admittedSinceGc = 0;
      this.collectGarbage();
      this.spillWhile(need, limit, keep, true);
    }
  }

  private spillWhile(need: number, limit: number, keep: TileEntry | undefined, afterGc: boolean): void {
    // Deleting from a Map while iterating it is safe: spilled entries are simply not visited again.
    for (const e of this.lru.keys()) {
      if (this.resident + need <= limit) return;
      if (e === keep || e.pins > 0) continue;
      // Before a collection, a tile with a handed-out array counts as held; WeakRef.deref is not called
      // then, since it would keep the array alive for the rest of this turn of the event loop.
      if (e.liveViews > 0 && (!afterGc || e.view?.deref())) continue;
      this.spillOut(e);
    }
  }

  /** A full V8 collection (gc exposed at run time through a fresh context, as --expose-gc would). */
  private collectGarbage(): void {
    if (!this.gcFn) {
      v8.setFlagsFromString('--expose-gc');
      this.gcFn = vm.runInNewContext('gc') as () => void;
    }
    this.gcFn();
  }

  stats(): StoreStats {
    return { residentBytes: this.resident, spilledBytes: this.files.bytes, ...this.counts, limit: memoryLimit() };
  }

  private spillOut(e: TileEntry): void {
    const file = this.files.write(e.data!);    // throws SpillError with the tile still in memory
    e.spill = file;
    this.lru.delete(e);
    this.resident -= e.bytes;
    e.data = undefined;
    e.view = undefined;
    this.counts.spills++;
  }

  /** `overwrite`: the caller writes every element before reading any, so a tile of zeros need not be zeroed. */
  private materialise(e: TileEntry, overwrite = false): void {
    this.makeRoom(e);
    const data = overwrite && !e.spill && !e.source ? allocateUninitialized(e.dtype, e.length) : allocate(e.dtype, e.length);
    if (e.spill) {
      this.files.read(e.spill, data);
      this.files.remove(e.spill, e.bytes);
      e.spill = undefined;
      this.counts.restores++;
    } else if (e.source) {
      e.source(data);
      this.counts.fileReads++;
    }
    // After the first read the tile lives in memory or in spill files; the file is not read again.
    e.source = undefined;
    e.data = data;
    this.admit(e);
  }

  private makeRoom(e: TileEntry): void {
    this.shrink(e.bytes, e);
  }

  private admit(e: TileEntry): void {
    this.lru.set(e, true);
    this.resident += e.bytes;
    this.admittedSinceGc += e.bytes;
    if (this.resident > this.counts.peakResidentBytes) this.counts.peakResidentBytes = this.resident;
  }

  /** Starts a new peak measurement from the bytes resident now. */
  resetPeak(): void {
    this.counts.peakResidentBytes = this.resident;
  }

  private touch(e: TileEntry): void {
    this.lru.delete(e);
    this.lru.set(e, true);
  }

  private queueShrink(): void {
    if (this.shrinkQueued || this.resident <= memoryLimit()) return;
    this.shrinkQueued = true;
    setImmediate(() => { this.shrinkQueued = false; this.shrinkQuietly(); });
  }

  /** Shrinks outside any caller (GC callbacks, limit changes): a failed spill waits for the next tile use,
   *  which raises the SpillError to a caller that can handle it. */
  private shrinkQuietly(): void {
    try {
      this.shrink();
    } catch (e) {
      if (!(e instanceof SpillError)) throw e;
    }
  }
}

/** This process's tile store (one per rank). */
export const tileStore = new TileStore();
