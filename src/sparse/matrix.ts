// SparseMatrix: a distributed CSR matrix whose rows are dealt in contiguous blocks over the ranks, with the
// halo plan that lets matvec fetch only the vector entries each rank's rows reference.

import type { Comm } from '../comm/index.js';
import { empty, type DArray } from '../darray/index.js';
import { agree, fail } from './agree.js';
import { buildCsr, type Combine } from './csr.js';
import { haloExchange, localizeColumns, makeHaloPlan, type HaloPlan } from './halo.js';
import { MatvecKernel } from './kernel.js';
import { blockOf, ownerOf, rangeOf, vectorLayout } from './partition.js';

/**
 * A distributed sparse matrix (CSR). Build one with `fromEdges`, `readMatrixMarket` or `rmat`. Rank r holds
 * rows [rowStart, rowEnd), a block of ceil(nrows / p); vectors it multiplies are 1-D DArrays with blockSize
 * [ceil(ncols / p)] and grid [p] (others are redistributed). Methods returning a Promise are collective.
 */
export class SparseMatrix {
  readonly rowBlock: number;
  readonly colBlock: number;
  readonly rowStart: number;
  readonly rowEnd: number;
  private cachedKernel: MatvecKernel | undefined;

  /** @internal Use the constructors. `col` indexes the extended vector of `plan` (own block, then ghosts). */
  constructor(
    readonly comm: Comm,
    readonly nrows: number,
    readonly ncols: number,
    /** @internal */ readonly rowPtr: Int32Array,
    /** @internal */ readonly col: Int32Array,
    /** @internal Entry values, or null when every stored entry is 1 (a pattern: an unweighted graph). */
    readonly values: Float64Array | null,
    /** @internal */ readonly plan: HaloPlan,
    /** True when the matrix was built symmetric (undirected graph), so A^T = A without looking. */
    readonly symmetric: boolean,
  ) {
    this.rowBlock = blockOf(nrows, comm.size);
    this.colBlock = blockOf(ncols, comm.size);
    [this.rowStart, this.rowEnd] = rangeOf(nrows, this.rowBlock, comm.rank);
  }

  /** [nrows, ncols]. */
  get shape(): [number, number] {
    return [this.nrows, this.ncols];
  }

  /** Rows held by this rank. */
  get localRows(): number {
    return this.rowEnd - this.rowStart;
  }

  /** Entries stored on this rank. */
  get localNnz(): number {
    return this.rowPtr[this.localRows];
  }

  /** Collective: entries stored on all ranks. */
  async nnz(): Promise<number> {
    return this.comm.allreduce(this.localNnz, 'sum');
  }

  /** Global column id of local entry k. */
  globalCol(k: number): number {
    const e = this.col[k];
    return e < this.plan.nOwn ? this.plan.colStart + e : this.plan.ghosts[e - this.plan.nOwn];
  }

  /** This rank's entries as global (row, col, value) triplets. */
  localEntries(): { rows: Int32Array; cols: Int32Array; vals: Float64Array } {
    const m = this.localNnz;
    const rows = new Int32Array(m), cols = new Int32Array(m), vals = new Float64Array(m);
    for (let i = 0; i < this.localRows; i++) {
      for (let k = this.rowPtr[i]; k < this.rowPtr[i + 1]; k++) {
        rows[k] = this.rowStart + i;
        cols[k] = this.globalCol(k);
        vals[k] = this.values ? this.values[k] : 1;
      }
    }
    return { rows, cols, vals };
  }

  /** Layout options of vectors matching the rows (`da.zeros(comm, [nrows], { ...G.rowLayout() })`). */
  rowLayout(): { blockSize: number[]; grid: number[] } {
    return vectorLayout(this.nrows, this.comm.size);
  }

  /** Layout options of vectors matching the columns (the x of matvec). */
  colLayout(): { blockSize: number[]; grid: number[] } {
    return vectorLayout(this.ncols, this.comm.size);
  }

