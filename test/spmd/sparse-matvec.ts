// spmd: ranks=1,2,3,4 timeout=120
// Sparse matrices on real ranks: matvec and transpose of an R-MAT graph against a serial product of the
// whole edge list, R-MAT identical whatever the rank count (checksum against a serial build), errors on all ranks.

import assert from 'node:assert/strict';
import { finalize, init } from '../../src/comm/index.js';
import { fromFunction } from '../../src/darray/index.js';
import { fromEdges, rmat } from '../../src/sparse/index.js';
import { rmatEdges } from '../../src/sparse/rmat.js';
import { allEntries } from '../tools/graph-check.js';

const comm = await init();
const scale = 10, n = 2 ** scale;
const G = await rmat(comm, { scale, edgeFactor: 8, seed: 9, symmetric: false });

// Serial reference: the same generator run over all edge indices on this one rank, deduplicated.
const { src, dst } = rmatEdges({ scale, edgeFactor: 8, seed: 9 }, 0, 8 * n);
const edges = new Set<number>();
for (let k = 0; k < src.length; k++) if (src[k] !== dst[k]) edges.add(src[k] * n + dst[k]);
const { rows, cols } = await allEntries(G);
assert.equal(rows.length, edges.size, 'edge count differs from the serial build');
for (let k = 0; k < rows.length; k++) assert.ok(edges.has(rows[k] * n + cols[k]), `edge ${rows[k]} -> ${cols[k]} not in the serial build`);

// Weighted: w(i -> j) = 1 + (i + 2j) % 5, so the product checks values as well as structure.
const W = G.mapValues((_, i, j) => 1 + ((i + 2 * j) % 5));
const xs = Array.from({ length: n }, (_, i) => Math.cos(i));
const X = await fromFunction(comm, [n], (i) => xs[i], { blockSize: [100] });
const y = (await (await W.matvec(X)).collect()).data;
const yt = (await (await (await W.transpose()).matvec(X)).collect()).data;
const want = new Float64Array(n), wantT = new Float64Array(n);
for (const e of edges) {
  const i = Math.floor(e / n), j = e % n, w = 1 + ((i + 2 * j) % 5);
  want[i] += w * xs[j];
  wantT[j] += w * xs[i];
}
for (let i = 0; i < n; i++) {
  assert.ok(Math.abs(y[i] - want[i]) < 1e-11, `(A x)[${i}] = ${y[i]}, serial ${want[i]}`);
  assert.ok(Math.abs(yt[i] - wantT[i]) < 1e-11, `(A^T x)[${i}] = ${yt[i]}, serial ${wantT[i]}`);
}

// Products started together share the matrix's kernel but not its send buffers. The halo must be large
// enough (over 128 KiB per peer) to travel without a copy, or a shared buffer would go unnoticed: a graph of
// 160k vertices whose edges i -> (i * 7919 + k * 104729) % N land mostly on other ranks.
const N = 160_000, per = 4;
const lo = Math.floor((N * comm.rank) / comm.size), hi = Math.floor((N * (comm.rank + 1)) / comm.size);
const hs: number[] = [], hd: number[] = [];
const target = (i: number, k: number) => (i * 7919 + k * 104729) % N;
for (let i = lo; i < hi; i++) for (let k = 0; k < per; k++) { hs.push(i); hd.push(target(i, k)); }
const H = await fromEdges(comm, hs, hd, N);
const xs2 = [(i: number) => Math.sin(i), (i: number) => (i % 11) - 5];
const X2 = await Promise.all(xs2.map((f) => fromFunction(comm, [N], f, { ...H.colLayout() })));
await H.matvec(X2[0]);   // builds the kernel and its reusable buffers first
const ys2 = await Promise.all(X2.map((Xv) => H.matvec(Xv)));
for (const [k, yv] of ys2.entries()) {
  const got = (await yv.collect()).data;
  for (let i = 0; i < N; i++) {
    const cols = new Set<number>();
    for (let e = 0; e < per; e++) cols.add(target(i, e));
    let want = 0;
    for (const j of cols) want += xs2[k](j);
    assert.ok(Math.abs(got[i] - want) < 1e-11, `concurrent product ${k}: [${i}] = ${got[i]}, serial ${want}`);
  }
}

// A bad vertex id held by the last rank only fails every rank.
const last = comm.size - 1;
await assert.rejects(fromEdges(comm, comm.rank === last ? [0, n] : [0], [1, 2].slice(0, comm.rank === last ? 2 : 1), n),
  new RegExp(`sparse.fromEdges.*edge 1: source vertex ${n} is out of range`));
if (comm.rank === 0) console.log(`sparse matvec: ${rows.length} edges, A x and A^T x ok on ${comm.size} ranks`);
await finalize();
