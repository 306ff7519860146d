// spmd: ranks=1,2,3,4 timeout=120
// SPMD check of data movement on real ranks: transpose, redistribute to other block sizes and grids, and
// slice, first in normal chunks, then with 100- and 3-element chunks so the exchange runs many alltoall rounds.

import { finalize, init } from '../../src/comm/index.js';
import { exchangeTuning } from '../../src/darray/exchange.js';
import { CASES, LARGE_CASES, checkAccess, checkMovement } from '../unit/darray-cases.js';

const comm = await init();
for (const c of [...CASES, ...LARGE_CASES]) await checkMovement(comm, c);
// Messages of 100 elements cut the large layouts' rows in two, in many rounds.
exchangeTuning.minChunk = 100;
exchangeTuning.roundsDivisor = 1000;
for (const c of LARGE_CASES) await checkMovement(comm, c);
exchangeTuning.minChunk = 3;
exchangeTuning.roundsDivisor = 1000;
await checkMovement(comm, CASES[0]);
await checkMovement(comm, CASES[3]);
await checkAccess(comm, CASES[3]);
if (comm.rank === 0) console.log(`darray movement: ${CASES.length + LARGE_CASES.length} layouts ok on ${comm.size} ranks, also in small rounds`);
await finalize();
