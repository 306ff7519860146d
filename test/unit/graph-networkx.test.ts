// Graph algorithms at 1-4 simulated ranks (in-memory comm) against networkx on its built-in graphs exported
// to .mtx fixtures and on small R-MAT graphs: PageRank within 1e-8, BFS levels and components identical.

import assert from 'node:assert/strict';
import path from 'node:path';
import * as graph from '../../src/graph/index.js';
import { fromEdges, readMatrixMarket, rmat } from '../../src/sparse/index.js';
import { checkAgainstNetworkx, FIXTURES, networkxRef, networkxRefs, type NxRef, writeTempMtx } from '../tools/graph-check.js';
import { onRanks } from './darray-fake-comm.js';

const cases: { file: string; sources: number[] }[] = [
  { file: 'karate.mtx', sources: [0, 33] },
  { file: 'lesmis.mtx', sources: [0, 11] },
  { file: 'florentine.mtx', sources: [1, 12] },   // vertex 12 (Pucci) is isolated
  { file: 'gn60.mtx', sources: [59, 0] },         // directed; 0 is the dangling root
];

describe('graph algorithms vs networkx (in-memory comm, 1-4 ranks)', function () {
  this.timeout(120_000);
  // One Python start-up for all fixtures (networkx and scipy take seconds to import).
  let refs: NxRef[];
  before(async () => {
    [refs] = await onRanks(1, (comm) => networkxRefs(comm, cases.map(({ file, sources }) => [path.join(FIXTURES, file), sources])));
  });
  for (const [i, { file, sources }] of cases.entries()) {
    const full = path.join(FIXTURES, file);
    for (const p of [1, 2, 3, 4]) {
      it(`${file} at ${p} rank${p > 1 ? 's' : ''}`, async () => {
        await onRanks(p, async (comm) => checkAgainstNetworkx(await readMatrixMarket(comm, full), refs[i], sources, file));
      });
    }
  }

  for (const [scale, symmetric] of [[7, true], [6, false]] as const) {
    it(`R-MAT scale ${scale} ${symmetric ? 'undirected' : 'directed'} at 1-4 ranks`, async () => {
      const [file] = await onRanks(1, async (comm) => writeTempMtx(await rmat(comm, { scale, edgeFactor: 8, seed: 5, symmetric }), `rmat${scale}`));
      const [ref] = await onRanks(1, (comm) => networkxRef(comm, file, [0, 17]));
      for (const p of [1, 2, 3, 4]) {
        await onRanks(p, async (comm) => checkAgainstNetworkx(await rmat(comm, { scale, edgeFactor: 8, seed: 5, symmetric }), ref, [0, 17], `rmat scale ${scale} at ${p}`));
      }
    });
  }

  it('direction-optimising BFS goes bottom-up on a dense frontier and back', async () => {
    const [steps] = await onRanks(2, async (comm) => (await graph.bfs(await rmat(comm, { scale: 10, edgeFactor: 16, seed: 2 }), 0)).steps);
    assert.ok(steps.includes('bottom-up'), `steps: ${steps.join(', ')}`);
    assert.equal(steps[0], 'top-down');
    assert.ok(steps.lastIndexOf('top-down') > steps.indexOf('bottom-up'), `never came back top-down: ${steps.join(', ')}`);
  });

  it('more ranks than vertices: the ranks without rows still take part', async () => {
    const res = await onRanks(4, async (comm) => {
      const G = await fromEdges(comm, comm.rank === 3 ? [0, 1, 2] : [], comm.rank === 3 ? [1, 2, 0] : [], 3, { symmetric: true });
      const pr = (await (await graph.pagerank(G, { tol: 1e-12 })).collect()).data;
      const { levels } = await graph.bfs(G, 2);
      return [Array.from(pr), Array.from((await levels.collect()).data),
        Array.from((await (await graph.connectedComponents(G)).collect()).data), await graph.triangleCount(G)];
    });
    for (const [pr, levels, labels, t] of res) {
      (pr as number[]).forEach((v) => assert.ok(Math.abs(v - 1 / 3) < 1e-12));
      assert.deepEqual(levels, [1, 1, 0]);
      assert.deepEqual(labels, [0, 0, 0]);
      assert.equal(t, 1);
    }
  });

  it('triangle counting refuses a directed graph on every rank', async () => {
    const errs = await onRanks(3, async (comm) => {
      const G = await readMatrixMarket(comm, path.join(FIXTURES, 'gn60.mtx'));
      return graph.triangleCount(G).then(() => 'no error', (e: Error) => e.message);
    });
    errs.forEach((m, r) => assert.match(m, new RegExp(`rank ${r}, graph.triangleCount.*undirected`)));
  });

  it('bad arguments give clear errors', async () => {
    await onRanks(2, async (comm) => {
      const G = await readMatrixMarket(comm, path.join(FIXTURES, 'karate.mtx'));
      await assert.rejects(graph.bfs(G, 34), /graph\.bfs.*source 34 is not a vertex id in \[0, 34\)/);
      await assert.rejects(graph.pagerank(G, { damping: 1.5 }), /damping must be in \[0, 1\]/);
      await assert.rejects(graph.pagerank(G, { tol: 1e-15, maxIter: 3 }), /did not converge.*3 iterations/);
    });
  });

  // The convergence test learns each iteration's change one exchange late: the reported changes, the
  // iteration count and the maxIter boundary must still be those of a plain serial power iteration.
  it('PageRank reports the serial iteration changes and stops exactly where it converges, at 1-4 ranks', async () => {
    const n = 40, src: number[] = [], dst: number[] = [];
    for (let k = 0; k < 90; k++) { const u = (k * 11 + 3) % n; if (u % 7 !== 0) { src.push(u); dst.push((k * k + 1) % n); } }
    // Serial reference (networkx's iteration): vertices with u % 7 === 0 have no out-edges (dangling).
    const out = new Array<number>(n).fill(0), edges = new Set<string>();
    src.forEach((u, k) => { if (!edges.has(`${u},${dst[k]}`)) { edges.add(`${u},${dst[k]}`); out[u]++; } });
    const tol = 1e-9, d = 0.85, changes: number[] = [];
    let x = new Array<number>(n).fill(1 / n);
    for (let it = 0; it < 200; it++) {
      let dm = 0;
      for (let v = 0; v < n; v++) if (out[v] === 0) dm += x[v];
      const nx = new Array<number>(n).fill(d * dm / n + (1 - d) / n);
      for (const e of edges) { const [u, v] = e.split(',').map(Number); nx[v] += d * x[u] / out[u]; }
      changes.push(nx.reduce((s, v, i) => s + Math.abs(v - x[i]), 0));
      x = nx;
      if (changes[it] < n * tol) break;
    }
    for (const p of [1, 2, 3, 4]) {
      const res = await onRanks(p, async (comm) => {
        const mine = (a: number[]) => a.filter((_, k) => k % p === comm.rank);
        const G = await fromEdges(comm, mine(src), mine(dst), n);
        const seen: number[] = [];
        const pr = (await (await graph.pagerank(G, { tol, maxIter: changes.length, onIteration: (it, c) => { assert.equal(it, seen.length + 1); seen.push(c); } })).collect()).data;
        const short = await graph.pagerank(G, { tol, maxIter: changes.length - 1 }).then(() => 'converged', (e: Error) => e.message);
        return { seen, pr: Array.from(pr), short };
      });
      for (const { seen, pr, short } of res) {
        assert.equal(seen.length, changes.length, `${p} ranks: iterations`);
        seen.forEach((c, i) => assert.ok(Math.abs(c - changes[i]) <= 1e-12, `${p} ranks: change ${i + 1}: ${c} vs ${changes[i]}`));
        pr.forEach((v, i) => assert.ok(Math.abs(v - x[i]) <= 1e-12, `${p} ranks: x[${i}] ${v} vs ${x[i]}`));
        assert.match(short, new RegExp(`did not converge to tol 1e-9 in ${changes.length - 1} iterations`));
      }
    }
  });
});
