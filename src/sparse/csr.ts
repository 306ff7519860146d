// Local CSR assembly from coordinate triplets: rows bucketed by a counting sort, columns sorted within each
// row, duplicate entries combined. Pure functions, shared by every constructor of SparseMatrix.

/** How duplicate (row, col) entries are combined. A pattern matrix (no values) always keeps one entry. */
export type Combine = 'sum' | 'max' | 'min';

export interface LocalCsr {
  /** rowPtr[i]..rowPtr[i + 1] are row i's entries (rows numbered from the first local row). */
  rowPtr: Int32Array;
  /** Global column index of each entry, ascending within a row, no duplicates. */
  colIdx: Int32Array;
  /** Entry values, or null for a pattern matrix (every stored entry is 1). */
  values: Float64Array | null;
}

/**
 * Builds CSR for `nrows` local rows from triplets whose rows are local (0 <= rows[k] < nrows). Entries with
 * equal (row, col) are merged by `combine`; with `dropDiagonal`, entries with row + rowOffset === col go.
 */
export function buildCsr(
  nrows: number, rows: Int32Array, cols: Int32Array, vals: Float64Array | null, combine: Combine = 'sum',
  opts: { rowOffset?: number; dropDiagonal?: boolean } = {},
): LocalCsr {
  const m = rows.length;
  const off = opts.rowOffset ?? 0;
  const counts = new Int32Array(nrows + 1);
  for (let k = 0; k < m; k++) counts[rows[k] + 1]++;
  for (let i = 0; i < nrows; i++) counts[i + 1] += counts[i];
  if (counts[nrows] > 0x7fffffff) throw new RangeError(`${counts[nrows]} entries on one rank exceed the int32 index range`);
  const fill = counts.slice(0, nrows);
  const c = new Int32Array(m);
  const v = vals ? new Float64Array(m) : null;
  for (let k = 0; k < m; k++) {
    const at = fill[rows[k]]++;
    c[at] = cols[k];
    if (v) v[at] = vals![k];
  }
  // Sort each row by column; with values, sort an index permutation so values follow their columns.
  const rowPtr = new Int32Array(nrows + 1);
  const outC = new Int32Array(m);
  const outV = v ? new Float64Array(m) : null;
  let w = 0;
  let perm = new Int32Array(0);
  for (let i = 0; i < nrows; i++) {
    const a = counts[i], b = counts[i + 1];
    rowPtr[i] = w;
    if (!v) {
      const seg = c.subarray(a, b).sort();
      let last = -1;
      for (let k = 0; k < seg.length; k++) {
        const j = seg[k];
        if (j === last || (opts.dropDiagonal && j === i + off)) continue;
        outC[w++] = j;
        last = j;
      }
      continue;
    }
    const len = b - a;
    if (perm.length < len) perm = new Int32Array(Math.max(len, perm.length * 2));
    const pv = perm.subarray(0, len);
    for (let k = 0; k < len; k++) pv[k] = a + k;
    // Stable among equal columns, so duplicates combine in the order they arrived.
    const sorted = Array.from(pv).sort((x, y) => c[x] - c[y] || x - y);
    let last = -1;
    for (const k of sorted) {
      const j = c[k];
      if (opts.dropDiagonal && j === i + off) continue;
      if (j === last) {
        const prev = outV![w - 1], x = v[k];
        outV![w - 1] = combine === 'sum' ? prev + x : combine === 'max' ? Math.max(prev, x) : Math.min(prev, x);
        continue;
      }
      outC[w] = j;
      outV![w] = v[k];
      w++;
      last = j;
    }
  }
  rowPtr[nrows] = w;
  return { rowPtr, colIdx: outC.slice(0, w), values: outV ? outV.slice(0, w) : null };
}
