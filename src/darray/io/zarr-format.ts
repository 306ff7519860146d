// The Zarr v2 format as darray writes and reads it: `.zarray` metadata (C order, little-endian, zlib/gzip or
// no compressor, no filters), chunk keys, and chunk encoding. Edge chunks are stored full-size and padded
// with the fill value, as the Zarr v2 spec requires, so numpy/zarr/dask read them unchanged.

import zlib from 'node:zlib';
import { DArrayError, type ErrorContext } from '../../errors.js';
import { allocate, dtypeOf, type Dtype, type TypedArray } from '../dtype.js';

/** The `.zarray` document (Zarr v2). */
export interface ZarrayMeta {
  zarr_format: 2;
  shape: number[];
  chunks: number[];
  dtype: string;
  compressor: { id: string; level?: number } | null;
  fill_value: number | string | null;
  order: 'C' | 'F';
  filters: unknown[] | null;
  dimension_separator?: '.' | '/';
}

/** Compression of saved chunks: zlib (level 1 by default) or none. */
export type Compression = 'zlib' | 'none';

const TO_ZARR: Record<Dtype, string> = { float64: '<f8', float32: '<f4', int32: '<i4' };
const FROM_ZARR: Record<string, Dtype> = { '<f8': 'float64', '<f4': 'float32', '<i4': 'int32' };

export function zarrDtype(d: Dtype): string {
  return TO_ZARR[d];
}

/** The DArray dtype of a stored Zarr dtype that darray reads without conversion, or undefined. */
export function dtypeOfZarr(z: string): Dtype | undefined {
  return FROM_ZARR[z];
}

/** Metadata of a saved DArray: chunk grid = tile grid (a zero-length axis still gets a chunk extent of 1). */
export function makeMeta(shape: number[], blockSize: number[], dtype: Dtype, compression: Compression, level: number): ZarrayMeta {
  return {
    zarr_format: 2,
    shape: [...shape],
    chunks: blockSize.map((b) => Math.max(1, b)),
    dtype: zarrDtype(dtype),
    compressor: compression === 'zlib' ? { id: 'zlib', level } : null,
    fill_value: 0,
    order: 'C',
    filters: null,
    dimension_separator: '.',
  };
}

/** The file name of chunk `index` ("0.3"; "0" for a 0-d array). */
export function chunkKey(index: readonly number[], sep: '.' | '/' = '.'): string {
  return index.length === 0 ? '0' : index.join(sep);
}

/** Encodes a tile as its chunk file: padded to the full chunk shape (fill 0), then compressed. */
export function encodeChunk(tile: TypedArray, tileShape: readonly number[], chunks: readonly number[], meta: ZarrayMeta): Buffer {
  const full = padTo(tile, tileShape, chunks);
  const raw = Buffer.from(full.buffer, full.byteOffset, full.byteLength);
  if (!meta.compressor) return raw;
  return zlib.deflateSync(raw, { level: meta.compressor.level ?? 1 });
}

/** Decodes a chunk file into the tile (the top-left `tileShape` corner of the stored chunk). */
export function decodeChunk(bytes: Uint8Array, meta: ZarrayMeta, dtype: Dtype, tileShape: readonly number[], into: TypedArray, what: string): void {
  const raw = decompress(bytes, meta, what);
  const n = meta.chunks.reduce((a, b) => a * b, 1);
  const width = allocate(dtype, 0).BYTES_PER_ELEMENT;
  if (raw.byteLength !== n * width) {
    throw new DArrayError(`${what}: chunk holds ${raw.byteLength} bytes, expected ${n * width} for chunks [${meta.chunks}] of ${meta.dtype}`);
  }
  // A whole chunk goes byte for byte into the tile; otherwise through an aligned copy of the chunk first
  // (a Buffer from zlib or readFile may start at any byte offset).
  if (meta.chunks.every((c, d) => c === tileShape[d])) {
    new Uint8Array(into.buffer, into.byteOffset, into.byteLength).set(raw);
    return;
  }
  const chunk = allocate(dtype, n);
  new Uint8Array(chunk.buffer).set(raw);
  cropInto(chunk, meta.chunks, tileShape, into);
}

