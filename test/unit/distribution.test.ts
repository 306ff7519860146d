// Unit tests of the block-cyclic distribution math and the exchange plans, checked by brute force over many
// shapes, block sizes, grids and rank counts: every tile has one owner, every element arrives exactly once.

import assert from 'node:assert/strict';
import {
  allTileIndices, defaultBlockSize, defaultGrid, gridCoords, gridRank, localElementCount, localTileIndices, locate,
  prod, tileCounts, tileOffset, tileOwner, tileShape,
} from '../../src/darray/distribution.js';
import {
  type Layout, type Mapping, identityMapping, layoutTiles, pairCounts, pairRuns, permuteMapping, wholeOnRoot,
} from '../../src/darray/exchange-plan.js';

const CASES: { shape: number[]; bs: number[]; grid: number[] }[] = [
  { shape: [], bs: [], grid: [] },
  { shape: [1], bs: [1], grid: [3] },
  { shape: [13], bs: [4], grid: [3] },
  { shape: [0, 5], bs: [2, 2], grid: [2, 2] },
  { shape: [7, 5], bs: [3, 2], grid: [2, 2] },
  { shape: [7, 5], bs: [7, 5], grid: [1, 2] },
  { shape: [9, 11], bs: [4, 3], grid: [3, 1] },
  { shape: [16, 16], bs: [4, 4], grid: [2, 3] },
  { shape: [5, 6, 7], bs: [2, 4, 3], grid: [2, 1, 2] },
  { shape: [3, 4, 5, 2], bs: [2, 3, 2, 1], grid: [1, 2, 2, 1] },
];

/** Row-major coordinates of a linear index. */
function unravel(lin: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = lin % shape[d]; lin = Math.floor(lin / shape[d]); }
  return idx;
}

