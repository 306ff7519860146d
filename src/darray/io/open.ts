// da.open: a file-backed DArray over a Zarr v2 directory store. Its tiles are the stored chunks, read
// synchronously on first use (any tile access, so every DArray operation works on it); under a memory limit
// tiles read earlier spill and come back, so a program can work through a store larger than its memory.

import fs from 'node:fs';
import path from 'node:path';
import type { Comm } from '../../comm/index.js';
import { DArrayError } from '../../errors.js';
import { allocateDArray } from '../alloc.js';
import type { DArray } from '../darray.js';
import type { Dtype, TypedArray } from '../dtype.js';
import { localTileIndices, prod, tileKey, tileShape } from '../distribution.js';
import { TileMap } from '../store/tile-map.js';
import { resolveLayout } from '../validate.js';
import { agree } from './agree.js';
import { recover } from './checkpoint.js';
import { checkMeta, chunkKey, decodeChunk, type ZarrayMeta } from './zarr-format.js';

export interface OpenOptions {
  /** Process grid the stored chunks are dealt over (default: near-square over all ranks). */
  grid?: number[];
}

// Live file-backed arrays per store path, so that a save over that path first reads what they still need.
const opened = new Map<string, Set<WeakRef<TileMap>>>();

/**
 * Collective: a DArray whose tiles are the chunks of the Zarr v2 array at `dir`, each read on first use.
 * The block size is the stored chunk shape (use `redistribute` or `da.load` for another one). Writes go to
 * memory (and spill files), never back to the store; `da.save` writes a store.
 */
export async function open(comm: Comm, dir: string, opts: OpenOptions = {}): Promise<DArray> {
  const op = 'open';
  const target = path.resolve(dir);
  const text = await agree(comm, op, () => {
    if (comm.rank !== 0) return '';
    recover(target);
    return readMetaText(target);
  });
  const metaText = comm.size === 1 ? text : await comm.bcast(text, 0);
  const meta = parseMeta(metaText, target, comm.rank);
  const dtype = checkMeta(meta, target, { rank: comm.rank, op });
  const A = allocateDArray(comm, resolveLayout(comm, op, meta.shape, { dtype, blockSize: meta.chunks, grid: opts.grid }));
  const tiles = A.tiles as TileMap;
  for (const index of localTileIndices(A.shape, A.blockSize, A.grid, comm.rank)) {
    const shape = tileShape(A.shape, A.blockSize, index);
    const file = path.join(target, chunkKey(index, meta.dimension_separator ?? '.'));
    tiles.addLazy(tileKey(index), dtype, prod(shape), (into) => readChunk(file, meta, dtype, shape, into, comm.rank));
  }
  const set = opened.get(target) ?? new Set();
  set.add(new WeakRef(tiles));
  opened.set(target, set);
  return A;
}

/** Reads every tile that file-backed arrays of `dir` in this process have not read yet (before a save replaces it). */
export function detachFileTiles(dir: string): void {
  const set = opened.get(dir);
  if (!set) return;
  for (const ref of set) {
    const tiles = ref.deref();
    if (!tiles) { set.delete(ref); continue; }
    for (const key of tiles.keys()) {
      if (tiles.entry(key)?.state === 'file') tiles.borrow(key, () => undefined);
    }
  }
}

/** The `.zarray` text of a store; a clear error when there is none. */
export function readMetaText(dir: string): string {
  const f = path.join(dir, '.zarray');
  if (!fs.existsSync(f)) {
    throw new Error(fs.existsSync(dir) ? `${dir} is not a Zarr v2 array (no .zarray)` : `${dir} does not exist`);
  }
  return fs.readFileSync(f, 'utf8');
}

export function parseMeta(text: string, dir: string, rank: number): ZarrayMeta {
  try {
    return JSON.parse(text) as ZarrayMeta;
  } catch (e) {
    throw new DArrayError(`${dir}/.zarray is not valid JSON (${(e as Error).message})`, { rank, op: 'open' });
  }
}

/** The fill value of a store as a number (Zarr writes NaN and infinities as strings). */
export function fillValue(meta: ZarrayMeta): number {
  const f = meta.fill_value;
  if (f === null || f === undefined) return 0;
  return typeof f === 'number' ? f : Number(f);
}

function readChunk(file: string, meta: ZarrayMeta, dtype: Dtype, shape: number[], into: TypedArray, rank: number): void {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DArrayError(`cannot read chunk ${file}: ${(e as Error).message}`, { rank, op: 'open' }, { cause: e });
    }
    // A chunk Zarr never wrote holds the fill value everywhere.
    into.fill(fillValue(meta));
    return;
  }
  decodeChunk(bytes, meta, dtype, shape, into, `rank ${rank} open: chunk ${file}`);
}
