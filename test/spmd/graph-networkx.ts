// spmd: ranks=1,2,3,4 timeout=150
// Graph algorithms on real ranks against networkx: PageRank within 1e-8, BFS levels identical and trees
// valid the Graph500 way, components and triangles identical, on networkx's built-in graphs and on R-MAT.

import { finalize, init } from '../../src/comm/index.js';
import { readMatrixMarket, rmat } from '../../src/sparse/index.js';
import { checkAgainstNetworkx, FIXTURES, networkxRef, writeTempMtx } from '../tools/graph-check.js';
import fs from 'node:fs';
import path from 'node:path';

const comm = await init();
const cases: [string, number[]][] = [['karate.mtx', [0, 33]], ['lesmis.mtx', [0, 11]], ['florentine.mtx', [1, 12]], ['gn60.mtx', [59, 0]]];
for (const [file, sources] of cases) {
  const full = path.join(FIXTURES, file);
  const ref = await networkxRef(comm, full, sources);
  await checkAgainstNetworkx(await readMatrixMarket(comm, full), ref, sources, file);
}
// R-MAT: the reference reads the graph as we generated it; the generator itself is checked rank-count free
// in the unit tests.
const R = await rmat(comm, { scale: 9, edgeFactor: 8, seed: 21 });
const file = await writeTempMtx(R, 'rmat9');
try {
  await checkAgainstNetworkx(R, await networkxRef(comm, file, [0, 100]), [0, 100], 'rmat scale 9');
} finally {
  await comm.barrier();
  if (comm.rank === 0) fs.rmSync(file, { force: true });
}
if (comm.rank === 0) console.log(`graph vs networkx: ${cases.length} fixtures and R-MAT scale 9 ok on ${comm.size} ranks`);
await finalize();
