// da.save: a DArray as a Zarr v2 directory store, chunk grid = tile grid. Every rank writes only its own
// chunks, in parallel, into a fresh directory; rank 0 writes the metadata last and swaps the directory in,
// so a job killed during a save leaves the previous store or the new one, never a mix.

import fs from 'node:fs';
import path from 'node:path';
import type { DArray } from '../darray.js';
import { localTileIndices, tileShape } from '../distribution.js';
import { progress } from '../../progress.js';
import { agree } from './agree.js';
import { newPath, recover, swapIn, writeFileAtomic, writeFileAtomicAsync } from './checkpoint.js';
import { chunkKey, type Compression, encodeChunk, makeMeta } from './zarr-format.js';
import { detachFileTiles } from './open.js';

/** Chunk files each rank writes at the same time. */
const CHUNKS_IN_FLIGHT = 4;

export interface SaveOptions {
  /** 'none' (default: fastest, what a checkpoint wants) or 'zlib'. */
  compression?: Compression;
  /** zlib level 1..9 (default 1). */
  level?: number;
  /** Extra attributes stored in `.zattrs` (JSON). */
  attrs?: Record<string, unknown>;
}

/**
 * Collective: writes `A` to the Zarr v2 directory store `dir` (created, or replaced as a whole). numpy via
 * zarr, dask and `da.load`/`da.open` read it. Every rank must pass the same path and options.
 */
export async function save(A: DArray, dir: string, opts: SaveOptions = {}): Promise<void> {
  const comm = A.comm;
  const op = 'save';
  const target = path.resolve(dir);
  const compression = opts.compression ?? 'none';
  const level = opts.level ?? 1;
  const fresh = await agree(comm, op, async () => {
    if (compression !== 'none' && compression !== 'zlib') throw new Error(`compression must be 'none' or 'zlib', got ${JSON.stringify(compression)}`);
    if (!Number.isInteger(level) || level < 1 || level > 9) throw new Error(`level must be an integer 1..9, got ${level}`);
    if (comm.rank !== 0) return '';
    fs.mkdirSync(path.dirname(target), { recursive: true });
    recover(target);
    refuseForeign(target);
    const p = newPath(target);
    fs.mkdirSync(p, { recursive: false, mode: 0o755 });
    return p;
  });
  const tmp = comm.size === 1 ? fresh : await comm.bcast(fresh, 0);
  const meta = makeMeta(A.shape, A.blockSize, A.dtype, compression, level);
  try {
    await agree(comm, op, async () => {
      // Arrays opened from this store read their remaining tiles now, before the store is replaced.
      detachFileTiles(target);
      const todo = localTileIndices(A.shape, A.blockSize, A.grid, comm.rank);
      // One progress line per job, from rank 0's share of the chunks (shown only for saves that take a while).
      const bar = todo.length > 0 ? progress(comm, `save ${dir}`, todo.length) : undefined;
      let next = 0;
      // A few chunks in flight at once, so writes and fsyncs overlap; each writer holds only its own tile,
      // so under a memory limit the others may stay spilled.
      const writer = async () => {
        while (next < todo.length) {
          const index = todo[next++];
          const shape = tileShape(A.shape, A.blockSize, index);
          const bytes = encodeChunk(A.tile(index)!, shape, meta.chunks, meta);
          await writeFileAtomicAsync(path.join(tmp, chunkKey(index)), bytes);
          bar?.add();
        }
      };
      try {
        await Promise.all(Array.from({ length: Math.min(CHUNKS_IN_FLIGHT, todo.length) }, writer));
      } finally {
        bar?.done();
      }
    });
    await agree(comm, op, () => {
      if (comm.rank !== 0) return;
      const attrs = { ...opts.attrs, darray: { blockSize: A.blockSize, grid: A.grid } };
      writeFileAtomic(path.join(tmp, '.zattrs'), Buffer.from(JSON.stringify(attrs, null, 2)));
      // The metadata goes last: a directory without .zarray is not an array to any reader.
      writeFileAtomic(path.join(tmp, '.zarray'), Buffer.from(JSON.stringify(meta, null, 2)));
      swapIn(tmp, target);
    });
  } catch (e) {
    if (comm.rank === 0) fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Refuses to replace something at `p` that is not a Zarr array (a file, or a directory of other things). */
function refuseForeign(p: string): void {
  if (!fs.existsSync(p)) return;
  const st = fs.statSync(p);
  if (!st.isDirectory()) throw new Error(`${p} exists and is not a directory; will not replace it`);
  if (fs.readdirSync(p).length && !fs.existsSync(path.join(p, '.zarray'))) {
    throw new Error(`${p} is a non-empty directory without .zarray; will not replace it`);
  }
}
