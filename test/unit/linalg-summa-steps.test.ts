// Unit tests of SUMMA's step plan: every inner column covered once, one root per panel, steps capped at
// perStep tiles, one-tile steps cut into even slabs no wider than allowed, and the order a rank computes them in.
import assert from 'node:assert/strict';
import { type Part, planSteps, slabs, stepOrder } from '../../src/linalg/summa-steps.js';

/** Checks the invariants of a plan for `kt` inner tiles whose widths `widthOf` gives. */
function checkPlan(steps: Part[][], kt: number, grid: [number, number], widthOf: (k: number) => number,
  perStep: number, widest: number): void {
  const [pr, pc] = grid;
  const covered = Array.from({ length: kt }, (_, k) => new Array<number>(widthOf(k)).fill(0));
  for (const step of steps) {
    // One root per panel: all of a step's tiles sit in one grid column (A) and one grid row (B).
    assert.ok(step.every((part) => part.k % pc === step[0].k % pc && part.k % pr === step[0].k % pr));
    assert.ok(step.length <= perStep);
    if (step.length > 1) assert.ok(step.every((part) => part.off === 0 && part.w === widthOf(part.k)));
    else if (step[0].w < widthOf(step[0].k)) assert.ok(step[0].w <= widest);
    for (const { k, off, w } of step) for (let c = off; c < off + w; c++) covered[k][c]++;
  }
  assert.ok(covered.every((cols) => cols.every((n) => n === 1)), 'every inner column in exactly one step');
  // Steps go in the order of their first tile, as every rank broadcasts them.
  const firsts = steps.map((s) => s[0].k * 1e6 + s[0].off);
  assert.deepEqual(firsts, [...firsts].sort((a, b) => a - b));
}

describe('linalg SUMMA steps', () => {
  it('gathers tiles of one root into steps of at most perStep tiles and covers every inner column once', () => {
    for (const grid of [[1, 1], [1, 2], [2, 1], [2, 2], [2, 3]] as [number, number][]) {
      for (const kt of [1, 2, 5, 9]) {
        for (const perStep of [1, 2, 4]) {
          const widthOf = (k: number) => (k === kt - 1 ? 37 : 64);
          const steps = planSteps({ kt, grid, widthOf, perStep, widest: 1000 });
          checkPlan(steps, kt, grid, widthOf, perStep, 1000);
        }
      }
    }
  });

  it('cuts a one-tile step wider than widest into slabs of even widths, and leaves steps of several whole', () => {
    const widthOf = () => 1024;
    const one = planSteps({ kt: 2, grid: [2, 2], widthOf, perStep: 1, widest: 400 });
    assert.deepEqual(one.map((s) => s.map(({ k, off, w }) => [k, off, w])), [
      [[0, 0, 341]], [[0, 341, 341]], [[0, 682, 342]], [[1, 0, 341]], [[1, 341, 341]], [[1, 682, 342]],
    ]);
    checkPlan(one, 2, [2, 2], widthOf, 1, 400);
    const several = planSteps({ kt: 4, grid: [1, 1], widthOf, perStep: 2, widest: 400 });
    assert.deepEqual(several.map((s) => s.map((part) => part.k)), [[0, 1], [2, 3]]);
    assert.ok(several.flat().every((part) => part.off === 0 && part.w === 1024));
    assert.deepEqual(slabs(3, 10, 10), [{ k: 3, off: 0, w: 10 }]);
    assert.deepEqual(slabs(3, 10, 4).map((part) => part.w), [3, 3, 4]);
  });

  it('lets a rank that roots the second step but not the first start with the second', () => {
    const steps = planSteps({ kt: 2, grid: [1, 2], widthOf: () => 8, perStep: 1, widest: 8 });
    assert.deepEqual(stepOrder(steps, [1, 2], 0, 0), [0, 1]); // roots step 0
    assert.deepEqual(stepOrder(steps, [1, 2], 0, 1), [1, 0]); // roots step 1 only
    const three = planSteps({ kt: 3, grid: [1, 3], widthOf: () => 8, perStep: 1, widest: 8 });
    assert.deepEqual(stepOrder(three, [1, 3], 0, 2), [0, 1, 2]); // roots the third: only the second may move
    assert.deepEqual(stepOrder([[{ k: 0, off: 0, w: 8 }]], [1, 1], 0, 0), [0]);
  });
});
