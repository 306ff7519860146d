// The distributed sparse matrix at 1-4 simulated ranks (in-memory comm): matvec and transpose against a
// dense serial product, identical R-MAT graphs on any rank count, Matrix Market reading and its errors.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fromFunction } from '../../src/darray/index.js';
import { fromEdges, readMatrixMarket, rmat, type SparseMatrix } from '../../src/sparse/index.js';
import { allEntries } from '../tools/graph-check.js';
import { onRanks } from './darray-fake-comm.js';

const RANKS = [1, 2, 3, 4];

/** Deterministic test edges: rank r holds edges k with k % p === r of one global list. */
function edgeList(n: number, m: number): { src: number[]; dst: number[]; w: number[] } {
  const src: number[] = [], dst: number[] = [], w: number[] = [];
  for (let k = 0; k < m; k++) { src.push((k * 7 + 3) % n); dst.push((k * k + 5) % n); w.push(((k * 13) % 9) - 4 + 0.25); }
  return { src, dst, w };
}

function denseProduct(n: number, src: number[], dst: number[], w: number[], x: number[], sym: boolean, trans: boolean): number[] {
  const y = new Array<number>(n).fill(0);
  for (let k = 0; k < src.length; k++) {
    const [i, j] = trans ? [dst[k], src[k]] : [src[k], dst[k]];
    y[i] += w[k] * x[j];
    if (sym && i !== j) y[j] += w[k] * x[i];
  }
  return y;
}

const close = (a: ArrayLike<number>, b: number[], what: string) => {
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 1e-12 * (1 + Math.abs(b[i])), `${what}: [${i}] ${a[i]} vs ${b[i]}`);
};

describe('sparse: distributed matrix (in-memory comm)', function () {
  this.timeout(60_000);
  const n = 23, m = 90;
  const { src, dst, w } = edgeList(n, m);
  const x = Array.from({ length: n }, (_, i) => Math.sin(i + 1));

  for (const p of RANKS) {
    for (const sym of [false, true]) {
      it(`matvec and transpose match a dense product at ${p} ranks (symmetric: ${sym})`, async () => {
        await onRanks(p, async (comm) => {
          const mine = (a: number[]) => a.filter((_, k) => k % p === comm.rank);
          const G = await fromEdges(comm, mine(src), mine(dst), n, { weights: mine(w), symmetric: sym });
          // x in a layout unlike the rows' (block 5), so matvec has to redistribute it.
          const X = await fromFunction(comm, [n], (i) => x[i], { blockSize: [5] });
          close((await (await G.matvec(X)).collect()).data, denseProduct(n, src, dst, w, x, sym, false), 'A x');
          const T = await G.transpose();
          close((await (await T.matvec(X)).collect()).data, denseProduct(n, src, dst, w, x, sym, true), 'A^T x');
          const deg = (await (await G.degrees()).collect()).data;
          const { rows } = await allEntries(G);
          for (let i = 0; i < n; i++) assert.equal(deg[i], rows.filter((r) => r === i).length);
          const S = G.scale(2);
          close((await (await S.matvec(X)).collect()).data, denseProduct(n, src, dst, w, x, sym, false).map((v) => 2 * v), '2A x');
        });
      });
    }
  }

  // A rectangular matrix keeps its rows in order and reorders only its columns; repeated products reuse the
  // cached kernel and its send buffers, so a second product with other values must not see the first's.
  it('a rectangular Matrix Market matrix times two vectors matches a dense product at 1-4 ranks', async () => {
    const nr = 9, nc = 17;
    const ent: [number, number, number][] = [];
    for (let k = 0; k < 40; k++) ent.push([(k * 5 + 1) % nr, (k * k * 3 + 2) % nc, (k % 7) - 3 + 0.5]);
    const uniq = [...new Map(ent.map((e) => [`${e[0]},${e[1]}`, e])).values()];
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'darray-rect-')), 'rect.mtx');
    fs.writeFileSync(file, `%%MatrixMarket matrix coordinate real general\n${nr} ${nc} ${uniq.length}\n${uniq.map(([i, j, v]) => `${i + 1} ${j + 1} ${v}`).join('\n')}\n`);
    const want = (x: number[]) => {
      const y = new Array<number>(nr).fill(0);
      for (const [i, j, v] of uniq) y[i] += v * x[j];
      return y;
    };
    const x1 = Array.from({ length: nc }, (_, j) => Math.cos(j) + 2), x2 = Array.from({ length: nc }, (_, j) => j * j - 40);
    for (const p of RANKS) {
      await onRanks(p, async (comm) => {
        const A = await readMatrixMarket(comm, file);
        for (const x of [x1, x2]) {
          const X = await fromFunction(comm, [nc], (j) => x[j], { ...A.colLayout() });
          close((await (await A.matvec(X)).collect()).data, want(x), `rectangular A x at ${p} ranks`);
        }
      });
    }
  });

  it('R-MAT graphs are identical at 1-4 ranks', async () => {
    const fingerprints: string[] = [];
    for (const p of RANKS) {
      const [e] = await onRanks(p, async (comm) => allEntries(await rmat(comm, { scale: 9, edgeFactor: 8, seed: 4 })));
      fingerprints.push(JSON.stringify([e.rows, e.cols]));
      assert.ok(e.rows.every((r, k) => r !== e.cols[k]), 'self loop kept');
    }
    assert.ok(fingerprints.every((f) => f === fingerprints[0]));
  });

  it('out-of-range vertex ids on one rank fail every rank, naming it', async () => {
    const errs = await onRanks(3, async (comm) => {
      const s = comm.rank === 2 ? [0, 1, 7] : [0], d = comm.rank === 2 ? [1, 2, 3] : [1];
      return fromEdges(comm, s, d, 5).then(() => 'no error', (e: Error) => e.message);
    });
    errs.forEach((msg, r) => assert.match(msg, new RegExp(`^\\[rank ${r}, sparse.fromEdges\\] ${r === 2 ? '' : '\\(found on rank 2\\) '}edge 2: source vertex 7 is out of range \\[0, 5\\)`)));
  });

  it('mismatched sizes are refused', async () => {
    await onRanks(2, async (comm) => {
      await assert.rejects(fromEdges(comm, [0, 1], [1], 3), /src has 2 entries but dst has 1/);
      await assert.rejects(fromEdges(comm, [0], [1], comm.rank + 3), /ranks disagree on n: \[3,4\]/);
      const G = await fromEdges(comm, [0], [1], 4);
      await assert.rejects(G.matvec(await fromFunction(comm, [5], () => 1)), /x must be a 1-D DArray of length 4/);
    });
  });
});

