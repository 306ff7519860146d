// Runs an exchange plan: every element moves once, straight from its source tile to its destination tile,
// in alltoall rounds of bounded size so no rank ever holds more than about twice its local data.

import type { Comm } from '../comm/index.js';
import { recycle } from '../kernels/recycle.js';
import { copy2d } from '../kernels/strided.js';
import { allocate, allocateUninitialized, type Dtype, type TypedArray } from './dtype.js';
import {
  type GeometryOf, type Layout, type Mapping, type Run, maxLocalCount, pairCounts, pairRuns,
} from './exchange-plan.js';
import { tileKey } from './distribution.js';
import { DArrayError } from '../errors.js';
import { TileMap } from './store/tile-map.js';

/** A tile as the exchange holds it: its data and, for a tile pinned in the tile store, the release of the pin. */
export interface HeldTile {
  data: TypedArray;
  release?: () => void;
}

/**
 * The tile of a layout this rank stores: a plain array (kept by the caller), or a HeldTile that the exchange
 * releases as soon as it has moved on to another tile, so tiles can spill under a memory limit meanwhile.
 * `written`: the exchange writes every element of the tile (it is a destination), so a tile not yet in memory
 * may come unzeroed.
 */
export type TileLookup = (tile: readonly number[], written: boolean) => TypedArray | HeldTile;

function hold(t: TypedArray | HeldTile): HeldTile {
  return ArrayBuffer.isView(t) ? { data: t } : t;
}

/**
 * Holds one tile at a time from a lookup: asked for another tile, it releases the one it held, so a walk over
 * many tiles keeps a single one pinned in the tile store.
 */
class TileHolder {
  private box: unknown;
  private index: readonly number[] | undefined;
  private held: HeldTile | undefined;

  constructor(private readonly lookup: TileLookup, private readonly side: 'src' | 'dst') {}

  /** The data of the run's source or destination tile. */
  of(r: Run): TypedArray {
    if (r.box !== this.box) {
      this.box = r.box;
      const index = this.side === 'src' ? r.box.srcTile : r.box.dstTile;
      // Neighbouring boxes often share a tile: keep it rather than release and pin it again.
      if (!this.held || !sameIndex(index, this.index!)) {
        this.close();
        this.held = hold(this.lookup(index, this.side === 'dst'));
        this.index = index;
      }
    }
    return this.held!.data;
  }

  /** Releases the tile held, if any. */
  close(): void {
    this.held?.release?.();
    this.held = undefined;
    this.index = undefined;
    this.box = undefined;
  }
}

const sameIndex = (x: readonly number[], y: readonly number[]) => x.length === y.length && x.every((v, i) => v === y[i]);

/** Blocks of at least this many elements go to the addon's block copy; a call costs about what 100 elements do in JS. */
const NATIVE_BLOCK = 256;

/**
 * dst[dOff + i dRow + j] = src[sOff + i sRow + j sCol] for i < rows, j < cols: one contiguous row by `set`, a
 * larger block by the addon (which transposes in cache-sized squares), a small one, or one read backwards (a
 * distributed ndarray view may have negative strides), in JS.
 */
function copyBlock(dst: TypedArray, dOff: number, dRow: number, src: TypedArray, sOff: number, sRow: number,
  sCol: number, rows: number, cols: number): void {
  if (rows === 1 && sCol === 1) {
    dst.set(src.subarray(sOff, sOff + cols), dOff);
  } else if (rows * cols >= NATIVE_BLOCK && sRow >= 0 && sCol >= 0) {
    copy2d(dst, dOff, dRow, src, sOff, sRow, sCol, rows, cols);
  } else {
    for (let i = 0; i < rows; i++) {
      const so = sOff + i * sRow, d0 = dOff + i * dRow;
      for (let j = 0; j < cols; j++) dst[d0 + j] = src[so + j * sCol];
    }
  }
}

