// spmd: ranks=1,2,3,4 timeout=150
// Graph algorithms on real ranks against networkx: PageRank within 1e-8, BFS levels identical and trees
// valid the Graph500 way, components and triangles identical, on networkx's built-in graphs and on R-MAT.

import fs from 'node:fs';
import path from 'node:path';
import { finalize, init } from '../../src/comm/index.js';
import { readMatrixMarket, rmat } from '../../src/sparse/index.js';
import { checkAgainstNetworkx, FIXTURES, networkxRefs, writeTempMtx } from '../tools/graph-check.js';

const comm = await init();
// R-MAT: the reference reads the graph as we generated it (the generator's independence of the rank count
// is checked against a serial build in sparse-matvec.ts and the unit tests).
const R = await rmat(comm, { scale: 9, edgeFactor: 8, seed: 21 });
const rfile = await writeTempMtx(R, 'rmat9');
const cases: [string, number[]][] = [
  [path.join(FIXTURES, 'karate.mtx'), [0, 33]],
  [path.join(FIXTURES, 'lesmis.mtx'), [0, 11]],
  [path.join(FIXTURES, 'florentine.mtx'), [1, 12]],   // 12 (Pucci) is isolated
  [path.join(FIXTURES, 'gn60.mtx'), [59, 0]],         // directed; 0 is the dangling root
  [rfile, [0, 100]],
];
try {
  const refs = await networkxRefs(comm, cases);
  for (const [i, [file, sources]] of cases.entries()) {
    const G = file === rfile ? R : await readMatrixMarket(comm, file);
    await checkAgainstNetworkx(G, refs[i], sources, path.basename(file));
  }
} finally {
  await comm.barrier();
  if (comm.rank === 0) fs.rmSync(rfile, { force: true });
}
if (comm.rank === 0) console.log(`graph vs networkx: 4 fixtures and R-MAT scale 9 ok on ${comm.size} ranks`);
await finalize();