function decompress(bytes: Uint8Array, meta: ZarrayMeta, what: string): Uint8Array {
  const id = meta.compressor?.id;
  if (!id) return bytes;
  try {
    if (id === 'zlib') return zlib.inflateSync(bytes);
    if (id === 'gzip') return zlib.gunzipSync(bytes);
  } catch (e) {
    throw new DArrayError(`${what}: chunk is not valid ${id} data (${(e as Error).message})`, {}, { cause: e });
  }
  throw new DArrayError(`${what}: compressor ${JSON.stringify(id)} is not supported here (zlib, gzip or none)`);
}

/** Checks a `.zarray` for what the synchronous chunk reader (da.open) supports; returns the dtype. */
export function checkMeta(m: ZarrayMeta, what: string, ctx: ErrorContext): Dtype {
  const bad = (msg: string) => new DArrayError(`${what}: ${msg}`, ctx);
  if (m.zarr_format !== 2) throw bad(`not a Zarr v2 array (zarr_format ${JSON.stringify(m.zarr_format)})`);
  if (!Array.isArray(m.shape) || !Array.isArray(m.chunks) || m.shape.length !== m.chunks.length) {
    throw bad(`shape ${JSON.stringify(m.shape)} and chunks ${JSON.stringify(m.chunks)} do not match`);
  }
  if (m.order !== 'C') throw bad(`order ${JSON.stringify(m.order)} is not supported (C order only)`);
  if (m.filters && m.filters.length) throw bad(`filters ${JSON.stringify(m.filters)} are not supported`);
  const id = m.compressor?.id;
  if (id && id !== 'zlib' && id !== 'gzip') throw bad(`compressor ${JSON.stringify(id)} is not supported (zlib, gzip or none); da.load reads it`);
  const d = dtypeOfZarr(m.dtype);
  if (!d) throw bad(`dtype ${JSON.stringify(m.dtype)} is not supported (<f8, <f4, <i4); da.load converts other dtypes`);
  return d;
}

/** Row-major copy of `src` (shape `from`) into the corner of a zero array of shape `to` (to >= from). */
function padTo(src: TypedArray, from: readonly number[], to: readonly number[]): TypedArray {
  if (from.every((n, d) => n === to[d])) return src;
  const out = allocate(dtypeOf(src)!, to.reduce((a, b) => a * b, 1));
  copyBox(src, from, out, to, from);
  return out;
}

/** The `to`-shaped corner of `src` (shape `from`) into `into`. */
function cropInto(src: TypedArray, from: readonly number[], to: readonly number[], into: TypedArray): void {
  if (from.every((n, d) => n === to[d])) { into.set(src); return; }
  copyBox(src, from, into, to, to);
}

/** Copies the box [0, box) between two row-major arrays of shapes `sa` and `sb`, one row run at a time. */
function copyBox(a: TypedArray, sa: readonly number[], b: TypedArray, sb: readonly number[], box: readonly number[]): void {
  const nd = box.length;
  if (nd === 0) { b[0] = a[0]; return; }
  if (box.some((n) => n === 0)) return;
  const len = box[nd - 1];
  const idx = new Array<number>(nd - 1).fill(0);
  for (;;) {
    let oa = 0, ob = 0;
    for (let d = 0; d < nd - 1; d++) { oa = oa * sa[d] + idx[d]; ob = ob * sb[d] + idx[d]; }
    oa *= sa[nd - 1];
    ob *= sb[nd - 1];
    b.set(a.subarray(oa, oa + len), ob);
    let d = nd - 2;
    while (d >= 0 && ++idx[d] >= box[d]) { idx[d] = 0; d--; }
    if (d < 0) return;
  }
}
