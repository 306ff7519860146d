// Unit tests of DataParallel over simulated ranks in one process (the real collective algorithms on an
// in-memory channel): averages match a serial sum, every rank gets the same bits, buckets start in plan order
// whatever order gradients arrive in, and misuse is reported with rank and operation.
import assert from 'node:assert/strict';
import { DataParallel } from '../../src/ml/index.js';
import { FakeWorld } from '../../bench/fake-channel.js';
import * as coll from '../../src/comm/collectives.js';
import type { Comm } from '../../src/comm/index.js';
import type { ReduceOp } from '../../src/comm/reduce-ops.js';

/**
 * A Comm stand-in whose k-th collective call runs on its own in-memory world, like the real Comm's per-call
 * channels, so that several allreduces may be in flight at once (which DataParallel relies on).
 */
class CallComm {
  private seq = 0;
  constructor(readonly rank: number, readonly size: number, private readonly world: (k: number) => FakeWorld) {}
  private ch() { return this.world(this.seq++).channels[this.rank]; }
  bcast<T>(v: T, root = 0) { return coll.bcast(this.ch(), v, root); }
  allreduce<T>(v: T, op: ReduceOp = 'sum') { return coll.allreduce(this.ch(), v, op); }
  allgather<T>(v: T) { return coll.allgather(this.ch(), v); }
}

/** Runs fn on `size` simulated ranks at once; results in rank order; a hang fails after 20 s. */
async function onRanks<T>(size: number, fn: (comm: Comm) => Promise<T>): Promise<T[]> {
  const worlds: FakeWorld[] = [];
  const world = (k: number) => (worlds[k] ??= new FakeWorld(size, { jitter: 2 }));
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('simulated ranks hung')), 20000); });
  try {
    return await Promise.race([Promise.all(Array.from({ length: size }, (_, r) => fn(new CallComm(r, size, world) as unknown as Comm))), hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Parameter layout with mixed dtypes and sizes; values depend on (rank, parameter, element). */
const layout = [['f32', 7], ['f32', 300], ['f64', 5], ['f64', 64], ['f32', 1], ['f64', 129]] as const;
const make = (rank: number, salt: number) => layout.map(([t, n], p) => {
  const a = t === 'f32' ? new Float32Array(n) : new Float64Array(n);
  for (let e = 0; e < n; e++) a[e] = Math.sin(1 + rank * 31 + p * 7 + e * 0.37 + salt) * (p + 1);
  return a;
});

describe('ml: DataParallel (simulated ranks)', () => {
  for (const size of [1, 2, 3, 4]) {
    it(`averages gradients at ${size} rank(s), bit-identical everywhere, any arrival order`, async () => {
      const results = await onRanks(size, async (comm) => {
        const params = make(comm.rank, 0);
        const ddp = new DataParallel(comm, params, { bucketBytes: 256 });
        assert.ok(ddp.buckets.length >= 5);
        await ddp.broadcastParameters();
        const grads = make(comm.rank, 100);
        // Arrival order differs by rank: odd ranks hand gradients over first to last, with yields in between.
        const order = comm.rank % 2 ? [...layout.keys()] : [...layout.keys()].reverse();
        for (const i of order) {
          ddp.gradReady(i, grads[i]);
          await new Promise((r) => setImmediate(r));
        }
        await ddp.wait();
        return { params, grads };
      });
      const want = layout.map(([, n], p) => Float64Array.from({ length: n }, (_, e) => {
        let s = 0;
        for (let r = 0; r < size; r++) s += make(r, 100)[p][e];
        return s / size;
      }));
      for (const { params, grads } of results) {
        params.forEach((a, p) => assert.deepEqual(a, make(0, 0)[p], 'broadcast from rank 0'));
        grads.forEach((g, p) => g.forEach((v, e) => assert.ok(Math.abs(v - want[p][e]) <= 1e-6 * (1 + Math.abs(want[p][e])), `param ${p}[${e}]`)));
        grads.forEach((g, p) => assert.deepEqual(g, results[0].grads[p], 'same bits on every rank'));
      }
    });
  }

  it('repeats steps, and reports misuse naming rank and operation', async () => {
    await onRanks(2, async (comm) => {
      const params = make(0, 0);
      const ddp = new DataParallel(comm, params, { bucketBytes: 1024 });
      for (let step = 0; step < 3; step++) {
        const g = make(comm.rank, step);
        await ddp.syncGradients(g);
        const s = make(0, step)[3][0] + make(1, step)[3][0];
        assert.ok(Math.abs(g[3][0] - s / 2) < 1e-12);
      }
      assert.throws(() => ddp.gradReady(6, new Float32Array(1)), new RegExp(`rank ${comm.rank}, DataParallel.gradReady\\] parameter index 6 out of range 0..5`));
      assert.throws(() => ddp.gradReady(0, new Float64Array(7)), /gradient of parameter 0 must be a Float32Array\(7\)/);
      ddp.gradReady(0, new Float32Array(7));
      assert.throws(() => ddp.gradReady(0, new Float32Array(7)), /handed over twice/);
      await assert.rejects(ddp.wait(), /DataParallel.wait\] gradients of parameter\(s\) 1, 2, 3, 4, 5 were not handed over/);
      return 0;
    });
    await assert.rejects(onRanks(1, async (comm) => new DataParallel(comm, [new Int32Array(3) as never])), /rank 0, DataParallel\] params\[0\] must be a Float32Array or Float64Array, got Int32Array\(3\)/);
  });

  it('starts a bucket allreduce as soon as it is complete, and buckets strictly in plan order', async () => {
    await onRanks(2, async (comm) => {
      const started: number[] = [];
      const spy = Object.create(comm) as Comm;
      spy.allreduce = <T>(v: T, op?: ReduceOp) => { started.push((v as unknown as Float32Array).length); return comm.allreduce(v, op); };
      const p = [new Float32Array(3), new Float32Array(5), new Float32Array(7)];
      const ddp = new DataParallel(spy, p, { bucketBytes: 4 }); // one parameter per bucket: [2], [1], [0]
      assert.deepEqual(ddp.buckets.map((b) => b.params), [[2], [1], [0]]);
      const g = p.map((a) => a.map(() => comm.rank + 1));
      ddp.gradReady(2, g[2]);
      assert.deepEqual(started, [7], 'the first bucket starts at once, before backward goes on');
      ddp.gradReady(0, g[0]);
      assert.deepEqual(started, [7], 'bucket 2 is complete but waits for bucket 1');
      ddp.gradReady(1, g[1]);
      assert.deepEqual(started, [7, 5, 3]);
      await ddp.wait();
      g.forEach((a) => assert.ok(a.every((v) => v === 1.5)));
      return 0;
    });
  });

  it('refuses parameter layouts that differ between ranks, on every rank', async () => {
    const errs = await onRanks(3, async (comm) => {
      const ddp = new DataParallel(comm, [new Float32Array(comm.rank === 2 ? 5 : 4)]);
      return ddp.broadcastParameters().then(() => 'ok', (e: Error) => e.message);
    });
    errs.forEach((m) => assert.match(m, /parameter layouts differ from root 0's \(float32\[4\]\) on rank\(s\) 2: float32\[5\]/));
  });
});
