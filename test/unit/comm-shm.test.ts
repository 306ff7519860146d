// Unit tests of the shared-memory path: the addon's segments, prefault and native combine (bit for bit against the
// JS reference for every type and op), and the shared-memory allreduce/reduce/bcast over in-memory channels.
import assert from 'node:assert/strict';
import { FakeWorld, runWorld } from '../../bench/fake-channel.js';
import { allreduce, bcast, reduce, tuning } from '../../src/comm/collectives.js';
import type { Channel } from '../../src/comm/channel.js';
import { combineInto, type ReduceOp, type TypedArray } from '../../src/comm/reduce-ops.js';
import { LocalGroup, mapPeer } from '../../src/comm/shm.js';
import { BackendError, CommError } from '../../src/errors.js';
import { combineNative } from '../../src/kernels/combine.js';
import { addressOf, allocReusable, peerRead, prefault, shmClose, shmCreate, shmOpen, shmPath } from '../../src/kernels/shm.js';
import { MessageChannel } from 'node:worker_threads';

const SAVED = { ...tuning };
const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('shared memory: addon primitives', () => {
  it('a segment is zero-filled and the same memory when mapped again through /proc', () => {
    const seg = shmCreate(3 * 4096 + 5);
    try {
      assert.equal(seg.buffer.byteLength, 3 * 4096 + 5);
      assert.ok(new Uint8Array(seg.buffer).every((b) => b === 0));
      const other = shmOpen(shmPath(process.pid, seg.fd), 8192);
      assert.equal(other.byteLength, 8192);
      new Float64Array(seg.buffer, 0, 4)[3] = 1.25;
      assert.equal(new Float64Array(other)[3], 1.25);
      new Uint8Array(other)[8191] = 7;
      assert.equal(new Uint8Array(seg.buffer)[8191], 7);
    } finally {
      shmClose(seg.fd);
    }
  });

  it('peerRead copies another process\'s bytes at an address, and refuses an address it does not map', function () {
    const x = new Float64Array([1.5, -2, 3.25]);
    const got = new Float64Array(3);
    try {
      peerRead(process.pid, addressOf(x), got);
    } catch (e) {
      // A container's seccomp filter may refuse the call itself: communicators then find out by their probe and
      // stage large messages in shared memory instead (tested in the SPMD programs), so there is nothing to test.
      if (e instanceof BackendError && /Operation not permitted|Function not implemented/.test(e.message)) {
        this.skip();
      }
      throw e;
    }
    assert.deepEqual(got, x);
    assert.equal(addressOf(x.subarray(1)), addressOf(x) + 8);
    assert.throws(() => peerRead(process.pid, 4096, got), (e: unknown) => e instanceof BackendError && /peerRead.*Bad address/.test((e as Error).message));
    assert.throws(() => peerRead(process.pid, -1, got), BackendError);
  });

  it('refuses what it cannot map, with a BackendError naming the operation', () => {
    const seg = shmCreate(4096);
    try {
      assert.throws(() => shmOpen(shmPath(process.pid, seg.fd), 8192), (e: unknown) => e instanceof BackendError && /shmOpen.*at least 8192 bytes/.test((e as Error).message));
    } finally {
      shmClose(seg.fd);
    }
    assert.throws(() => shmOpen(shmPath(process.pid, seg.fd), 4096), (e: unknown) => e instanceof BackendError && /No such file/.test((e as Error).message));
    assert.throws(() => shmCreate(0), BackendError);
    assert.throws(() => shmOpen('/proc/self/status', 4096), BackendError); // not a regular file of that size
  });

  it('allocReusable gives a buffer of the asked length that postMessage clones instead of transferring', async () => {
    for (const bytes of [1, 4096, 3 * 2 ** 20 + 8]) {
      const buf = allocReusable(bytes, 16 * 2 ** 20);
      assert.equal(buf.byteLength, bytes);
      const u = new Uint8Array(buf);
      u.fill(0xab);
      assert.equal(u[bytes - 1], 0xab);
    }
    const buf = allocReusable(2 ** 20, 16 * 2 ** 20);
    new Float64Array(buf).fill(2.5);
    const { port1, port2 } = new MessageChannel();
    const got = new Promise<ArrayBuffer>((resolve) => port2.once('message', resolve));
    port1.postMessage(buf, [buf]);
    assert.equal(buf.byteLength, 2 ** 20, 'the sender keeps its buffer (its memory returns to the pool only when collected)');
    assert.equal(new Float64Array(await got)[7], 2.5);
    port1.close();
    assert.throws(() => allocReusable(0, 0), BackendError);
  });

  it('prefault keeps an array\'s contents', () => {
    const a = Float64Array.from({ length: 300_000 }, (_, i) => i * 0.5);
    prefault(a.subarray(7, 250_001));
    prefault(new Float64Array(1 << 20));
    a.forEach((v, i) => assert.equal(v, i * 0.5));
  });
});