  /** @internal Collective: fills ext [own | ghosts] from own (this rank's column block). */
  halo<T extends Float64Array | Int32Array | Uint8Array>(own: T, ext: T): Promise<void> {
    return haloExchange(this.comm, this.plan, own, ext, 'sparse matvec');
  }

  /** @internal The reordered multiply form of this rank's rows (see MatvecKernel), built on first use and kept. */
  kernel(): MatvecKernel {
    return (this.cachedKernel ??= new MatvecKernel(this.comm, this.rowPtr, this.col, this.values, this.plan, this.nrows === this.ncols));
  }

  /**
   * Collective: y = A x. `x` is a 1-D DArray of length ncols (any dtype; redistributed to the column
   * layout if its tiling differs). Returns a float64 DArray of length nrows in the row layout.
   */
  async matvec(x: DArray): Promise<DArray> {
    if (!x || !Array.isArray(x.shape) || x.shape.length !== 1 || x.shape[0] !== this.ncols) {
      fail(this.comm, 'sparse matvec', `x must be a 1-D DArray of length ${this.ncols} (the matrix is ${this.nrows} x ${this.ncols}), got shape ${JSON.stringify(x?.shape)}`);
    }
    const lay = this.colLayout();
    if (x.blockSize[0] !== lay.blockSize[0] || x.grid[0] !== lay.grid[0]) x = await x.redistribute(lay);
    const K = this.kernel();
    const ext = new Float64Array(K.nExt);
    const t = x.tile([this.comm.rank]);
    if (t) for (let j = 0; j < K.nOwn; j++) ext[K.extPos[j]] = t[j];
    const yk = new Float64Array(K.m);
    await K.multiply(ext, yk);
    const y = await this.rowVector('float64');
    const yt = y.tile([this.comm.rank]);
    if (yt) for (let r = 0; r < K.m; r++) yt[K.rowOrder[r]] = yk[r];
    return y;
  }

  /** A new zero vector of length nrows in the row layout. Local (no messages). */
  rowVector(dtype: 'float64' | 'int32' = 'float64'): Promise<DArray> {
    return empty(this.comm, [this.nrows], { dtype, ...this.rowLayout() });
  }

  /** Collective: the transpose, rows dealt in blocks like any SparseMatrix. */
  async transpose(): Promise<SparseMatrix> {
    const { rows, cols, vals } = this.localEntries();
    return assemble(this.comm, 'transpose', this.ncols, this.nrows, cols, rows, this.values ? vals : null,
      { combine: 'sum', symmetric: this.symmetric });
  }

  /** Collective: the pattern of A + A^T (an undirected graph's adjacency), values dropped. */
  async symmetrized(): Promise<SparseMatrix> {
    if (this.nrows !== this.ncols) fail(this.comm, 'symmetrized', `the matrix must be square, got ${this.nrows} x ${this.ncols}`);
    if (this.symmetric && !this.values) return this;
    const { rows, cols } = this.localEntries();
    const r2 = new Int32Array(rows.length * 2), c2 = new Int32Array(rows.length * 2);
    r2.set(rows); r2.set(cols, rows.length);
    c2.set(cols); c2.set(rows, rows.length);
    return assemble(this.comm, 'symmetrized', this.nrows, this.ncols, r2, c2, null, { symmetric: true });
  }

  /** Stored entries per row (out-degree of a graph) as an int32 DArray in the row layout. Collective. */
  async degrees(): Promise<DArray> {
    const d = await this.rowVector('int32');
    const t = d.tile([this.comm.rank]);
    if (t) for (let i = 0; i < t.length; i++) t[i] = this.rowPtr[i + 1] - this.rowPtr[i];
    return d;
  }

  /** Row sums (weighted out-degree) as a float64 DArray in the row layout. Collective. */
  async rowSums(): Promise<DArray> {
    const d = await this.rowVector('float64');
    const t = d.tile([this.comm.rank]);
    if (t) t.set(this.localRowSums());
    return d;
  }

  /** @internal Row sums of this rank's rows. */
  localRowSums(): Float64Array {
    const s = new Float64Array(this.localRows);
    for (let i = 0; i < s.length; i++) {
      if (!this.values) { s[i] = this.rowPtr[i + 1] - this.rowPtr[i]; continue; }
      let acc = 0;
      for (let k = this.rowPtr[i]; k < this.rowPtr[i + 1]; k++) acc += this.values[k];
      s[i] = acc;
    }
    return s;
  }

