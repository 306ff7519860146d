// Unit tests of barrier, gather, scatter, allgather and alltoall over the in-memory channel at 1..9 ranks,
// with values of different sizes per rank, and of the argument errors every collective gives.

import assert from 'node:assert/strict';
import { FakeWorld, runWorld } from '../../bench/fake-channel.js';
import { allgather, allreduce, alltoall, barrier, bcast, gather, reduce, scatter, tuning } from '../../src/comm/collectives.js';
import { CommError, PeerFailedError } from '../../src/errors.js';

const RANKS = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const SAVED = { ...tuning };

/** What rank r contributes: a different type and size per rank, typed arrays included. */
function item(r: number, salt = 0): unknown {
  switch ((r + salt) % 4) {
    case 0: return Float64Array.from({ length: r * 3 + salt }, (_, i) => i * 0.5 - r);
    case 1: return { rank: r, salt, tags: ['a', r] };
    case 2: return new Int32Array(0);
    default: return r * 100 + salt;
  }
}
const plain = (x: unknown): unknown => (ArrayBuffer.isView(x) ? [(x as object).constructor.name, ...(x as Float64Array)]
  : Array.isArray(x) ? x.map(plain) : x);

for (const [mode, packBytes] of [['packed steps', 1 << 20], ['block-by-block steps', 0]] as const) {
  describe(`exchange collectives over the in-memory channel (allgather ${mode})`, () => {
    before(() => { tuning.packBytes = packBytes; });
    after(() => Object.assign(tuning, SAVED));

    for (const p of RANKS) {
      it(`barrier at ${p} ranks lets no rank out before every rank is in`, async () => {
        const entered = new Array(p).fill(false);
        await runWorld(new FakeWorld(p, { jitter: 3 }), async (ch) => {
          for (let i = 0; i < ch.rank * 3; i++) await new Promise((r) => setImmediate(r)); // arrive staggered
          entered[ch.rank] = true;
          await barrier(ch);
          assert.ok(entered.every(Boolean), `rank ${ch.rank} left the barrier early: ${entered}`);
        });
      });

      it(`gather to every root and allgather at ${p} ranks`, async () => {
        const want = Array.from({ length: p }, (_, r) => plain(item(r)));
        for (let root = 0; root < p; root++) {
          const world = new FakeWorld(p, { jitter: 2 });
          const got = await runWorld(world, (ch) => gather(ch, item(ch.rank), root));
          got.forEach((g, r) => assert.deepEqual(r === root ? plain(g) : g, r === root ? want : undefined));
          assert.deepEqual(world.leftovers(), []);
        }
        const world = new FakeWorld(p, { jitter: 2 });
        const all = await runWorld(world, (ch) => allgather(ch, item(ch.rank)));
        all.forEach((g, r) => assert.deepEqual(plain(g), want, `rank ${r}`));
        assert.deepEqual(world.leftovers(), []);
      });

      it(`scatter from every root and alltoall at ${p} ranks`, async () => {
        for (let root = 0; root < p; root++) {
          const values = Array.from({ length: p }, (_, q) => item(q, root));
          const world = new FakeWorld(p, { jitter: 2 });
          const got = await runWorld(world, (ch) => scatter(ch, ch.rank === root ? values : undefined, root));
          got.forEach((g, r) => assert.deepEqual(plain(g), plain(item(r, root))));
          assert.deepEqual(world.leftovers(), []);
        }
        // Rank r sends item(q, r) to rank q, so rank q must get item(q, i) from every rank i.
        const world = new FakeWorld(p, { jitter: 2 });
        const got = await runWorld(world, (ch) => alltoall(ch, Array.from({ length: p }, (_, q) => item(q, ch.rank))));
        got.forEach((g, q) => assert.deepEqual(plain(g), Array.from({ length: p }, (_, i) => plain(item(q, i)))));
        assert.deepEqual(world.leftovers(), []);
      });
    }
  });
}

describe('collective argument errors', () => {
  const rejectsWith = async (p: number, fn: Parameters<typeof runWorld>[1], pattern: RegExp) => {
    await assert.rejects(runWorld(new FakeWorld(p), fn, 2000), (e: unknown) => {
      assert.ok(e instanceof CommError, `expected CommError, got ${String(e)}`);
      assert.match(e.message, pattern);
      return true;
    });
  };

  it('names rank, operation and problem for a bad root, op, or per-rank values', async () => {
    await rejectsWith(3, (ch) => bcast(ch, 1, 3), /rank 0, bcast\] root 3 is not a rank .*size 3/);
    await rejectsWith(2, (ch) => reduce(ch, 1, 'sum', -1), /reduce\] root -1/);
    await rejectsWith(2, (ch) => gather(ch, 1, 1.5), /gather\] root 1.5/);
    await rejectsWith(2, (ch) => allreduce(ch, 1, 'mean' as 'sum'), /allreduce\] unknown reduce op 'mean'/);
    await rejectsWith(3, (ch) => scatter(ch, [1, 2], 0), /rank 0, scatter\] values must be an array with one entry per rank \(3\), got an array of 2/);
    await rejectsWith(2, (ch) => alltoall(ch, 5 as unknown as number[]), /alltoall\] values must be an array.*got number/);
  });

  it('reports mismatched lengths between ranks, on the small and the ring path', async () => {
    await rejectsWith(2, (ch) => allreduce(ch, new Float64Array(ch.rank + 3), 'sum'), /allreduce.*cannot reduce Float64Array/);
    Object.assign(tuning, { allreduceRingBytes: 8, segmentBytes: 16 });
    try {
      await rejectsWith(3, (ch) => allreduce(ch, new Float64Array(ch.rank === 1 ? 40 : 41), 'sum'),
        /allreduce, peer \d\] expected Float64Array\(\d+\) from rank \d, got Float64Array/);
    } finally {
      Object.assign(tuning, SAVED);
    }
  });

  it('passes a failed send on to the caller instead of losing it', async () => {
    const world = new FakeWorld(3);
    const broken = new PeerFailedError('peer 2 is gone', { rank: 0, op: 'allreduce', peer: 2 });
    const channels = world.channels.map((ch) => (ch.rank !== 0 ? ch : {
      rank: 0, size: 3, recv: ch.recv,
      send: (data: unknown, dest: number) => (dest === 2 ? Promise.reject(broken) : ch.send(data, dest)),
    }));
    // Rank 0 gets the failure from its own send; ranks 1 and 2 are not waited for (they would hang).
    await assert.rejects(gather(channels[0], 1, 2), (e: unknown) => e === broken);
    await assert.rejects(bcast(channels[0], new Float64Array(4), 0), (e: unknown) => e === broken);
  });
});

describe('allreduce of plain arrays of numbers', () => {
  it('reduces nested arrays elementwise at 1..6 ranks', async () => {
    for (const p of [1, 2, 3, 4, 5, 6]) {
      const got = await runWorld(new FakeWorld(p), (ch) => allreduce(ch, [ch.rank, [ch.rank * 2, 1]], 'sum'));
      const s = (p * (p - 1)) / 2;
      for (const g of got) assert.deepEqual(g, [s, [2 * s, p]]);
    }
  });
});