describe('shared memory: native combine matches the JS reduction bit for bit', () => {
  const edges = [0, -0, 1, -1, 0.5, 1.5, 2.5, -3.75, 127, 128, 255, 256, -128, -129, 32767, 65535, 2 ** 31 - 1, -(2 ** 31),
    2 ** 32 - 1, 1e300, -1e300, 3.4e38, 1e-310, Infinity, -Infinity, NaN, 123456.789, -98765.4321];
  const CTORS = [Float64Array, Float32Array, Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array];
  const pairs = edges.flatMap((a) => edges.map((b) => [a, b]));

  for (const Ctor of CTORS) {
    it(`${Ctor.name}: sum, prod, min, max on edge values`, () => {
      const a = Ctor.from(pairs.map(([x]) => x)), b = Ctor.from(pairs.map(([, y]) => y));
      for (const op of ['sum', 'prod', 'min', 'max'] as const) {
        const js = new Ctor(a.length), nat = new Ctor(a.length);
        combineInto(js, a, b, op, {});
        const done = combineNative(op, nat, a, b);
        if (!done) {
          assert.ok(op === 'prod' && (Ctor === Int32Array || Ctor === Uint32Array), `${Ctor.name} ${op} left to JS`);
          continue;
        }
        // Equal values, and equal bits but for the payload of NaNs, which JavaScript does not define.
        for (let i = 0; i < js.length; i++) {
          if (!Object.is(nat[i], js[i])) assert.fail(`${Ctor.name} ${op}(${a[i]}, ${b[i]}): native ${nat[i]}, JS ${js[i]}`);
        }
      }
    });
  }

  it('BigInt64Array and BigUint64Array wrap as JS does; in place works; function ops are left to JS', () => {
    const big = [0n, 1n, -1n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n, 12345678901234n];
    for (const Ctor of [BigInt64Array, BigUint64Array]) {
      const a = Ctor.from(big.flatMap((x) => big.map(() => BigInt.asUintN(64, x)))) as TypedArray;
      const b = Ctor.from(big.flatMap(() => big.map((y) => BigInt.asUintN(64, y)))) as TypedArray;
      for (const op of ['sum', 'prod', 'min', 'max'] as const) {
        const js = new Ctor(a.length) as TypedArray, nat = new Ctor(a.length) as TypedArray;
        combineInto(js, a, b, op, {});
        assert.equal(combineNative(op, nat, a, b), true);
        assert.deepEqual(bytesOf(nat), bytesOf(js), `${Ctor.name} ${op}`);
      }
    }
    const x = Float64Array.from([1, 2, 3]);
    assert.equal(combineNative('sum', x, x, Float64Array.from([10, 20, 30])), true);
    assert.deepEqual([...x], [11, 22, 33]);
    assert.equal(combineNative((p: number, q: number) => p + q, x, x, x), false);
    assert.deepEqual([...x], [11, 22, 33]);
  });
});

/** Channels of an in-memory world that also carry a LocalGroup each, so the collectives take the shared path. */
function sharedWorld(p: number): { world: FakeWorld; chans: Channel[]; groups: LocalGroup[] } {
  const world = new FakeWorld(p, { jitter: 1 });
  const groups = Array.from({ length: p }, () => new LocalGroup());
  const chans = world.channels.map((ch, r): Channel => ({
    rank: ch.rank, size: ch.size, local: groups[r], send: (d, q) => ch.send(d, q), recv: (q) => ch.recv(q),
  }));
  return { world, chans, groups };
}

async function runShared<T>(p: number, fn: (ch: Channel) => Promise<T>): Promise<{ got: T[]; groups: LocalGroup[] }> {
  const { world, chans, groups } = sharedWorld(p);
  const got = await runWorld(world, (ch) => fn(chans[ch.rank]), 20_000);
  assert.deepEqual(world.leftovers(), []);
  return { got, groups };
}

/** Rank r's data: values of every sign with fractions, so order of combination shows in the bits. */
function data(r: number, n: number, Ctor: new (n: number) => TypedArray): TypedArray {
  const a = new Ctor(n);
  const big = a instanceof BigInt64Array || a instanceof BigUint64Array;
  for (let i = 0; i < n; i++) {
    const v = Math.sin(r * 1000 + i * 1.7) * 100;
    a[i] = big ? BigInt(Math.round(v)) as unknown as number : v;
  }
  return a;
}

