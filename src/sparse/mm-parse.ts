// Matrix Market (.mtx) text parsing, pure: the banner, the size line and coordinate entry lines. Every error
// names the 1-based line of the file, so a malformed line in a large file can be found at once.

export type MmField = 'real' | 'integer' | 'pattern';
export type MmSymmetry = 'general' | 'symmetric' | 'skew-symmetric';

export interface MmHeader {
  field: MmField;
  symmetry: MmSymmetry;
  nrows: number;
  ncols: number;
  nnz: number;
  /** Offset of the first line after the size line (a byte offset when the text was decoded as latin1). */
  dataStart: number;
  /** 1-based line number of the first line after the size line. */
  dataLine: number;
}

/** A problem in the file, with the line it was found on. */
export class MmSyntaxError extends Error {
  constructor(readonly line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

/**
 * Parses the banner, comments and size line from the start of the file (`text` must reach past the size
 * line; returns undefined when it does not, so the caller reads more).
 */
export function parseHeader(text: string, complete: boolean): MmHeader | undefined {
  let pos = 0, line = 0;
  let banner: { field: MmField; symmetry: MmSymmetry } | undefined;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0 && !complete) return undefined;
    const end = nl < 0 ? text.length : nl;
    const raw = text.slice(pos, end).replace(/\r$/, '');
    line++;
    pos = end + 1;
    if (line === 1) {
      banner = parseBanner(raw, line);
    } else if (raw.trim() !== '' && !raw.startsWith('%')) {
      const t = raw.trim().split(/\s+/);
      if (t.length !== 3) throw new MmSyntaxError(line, `size line must be 'rows cols entries', got '${raw.trim()}'`);
      const [nrows, ncols, nnz] = t.map((x) => parseCount(x, line, 'size'));
      if (banner!.symmetry !== 'general' && nrows !== ncols) {
        throw new MmSyntaxError(line, `a ${banner!.symmetry} matrix must be square, got ${nrows} x ${ncols}`);
      }
      return { ...banner!, nrows, ncols, nnz, dataStart: Math.min(pos, text.length), dataLine: line + 1 };
    }
    if (nl < 0) throw new MmSyntaxError(line, 'the file ends before the size line');
  }
}

function parseBanner(raw: string, line: number): { field: MmField; symmetry: MmSymmetry } {
  const t = raw.trim().split(/\s+/).map((x, i) => (i === 0 ? x : x.toLowerCase()));
  if (t[0] !== '%%MatrixMarket') throw new MmSyntaxError(line, `expected the banner '%%MatrixMarket matrix coordinate <field> <symmetry>', got '${raw.slice(0, 80)}'`);
  if (t.length !== 5 || t[1] !== 'matrix') throw new MmSyntaxError(line, `malformed banner '${raw}'`);
  if (t[2] !== 'coordinate') throw new MmSyntaxError(line, `format '${t[2]}' is not supported: a sparse matrix needs 'coordinate'`);
  if (t[3] !== 'real' && t[3] !== 'integer' && t[3] !== 'pattern') {
    throw new MmSyntaxError(line, `field '${t[3]}' is not supported (real, integer or pattern)`);
  }
  if (t[4] !== 'general' && t[4] !== 'symmetric' && t[4] !== 'skew-symmetric') {
    throw new MmSyntaxError(line, `symmetry '${t[4]}' is not supported (general, symmetric or skew-symmetric)`);
  }
  return { field: t[3] as MmField, symmetry: t[4] as MmSymmetry };
}

function parseCount(x: string, line: number, what: string): number {
  const v = Number(x);
  if (!/^\d+$/.test(x) || !Number.isSafeInteger(v)) throw new MmSyntaxError(line, `${what} '${x}' is not a non-negative integer`);
  return v;
}

/** Coordinate entries as 0-based triplets; `vals` is null for a pattern matrix. */
export interface MmEntries {
  rows: Int32Array;
  cols: Int32Array;
  vals: Float64Array | null;
  count: number;
}

/**
 * Parses the entry lines in `text` (whole lines; `firstLine` is the file line number of the first), checking
 * index ranges and the number of fields. Blank lines and '%' comment lines are skipped. Symmetric storage is
 * NOT expanded here.
 */
export function parseEntries(text: string, firstLine: number, h: Pick<MmHeader, 'field' | 'symmetry' | 'nrows' | 'ncols'>): MmEntries {
  let cap = Math.max(16, text.length >> 4);
  let rows: Int32Array = new Int32Array(cap), cols: Int32Array = new Int32Array(cap);
  let vals: Float64Array | null = h.field === 'pattern' ? null : new Float64Array(cap);
  const want = h.field === 'pattern' ? 2 : 3;
  let count = 0, pos = 0, line = firstLine - 1;
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    const raw = text.slice(pos, nl);
    pos = nl + 1;
    line++;
    const s = raw.trim();
    if (s === '' || s.startsWith('%')) continue;
    const t = s.split(/\s+/);
    if (t.length !== want) {
      throw new MmSyntaxError(line, `expected ${want} fields (${want === 2 ? 'row col' : 'row col value'}), got ${t.length}: '${s.slice(0, 80)}'`);
    }
    const i = Number(t[0]), j = Number(t[1]);
    if (!Number.isInteger(i) || i < 1 || i > h.nrows) throw new MmSyntaxError(line, `row index '${t[0]}' is not an integer in 1..${h.nrows}`);
    if (!Number.isInteger(j) || j < 1 || j > h.ncols) throw new MmSyntaxError(line, `column index '${t[1]}' is not an integer in 1..${h.ncols}`);
    if (h.symmetry !== 'general' && j > i) {
      throw new MmSyntaxError(line, `entry (${i}, ${j}) lies above the diagonal of a ${h.symmetry} matrix, which stores the lower triangle only`);
    }
    if (h.symmetry === 'skew-symmetric' && i === j) throw new MmSyntaxError(line, `a skew-symmetric matrix has no diagonal entry (${i}, ${j})`);
    if (count === cap) {
      cap *= 2;
      rows = grow(rows, cap); cols = grow(cols, cap);
      if (vals) { const v = new Float64Array(cap); v.set(vals); vals = v; }
    }
    rows[count] = i - 1;
    cols[count] = j - 1;
    if (vals) {
      const v = Number(t[2]);
      if (t[2] === '' || !Number.isFinite(v) || (h.field === 'integer' && !Number.isInteger(v))) {
        throw new MmSyntaxError(line, `value '${t[2]}' is not ${h.field === 'integer' ? 'an integer' : 'a finite real number'}`);
      }
      vals[count] = v;
    }
    count++;
  }
  return { rows: rows.subarray(0, count), cols: cols.subarray(0, count), vals: vals ? vals.subarray(0, count) : null, count };
}

function grow(a: Int32Array, cap: number): Int32Array {
  const b = new Int32Array(cap);
  b.set(a);
  return b;
}

/** Number of newline characters in text (lines before a chunk's first line). */
export function countLines(text: string): number {
  let n = 0, pos = -1;
  while ((pos = text.indexOf('\n', pos + 1)) >= 0) n++;
  return n;
}
