// The repeated-multiply form of a SparseMatrix's local rows: a reordered copy of the CSR, built once and
// cached, that makes y = A x a cache-friendly gather and overlaps the halo exchange with the local work.

import type { Comm } from '../comm/index.js';
import { DArrayError } from '../errors.js';
import type { HaloPlan } from './halo.js';

type Vec = Float64Array | Int32Array | Uint8Array;

/**
 * Local rows and columns are renumbered: columns of the extended vector [own | ghosts] by how often they are
 * referenced (most first), so the hot entries of x share cache lines, and for a square matrix the rows take
 * the own columns' order, so a vector computed from y (PageRank's x) feeds the next product with no shuffle.
 * Each row's entries are split into own columns and ghost columns: the own part runs while the ghost values
 * are in flight, the ghost part (only rows that have ghosts) after they arrive.
 *
 * Vectors a kernel takes and returns are in its order: rowOrder[r] is the local row at position r, and
 * extPos[c] the position of extended column c (own columns 0..nOwn-1, then ghosts in plan order).
 */
export class MatvecKernel {
  readonly m: number;
  readonly nOwn: number;
  readonly nExt: number;
  /** Position r -> the local row it holds. */
  readonly rowOrder: Int32Array;
  /** Extended column (plan numbering) -> its position in the kernel's extended vector. */
  readonly extPos: Int32Array;
  /** Global column id at each position of the extended vector. */
  readonly globalId: Int32Array;
  /** Own-column entries of each row (positions < nOwn), ascending within a row. */
  readonly ownPtr: Int32Array;
  readonly ownCol: Int32Array;
  private readonly ownVal: Float64Array | null;
  /** Rows with ghost entries (positions, ascending), and their ghost entries as a CSR over that list. */
  readonly gRows: Int32Array;
  readonly gPtr: Int32Array;
  readonly gCol: Int32Array;
  private readonly gVal: Float64Array | null;
  /** Per peer: positions of the own entries it needs. */
  private readonly sendPos: Int32Array[];
  /**
   * Send buffers per element type and carry length, reused by the next exchange once one has completed (large
   * arrays are sent without a copy). An exchange that starts while another is in flight (products not
   * awaited one by one) gets fresh buffers.
   */
  private readonly sendBufs = new Map<string, Vec[]>();
  private inFlight = 0;
  /** Ghost g (plan order, grouped by owner) lands at position recvPos[g]. */
  private readonly recvPos: Int32Array;
  private readonly recvStart: Int32Array;

