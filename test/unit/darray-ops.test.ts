// Unit tests of every DArray operation on 1-4 simulated ranks in one process (in-memory channel and the real
// collective algorithms), against serial ndarray references; the SPMD programs repeat them on real ranks.

import { exchangeTuning } from '../../src/darray/exchange.js';
import * as da from '../../src/darray/index.js';
import { defaultGrid, locate } from '../../src/darray/distribution.js';
import { FakeWorld, onRanks } from './darray-fake-comm.js';
import {
  CASES, LARGE_CASES, checkAccess, checkElementwise, checkErrors, checkMovement, checkRandom, checkReductions, label,
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
      for (const c of LARGE_CASES) {
        it(`transpose, redistribute, slice in block copies: ${label(c)}`, () => onRanks(p, (comm) => checkMovement(comm, c)));
        it(`factories, collect, distribute in block copies: ${label(c)}`, () => onRanks(p, (comm) => checkAccess(comm, c)));
      }
      it('large layouts in messages that cut rows (chunk of 100 elements)', async () => {
        const saved = { ...exchangeTuning };
        exchangeTuning.minChunk = 100;
        exchangeTuning.roundsDivisor = 1000;
        try {
          await onRanks(p, async (comm) => { for (const c of LARGE_CASES) await checkMovement(comm, c); });
        } finally {
          Object.assign(exchangeTuning, saved);
        }
      });
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
      it('redistribute and transpose send each element that changes owner exactly once', async () => {
        const shape = [64, 48];
        const from = { blockSize: [8, 8], grid: defaultGrid(p, 2) };
        const targets: [{ blockSize: number[]; grid: number[] }, number[]][] = [
          [{ blockSize: [5, 7], grid: [p, 1] }, [0, 1]], [{ blockSize: [8, 8], grid: from.grid }, [1, 0]]];
        for (const [to, perm] of targets) {
          // Brute force: elements whose owner changes, each 8 bytes, and no other payload.
          let moved = 0;
          for (let i = 0; i < shape[0]; i++) for (let j = 0; j < shape[1]; j++) {
            const dst = perm[0] === 0 ? [i, j] : [j, i];
            const dshape = perm.map((a) => shape[a]);
            if (locate(shape, from.blockSize, from.grid, [i, j]).rank !== locate(dshape, to.blockSize, to.grid, dst).rank) moved++;
          }
          const world = new FakeWorld(p);
          // rand sends nothing, so all typed-array payload of the job is the exchange's.
          await onRanks(p, async (comm) => {
            const A = await da.rand(comm, shape, { seed: 3, ...from });
            return perm[0] === 0 ? A.redistribute(to) : A.transpose();
          }, 30000, world);
          if (world.stats.bytes !== moved * 8) throw new Error(`sent ${world.stats.bytes} B, expected ${moved * 8} B`);
        }
      });
      it('errors are the same ShapeError on every rank', () => onRanks(p, (comm) => checkErrors(comm)));
    });
  }
});