  /** A matrix with the same structure and fn applied to every stored value. Local (no messages). */
  mapValues(fn: (v: number, row: number, col: number) => number): SparseMatrix {
    const v = new Float64Array(this.localNnz);
    for (let i = 0; i < this.localRows; i++) {
      for (let k = this.rowPtr[i]; k < this.rowPtr[i + 1]; k++) v[k] = fn(this.values ? this.values[k] : 1, this.rowStart + i, this.globalCol(k));
    }
    return new SparseMatrix(this.comm, this.nrows, this.ncols, this.rowPtr, this.col, v, this.plan, false);
  }

  /** alpha * A, same structure. Local (no messages); keeps the symmetric flag. */
  scale(alpha: number): SparseMatrix {
    if (typeof alpha !== 'number') fail(this.comm, 'sparse scale', `alpha must be a number, got ${typeof alpha}`);
    const v = new Float64Array(this.localNnz);
    for (let k = 0; k < v.length; k++) v[k] = alpha * (this.values ? this.values[k] : 1);
    return new SparseMatrix(this.comm, this.nrows, this.ncols, this.rowPtr, this.col, v, this.plan, this.symmetric);
  }
}

export interface AssembleOptions {
  combine?: Combine;
  /** Only records that the result is symmetric; the caller supplied both directions. */
  symmetric?: boolean;
  dropSelfLoops?: boolean;
}

/**
 * Collective: builds a SparseMatrix from triplets each rank holds (any rows, in range): each triplet travels
 * to its row's owner, which assembles CSR and the halo plan. Triplets must already be checked.
 */
export async function assemble(
  comm: Comm, op: string, nrows: number, ncols: number, rows: Int32Array, cols: Int32Array,
  vals: Float64Array | null, opts: AssembleOptions = {},
): Promise<SparseMatrix> {
  const p = comm.size, me = comm.rank;
  const rb = blockOf(nrows, p);
  const counts = new Int32Array(p);
  for (let k = 0; k < rows.length; k++) counts[ownerOf(rows[k], rb)]++;
  const outRC = Array.from({ length: p }, (_, q) => new Int32Array(2 * counts[q]));
  const outV = vals ? Array.from({ length: p }, (_, q) => new Float64Array(counts[q])) : null;
  const at = new Int32Array(p);
  for (let k = 0; k < rows.length; k++) {
    const q = ownerOf(rows[k], rb), a = at[q]++;
    outRC[q][2 * a] = rows[k];
    outRC[q][2 * a + 1] = cols[k];
    if (outV) outV[q][a] = vals![k];
  }
  const inRC = await comm.alltoall(outRC);
  const inV = outV ? await comm.alltoall(outV) : null;
  const [r0, r1] = rangeOf(nrows, rb, me);
  let total = 0;
  for (const b of inRC) total += b.length >> 1;
  const R = new Int32Array(total), C = new Int32Array(total);
  const V = inV ? new Float64Array(total) : null;
  let w = 0;
  for (let q = 0; q < p; q++) {
    const b = inRC[q];
    if (V) V.set(inV![q], w);
    for (let k = 0; k < b.length; k += 2, w++) { R[w] = b[k] - r0; C[w] = b[k + 1]; }
  }
  let csr;
  let problem: string | undefined;
  try {
    csr = buildCsr(r1 - r0, R, C, V, opts.combine ?? 'sum', { rowOffset: r0, dropDiagonal: opts.dropSelfLoops });
  } catch (e) {
    problem = (e as Error).message;
  }
  await agree(comm, op, problem);
  const lc = localizeColumns(csr!.colIdx, ncols, blockOf(ncols, p), me, p);
  const plan = await makeHaloPlan(comm, lc);
  return new SparseMatrix(comm, nrows, ncols, csr!.rowPtr, lc.col, csr!.values, plan, opts.symmetric ?? false);
}