describe('distribution math', () => {
  for (const { shape, bs, grid } of CASES) {
    const tag = `shape [${shape}] blockSize [${bs}] grid [${grid}]`;
    it(`every tile has exactly one owner and tiles cover the array: ${tag}`, () => {
      const size = prod(grid) + 1; // one rank beyond the grid, which must own nothing
      const seen = new Map<string, number>();
      let elements = 0;
      for (let r = 0; r < size; r++) {
        const mine = localTileIndices(shape, bs, grid, r);
        let count = 0;
        for (const t of mine) {
          assert.equal(tileOwner(t, grid), r, `tile [${t}] listed for rank ${r}`);
          assert.ok(!seen.has(t.join()), `tile [${t}] listed twice`);
          seen.set(t.join(), r);
          const ts = tileShape(shape, bs, t);
          ts.forEach((n, d) => assert.ok(n >= 1 && n <= bs[d], `tile [${t}] extent ${n} on axis ${d}`));
          count += prod(ts);
        }
        assert.equal(localElementCount(shape, bs, grid, r), count, `local count of rank ${r}`);
        elements += count;
      }
      assert.equal(localTileIndices(shape, bs, grid, prod(grid)).length, 0);
      assert.equal(seen.size, prod(tileCounts(shape, bs)));
      assert.equal(allTileIndices(shape, bs).length, seen.size);
      assert.equal(elements, prod(shape));
    });

    it(`locate finds each element's tile, owner and offset: ${tag}`, () => {
      for (let lin = 0; lin < prod(shape); lin++) {
        const idx = unravel(lin, shape);
        const { tile, rank, offset } = locate(shape, bs, grid, idx);
        const off = tileOffset(bs, tile), ts = tileShape(shape, bs, tile);
        idx.forEach((i, d) => assert.ok(i >= off[d] && i < off[d] + ts[d]));
        assert.equal(rank, tileOwner(tile, grid));
        let o = 0;
        idx.forEach((i, d) => { o = o * ts[d] + (i - off[d]); });
        assert.equal(offset, o);
      }
    });
  }

  it('grid coordinates are row-major and invert gridRank', () => {
    for (const grid of [[2, 3], [3, 1, 2], [4], []]) {
      for (let r = 0; r < prod(grid); r++) assert.equal(gridRank(gridCoords(r, grid), grid), r);
    }
    assert.deepEqual(gridCoords(5, [2, 3]), [1, 2]); // rank p * pc + q has coords (p, q)
  });

  it('default grid is near-square, ascending and uses every rank', () => {
    assert.deepEqual(defaultGrid(1, 2), [1, 1]);
    assert.deepEqual(defaultGrid(2, 2), [1, 2]);
    assert.deepEqual(defaultGrid(3, 2), [1, 3]);
    assert.deepEqual(defaultGrid(4, 2), [2, 2]);
    assert.deepEqual(defaultGrid(6, 2), [2, 3]);
    assert.deepEqual(defaultGrid(12, 2), [3, 4]);
    assert.deepEqual(defaultGrid(8, 3), [2, 2, 2]);
    assert.deepEqual(defaultGrid(5, 1), [5]);
    assert.deepEqual(defaultGrid(4, 0), []);
    for (let p = 1; p <= 64; p++) for (let nd = 1; nd <= 3; nd++) assert.equal(prod(defaultGrid(p, nd)), p);
  });

  it('default block size is capped per rank count and dimension', () => {
    assert.deepEqual(defaultBlockSize([4096, 4096], [2, 2]), [512, 512]);
    assert.deepEqual(defaultBlockSize([600, 4096], [2, 2]), [300, 512]);
    assert.deepEqual(defaultBlockSize([100, 7], [2, 2]), [50, 4]);
    assert.deepEqual(defaultBlockSize([1 << 20], [4]), [65536]);
    assert.deepEqual(defaultBlockSize([0, 3, 1000], [1, 1, 2]), [1, 3, 63]);
  });

  it('default tiles of all but tiny arrays come in a multiple of the grid per axis, so ranks get as many', () => {
    assert.deepEqual(defaultBlockSize([1500, 1500], [2, 2]), [375, 375]);
    assert.deepEqual(defaultBlockSize([3000, 1100], [1, 3]), [500, 367]);
    // Square matrices get square tiles, in a count both grid extents divide.
    assert.deepEqual(defaultBlockSize([1500, 1500], [1, 2]), [375, 375]);
    assert.deepEqual(defaultBlockSize([800, 800], [1, 2]), [400, 400]);
    assert.deepEqual(defaultBlockSize([1500, 1500], [2, 3]), [250, 250]);
    assert.deepEqual(defaultBlockSize([4096, 4096], [1, 2]), [512, 512]);
    for (const n of [100, 513, 800, 1500, 2049, 5000]) {
      for (const grid of [[1, 2], [2, 2], [1, 3], [2, 3], [1, 4]]) {
        const [b0, b1] = defaultBlockSize([n, n], grid);
        const tiles = Math.ceil(n / b0);
        assert.ok(b0 === b1 && b0 <= 512, `n ${n} grid [${grid}]: tiles [${b0}, ${b1}] square and within the cap`);
        for (const g of grid) assert.equal(tiles % g, 0, `n ${n} grid [${grid}]: ${tiles} tiles per axis over ${g}`);
      }
    }
    for (const n of [7, 100, 511, 512, 513, 1024, 1500, 2049, 4096, 5000, 10007, 65537]) {
      for (const g of [1, 2, 3, 4]) {
        const [b] = defaultBlockSize([n, n], [g, g]);
        const tiles = Math.ceil(n / b);
        assert.ok(b >= 1 && b <= 512, `n ${n} grid ${g}: tile ${b} within the cap`);
        if (n >= g) assert.equal(tiles % g, 0, `n ${n} grid ${g}: ${tiles} tiles of ${b} is not a multiple of ${g}`);
      }
    }
  });
});

