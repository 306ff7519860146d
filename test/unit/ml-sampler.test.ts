// Unit tests of DistributedSampler's math: every sample once per epoch across ranks, equal shards, the same
// global batches at any rank count, seeded and epoch-dependent shuffles, and clear errors on bad input.
import assert from 'node:assert/strict';
import { DistributedSampler, permutation, shardIndices, shardLength } from '../../src/ml/index.js';

const fakeComm = (rank: number, size: number) => ({ rank, size });

describe('ml: DistributedSampler', () => {
  it('permutation is a permutation, depends on seed and epoch, and is reproducible', () => {
    for (const n of [1, 2, 7, 100, 1001]) {
      const p = permutation(n, 5, 0);
      assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(permutation(n, 5, 0), p);
    }
    const a = permutation(1000, 1, 0), b = permutation(1000, 2, 0), c = permutation(1000, 1, 1);
    assert.notDeepEqual(a, b);
    assert.notDeepEqual(a, c);
    // A shuffle, not the identity: few fixed points (about 1 expected).
    assert.ok(a.filter((v, i) => v === i).length < 10);
  });

  it('shuffles fairly: each position takes each value about equally often', () => {
    const n = 5, trials = 20000;
    const counts = Array.from({ length: n }, () => new Array(n).fill(0));
    for (let t = 0; t < trials; t++) permutation(n, 1234, t).forEach((v, pos) => counts[pos][v]++);
    for (const row of counts) for (const c of row) assert.ok(Math.abs(c - trials / n) < 5 * Math.sqrt(trials / n), `count ${c}`);
  });

  it('covers every sample exactly once per epoch across ranks when the size divides', () => {
    for (const size of [1, 2, 3, 4]) {
      const n = 12 * 5;
      for (const epoch of [0, 3]) {
        const seen = new Array(n).fill(0);
        for (let r = 0; r < size; r++) {
          const s = new DistributedSampler(fakeComm(r, size), n, { seed: 9 });
          s.setEpoch(epoch);
          assert.equal(s.length, n / size);
          for (const i of s) seen[i]++;
        }
        assert.ok(seen.every((c) => c === 1), `size ${size} epoch ${epoch}`);
      }
    }
  });

  it('pads (or drops) to equal shards when the size does not divide', () => {
    const n = 10, size = 4;
    const padded = Array.from({ length: size }, (_, r) => shardIndices(n, size, r, { seed: 1 }));
    assert.ok(padded.every((s) => s.length === 3));
    const seen = new Array(n).fill(0);
    padded.forEach((s) => s.forEach((i) => seen[i]++));
    assert.ok(seen.every((c) => c >= 1) && seen.reduce((a, b) => a + b) === 12);
    const dropped = Array.from({ length: size }, (_, r) => shardIndices(n, size, r, { seed: 1, dropLast: true }));
    assert.ok(dropped.every((s) => s.length === 2));
    const set = new Set(dropped.flatMap((s) => [...s]));
    assert.equal(set.size, 8);
    assert.equal(shardLength(n, size, false), 3);
    assert.equal(shardLength(n, size, true), 2);
  });

  it('gives the same global batches at any rank count (local batch = global / size)', () => {
    const n = 96, global = 24;
    const one = shardIndices(n, 1, 0, { seed: 3, epoch: 2 });
    for (const size of [2, 3, 4]) {
      const shards = Array.from({ length: size }, (_, r) => shardIndices(n, size, r, { seed: 3, epoch: 2 }));
      for (let k = 0; k < n / global; k++) {
        const want = [...one.subarray(k * global, (k + 1) * global)].sort((a, b) => a - b);
        const got = shards.flatMap((s) => [...s.subarray(k * (global / size), (k + 1) * (global / size))]).sort((a, b) => a - b);
        assert.deepEqual(got, want, `size ${size} batch ${k}`);
      }
    }
  });

  it('without shuffle deals 0..n-1 round-robin; batches cut the shard', () => {
    const s = new DistributedSampler(fakeComm(1, 3), 9, { shuffle: false });
    assert.deepEqual([...s.indices()], [1, 4, 7]);
    assert.deepEqual(s.batches(2).map((b) => [...b]), [[1, 4], [7]]);
  });

  it('rejects bad input naming the rank and operation', () => {
    assert.throws(() => new DistributedSampler(fakeComm(2, 4), 0), /rank 2, DistributedSampler\] datasetSize must be a positive integer/);
    assert.throws(() => new DistributedSampler(fakeComm(0, 4), 3, { dropLast: true }), /leaves every shard empty/);
    assert.throws(() => new DistributedSampler(fakeComm(0, 1), 3, { seed: 1.5 }), /seed must be an integer/);
    const s = new DistributedSampler(fakeComm(1, 2), 10);
    assert.throws(() => s.setEpoch(-1), /rank 1, DistributedSampler.setEpoch\] epoch/);
    assert.throws(() => s.batches(0), /batchSize must be a positive integer/);
  });
});
