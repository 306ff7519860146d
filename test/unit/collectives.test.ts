// Unit tests of bcast, reduce and allreduce over the in-memory channel at 1..9 ranks, every root, small and
// large (ring/chain) paths, against serial references computed here; plus volume and no-copy checks.

import assert from 'node:assert/strict';
import { FakeWorld, runWorld } from '../../bench/fake-channel.js';
import { allreduce, bcast, reduce, tuning } from '../../src/comm/collectives.js';
import type { ReduceOp, TypedArray } from '../../src/comm/reduce-ops.js';

const RANKS = [1, 2, 3, 4, 5, 6, 7, 8, 9];
const SAVED = { ...tuning };

/** Both paths: the library's thresholds, and thresholds so low that every typed array takes ring/chain. */
const MODES: [string, Partial<typeof tuning>][] = [
  ['small-message algorithms', {}],
  ['large-message algorithms', { allreduceRingBytes: 1, reduceRingBytes: 1, bcastChainBytes: 1, segmentBytes: 24 }],
];

/** Deterministic integer-valued data, so sums are exact whatever the order of combination. */
function data(rank: number, n: number, Ctor: new (n: number) => TypedArray = Float64Array, seed = 1): TypedArray {
  const a = new Ctor(n);
  for (let i = 0; i < n; i++) a[i] = ((i * 7 + rank * 13 + seed * 5) % 23) - 11;
  return a;
}

/** Serial reference: elementwise fold over the ranks in order, with plain JS arithmetic. */
function serial(inputs: (number | TypedArray)[], f: (a: number, b: number) => number): number | number[] {
  if (typeof inputs[0] === 'number') return (inputs as number[]).reduce(f);
  const arrays = inputs as TypedArray[];
  const values = Array.from({ length: arrays[0].length }, (_, i) => arrays.map((a) => Number(a[i])).reduce(f));
  // Stored in the input's type (an Int32Array has no -0), then back to plain numbers for comparison.
  return [...new (arrays[0].constructor as new (a: number[]) => Float64Array)(values)];
}

const OPS: [ReduceOp, (a: number, b: number) => number][] = [
  ['sum', (a, b) => a + b],
  ['prod', (a, b) => a * b],
  ['min', (a, b) => Math.min(a, b)],
  ['max', (a, b) => Math.max(a, b)],
  [(a: number, b: number) => a + b + 1, (a, b) => a + b + 1],
];

const plain = (x: unknown) => (ArrayBuffer.isView(x) ? [...(x as Float64Array)] : x);