/** Simulates an exchange serially: each pair's runs move source values (global linear index) into place. */
function simulate(src: Layout, dst: Layout, map: Mapping, size: number, srcShape: number[]): void {
  const gstr = srcShape.map((_, d) => prod(srcShape.slice(d + 1)));
  const srcTile = (t: readonly number[]) => {
    const off = tileOffset(src.blockSize, t), ts = tileShape(src.shape, src.blockSize, t);
    const a = new Float64Array(prod(ts));
    for (let i = 0; i < a.length; i++) a[i] = unravel(i, ts).reduce((s, x, d) => s + (x + off[d]) * gstr[d], 0);
    return a;
  };
  const counts = pairCounts(src, dst, map, size);
  const filled = new Map<string, Float64Array>();
  for (let d = 0; d < size; d++) {
    for (const t of layoutTiles(dst, d)) filled.set(t.join(), new Float64Array(prod(tileShape(dst.shape, dst.blockSize, t))).fill(NaN));
    for (let s = 0; s < size; s++) {
      let n = 0;
      for (const r of pairRuns(src, dst, map, s, d)) {
        const from = srcTile(r.box.srcTile), to = filled.get(r.box.dstTile.join())!;
        for (let q = 0; q < r.rows; q++) {
          for (let k = 0; k < r.length; k++) {
            const at = r.dstOffset + q * r.dstRowStride + k;
            assert.ok(Number.isNaN(to[at]), 'an element arrives twice');
            to[at] = from[r.srcOffset + q * r.srcRowStride + k * r.srcStride];
          }
        }
        n += r.rows * r.length;
      }
      assert.equal(n, counts[s][d], `pair ${s} -> ${d} count`);
    }
  }
  // Every destination element holds the global index of the source element the mapping names.
  for (const [key, a] of filled) {
    const t = key === '' ? [] : key.split(',').map(Number);
    const off = tileOffset(dst.blockSize, t), ts = tileShape(dst.shape, dst.blockSize, t);
    for (let i = 0; i < a.length; i++) {
      const x = unravel(i, ts).map((v, d) => v + off[d]);
      const s = [...map.fixed];
      x.forEach((v, d) => { s[map.axes[d]] = map.start[d] + map.step[d] * v; });
      assert.equal(a[i], s.reduce((acc, v, d) => acc + v * gstr[d], 0), `tile [${t}] element ${i}`);
    }
  }
}

describe('exchange plans', () => {
  const lay = (shape: number[], blockSize: number[], grid: number[]): Layout => ({ shape, blockSize, grid });
  it('redistribute between tilings and grids moves every element once to the right place', () => {
    simulate(lay([7, 5], [3, 2], [2, 2]), lay([7, 5], [2, 4], [1, 3]), identityMapping(2), 4, [7, 5]);
    simulate(lay([13], [4], [3]), lay([13], [5], [2]), identityMapping(1), 3, [13]);
    simulate(lay([5, 6, 7], [2, 4, 3], [2, 1, 2]), lay([5, 6, 7], [3, 3, 3], [1, 3, 1]), identityMapping(3), 4, [5, 6, 7]);
    simulate(lay([], [], []), lay([], [], []), identityMapping(0), 2, []);
  });
  it('transpose and axis permutations', () => {
    simulate(lay([7, 5], [3, 2], [2, 2]), lay([5, 7], [2, 3], [2, 2]), permuteMapping([1, 0]), 4, [7, 5]);
    simulate(lay([5, 6, 7], [2, 4, 3], [2, 1, 2]), lay([7, 5, 6], [4, 2, 5], [1, 2, 1]), permuteMapping([2, 0, 1]), 4, [5, 6, 7]);
  });
  it('slices with steps and dropped axes', () => {
    const map: Mapping = { axes: [0, 2], start: [1, 2], step: [2, 3], fixed: [0, 4, 0] };
    simulate(lay([9, 6, 11], [2, 4, 3], [2, 1, 2]), lay([4, 3], [3, 2], [1, 2]), map, 4, [9, 6, 11]);
  });
  it('gathering onto a root and dealing out from one', () => {
    simulate(lay([7, 5], [3, 2], [2, 2]), wholeOnRoot([7, 5], 2), identityMapping(2), 4, [7, 5]);
    simulate(wholeOnRoot([7, 5], 1), lay([7, 5], [3, 2], [2, 2]), identityMapping(2), 4, [7, 5]);
  });
});