/**
 * Walks one pair's runs and moves elements between tiles and a message buffer, resuming where it stopped. The
 * buffer holds each run's rows back to back; whole rows move as one block, a row cut by the end of a message in
 * two parts.
 */
class RunCursor {
  private run: Run | undefined;
  private pos = 0; // elements of the current run already moved
  private readonly tiles: TileHolder;

  constructor(private readonly runs: Iterator<Run>, lookup: TileLookup, side: 'src' | 'dst') {
    this.tiles = new TileHolder(lookup, side);
  }

  /** Releases the tile held between rounds. */
  close(): void {
    this.tiles.close();
  }

  private next(): Run | undefined {
    if (!this.run || this.pos >= this.run.rows * this.run.length) {
      const it = this.runs.next();
      this.run = it.done ? undefined : it.value;
      this.pos = 0;
    }
    return this.run;
  }

  /**
   * Moves the next `n` elements of the sequence between the buffer (from 0) and the tiles: `pack` reads the
   * tiles into the buffer, else the buffer is written to the tiles.
   */
  private move(buf: TypedArray, n: number, pack: boolean): void {
    let k = 0;
    while (k < n) {
      const r = this.next();
      if (!r) throw new DArrayError(`exchange plan ran out after ${k} of ${n} elements`);
      const tile = this.tiles.of(r);
      const len = r.length;
      const row = Math.floor(this.pos / len), col = this.pos - row * len;
      // Whole rows while they fit, else what is left of this row or of the message.
      const rows = col === 0 ? Math.min(r.rows - row, Math.floor((n - k) / len)) : 0;
      const cols = rows > 0 ? len : Math.min(n - k, len - col);
      const count = Math.max(rows, 1);
      if (pack) {
        copyBlock(buf, k, len, tile, r.srcOffset + row * r.srcRowStride + col * r.srcStride, r.srcRowStride, r.srcStride, count, cols);
      } else {
        copyBlock(tile, r.dstOffset + row * r.dstRowStride + col, r.dstRowStride, buf, k, len, 1, count, cols);
      }
      k += count * cols;
      this.pos += count * cols;
    }
  }

  /** Copies the next `n` elements of the sequence into buf[0..n). */
  pack(buf: TypedArray, n: number): void {
    this.move(buf, n, true);
  }

  /** Writes buf[0..n) to the next `n` destination positions of the sequence. */
  unpack(buf: TypedArray, n: number): void {
    this.move(buf, n, false);
  }
}

/** Copies the elements a rank keeps for itself, run by run, without a buffer. */
function copyLocal(runs: Iterable<Run>, srcOf: TileLookup, dstOf: TileLookup): void {
  const src = new TileHolder(srcOf, 'src');
  const dst = new TileHolder(dstOf, 'dst');
  try {
    for (const r of runs) {
      copyBlock(dst.of(r), r.dstOffset, r.dstRowStride, src.of(r), r.srcOffset, r.srcRowStride, r.srcStride, r.rows, r.length);
    }
  } finally {
    src.close();
    dst.close();
  }
}

/**
 * Exchange tuning. `minChunk`: smallest per-pair message in elements, so small exchanges do not pay many
 * latencies; `roundsDivisor`: chunks are maxLocal / (roundsDivisor * size), bounding the buffers to about
 * 2 / roundsDivisor of the local data. Tests lower minChunk to drive the multi-round path.
 */
export const exchangeTuning = { minChunk: 16384, roundsDivisor: 4 };

/**
 * A tile lookup over a map keyed by tileKey, failing loudly if the plan asks for a tile this rank lacks. Tiles
 * of the tile store are pinned (released by the exchange when it moves on), never handed out: a handed-out
 * array would keep its tile in memory until a garbage collection. A destination tile not yet in memory comes
 * unzeroed (the exchange writes all of it).
 */
