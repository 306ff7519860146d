// The ways to build a SparseMatrix: from edge lists each rank holds, from a Matrix Market file that every
// rank reads its own part of, and from the seeded R-MAT generator. All are collective.

import { open } from 'node:fs/promises';
import type { Comm } from '../comm/index.js';
import { agree, fail } from './agree.js';
import type { Combine } from './csr.js';
import { assemble, type SparseMatrix } from './matrix.js';
import { countLines, MmSyntaxError, parseEntries, parseHeader, type MmHeader } from './mm-parse.js';
import { checkRmat, rmatEdgeCount, rmatEdges } from './rmat.js';

export interface FromEdgesOptions {
  /** Edge weights (one per edge); without them the matrix is a pattern: every edge weighs 1, duplicates count once. */
  weights?: ArrayLike<number>;
  /** Each edge stands for both directions (an undirected graph); give each undirected edge once. */
  symmetric?: boolean;
  /** How duplicate weighted edges combine (default 'sum', like scipy's COO to CSR). */
  duplicates?: Combine;
  /** Drop edges from a vertex to itself. */
  dropSelfLoops?: boolean;
}

const OP_EDGES = 'sparse.fromEdges';

/**
 * Collective: an n x n matrix (a graph's adjacency) from the edges src[k] -> dst[k] that this rank holds; any
 * rank may hold any edges, and all ranks' edges together make the graph. Vertex ids are integers in [0, n).
 */
export async function fromEdges(
  comm: Comm, src: ArrayLike<number>, dst: ArrayLike<number>, n: number, opts: FromEdgesOptions = {},
): Promise<SparseMatrix> {
  if (!Number.isSafeInteger(n) || n < 1 || n > 0x7fffffff) fail(comm, OP_EDGES, `n must be an integer in 1..2^31-1, got ${n}`);
  const dup = opts.duplicates ?? 'sum';
  if (dup !== 'sum' && dup !== 'max' && dup !== 'min') fail(comm, OP_EDGES, `duplicates must be 'sum', 'max' or 'min', got ${JSON.stringify(dup)}`);
  // Local checks first; then one agreement so every rank throws if any rank's edges are bad or n differs.
  let problem: string | undefined;
  const m = src?.length ?? -1;
  const w = opts.weights;
  if (!isArrayLike(src) || !isArrayLike(dst)) problem = 'src and dst must be arrays (or typed arrays) of vertex ids';
  else if (dst.length !== m) problem = `src has ${m} entries but dst has ${dst.length}`;
  else if (w !== undefined && (!isArrayLike(w) || w.length !== m)) problem = `weights must have one entry per edge (${m}), got ${isArrayLike(w) ? w.length : typeof w}`;
  const sym = opts.symmetric ?? false;
  const total = problem ? 0 : sym ? 2 * m : m;
  const rows = new Int32Array(total), cols = new Int32Array(total);
  const vals = w && !problem ? new Float64Array(total) : null;
  let k = 0;
  for (let e = 0; !problem && e < m; e++) {
    const u = src[e], v = dst[e];
    if (!Number.isInteger(u) || u < 0 || u >= n) { problem = `edge ${e}: source vertex ${u} is out of range [0, ${n})`; break; }
    if (!Number.isInteger(v) || v < 0 || v >= n) { problem = `edge ${e}: target vertex ${v} is out of range [0, ${n})`; break; }
    const x = w ? w[e] : 1;
    if (w && (typeof x !== 'number' || !Number.isFinite(x))) { problem = `edge ${e}: weight ${x} is not a finite number`; break; }
    rows[k] = u; cols[k] = v; if (vals) vals[k] = x; k++;
    if (sym && u !== v) { rows[k] = v; cols[k] = u; if (vals) vals[k] = x; k++; }
  }
  const ns = await comm.allgather(n);
  if (!problem && ns.some((x) => x !== n)) problem = `ranks disagree on n: ${JSON.stringify(ns)}`;
  await agree(comm, OP_EDGES, problem);
  return assemble(comm, OP_EDGES, n, n, rows.subarray(0, k), cols.subarray(0, k), vals ? vals.subarray(0, k) : null, {
    combine: vals ? dup : 'max', symmetric: sym, dropSelfLoops: opts.dropSelfLoops,
  });
}

function isArrayLike(x: unknown): x is ArrayLike<number> {
  return Array.isArray(x) || ArrayBuffer.isView(x);
}

const OP_MM = 'sparse.readMatrixMarket';
const HEAD_CHUNK = 1 << 16;

/**
 * Collective: reads a Matrix Market coordinate file (real, integer or pattern; general, symmetric or
 * skew-symmetric). Every rank reads the header and then only its own byte range of the entries; a symmetric
 * file's lower triangle is mirrored, duplicate entries are summed. A malformed line fails every rank with
 * its line number.
 */