  constructor(private readonly comm: Comm, rowPtr: Int32Array, col: Int32Array, values: Float64Array | null, plan: HaloPlan, square: boolean) {
    const m = rowPtr.length - 1, nOwn = plan.nOwn, nExt = nOwn + plan.ghosts.length;
    this.m = m; this.nOwn = nOwn; this.nExt = nExt;
    const nnz = rowPtr[m];
    const freq = new Int32Array(nExt);
    for (let k = 0; k < nnz; k++) freq[col[k]]++;
    const ownOrder = byCountDescending(freq, 0, nOwn);
    const ghostOrder = byCountDescending(freq, nOwn, nExt);
    const extPos = new Int32Array(nExt);
    for (let r = 0; r < nOwn; r++) extPos[ownOrder[r]] = r;
    for (let r = 0; r < ghostOrder.length; r++) extPos[nOwn + ghostOrder[r]] = nOwn + r;
    this.extPos = extPos;
    // A square matrix's own rows and own columns are the same vertices: give them one order.
    const rowOrder = square && m === nOwn ? ownOrder : identity(m);
    this.rowOrder = rowOrder;
    // Per row (kernel order) its own and ghost entry counts give both CSR pointer arrays.
    const ownPtr = new Int32Array(m + 1), gSlot = new Int32Array(m).fill(-1);
    let nGhostEntries = 0, nGhostRows = 0;
    const ghostsOf = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      let g = 0;
      for (let k = rowPtr[i], e = rowPtr[i + 1]; k < e; k++) if (col[k] >= nOwn) g++;
      ghostsOf[i] = g;
    }
    for (let r = 0; r < m; r++) {
      const i = rowOrder[r], g = ghostsOf[i];
      ownPtr[r + 1] = ownPtr[r] + (rowPtr[i + 1] - rowPtr[i] - g);
      if (g > 0) { gSlot[r] = nGhostRows++; nGhostEntries += g; }
    }
    const gRows = new Int32Array(nGhostRows), gPtr = new Int32Array(nGhostRows + 1);
    for (let r = 0; r < m; r++) {
      const t = gSlot[r];
      if (t < 0) continue;
      gRows[t] = r;
      gPtr[t + 1] = gPtr[t] + ghostsOf[rowOrder[r]];
    }
    // Entries bucketed by column position, then swept in ascending position and appended to their rows: every
    // row's columns come out ascending (most referenced first, which a bottom-up search wants) with no sort.
    const cStart = new Int32Array(nExt + 1);
    for (let j = 0; j < nExt; j++) cStart[extPos[j] + 1] = freq[j];
    for (let c = 0; c < nExt; c++) cStart[c + 1] += cStart[c];
    const fill = cStart.slice(0, nExt);
    const bRow = new Int32Array(nnz), bVal = values ? new Float64Array(nnz) : null;
    for (let r = 0; r < m; r++) {
      const i = rowOrder[r];
      for (let k = rowPtr[i], e = rowPtr[i + 1]; k < e; k++) {
        const at = fill[extPos[col[k]]]++;
        bRow[at] = r;
        if (bVal) bVal[at] = values![k];
      }
    }
    const ownCol = new Int32Array(ownPtr[m]), ownVal = values ? new Float64Array(ownPtr[m]) : null;
    const gCol = new Int32Array(nGhostEntries), gVal = values ? new Float64Array(nGhostEntries) : null;
    const wOwn = ownPtr.slice(0, m), wG = gPtr.slice(0, nGhostRows);
    for (let c = 0; c < nExt; c++) {
      for (let at = cStart[c]; at < cStart[c + 1]; at++) {
        const r = bRow[at];
        if (c < nOwn) {
          const w = wOwn[r]++;
          ownCol[w] = c;
          if (ownVal) ownVal[w] = bVal![at];
        } else {
          const w = wG[gSlot[r]]++;
          gCol[w] = c;
          if (gVal) gVal[w] = bVal![at];
        }
      }
    }
    this.ownPtr = ownPtr; this.ownCol = ownCol; this.ownVal = ownVal;
    this.gRows = gRows; this.gPtr = gPtr; this.gCol = gCol; this.gVal = gVal;
    this.globalId = new Int32Array(nExt);
    for (let c = 0; c < nOwn; c++) this.globalId[extPos[c]] = plan.colStart + c;
    for (let g = 0; g < plan.ghosts.length; g++) this.globalId[extPos[nOwn + g]] = plan.ghosts[g];
    const me = comm.rank;
    this.sendPos = plan.sendIdx.map((idx, q) => {
      const out = new Int32Array(q === me ? 0 : idx.length);
      for (let k = 0; k < out.length; k++) out[k] = extPos[idx[k]];
      return out;
    });
    this.recvPos = extPos.slice(nOwn);
    this.recvStart = plan.recvStart;
  }

  /**
   * Collective: starts filling the ghost positions of `ext` from the peers' own entries (ext's own positions
   * must be set). Returns the exchange in flight; `finishHalo` unpacks it. Local work may run in between.
   * `carry` (float64 only) rides along to every peer: finishHalo leaves in it the sum over all ranks, an
   * allreduce that costs no message of its own.
   */
  startHalo<T extends Vec>(ext: T, carry?: Float64Array): Promise<T[]> | undefined {
    const p = this.comm.size;
    if (p === 1) return undefined;
    const c = carry?.length ?? 0;
    const key = `${ext.constructor.name}+${c}`;
    let bufs = this.inFlight === 0 ? this.sendBufs.get(key) as T[] | undefined : undefined;
    if (!bufs) {
      const Ctor = ext.constructor as new (n: number) => T;
      bufs = this.sendPos.map((s) => new Ctor(s.length + c));
      if (this.inFlight === 0) this.sendBufs.set(key, bufs);
    }
    this.inFlight++;
    for (let q = 0; q < p; q++) {
      const b = bufs[q], idx = this.sendPos[q];
      if (b instanceof Float64Array) gatherF64(b, ext as Float64Array, idx);
      else gatherAny(b, ext, idx);
      if (carry) b.set(carry, idx.length);
    }
    return this.comm.alltoall(bufs);
  }

  /** Completes `startHalo`: waits for the peers' entries and places them at their ghost positions. */
  async finishHalo<T extends Vec>(pending: Promise<T[]> | undefined, ext: T, op: string, carry?: Float64Array): Promise<void> {
    if (!pending) return;
    let got: T[];
    try {
      got = await pending;
    } finally {
      this.inFlight--;
    }
    const p = this.comm.size, me = this.comm.rank, c = carry?.length ?? 0;
    for (let q = 0; q < p; q++) {
      if (q === me) continue;
      const a = this.recvStart[q], want = this.recvStart[q + 1] - a, g = got[q];
      if (!g || g.constructor !== ext.constructor || g.length !== want + c) {
        throw new DArrayError(`expected ${want + c} ${ext.constructor.name} halo entries from rank ${q}, got ${g?.length ?? typeof g} of ${g?.constructor?.name}`, { rank: me, op, peer: q });
      }
      if (ext instanceof Float64Array) scatterF64(ext, g as Float64Array, this.recvPos, a, want);
      else scatterAny(ext, g, this.recvPos, a, want);
    }
    // Summed in rank order, so every rank gets the same bits.
    if (carry) {
      const mine = Float64Array.from(carry);
      carry.fill(0);
      for (let q = 0; q < p; q++) {
        const g = q === me ? mine : got[q];
        for (let k = 0; k < c; k++) carry[k] += g[g.length - c + k];
      }
    }
  }

  /**
   * Collective: y = A x in the kernel's order. `ext` (length nExt) holds x's own entries at positions
   * 0..nOwn-1 on entry; its ghost positions are overwritten. `y` has length m. The own-column part runs
   * while the ghost entries travel. With `carry`, also sums it over the ranks (see startHalo); then, when
   * `stop(carry)` says so once the sum is known, returns false at once and y is not complete.
   */
  async multiply(ext: Float64Array, y: Float64Array, op = 'sparse matvec', carry?: Float64Array, stop?: (sum: Float64Array) => boolean): Promise<boolean> {
    const pending = this.startHalo(ext, carry);
    if (!pending && carry && stop?.(carry)) return false;
    if (this.ownVal) spmvValues(this.ownPtr, this.ownCol, this.ownVal, ext, y, this.m);
    else spmvPattern(this.ownPtr, this.ownCol, ext, y, this.m);
    if (!pending) return true;
    await this.finishHalo(pending, ext, op, carry);
    if (carry && stop?.(carry)) return false;
    if (this.gVal) addRowsValues(this.gRows, this.gPtr, this.gCol, this.gVal, ext, y);
    else addRowsPattern(this.gRows, this.gPtr, this.gCol, ext, y);
    return true;
  }
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Indices lo..hi-1 ordered by count[i] descending, ties by index (a stable counting sort), relative to lo. */
function byCountDescending(count: Int32Array, lo: number, hi: number): Int32Array {
  let max = 0;
  for (let i = lo; i < hi; i++) if (count[i] > max) max = count[i];
  const start = new Int32Array(max + 2);
  for (let i = lo; i < hi; i++) start[max - count[i] + 1]++;
  for (let c = 0; c <= max; c++) start[c + 1] += start[c];
  const out = new Int32Array(hi - lo);
  for (let i = lo; i < hi; i++) out[start[max - count[i]]++] = i - lo;
  return out;
}