export function mapLookup(tiles: Map<string, TypedArray>, what: string): TileLookup {
  return (t, written) => {
    const a = tiles instanceof TileMap ? tiles.pin(tileKey(t), written) : tiles.get(tileKey(t));
    if (!a) throw new DArrayError(`${what}: tile [${t.join(', ')}] is not stored on this rank`);
    return a;
  };
}

/**
 * Collective: moves every element of `src` (tiles from `srcOf`, laid out by `srcGeom`) to its place in the
 * tiles of `dst` (from `dstOf`, contiguous row-major) as `map` says; every element of `dst` is written. Each pair's elements travel in chunks of
 * about maxLocal / (4 * size); ranks agree on the number of rounds from the plan alone, without messages.
 */
export async function exchange(
  comm: Comm, dtype: Dtype, src: Layout, srcOf: TileLookup, dst: Layout, dstOf: TileLookup, map: Mapping,
  srcGeom?: GeometryOf,
): Promise<void> {
  const size = comm.size, me = comm.rank;
  copyLocal(pairRuns(src, dst, map, me, me, srcGeom), srcOf, dstOf);
  if (size === 1) return;
  const counts = pairCounts(src, dst, map, size);
  const chunk = Math.max(exchangeTuning.minChunk, Math.ceil(maxLocalCount(src, dst, size) / (exchangeTuning.roundsDivisor * size)));
  let rounds = 0;
  for (let s = 0; s < size; s++) for (let d = 0; d < size; d++) if (s !== d) rounds = Math.max(rounds, Math.ceil(counts[s][d] / chunk));
  if (rounds === 0) return;
  const senders = counts[me].map((_, d) => new RunCursor(pairRuns(src, dst, map, me, d, srcGeom), srcOf, 'src'));
  const receivers = counts.map((_, s) => new RunCursor(pairRuns(src, dst, map, s, me), dstOf, 'dst'));
  try {
    await exchangeRounds(comm, dtype, rounds, chunk, counts, senders, receivers);
  } finally {
    for (const c of [...senders, ...receivers]) c.close();
  }
}

/** The alltoall rounds of an exchange; a cursor whose pair is done releases its tile at once. */
async function exchangeRounds(
  comm: Comm, dtype: Dtype, rounds: number, chunk: number, counts: number[][], senders: RunCursor[], receivers: RunCursor[],
): Promise<void> {
  const size = comm.size, me = comm.rank;
  for (let r = 0; r < rounds; r++) {
    const out: TypedArray[] = [];
    for (let d = 0; d < size; d++) {
      const n = d === me ? 0 : Math.max(0, Math.min(chunk, counts[me][d] - r * chunk));
      // Packed whole before it is read, so its memory need not be zeroed; after the round it is the memory of the
      // next round's buffers (recycled), without page faults.
      const buf = n > 0 ? allocateUninitialized(dtype, n) : allocate(dtype, 0);
      if (n > 0) senders[d].pack(buf, n);
      if ((r + 1) * chunk >= counts[me][d]) senders[d].close();
      out.push(buf);
    }
    const got = (await comm.alltoall(out)) as unknown[];
    // The sends are done (a send resolves when its buffer may be reused).
    for (let d = 0; d < size; d++) if (d !== me) recycle(out[d]);
    for (let s = 0; s < size; s++) {
      const n = s === me ? 0 : Math.max(0, Math.min(chunk, counts[s][me] - r * chunk));
      if (n === 0) continue;
      const buf = got[s] as TypedArray;
      if (!ArrayBuffer.isView(buf) || buf.length !== n) {
        const got = ArrayBuffer.isView(buf) ? `${buf.length}` : typeof buf;
        throw new DArrayError(`round ${r}: expected ${n} elements, got ${got}`, { rank: me, op: 'exchange', peer: s });
      }
      receivers[s].unpack(buf, n);
      recycle(buf);
      if ((r + 1) * chunk >= counts[s][me]) receivers[s].close();
    }
  }
}