/** The independent reference: a serial fold over the ranks in order, element by element, stored as the type does. */
function serialFold(inputs: TypedArray[], f: (a: number, b: number) => number): TypedArray {
  const out = inputs[0].slice();
  for (let q = 1; q < inputs.length; q++) for (let i = 0; i < out.length; i++) out[i] = f(out[i] as number, inputs[q][i] as number);
  return out;
}

const F: Record<string, (a: number, b: number) => number> = {
  sum: (a, b) => a + b, prod: (a, b) => a * b, min: (a, b) => Math.min(a, b), max: (a, b) => Math.max(a, b),
};

describe('shared memory: collectives over in-memory channels', function () {
  this.timeout(120_000);
  beforeEach(() => Object.assign(tuning, SAVED, { shmBytes: 1 }));
  after(() => Object.assign(tuning, SAVED));

  const CASES: [new (n: number) => TypedArray, ReduceOp, (a: number, b: number) => number][] = [
    [Float64Array, 'sum', F.sum], [Float32Array, 'sum', F.sum], [Float64Array, 'min', F.min], [Float32Array, 'max', F.max],
    [Int32Array, 'sum', F.sum], [Int32Array, 'prod', F.prod], [Uint8ClampedArray, 'sum', F.sum], [BigInt64Array, 'sum', F.sum],
    [Float64Array, (a: number, b: number) => a * 0.5 + b, (a, b) => a * 0.5 + b],
  ];

  for (const p of [2, 3, 4, 5]) {
    it(`allreduce at ${p} ranks: types, ops and odd lengths equal the serial fold, the same bits on every rank`, async () => {
      for (const [Ctor, op, f] of CASES) {
        for (const n of [1, p - 1, 37, 1001]) {
          const inputs = Array.from({ length: p }, (_, r) => data(r, n, Ctor));
          const { got, groups } = await runShared(p, (ch) => allreduce(ch, inputs[ch.rank], op));
          assert.ok(groups.every((g) => g.known === true), 'the probe must find shared memory');
          const want = serialFold(inputs.map((x) => x.slice()), f);
          got.forEach((g, r) => {
            assert.equal(g.constructor, Ctor);
            assert.deepEqual(bytesOf(g), bytesOf(want), `${Ctor.name} ${String(op)} n=${n} rank ${r}`);
            assert.notEqual(g, inputs[r]);
          });
          inputs.forEach((x, r) => assert.deepEqual(bytesOf(x), bytesOf(data(r, n, Ctor)), `input of rank ${r} modified`));
        }
      }
    });

    it(`reduce to every root and bcast from every root at ${p} ranks`, async () => {
      for (let root = 0; root < p; root++) {
        const inputs = Array.from({ length: p }, (_, r) => data(r, 777, Float64Array));
        const { got } = await runShared(p, (ch) => reduce(ch, inputs[ch.rank], 'sum', root));
        got.forEach((g, r) => (r === root ? assert.deepEqual(bytesOf(g!), bytesOf(serialFold(inputs, F.sum))) : assert.equal(g, undefined)));
        const x = data(root + 9, 1003, Float32Array);
        const b = await runShared(p, (ch) => bcast(ch, ch.rank === root ? x : undefined, root));
        b.got.forEach((g, r) => {
          assert.equal(g?.constructor, Float32Array);
          assert.deepEqual(bytesOf(g!), bytesOf(x), `bcast root ${root} rank ${r}`);
        });
        assert.equal(b.got[root], x, 'the root gets its own array back');
        // Values that are not typed arrays, and empty ones, still take the socket algorithms.
        const o = await runShared(p, (ch) => bcast(ch, ch.rank === root ? { root, list: [1, 'x'] } : undefined, root));
        o.got.forEach((g) => assert.deepEqual(g, { root, list: [1, 'x'] }));
        const e = await runShared(p, (ch) => allreduce(ch, new Float64Array(0), 'sum'));
        e.got.forEach((g) => assert.equal(g.length, 0));
      }
    });
  }

  it('bcast in many blocks (the last one short) and allreduce of arrays larger than a reduction block', async () => {
    tuning.segmentBytes = 800;
    for (const p of [2, 3, 5]) {
      const x = data(3, 1001, Float64Array);
      // Read from the root's array directly, and (DARRAY_SHM=segment) through its segment, block by block.
      for (const shm of ['1', 'segment']) {
        process.env.DARRAY_SHM = shm;
        try {
          const b = await runShared(p, (ch) => bcast(ch, ch.rank === p - 1 ? x : undefined, p - 1));
          b.got.forEach((g) => assert.deepEqual(bytesOf(g!), bytesOf(x)));
          assert.ok(b.groups.every((g) => g.known === true && g.direct === (shm === '1')), `direct reads with DARRAY_SHM=${shm}`);
        } finally {
          delete process.env.DARRAY_SHM;
        }
      }
      const inputs = Array.from({ length: p }, (_, r) => data(r, 100_003, Float64Array));
      const a = await runShared(p, (ch) => allreduce(ch, inputs[ch.rank], 'sum'));
      a.got.forEach((g) => assert.deepEqual(bytesOf(g), bytesOf(serialFold(inputs, F.sum))));
    }
  });

  it('a bcast first on its communicator probes, then shares; the answer is kept for later calls', async () => {
    const { world, chans, groups } = sharedWorld(3);
    const x = data(5, 5000, Float64Array);
    for (let k = 0; k < 3; k++) {
      const got = await runWorld(world, (ch) => bcast(chans[ch.rank], ch.rank === 1 ? x : undefined, 1));
      got.forEach((g) => assert.deepEqual(bytesOf(g!), bytesOf(x)));
      assert.ok(groups.every((g) => g.known === true));
    }
    assert.deepEqual(world.leftovers(), []);
  });

  it('concurrent collectives on different communicators use their own segments', async () => {
    const p = 3;
    const a = Array.from({ length: p }, (_, r) => data(r, 4099, Float64Array));
    const b = Array.from({ length: p }, (_, r) => data(r + 50, 2001, Float32Array));
    const [ra, rb, rc] = await Promise.all([
      runShared(p, (ch) => allreduce(ch, a[ch.rank], 'sum')),
      runShared(p, (ch) => allreduce(ch, b[ch.rank], 'max')),
      runShared(p, (ch) => bcast(ch, ch.rank === 2 ? a[0] : undefined, 2)),
    ]);
    ra.got.forEach((g) => assert.deepEqual(bytesOf(g), bytesOf(serialFold(a, F.sum))));
    rb.got.forEach((g) => assert.deepEqual(bytesOf(g), bytesOf(serialFold(b, F.max))));
    rc.got.forEach((g) => assert.deepEqual(bytesOf(g!), bytesOf(a[0])));
  });

  it('different lengths on different ranks fail on every rank with a CommError naming the peer', async () => {
    const { world, chans } = sharedWorld(2);
    const results = await runWorld(world, (ch) => allreduce(chans[ch.rank], new Float64Array(100 + ch.rank), 'sum').then(() => undefined, (e: unknown) => e));
    results.forEach((e, r) => {
      assert.ok(e instanceof CommError, `rank ${r}: ${String(e)}`);
      assert.match((e as Error).message, new RegExp(`rank ${r}, allreduce, peer ${1 - r}\\] expected Float64Array\\(${100 + r}\\) from rank ${1 - r}, got Float64Array\\(${101 - r}\\)`));
    });
  });

  it('with DARRAY_SHM=0 the probe says no and the socket algorithms give the same results', async () => {
    process.env.DARRAY_SHM = '0';
    try {
      const inputs = Array.from({ length: 3 }, (_, r) => data(r, 999, Float64Array));
      const { got, groups } = await runShared(3, (ch) => allreduce(ch, inputs[ch.rank], 'max'));
      assert.ok(groups.every((g) => g.known === false));
      got.forEach((g) => assert.deepEqual(bytesOf(g), bytesOf(serialFold(inputs, F.max))));
    } finally {
      delete process.env.DARRAY_SHM;
    }
  });

  it('a peer segment descriptor that is malformed or names the wrong segment is refused', async () => {
    await assert.rejects(mapPeer([1, 2], { rank: 0, op: 'allreduce', peer: 1 }), /\[rank 0, allreduce, peer 1\] malformed shared-memory segment descriptor/);
    const seg = shmCreate(65536);
    try {
      await assert.rejects(mapPeer([process.pid, seg.fd, 65536, 1, 2], { rank: 0, op: 'bcast', peer: 1 }), (e: unknown) => e instanceof CommError && /is not the shared-memory segment the peer announced/.test((e as Error).message));
      await assert.rejects(mapPeer([process.pid, 99999, 65536, 1, 2], { rank: 0, op: 'bcast', peer: 1 }), (e: unknown) => e instanceof CommError && /cannot map the peer's shared memory/.test((e as Error).message));
    } finally {
      shmClose(seg.fd);
    }
  });
});
