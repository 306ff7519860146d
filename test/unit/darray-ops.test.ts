// Unit tests of every DArray operation on 1-4 simulated ranks in one process (in-memory channel and the real
// collective algorithms), against serial ndarray references; the SPMD programs repeat them on real ranks.

import { exchangeTuning } from '../../src/darray/exchange.js';
import { onRanks } from './darray-fake-comm.js';
import {
  CASES, checkAccess, checkElementwise, checkErrors, checkMovement, checkRandom, checkReductions, label,
} from './darray-cases.js';

describe('DArray on simulated ranks', function () {
  this.timeout(60000);
  for (const p of [1, 2, 3, 4]) {
    describe(`${p} rank${p > 1 ? 's' : ''}`, () => {
      for (const c of CASES) {
        it(`factories, collect, get/set, distribute: ${label(c)}`, () => onRanks(p, (comm) => checkAccess(comm, c)));
        it(`elementwise: ${label(c)}`, () => onRanks(p, (comm) => checkElementwise(comm, c)));
        it(`reductions: ${label(c)}`, () => onRanks(p, (comm) => checkReductions(comm, c)));
        it(`transpose, redistribute, slice: ${label(c)}`, () => onRanks(p, (comm) => checkMovement(comm, c)));
        it(`rand/randn equal a serial evaluation: ${label(c)}`, () => onRanks(p, (comm) => checkRandom(comm, c)));
      }
      it('float32 and int32 elementwise and reductions', () => onRanks(p, async (comm) => {
        for (const dtype of ['float32', 'int32'] as const) {
          await checkElementwise(comm, CASES[0], dtype);
          await checkReductions(comm, CASES[3], dtype);
        }
      }));
      it('exchanges in many small rounds (chunk of 3 elements)', async () => {
        const saved = { ...exchangeTuning };
        exchangeTuning.minChunk = 3;
        exchangeTuning.roundsDivisor = 1000;
        try {
          await onRanks(p, async (comm) => {
            await checkMovement(comm, CASES[0]);
            await checkMovement(comm, CASES[3]);
            await checkAccess(comm, CASES[3]);
          });
        } finally {
          Object.assign(exchangeTuning, saved);
        }
      });
      it('errors are the same ShapeError on every rank', () => onRanks(p, (comm) => checkErrors(comm)));
    });
  }
});
