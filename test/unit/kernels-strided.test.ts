// Unit tests of the addon's strided block copy (src/kernels/strided.ts): every element type and block shape
// against a plain loop, blocks that end exactly at an array's end, and the bounds the addon refuses.
import assert from 'node:assert/strict';
import { copy2d } from '../../src/kernels/strided.js';

type Typed = Float64Array | Float32Array | Int32Array | Uint8Array | Int16Array | BigInt64Array;

/** The reference: the definition, one element at a time. */
function reference(dst: Typed, dOff: number, dRow: number, src: Typed, sOff: number, sRow: number, sCol: number,
  rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) dst[dOff + i * dRow + j] = src[sOff + i * sRow + j * sCol];
}

const makers: [string, (n: number) => Typed, (i: number) => number | bigint][] = [
  ['Float64Array', (n) => new Float64Array(n), (i) => i * 0.5 - 3],
  ['Float32Array', (n) => new Float32Array(n), (i) => i * 0.25 + 1],
  ['Int32Array', (n) => new Int32Array(n), (i) => i * 7 - 100],
  ['Int16Array', (n) => new Int16Array(n), (i) => (i % 30000) - 15000],
  ['Uint8Array', (n) => new Uint8Array(n), (i) => i % 251],
  ['BigInt64Array', (n) => new BigInt64Array(n), (i) => BigInt(i) * 3n - 5n],
];

function filled(make: (n: number) => Typed, value: (i: number) => number | bigint, n: number): Typed {
  const a = make(n);
  for (let i = 0; i < n; i++) (a as unknown as (number | bigint)[])[i] = value(i);
  return a;
}

describe('copy2d (strided block copy)', () => {
  // [rows, cols, sRow, sCol, dRow]: a transpose of a 70 x 45 block of a 45-wide tile, a plain block copy,
  // single rows and columns, and strides that skip elements; sizes that are not multiples of the 32-element squares.
  const shapes: [number, number, number, number, number][] = [
    [70, 45, 1, 70, 45], [33, 65, 80, 1, 70], [1, 300, 0, 3, 0], [300, 1, 2, 1, 1], [40, 40, 3, 200, 41], [5, 7, 1, 5, 7],
  ];
  for (const [name, make, value] of makers) {
    for (const [rows, cols, sRow, sCol, dRow] of shapes) {
      it(`${name}: ${rows} x ${cols} block, src steps ${sRow}/${sCol}, dst row ${dRow}`, () => {
        const sOff = 3, dOff = 5;
        const src = filled(make, value, sOff + (rows - 1) * sRow + (cols - 1) * sCol + 1);
        const n = dOff + (rows - 1) * dRow + cols; // ends exactly at the block's last element
        const got = filled(make, (i) => value(i + 1000), n);
        const want = filled(make, (i) => value(i + 1000), n);
        copy2d(got, dOff, dRow, src, sOff, sRow, sCol, rows, cols);
        reference(want, dOff, dRow, src, sOff, sRow, sCol, rows, cols);
        assert.deepEqual(got, want);
      });
    }
  }

  it('copies nothing for an empty block, whatever the offsets', () => {
    const d = new Float64Array(4).fill(9);
    copy2d(d, 100, 1, new Float64Array(1), 100, 1, 1, 0, 5);
    copy2d(d, 100, 1, new Float64Array(1), 100, 1, 1, 5, 0);
    assert.deepEqual([...d], [9, 9, 9, 9]);
  });

  it('refuses blocks past either array, mixed types and negative steps, writing nothing', () => {
    const src = new Float64Array(100).fill(1);
    const dst = new Float64Array(100);
    assert.throws(() => copy2d(dst, 0, 10, src, 0, 10, 1, 10, 11), /copy2d: block reaches past the end of dst/);
    assert.throws(() => copy2d(dst, 0, 9, src, 0, 1, 10, 11, 10), /copy2d: block reaches past the end of src/);
    assert.throws(() => copy2d(dst, 1, 10, src, 0, 10, 1, 10, 10), /past the end of dst/);
    assert.throws(() => copy2d(new Float32Array(100), 0, 10, src, 0, 10, 1, 10, 10), /one type/);
    assert.throws(() => copy2d(dst, 0, 10, src, 0, -10, 1, 2, 2), /non-negative/);
    assert.equal(dst.reduce((s, x) => s + x, 0), 0, 'nothing was written');
  });
});