export async function readMatrixMarket(comm: Comm, path: string): Promise<SparseMatrix> {
  if (typeof path !== 'string' || path === '') fail(comm, OP_MM, `path must be a non-empty string, got ${JSON.stringify(path)}`);
  let problem: string | undefined;
  let header: MmHeader | undefined;
  let text = '';
  let firstLine = 0;
  const fh = await open(path, 'r').catch((e: NodeJS.ErrnoException) => { problem = `cannot open ${path}: ${e.code ?? e.message}`; return undefined; });
  try {
    if (fh) {
      const size = (await fh.stat()).size;
      try {
        header = await readHeader(fh, size);
      } catch (e) {
        problem = e instanceof MmSyntaxError ? `${path}: ${e.message}` : `${path}: ${(e as Error).message}`;
      }
      if (header) {
        // Byte range of the entries for this rank; a line belongs to the rank whose range holds its first byte.
        const span = size - header.dataStart;
        const lo = header.dataStart + Math.floor((span * comm.rank) / comm.size);
        const hi = header.dataStart + Math.floor((span * (comm.rank + 1)) / comm.size);
        const start = await lineStartAtOrAfter(fh, lo, header.dataStart, size);
        const end = await lineStartAtOrAfter(fh, hi, header.dataStart, size);
        text = await readText(fh, start, end);
      }
    }
  } finally {
    await fh?.close();
  }
  // Line numbers: the lines of lower ranks' ranges come first.
  const lineCounts = await comm.allgather(problem ? 0 : countLines(text));
  const headers = await comm.allgather(header ? [header.nrows, header.ncols, header.nnz] : null);
  await agree(comm, OP_MM, problem);
  if (headers.some((h) => h![0] !== header!.nrows || h![1] !== header!.ncols || h![2] !== header!.nnz)) {
    await agree(comm, OP_MM, `ranks read different headers from ${path}: ${JSON.stringify(headers)} (is the file the same on every host?)`);
  }
  const h = header!;
  firstLine = h.dataLine;
  for (let q = 0; q < comm.rank; q++) firstLine += lineCounts[q];
  let entries;
  try {
    entries = parseEntries(text, firstLine, h);
  } catch (e) {
    problem = `${path}: ${(e as Error).message}`;
  }
  await agree(comm, OP_MM, problem);
  const found = await comm.allreduce(entries!.count, 'sum');
  if (found !== h.nnz) await agree(comm, OP_MM, `${path}: the size line promises ${h.nnz} entries but the file has ${found}`);
  let { rows, cols, vals } = entries!;
  if (h.symmetry !== 'general') {
    // Mirror the stored lower triangle; skew-symmetric mirrors with the sign flipped.
    const sign = h.symmetry === 'skew-symmetric' ? -1 : 1;
    let off = 0;
    for (let k = 0; k < rows.length; k++) if (rows[k] !== cols[k]) off++;
    const R = new Int32Array(rows.length + off), C = new Int32Array(rows.length + off);
    const V = vals ? new Float64Array(rows.length + off) : null;
    R.set(rows); C.set(cols); if (V) V.set(vals!);
    let w = rows.length;
    for (let k = 0; k < rows.length; k++) {
      if (rows[k] === cols[k]) continue;
      R[w] = cols[k]; C[w] = rows[k]; if (V) V[w] = sign * vals![k]; w++;
    }
    rows = R; cols = C; vals = V;
  }
  return assemble(comm, OP_MM, h.nrows, h.ncols, rows, cols, vals, { combine: 'sum', symmetric: h.symmetry === 'symmetric' });
}

type Handle = Awaited<ReturnType<typeof open>>;

async function readText(fh: Handle, start: number, end: number): Promise<string> {
  if (end <= start) return '';
  const buf = Buffer.allocUnsafe(end - start);
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.toString('latin1', 0, got);
}

async function readHeader(fh: Handle, size: number): Promise<MmHeader> {
  for (let len = HEAD_CHUNK; ; len *= 4) {
    const text = await readText(fh, 0, Math.min(len, size));
    const h = parseHeader(text, len >= size);
    if (h) return h;
  }
}

/** Offset of the first line start at or after pos (pos itself if it follows a newline or is the data start). */
async function lineStartAtOrAfter(fh: Handle, pos: number, dataStart: number, size: number): Promise<number> {
  if (pos <= dataStart) return dataStart;
  if (pos >= size) return size;
  const buf = Buffer.allocUnsafe(HEAD_CHUNK);
  for (let at = pos - 1; at < size; at += HEAD_CHUNK) {
    const { bytesRead } = await fh.read(buf, 0, HEAD_CHUNK, at);
    const i = buf.subarray(0, bytesRead).indexOf(10);
    if (i >= 0) return at + i + 1;
    if (bytesRead === 0) break;
  }
  return size;
}

export interface RmatOptions {
  scale: number;
  /** Edges per vertex before symmetrising (Graph500: 16). */
  edgeFactor?: number;
  seed?: number;
  /** Undirected (default true, as Graph500): each generated edge gives both directions. */
  symmetric?: boolean;
  a?: number;
  b?: number;
  c?: number;
}

/**
 * Collective: the R-MAT graph on 2^scale vertices with edgeFactor * 2^scale generated edges (Graph500's
 * a=0.57, b=0.19, c=0.19 unless given). Self loops and duplicate edges are dropped; the result is a pattern
 * matrix. Rank r generates a contiguous range of edge indices, but each edge depends only on (seed, index),
 * so the graph is the same on any number of ranks.
 */
export async function rmat(comm: Comm, opts: RmatOptions): Promise<SparseMatrix> {
  const params = { scale: opts?.scale, edgeFactor: opts?.edgeFactor ?? 16, seed: opts?.seed ?? 0, a: opts?.a, b: opts?.b, c: opts?.c };
  const bad = checkRmat(params);
  if (bad) fail(comm, 'sparse.rmat', bad);
  const total = rmatEdgeCount(params);
  const lo = Math.floor((total * comm.rank) / comm.size), hi = Math.floor((total * (comm.rank + 1)) / comm.size);
  const { src, dst } = rmatEdges(params, lo, hi);
  return fromEdges(comm, src, dst, 2 ** params.scale, { symmetric: opts.symmetric ?? true, dropSelfLoops: true });
}
