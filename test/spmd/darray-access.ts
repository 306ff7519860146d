// spmd: ranks=1,2,3,4 timeout=120
// SPMD check of DArray creation and access on real ranks: factories, collect, get/set, fill/copy, distribute,
// rand/randn against a serial evaluation of the generator, and errors raised alike on every rank.

import { finalize, init } from '../../src/comm/index.js';
import { CASES, LARGE_CASES, checkAccess, checkErrors, checkRandom } from '../unit/darray-cases.js';

const comm = await init();
for (const c of CASES) {
  await checkAccess(comm, c);
  await checkRandom(comm, c);
}
// Collect and distribute in blocks large enough for the addon's block copy (and read backwards, in JS).
for (const c of LARGE_CASES) await checkAccess(comm, c);
await checkErrors(comm);
if (comm.rank === 0) console.log(`darray access, random and errors: ${CASES.length + LARGE_CASES.length} layouts ok on ${comm.size} ranks`);
await finalize();