describe('sparse: Matrix Market', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'darray-mtx-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string) => { const f = path.join(dir, name); fs.writeFileSync(f, text); return f; };
  // 40 entry lines, so every rank's byte range holds some.
  const body = Array.from({ length: 40 }, (_, k) => `${(k % 6) + 1} ${((k * 5) % 4) + 1} ${k + 0.5}`);

  for (const p of RANKS) {
    it(`reads general, symmetric and pattern files at ${p} ranks`, async () => {
      const gen = write(`g${p}.mtx`, `%%MatrixMarket matrix coordinate real general\n% comment\n\n6 4 40\n${body.join('\n')}\n`);
      const sym = write(`s${p}.mtx`, '%%MatrixMarket matrix coordinate integer symmetric\n3 3 3\n1 1 2\n3 1 -4\n3 2 5');
      const pat = write(`p${p}.mtx`, '%%MatrixMarket matrix coordinate pattern skew-symmetric\n%%\n3 3 1\n2 1\n');
      await onRanks(p, async (comm) => {
        const G = await readMatrixMarket(comm, gen);
        assert.deepEqual(G.shape, [6, 4]);
        const dense = (A: SparseMatrix) => allEntries(A).then((e) => e.rows.map((r, k) => `${r},${e.cols[k]}=${e.vals[k]}`).join(' '));
        const want = new Map<string, number>();
        body.forEach((l) => { const [i, j, v] = l.split(' ').map(Number); const key = `${i - 1},${j - 1}`; want.set(key, (want.get(key) ?? 0) + v); });
        assert.equal(await dense(G), [...want.entries()].sort((a, b) => { const [ai, aj] = a[0].split(',').map(Number), [bi, bj] = b[0].split(',').map(Number); return ai - bi || aj - bj; }).map(([k, v]) => `${k}=${v}`).join(' '));
        assert.equal(await dense(await readMatrixMarket(comm, sym)), '0,0=2 0,2=-4 1,2=5 2,0=-4 2,1=5');
        assert.equal(await dense(await readMatrixMarket(comm, pat)), '0,1=1 1,0=1');   // values dropped: a pattern
      });
    });
  }

  const bad: [string, string, RegExp][] = [
    ['no banner', '3 3 1\n1 1 1\n', /line 1: expected the banner/],
    ['dense array', '%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n', /line 1: format 'array' is not supported/],
    ['complex', '%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n', /field 'complex' is not supported/],
    ['bad size line', '%%MatrixMarket matrix coordinate real general\n% c\n3 x 1\n', /line 3: size 'x' is not a non-negative integer/],
    ['short file', `%%MatrixMarket matrix coordinate real general\n6 4 41\n${body.join('\n')}\n`, /promises 41 entries but the file has 40/],
    ['row out of range', `%%MatrixMarket matrix coordinate real general\n6 4 40\n${body.slice(0, 33).join('\n')}\n7 1 1.0\n${body.slice(34).join('\n')}\n`,
      /line 36: row index '7' is not an integer in 1\.\.6/],
    ['missing value', `%%MatrixMarket matrix coordinate real general\n6 4 40\n${body.slice(0, 29).join('\n')}\n2 2\n${body.slice(30).join('\n')}\n`,
      /line 32: expected 3 fields \(row col value\), got 2: '2 2'/],
    ['upper entry in symmetric', '%%MatrixMarket matrix coordinate real symmetric\n3 3 1\n1 2 1.0\n', /line 3: entry \(1, 2\) lies above the diagonal/],
  ];
  for (const [what, text, re] of bad) {
    it(`${what}: every rank of 3 fails with the line`, async () => {
      const f = write(`bad-${what.replace(/\W/g, '_')}.mtx`, text);
      const errs = await onRanks(3, (comm) => readMatrixMarket(comm, f).then(() => 'no error', (e: Error) => e.message));
      errs.forEach((msg, r) => { assert.match(msg, re); assert.match(msg, new RegExp(`^\\[rank ${r}, sparse.readMatrixMarket\\]`)); });
    });
  }

  it('a missing file fails with its name', async () => {
    await onRanks(2, async (comm) => assert.rejects(readMatrixMarket(comm, path.join(dir, 'nope.mtx')), /cannot open .*nope\.mtx: ENOENT/));
  });
});
