// Unit tests of SUMMA's panel budget: requests admitted in order while they fit, staged copies and earlier steps'
// panels holding later requests back, and the rule that lets a request past the limit so no step waits forever.
import assert from 'node:assert/strict';
import { PanelBudget } from '../../src/linalg/panel-budget.js';

/** Settles pending promise callbacks. */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A budget over steps computed in `order`, and the list of requests admitted so far, by name. */
function budget(limit: number, order: number[]) {
  const position = new Map(order.map((s, n) => [s, n]));
  const b = new PanelBudget(limit, (r, s) => position.get(r)! < position.get(s)!);
  const admitted: string[] = [];
  const ask = (name: string, step: number, bytes: number, stage = false) => {
    void b.admit(step, bytes, stage).then(() => admitted.push(name));
  };
  return { b, admitted, ask };
}

describe('linalg PanelBudget', () => {
  it('admits requests in order while they fit, and the next ones as steps end', async () => {
    const { b, admitted, ask } = budget(100, [0, 1, 2]);
    ask('a0', 0, 40);
    ask('b0', 0, 40);
    ask('a1', 1, 40); // 120 > 100, and step 0 (computed before 1) holds memory
    ask('b1', 1, 10); // would fit, but waits behind a1
    await flush();
    assert.deepEqual(admitted, ['a0', 'b0']);
    b.done(0);
    await flush();
    assert.deepEqual(admitted, ['a0', 'b0', 'a1', 'b1']);
  });

  it('lets a step larger than the limit in whole once no earlier step holds memory', async () => {
    const { b, admitted, ask } = budget(10, [0, 1]);
    ask('a0', 0, 30);
    ask('b0', 0, 30); // its own step's memory does not hold it back
    ask('a1', 1, 5);
    await flush();
    assert.deepEqual(admitted, ['a0', 'b0']);
    b.done(0);
    await flush();
    assert.deepEqual(admitted, ['a0', 'b0', 'a1']);
  });

  it('holds a request past the limit until staged copies are over, whatever their step', async () => {
    const { b, admitted, ask } = budget(10, [0, 1]);
    ask('s0', 0, 8, true);
    ask('s0b', 0, 8, true);
    ask('r1', 1, 8);
    await flush();
    assert.deepEqual(admitted, ['s0']);
    b.unstage(8);
    await flush();
    assert.deepEqual(admitted, ['s0', 's0b']);
    b.unstage(8);
    await flush();
    // Step 0 held nothing (its panels were its own): step 1's panel comes in while step 0's GEMMs still run.
    assert.deepEqual(admitted, ['s0', 's0b', 'r1']);
  });

  it('does not count steps computed after a request against it (the first two steps swapped)', async () => {
    // This rank computes step 1 (its own) first: step 0's received panels must not hold back step 1's staging.
    const { b, admitted, ask } = budget(10, [1, 0, 2]);
    ask('r0', 0, 8);
    ask('r0b', 0, 8);
    ask('s1', 1, 8, true);
    await flush();
    assert.deepEqual(admitted, ['r0', 'r0b', 's1']);
    b.unstage(8);
    b.done(1);
    b.done(0);
    ask('r2', 2, 8);
    await flush();
    assert.deepEqual(admitted, ['r0', 'r0b', 's1', 'r2']);
  });
});
