// spmd: ranks=1,2,3,4 timeout=120
// SPMD check of DArray arithmetic, comparisons, map, { out } and reductions (whole and per axis) on real
// ranks, against serial ndarray references, for float64 on every layout and float32/int32 on some.

import { finalize, init } from '../../src/comm/index.js';
import { CASES, checkElementwise, checkReductions } from '../unit/darray-cases.js';

const comm = await init();
for (const c of CASES) {
  await checkElementwise(comm, c);
  await checkReductions(comm, c);
}
for (const dtype of ['float32', 'int32'] as const) {
  await checkElementwise(comm, CASES[0], dtype);
  await checkReductions(comm, CASES[3], dtype);
}
if (comm.rank === 0) console.log(`darray elementwise and reductions: ${CASES.length} layouts ok on ${comm.size} ranks`);
await finalize();
