// Unit tests of the recycling of dead arrays' memory (src/kernels/recycle.ts) and of its users: kernels.discard
// gives memory to it, allocateUninitialized and the communicator's freshArray take from it.
import assert from 'node:assert/strict';
import { allocateRecyclable, recycle, recycledBytes, resetRecycling, takeRecycled } from '../../src/kernels/recycle.js';
import { discard } from '../../src/kernels/index.js';
import { allocateUninitialized } from '../../src/darray/dtype.js';
import { freshArray } from '../../src/comm/shm.js';
import { allocReusable } from '../../src/kernels/shm.js';

const MiB = 2 ** 20;

describe('recycling of dead arrays', () => {
  beforeEach(() => resetRecycling());
  after(() => resetRecycling());

  it('takes a dead array whole, detaching it, and hands its memory out once for that exact size', () => {
    const a = new Float64Array(allocateRecyclable(MiB)).fill(2.5);
    assert.equal(recycle(a), true);
    assert.equal(a.length, 0, 'a recycled array is detached: stale readers see nothing');
    assert.equal(recycledBytes(), MiB);
    assert.equal(takeRecycled(MiB / 2), undefined, 'another size is not served');
    const buf = takeRecycled(MiB)!;
    assert.equal(buf.byteLength, MiB);
    assert.equal(new Float64Array(buf)[77], 2.5, 'the memory is the same, contents and all');
    assert.equal(takeRecycled(MiB), undefined);
    assert.equal(recycledBytes(), 0);
  });

  it('leaves alone views of part of a buffer, small arrays, and memory it did not hand out', () => {
    const big = new Float64Array(allocateRecyclable(2 * MiB));
    assert.equal(recycle(big.subarray(8)), false);
    assert.equal(recycle(big.subarray(0, 1000)), false);
    assert.equal(big.length, MiB / 4, 'the whole array is untouched');
    assert.equal(recycle(new Float64Array(allocateRecyclable(8 * 1024))), false);
    assert.equal(recycle(new Float64Array(MiB)), false);
    assert.equal(recycle(Buffer.from('pooled')), false);
    assert.equal(recycle(new Float64Array(new SharedArrayBuffer(MiB))), false);
    // The addon's reusable buffers cannot be detached (structuredClone would copy them): left alone too.
    const ext = new Float64Array(allocReusable(MiB, 4 * MiB)).fill(4);
    assert.equal(recycle(ext), false);
    assert.equal(ext.length, MiB / 8);
    assert.equal(ext[99], 4);
    assert.equal(recycledBytes(), 0);
  });

  it('keeps no more than its cap; beyond it the caller keeps the array', () => {
    resetRecycling(2);
    const [first, second, third] = [0, 1, 2].map(() => new Uint8Array(allocateRecyclable(MiB)).fill(9));
    assert.equal(recycle(first), true);
    assert.equal(recycle(second), true);
    assert.equal(recycle(third), false);
    assert.equal(third[5], 9);
    assert.equal(recycledBytes(), 2 * MiB);
  });

  it('discard recycles; allocateUninitialized and freshArray take the memory back, without a fresh allocation', () => {
    const tile = allocateUninitialized('float64', 512 * 512) as Float64Array;
    tile.fill(1.5);
    discard(tile);
    assert.equal(tile.length, 0);
    const next = allocateUninitialized('float64', 512 * 512);
    assert.equal(next[1000], 1.5, 'the dead tile\'s memory, not zero-filled');
    discard(next as Float64Array);
    const got = freshArray(Float64Array, 512 * 512);
    assert.equal(got[4], 1.5);
    assert.equal(recycledBytes(), 0);
    // A size nobody gave back is a fresh array, which can be recycled in its turn.
    assert.equal(allocateUninitialized('float32', 1000).length, 1000);
    assert.equal(recycle(new Uint8Array(allocateRecyclable(3 * MiB))), true);
    assert.equal(recycledBytes(), 3 * MiB);
    // Memory handed out again is taken back again.
    const again = new Uint8Array(takeRecycled(3 * MiB)!);
    assert.equal(recycle(again), true);
    assert.equal(again.length, 0);
  });
});
