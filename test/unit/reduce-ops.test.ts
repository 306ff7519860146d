// Unit tests of the reduction operators: built-ins and user functions on numbers, bigints, typed arrays and
// plain arrays, against values computed here by hand, and the errors for bad ops and shapes.

import assert from 'node:assert/strict';
import { CommError } from '../../src/errors.js';
import { checkOp, combine, combineInto, isTypedArray } from '../../src/comm/reduce-ops.js';

const ctx = { rank: 3, op: 'allreduce' };

describe('reduce-ops', () => {
  it('combines numbers with every built-in op and a user function', () => {
    assert.equal(combine(2, 5, 'sum', ctx), 7);
    assert.equal(combine(2, 5, 'prod', ctx), 10);
    assert.equal(combine(2, 5, 'min', ctx), 2);
    assert.equal(combine(2, 5, 'max', ctx), 5);
    assert.equal(combine(2, 5, (a, b) => a * 10 + b, ctx), 25);
    assert.ok(Number.isNaN(combine(NaN, 1, 'min', ctx) as number));
    assert.ok(Object.is(combine(0, -0, 'min', ctx), -0));
    assert.equal(combine(2n, 5n, 'sum', ctx), 7n);
    assert.equal(combine(9n, 5n, 'min', ctx), 5n);
  });

  it('combines typed arrays elementwise into a fresh array of the same type', () => {
    const a = new Float64Array([1, -2, 3.5, NaN]);
    const b = new Float64Array([4, 5, -6, 1]);
    const s = combine(a, b, 'sum', ctx) as Float64Array;
    assert.ok(s instanceof Float64Array && s !== a && s !== b);
    assert.deepEqual([...s.subarray(0, 3)], [5, 3, -2.5]);
    assert.deepEqual([...(combine(a, b, 'max', ctx) as Float64Array)].slice(0, 3), [4, 5, 3.5]);
    assert.deepEqual([...(combine(a, b, 'min', ctx) as Float64Array)].slice(0, 3), [1, -2, -6]);
    assert.deepEqual([...(combine(a, b, 'prod', ctx) as Float64Array)].slice(0, 3), [4, -10, -21]);
    const i = combine(new Int32Array([2 ** 31 - 1, 7]), new Int32Array([1, -9]), 'sum', ctx) as Int32Array;
    assert.ok(i instanceof Int32Array);
    assert.deepEqual([...i], [-(2 ** 31), -2]); // wraps like C int32
    const big = combine(new BigInt64Array([3n, -4n]), new BigInt64Array([5n, 6n]), 'min', ctx) as BigInt64Array;
    assert.deepEqual([...big], [3n, -4n]);
    const u = combine(new Float32Array([1, 2]), new Float32Array([3, 4]), (x, y) => x - y, ctx) as Float32Array;
    assert.deepEqual([...u], [-2, -2]);
  });

  it('reduces into an aliased output, as the ring does with received buffers', () => {
    const a = new Float64Array([1, 2, 3]);
    combineInto(a, a, new Float64Array([10, 20, 30]), 'sum', ctx);
    assert.deepEqual([...a], [11, 22, 33]);
    const empty = combine(new Float64Array(0), new Float64Array(0), 'sum', ctx) as Float64Array;
    assert.equal(empty.length, 0);
  });

  it('combines plain arrays recursively', () => {
    assert.deepEqual(combine([1, [2, 3]], [4, [5, 6]], 'sum', ctx), [5, [7, 9]]);
  });

  it('rejects unknown ops naming the operation', () => {
    assert.throws(() => checkOp('avg', ctx), (e: unknown) =>
      e instanceof CommError && /rank 3, allreduce/.test(e.message) && /unknown reduce op 'avg'/.test(e.message));
    assert.throws(() => checkOp(42, ctx), CommError);
    assert.doesNotThrow(() => checkOp('sum', ctx));
    assert.doesNotThrow(() => checkOp((a: number, b: number) => a + b, ctx));
  });

  it('rejects mismatched lengths, types and kinds with a CommError', () => {
    const bad: [unknown, unknown][] = [
      [new Float64Array(3), new Float64Array(4)],
      [new Float64Array(3), new Float32Array(3)],
      [new Float64Array(3), 3],
      [[1, 2], [1]],
      [{ a: 1 }, { a: 2 }],
      ['x', 'y'],
    ];
    for (const [a, b] of bad) {
      assert.throws(() => combine(a, b, 'sum', ctx), (e: unknown) =>
        e instanceof CommError && e.op === 'allreduce' && /cannot reduce/.test(e.message), `${String(a)} vs ${String(b)}`);
    }
  });

  it('recognises typed arrays but not DataView or plain arrays', () => {
    assert.ok(isTypedArray(new Uint8Array(1)));
    assert.ok(!isTypedArray(new DataView(new ArrayBuffer(1))));
    assert.ok(!isTypedArray([1]));
  });
});
