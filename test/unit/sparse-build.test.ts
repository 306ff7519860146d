// Pure parts of the sparse layer: CSR assembly against a brute-force dictionary, column renumbering for the
// halo, and the R-MAT generator (independent of how edge ranges are split, a bijective scramble, skew).

import assert from 'node:assert/strict';
import { buildCsr } from '../../src/sparse/csr.js';
import { localizeColumns } from '../../src/sparse/halo.js';
import { blockOf, rangeOf } from '../../src/sparse/partition.js';
import { mix32, rmatEdges, VertexScramble } from '../../src/sparse/rmat.js';

/** A small deterministic generator for test data (not the code under test). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('sparse: CSR assembly', () => {
  for (const combine of ['sum', 'max', 'min'] as const) {
    it(`merges duplicates by ${combine}, sorts columns, drops the diagonal on request`, () => {
      const rnd = lcg(7), nrows = 9, ncols = 11, m = 200, off = 3;
      const rows = new Int32Array(m), cols = new Int32Array(m), vals = new Float64Array(m);
      const want = new Map<string, number>();
      for (let k = 0; k < m; k++) {
        rows[k] = Math.floor(rnd() * nrows); cols[k] = Math.floor(rnd() * ncols); vals[k] = Math.round(rnd() * 100) - 50;
        if (rows[k] + off === cols[k]) continue;
        const key = `${rows[k]},${cols[k]}`, old = want.get(key);
        want.set(key, old === undefined ? vals[k] : combine === 'sum' ? old + vals[k] : combine === 'max' ? Math.max(old, vals[k]) : Math.min(old, vals[k]));
      }
      const csr = buildCsr(nrows, rows, cols, vals, combine, { rowOffset: off, dropDiagonal: true });
      const got = new Map<string, number>();
      for (let i = 0; i < nrows; i++) {
        for (let k = csr.rowPtr[i]; k < csr.rowPtr[i + 1]; k++) {
          if (k > csr.rowPtr[i]) assert.ok(csr.colIdx[k] > csr.colIdx[k - 1], `row ${i} columns not strictly ascending`);
          got.set(`${i},${csr.colIdx[k]}`, csr.values![k]);
        }
      }
      assert.deepEqual([...got.entries()].sort(), [...want.entries()].sort());
    });
  }

  it('a pattern keeps one entry per (row, col)', () => {
    const csr = buildCsr(2, Int32Array.from([1, 0, 1, 1]), Int32Array.from([4, 2, 4, 0]), null);
    assert.deepEqual(Array.from(csr.rowPtr), [0, 1, 3]);
    assert.deepEqual(Array.from(csr.colIdx), [2, 0, 4]);
    assert.equal(csr.values, null);
  });
});

describe('sparse: partition and halo columns', () => {
  it('row blocks cover 0..n once, like a 1-D DArray with blockSize ceil(n/p)', () => {
    for (const n of [1, 3, 10, 17]) {
      for (const p of [1, 2, 3, 4, 5]) {
        const b = blockOf(n, p);
        let next = 0;
        for (let r = 0; r < p; r++) {
          const [a, e] = rangeOf(n, b, r);
          assert.equal(a, Math.min(next, n));
          next = e;
        }
        assert.equal(next, n);
      }
    }
  });

  it('renumbers own columns first, ghosts ascending and grouped by owner', () => {
    const ncols = 20, p = 3, b = blockOf(ncols, p), rank = 1;   // own columns 7..13
    const cols = Int32Array.from([15, 8, 2, 19, 15, 7, 0, 13, 14]);
    for (const dense of [true, false]) {
      const lc = localizeColumns(cols, ncols, b, rank, p, dense);
      assert.equal(lc.colStart, 7);
      assert.equal(lc.nOwn, 7);
      assert.deepEqual(Array.from(lc.ghosts), [0, 2, 14, 15, 19]);
      assert.deepEqual(Array.from(lc.recvStart), [0, 2, 2, 5]);
      const back = Array.from(lc.col, (e) => (e < lc.nOwn ? lc.colStart + e : lc.ghosts[e - lc.nOwn]));
      assert.deepEqual(back, Array.from(cols));
    }
  });

  it('the marker-array and sorted ways agree on random columns', () => {
    const rnd = lcg(3);
    for (const p of [1, 2, 5]) {
      const ncols = 1000, b = blockOf(ncols, p);
      const cols = Int32Array.from({ length: 3000 }, () => Math.floor(rnd() * ncols));
      for (let rank = 0; rank < p; rank++) {
        assert.deepEqual(localizeColumns(cols, ncols, b, rank, p, false), localizeColumns(cols, ncols, b, rank, p, true));
      }
    }
  });
});

describe('sparse: R-MAT generator', () => {
  const params = { scale: 10, edgeFactor: 8, seed: 11 };

  it('edges depend only on seed and index, not on how the range is split', () => {
    const whole = rmatEdges(params, 0, 8192);
    for (const p of [2, 3, 7]) {
      const src: number[] = [], dst: number[] = [];
      for (let r = 0; r < p; r++) {
        const part = rmatEdges(params, Math.floor((8192 * r) / p), Math.floor((8192 * (r + 1)) / p));
        src.push(...part.src); dst.push(...part.dst);
      }
      assert.deepEqual(src, Array.from(whole.src));
      assert.deepEqual(dst, Array.from(whole.dst));
    }
    const other = rmatEdges({ ...params, seed: 12 }, 0, 8192);
    assert.notDeepEqual(Array.from(other.src), Array.from(whole.src));
  });

  it('the vertex scramble is a bijection of [0, 2^scale)', () => {
    for (const scale of [1, 5, 12]) {
      const s = new VertexScramble(scale, 99), seen = new Uint8Array(2 ** scale);
      for (let v = 0; v < 2 ** scale; v++) {
        const w = s.apply(v);
        assert.ok(w >= 0 && w < 2 ** scale && !seen[w], `scale ${scale}: ${v} -> ${w}`);
        seen[w] = 1;
      }
    }
  });

  it('unscrambled quadrant frequencies follow a=0.57, b=0.19, c=0.19 (top level)', () => {
    // Undo the scramble to see the recursion's first choice: the top bit of source and target.
    const scale = 8, E = 40000, s = new VertexScramble(scale, 3), inv = new Int32Array(2 ** scale);
    for (let v = 0; v < 2 ** scale; v++) inv[s.apply(v)] = v;
    const { src, dst } = rmatEdges({ scale, edgeFactor: 1, seed: 3 }, 0, E);
    const q = [0, 0, 0, 0];
    for (let k = 0; k < E; k++) q[(inv[src[k]] >> (scale - 1)) * 2 + (inv[dst[k]] >> (scale - 1))]++;
    [0.57, 0.19, 0.19, 0.05].forEach((pr, i) => assert.ok(Math.abs(q[i] / E - pr) < 0.01, `quadrant ${i}: ${q[i] / E}`));
  });

  it('mix32 is a 32-bit mixer: distinct outputs for consecutive inputs', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 10000; i++) seen.add(mix32(i));
    assert.equal(seen.size, 10000);
  });
});
