// spmd: ranks=1,2,3,4 timeout=120
// SPMD check of data movement on real ranks: transpose, redistribute to other block sizes and grids, and
// slice, first in normal chunks, then with 3-element chunks so the exchange runs many alltoall rounds.

import { finalize, init } from '../../src/comm/index.js';
import { exchangeTuning } from '../../src/darray/exchange.js';
import { CASES, checkAccess, checkMovement } from '../unit/darray-cases.js';

const comm = await init();
for (const c of CASES) await checkMovement(comm, c);
exchangeTuning.minChunk = 3;
exchangeTuning.roundsDivisor = 1000;
await checkMovement(comm, CASES[0]);
await checkMovement(comm, CASES[3]);
await checkAccess(comm, CASES[3]);
if (comm.rank === 0) console.log(`darray movement: ${CASES.length} layouts ok on ${comm.size} ranks, also in small rounds`);
await finalize();