for (const [mode, overrides] of MODES) {
  describe(`collectives over the in-memory channel: ${mode}`, () => {
    before(() => Object.assign(tuning, overrides));
    after(() => Object.assign(tuning, SAVED));

    for (const p of RANKS) {
      it(`bcast from every root at ${p} ranks: numbers, objects, typed arrays, empty arrays`, async () => {
        const payloads: unknown[] = [42.5, { a: [1, 'x'], b: null }, data(7, 37), data(3, 0, Int32Array),
          data(2, 5, Float32Array), new BigInt64Array([1n, -2n])];
        for (let root = 0; root < p; root++) {
          for (const payload of payloads) {
            const world = new FakeWorld(p, { jitter: 2 });
            const got = await runWorld(world, (ch) => bcast(ch, ch.rank === root ? payload : undefined, root));
            got.forEach((g, r) => {
              if (ArrayBuffer.isView(payload)) assert.equal(g?.constructor, payload.constructor, `rank ${r}`);
              assert.deepEqual(plain(g), plain(payload), `root ${root} rank ${r}`);
            });
            assert.deepEqual(world.leftovers(), []);
          }
        }
      });

      it(`bcast into a given array from every root at ${p} ranks; a mismatched one fails on its rank only`, async () => {
        const payload = data(7, 37);
        for (let root = 0; root < p; root++) {
          const world = new FakeWorld(p, { jitter: 2 });
          const into = Array.from({ length: p }, () => new Float64Array(37).fill(-99));
          const got = await runWorld(world, (ch) => bcast(ch, ch.rank === root ? payload : undefined, root, into[ch.rank]));
          got.forEach((g, r) => {
            assert.equal(g, r === root ? payload : into[r], `root ${root} rank ${r}: the array given`);
            assert.deepEqual(plain(g), plain(payload), `root ${root} rank ${r}`);
          });
          assert.deepEqual(plain(into[root]), new Array(37).fill(-99), 'the root keeps its own value; its into is untouched');
          assert.deepEqual(world.leftovers(), []);
        }
        if (p === 1) return;
        // Rank 1 passes a wrong length, rank 0 (the root) a wrong type (ignored there): only rank 1 fails,
        // after the broadcast completed everywhere.
        const world = new FakeWorld(p, { jitter: 2 });
        const got = await runWorld(world, (ch) => bcast(ch, ch.rank === 0 ? payload : undefined, 0,
          ch.rank === 1 ? new Float64Array(36) : ch.rank === 0 ? new Int32Array(37) : new Float64Array(37))
          .then((v) => ({ v }), (e: unknown) => ({ e })));
        got.forEach((g, r) => {
          if (r === 1) assert.match(String((g as { e: Error }).e), /CommError.*into is Float64Array\(36\) but the root broadcast Float64Array\(37\)/);
          else assert.deepEqual(plain((g as { v: unknown }).v), plain(payload), `rank ${r}`);
        });
        assert.deepEqual(world.leftovers(), []);
      });

      it(`reduce to every root at ${p} ranks with every op, numbers and typed arrays`, async () => {
        for (let root = 0; root < p; root++) {
          for (const [op, f] of OPS) {
            for (const make of [(r: number) => r * 3 - 4, (r: number) => data(r, 37), (r: number) => data(r, 0)]) {
              const inputs = Array.from({ length: p }, (_, r) => make(r));
              const world = new FakeWorld(p, { jitter: 1 });
              const got = await runWorld(world, (ch) => reduce(ch, make(ch.rank), op, root));
              got.forEach((g, r) => {
                if (r !== root) assert.equal(g, undefined);
                else assert.deepEqual(plain(g), serial(inputs, f), `op ${String(op)} root ${root}`);
              });
              assert.deepEqual(world.leftovers(), []);
            }
          }
        }
      });

      it(`allreduce at ${p} ranks: every op, bit-identical on every rank, inputs untouched`, async () => {
        for (const [op, f] of OPS) {
          for (const make of [(r: number) => r - 2.5, (r: number) => data(r, 41), (r: number) => data(r, 9, Int32Array),
            (r: number) => data(r, 0)]) {
            const inputs = Array.from({ length: p }, (_, r) => make(r));
            const world = new FakeWorld(p, { jitter: 2 });
            const got = await runWorld(world, (ch) => allreduce(ch, inputs[ch.rank], op));
            const want = serial(inputs.map((x) => (typeof x === 'number' ? x : (x as TypedArray).slice())), f);
            got.forEach((g, r) => {
              assert.deepEqual(plain(g), want, `op ${String(op)} rank ${r}`);
              if (typeof g !== 'number') assert.notEqual(g, inputs[r], 'result must not alias the input');
            });
            inputs.forEach((x, r) => assert.deepEqual(plain(x), plain(make(r)), `input of rank ${r} modified`));
            assert.deepEqual(world.leftovers(), []);
          }
        }
      });
    }

    it('allreduce of real-valued data gives the same bits on every rank at 3..9 ranks', async () => {
      for (const p of [3, 5, 6, 7, 9]) {
        const inputs = Array.from({ length: p }, (_, r) => Float64Array.from({ length: 53 }, (_, i) => Math.sin(r * 100 + i) / 3));
        const got = (await runWorld(new FakeWorld(p), (ch) => allreduce(ch, inputs[ch.rank], 'sum'))) as Float64Array[];
        const want = serial(inputs, (a, b) => a + b) as number[];
        for (const g of got) {
          assert.deepEqual(new Uint8Array(g.buffer, g.byteOffset, g.byteLength), new Uint8Array(got[0].buffer, got[0].byteOffset, got[0].byteLength));
          g.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12, `element ${i}`));
        }
      }
    });
  });
}

describe('collectives: message volume of the large-message algorithms', () => {
  before(() => Object.assign(tuning, { allreduceRingBytes: 1024, reduceRingBytes: 1024, bcastChainBytes: 1024, segmentBytes: 800 }));
  after(() => Object.assign(tuning, SAVED));

  it('ring allreduce sends 2(p-1)/p of the array per rank', async () => {
    for (const p of [2, 3, 4, 5]) {
      const n = 6000; // divisible by 2..5: exact chunks
      const world = new FakeWorld(p);
      await runWorld(world, (ch) => allreduce(ch, data(ch.rank, n), 'sum'));
      for (const sent of world.stats.sentBy) assert.equal(sent, (2 * (p - 1) * n * 8) / p, `p=${p}`);
    }
  });

  it('chain bcast sends the array once per rank but the last, in segments', async () => {
    const p = 5, n = 1000;
    const world = new FakeWorld(p);
    await runWorld(world, (ch) => bcast(ch, ch.rank === 2 ? data(0, n) : undefined, 2));
    const last = 1; // chain 2 -> 3 -> 4 -> 0 -> 1; headers are not typed arrays and count 0 bytes
    world.stats.sentBy.forEach((b, r) => assert.equal(b, r === last ? 0 : n * 8, `rank ${r}`));
    assert.ok(world.stats.messages >= 4 * 10, 'segments of 800 B make 10 messages per hop');
  });

  it('ring reduce sends about (p-1)/p of the array per rank plus its chunk to the root', async () => {
    const p = 4, n = 6000;
    const world = new FakeWorld(p);
    const got = await runWorld(world, (ch) => reduce(ch, data(ch.rank, n), 'sum', 1));
    assert.deepEqual(plain(got[1]), serial(Array.from({ length: p }, (_, r) => data(r, n)), (a, b) => a + b));
    world.stats.sentBy.forEach((b, r) => assert.equal(b, ((p - 1) * n * 8) / p + (r === 1 ? 0 : (n * 8) / p)));
  });
});
