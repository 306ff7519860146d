// da.load: reads a Zarr v2 array (written by darray, zarr-python, dask, ...) into a DArray with any block
// size and grid, through zarrita. Each rank reads only the chunks that overlap its own tiles; when the
// stored chunks differ from the tiles, the overlapping part of each chunk lands in each tile (re-tiling).
// A tile that is exactly one stored chunk in a format darray decodes itself is read straight from its file.

import fs from 'node:fs';
import path from 'node:path';
import * as zarr from 'zarrita';
import type { Comm } from '../../comm/index.js';
import { allocateDArray } from '../alloc.js';
import type { DArray } from '../darray.js';
import { localTileIndices, tileOffset, tileShape } from '../distribution.js';
import { type Dtype, isDtype, type TypedArray } from '../dtype.js';
import { withTile } from '../store/tile-map.js';
import { type DArrayOptions, resolveLayout } from '../validate.js';
import { progress } from '../../progress.js';
import { agree } from './agree.js';
import { recover } from './checkpoint.js';
import { fillValue } from './open.js';
import { checkMeta, chunkKey, decodeChunk, type ZarrayMeta } from './zarr-format.js';

/** Layout of the loaded array; blockSize defaults to the stored chunks, dtype to the stored one (or float64). */
export type LoadOptions = DArrayOptions;

/** Tiles read at the same time per rank (chunk reads overlap with decoding). */
const CONCURRENT_TILES = 4;

/** A read-only zarrita store over a local directory. */
class DirStore {
  constructor(private readonly root: string) {}
  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await fs.promises.readFile(path.join(this.root, key.replace(/^\/+/, ''))));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
}

/**
 * Collective: the Zarr v2 array at `dir` as a new DArray with `opts`' layout (stored chunks by default).
 * Stored dtypes other than float64/float32/int32 are converted (to float64 unless `opts.dtype` says).
 */
export async function load(comm: Comm, dir: string, opts: LoadOptions = {}): Promise<DArray> {
  const op = 'load';
  const target = path.resolve(dir);
  await agree(comm, op, () => { if (comm.rank === 0) recover(target); });
  if (comm.size > 1) await comm.barrier();
  const arr = await agree(comm, op, async () => {
    if (!fs.existsSync(path.join(target, '.zarray'))) {
      throw new Error(fs.existsSync(target) ? `${target} is not a Zarr v2 array (no .zarray)` : `${target} does not exist`);
    }
    return zarr.open.v2(new DirStore(target), { kind: 'array' });
  });
  const stored = String(arr.dtype);
  const dtype: Dtype = opts.dtype ?? (isDtype(stored) ? stored : 'float64');
  const A = allocateDArray(comm, resolveLayout(comm, op, arr.shape, {
    dtype, blockSize: opts.blockSize ?? arr.chunks.map((c, d) => Math.min(c, Math.max(1, arr.shape[d]))), grid: opts.grid,
  }));
  const todo = localTileIndices(A.shape, A.blockSize, A.grid, comm.rank);
  const direct = directMeta(target, dtype);
  // One progress line per job, from rank 0's share of the tiles (shown only for loads that take a while).
  const bar = todo.length > 0 ? progress(comm, `load ${dir}`, todo.length) : undefined;
  await agree(comm, op, async () => {
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const index = todo[next++];
        await loadTile(index);
        bar?.add();
      }
    };
    const loadTile = async (index: number[]): Promise<void> => {
      const offset = tileOffset(A.blockSize, index);
      const shape = tileShape(A.shape, A.blockSize, index);
      if (shape.some((n) => n === 0)) return;
      if (direct && isOneChunk(offset, shape, A.shape, direct.chunks)) {
        const key = chunkKey(offset.map((o, d) => o / direct.chunks[d]), direct.dimension_separator ?? '.');
        const bytes = await readOrMissing(path.join(target, key));
        withTile(A, index, (t) => {
          if (bytes) decodeChunk(bytes, direct, dtype, shape, t, `rank ${comm.rank} load: chunk ${key}`);
          else t.fill(fillValue(direct));
        });
        return;
      }
      const sel = offset.map((o, d) => zarr.slice(o, o + shape[d]));
      const got = await zarr.get(arr, sel) as unknown;
      withTile(A, index, (t) => copyInto(t, got, stored, `tile [${index}]`));
    };
    try {
      await Promise.all(Array.from({ length: Math.min(CONCURRENT_TILES, todo.length) }, worker));
    } finally {
      bar?.done();
    }
  });
  return A;
}

/** The store's metadata when darray decodes its chunks itself as `dtype` (else undefined: zarrita reads). */
function directMeta(dir: string, dtype: Dtype): ZarrayMeta | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, '.zarray'), 'utf8')) as ZarrayMeta;
    return checkMeta(m, dir, {}) === dtype ? m : undefined;
  } catch {
    return undefined;
  }
}

/** True when the tile at `offset` with `shape` covers exactly one stored chunk (cropped at the array's edge). */
function isOneChunk(offset: number[], shape: number[], full: number[], chunks: number[]): boolean {
  return offset.every((o, d) => o % chunks[d] === 0 && shape[d] === Math.min(chunks[d], full[d] - o));
}

async function readOrMissing(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Copies what zarrita returned for one tile (a C-order chunk, or a scalar for 0-d) into the tile. */
function copyInto(t: TypedArray, got: unknown, stored: string, what: string): void {
  const data = (got !== null && typeof got === 'object' && 'data' in got) ? (got as { data: unknown }).data : got;
  if (typeof data === 'number' || typeof data === 'bigint' || typeof data === 'boolean') { t[0] = Number(data); return; }
  if (ArrayBuffer.isView(data) && !(data instanceof DataView)) {
    const src = data as unknown as ArrayLike<number | bigint>;
    if (src.length !== t.length) throw new Error(`${what}: zarr returned ${src.length} elements, expected ${t.length}`);
    if (src.constructor === t.constructor) { t.set(src as TypedArray); return; }
    for (let i = 0; i < t.length; i++) t[i] = Number(src[i]);
    return;
  }
  throw new Error(`${what}: stored dtype ${stored} cannot be read as numbers`);
}