// The loops below are small monomorphic functions over typed arrays, which V8 compiles to tight code; four
// accumulators break the add dependency chain of long rows.

function spmvPattern(ptr: Int32Array, col: Int32Array, x: Float64Array, y: Float64Array, m: number): void {
  for (let r = 0; r < m; r++) {
    let k = ptr[r];
    const e = ptr[r + 1];
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; k + 3 < e; k += 4) { s0 += x[col[k]]; s1 += x[col[k + 1]]; s2 += x[col[k + 2]]; s3 += x[col[k + 3]]; }
    for (; k < e; k++) s0 += x[col[k]];
    y[r] = (s0 + s1) + (s2 + s3);
  }
}

function spmvValues(ptr: Int32Array, col: Int32Array, val: Float64Array, x: Float64Array, y: Float64Array, m: number): void {
  for (let r = 0; r < m; r++) {
    let k = ptr[r];
    const e = ptr[r + 1];
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; k + 3 < e; k += 4) {
      s0 += val[k] * x[col[k]]; s1 += val[k + 1] * x[col[k + 1]]; s2 += val[k + 2] * x[col[k + 2]]; s3 += val[k + 3] * x[col[k + 3]];
    }
    for (; k < e; k++) s0 += val[k] * x[col[k]];
    y[r] = (s0 + s1) + (s2 + s3);
  }
}

function addRowsPattern(rows: Int32Array, ptr: Int32Array, col: Int32Array, x: Float64Array, y: Float64Array): void {
  for (let t = 0; t < rows.length; t++) {
    let k = ptr[t];
    const e = ptr[t + 1];
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; k + 3 < e; k += 4) { s0 += x[col[k]]; s1 += x[col[k + 1]]; s2 += x[col[k + 2]]; s3 += x[col[k + 3]]; }
    for (; k < e; k++) s0 += x[col[k]];
    y[rows[t]] += (s0 + s1) + (s2 + s3);
  }
}

function addRowsValues(rows: Int32Array, ptr: Int32Array, col: Int32Array, val: Float64Array, x: Float64Array, y: Float64Array): void {
  for (let t = 0; t < rows.length; t++) {
    let s = 0;
    for (let k = ptr[t], e = ptr[t + 1]; k < e; k++) s += val[k] * x[col[k]];
    y[rows[t]] += s;
  }
}

// Float64 (PageRank, matvec) and other element types (BFS flags) in separate functions, each monomorphic.

/** out[k] = x[idx[k]] for the first idx.length entries of out. */
function gatherF64(out: Float64Array, x: Float64Array, idx: Int32Array): void {
  for (let k = 0; k < idx.length; k++) out[k] = x[idx[k]];
}

function gatherAny(out: Vec, x: Vec, idx: Int32Array): void {
  for (let k = 0; k < idx.length; k++) out[k] = x[idx[k]];
}

/** x[pos[at + k]] = src[k] for k < n. */
function scatterF64(x: Float64Array, src: Float64Array, pos: Int32Array, at: number, n: number): void {
  for (let k = 0; k < n; k++) x[pos[at + k]] = src[k];
}

function scatterAny(x: Vec, src: Vec, pos: Int32Array, at: number, n: number): void {
  for (let k = 0; k < n; k++) x[pos[at + k]] = src[k];
}
