// spmd: ranks=1,2,3,4,5 timeout=120
// SPMD test of point-to-point: every typed-array kind and msgpack values, zero-length payloads, self sends,
// thousands of messages with per-(source, tag) order checks, ANY_SOURCE/ANY_TAG, buffer reuse, argument errors.
import assert from 'node:assert/strict';
import { ANY_SOURCE, ANY_TAG, finalize, init } from '../../src/comm/index.js';
import { CommError } from '../../src/errors.js';
import { Kind, encodeHeader, jobHash } from '../../src/comm/wire.js';
import * as zmq from 'zeromq';

const comm = await init();
const { rank, size } = comm;
const next = (rank + 1) % size;
const prev = (rank + size - 1) % size;

/** Sends to `next` while receiving from `prev`, so that rings of any size cannot deadlock. */
async function shift<T>(data: unknown, tag: number): Promise<T> {
  const [, got] = await Promise.all([comm.send(data, next, tag), comm.recv<T>(prev, tag)]);
  return got;
}

// 1. Every typed-array kind arrives as the same type and length, with the sender's values.
const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array];
for (const K of kinds) {
  for (const n of [0, 1, 1000, 70_000]) {
    const a = new K(n).map((_, i) => (i * 7 + rank) % 100);
    const b = await shift<InstanceType<typeof K>>(a, 10);
    assert.equal(b.constructor, K, `${K.name} arrived as ${b.constructor.name}`);
    assert.equal(b.length, n);
    for (let i = 0; i < n; i++) if (b[i] !== (i * 7 + prev) % 100) assert.fail(`${K.name}[${i}] = ${b[i]} from rank ${prev}`);
  }
}
const big = await shift<BigInt64Array>(new BigInt64Array([BigInt(rank) - 5n, 2n ** 60n]), 11);
assert.ok(big instanceof BigInt64Array);
assert.deepEqual(Array.from(big), [BigInt(prev) - 5n, 2n ** 60n]);
const ubig = await shift<BigUint64Array>(new BigUint64Array([BigInt(rank)]), 11);
assert.ok(ubig instanceof BigUint64Array && ubig[0] === BigInt(prev));
const buf = await shift<Buffer>(Buffer.from(`from ${rank}`), 11);
assert.ok(Buffer.isBuffer(buf));
assert.equal(buf.toString(), `from ${prev}`);

// 2. msgpack values: objects, arrays, strings, null, undefined, bigint, nested typed arrays.
const value = { from: rank, list: [1, 'two', null, true], text: 'ünïcødé', nested: { f: new Float32Array([rank, 0.5]) }, n: 10n ** 15n + BigInt(rank), u: undefined };
const v = await shift<typeof value>(value, 12);
assert.equal(v.from, prev);
assert.deepEqual(v.list, [1, 'two', null, true]);
assert.equal(v.text, 'ünïcødé');
assert.ok(v.nested.f instanceof Float32Array);
assert.deepEqual(Array.from(v.nested.f), [prev, 0.5]);
assert.equal(v.n, 10n ** 15n + BigInt(prev));
assert.ok('u' in v && v.u === undefined);
for (const x of [0, -1.5, 'x', '', null, [], {}]) assert.deepEqual(await shift(x, 13), x);

// 3. A rank can send to itself; the receiver gets a copy.
const mine = new Float64Array([1, 2, 3]);
const selfSend = comm.send(mine, rank, 14);
mine[0] = 99; // after the call: the message was captured at the call
await selfSend;
assert.deepEqual(Array.from(await comm.recv<Float64Array>(rank, 14)), [1, 2, 3]);

// 4. A large send completes only when the buffer may be reused: changing it afterwards does not change the message.
const reuse = new Float64Array(1 << 18).fill(rank);
const reused = comm.recv<Float64Array>(prev, 15);
await comm.send(reuse, next, 15);
reuse.fill(-1);
const r = await reused;
assert.ok(r.every((x) => x === prev), 'a buffer changed after send completed altered the message');

// 5. Thousands of messages, mixed tags and sizes, all sent before any receive: order kept per (source, tag).
const COUNT = 3000;
const tags = 3;
const sends: Promise<void>[] = [];
for (let d = 0; d < size; d++) {
  if (d === rank) continue;
  for (let i = 0; i < COUNT; i++) {
    const tag = 100 + (i % tags);
    const payload = i % 10 === 0 ? new Int32Array(i % 300).fill(i) : { i, from: rank };
    sends.push(comm.send(payload, d, tag));
  }
}
// receive in a different order than sent: by tag first, newest tag first
for (let s = 0; s < size; s++) {
  if (s === rank) continue;
  for (let t = tags - 1; t >= 0; t--) {
    for (let i = t; i < COUNT; i += tags) {
      const m = await comm.recv<Int32Array | { i: number; from: number }>(s, 100 + t);
      const got = m instanceof Int32Array ? (m.length ? m[0] : i) : m.i;
      if (m instanceof Int32Array) assert.equal(m.length, i % 300);
      else assert.equal(m.from, s);
      if (got !== i) assert.fail(`message order broken from rank ${s} tag ${100 + t}: expected #${i}, got #${got}`);
    }
  }
}
await Promise.all(sends);

// 6. ANY_SOURCE / ANY_TAG: rank 0 hears from everyone, statuses name the sender and tag.
await comm.barrier();
if (rank === 0) {
  const seen = new Map<number, number>();
  for (let k = 0; k < 2 * (size - 1); k++) {
    const st = await comm.recvStatus<{ from: number; tag: number }>(ANY_SOURCE, ANY_TAG);
    assert.equal(st.data.from, st.source);
    assert.equal(st.data.tag, st.tag);
    seen.set(st.source, (seen.get(st.source) ?? 0) + 1);
  }
  for (let s = 1; s < size; s++) assert.equal(seen.get(s), 2, `expected 2 messages from rank ${s}`);
  // ANY_SOURCE with a fixed tag skips other tags
  for (let s = 1; s < size; s++) await comm.send('late', s, 300);
} else {
  await comm.send({ from: rank, tag: 200 + rank }, 0, 200 + rank);
  await comm.send({ from: rank, tag: 250 }, 0, 250);
  assert.equal(await comm.recv(ANY_SOURCE, 300), 'late');
}

// 7. A stranger's frames on a rank's socket (garbage, another job's header) are refused; traffic goes on.
if (size >= 2 && process.env.DARRAY_RUNDIR) {
  if (rank === 0) {
    const stranger = new zmq.Dealer({ linger: 1000 }); // no routing id of a rank: refused as a stranger
    stranger.connect(`ipc://${process.env.DARRAY_RUNDIR}/1d.sock`);
    await stranger.send([Buffer.from('not a header')]);
    const foreign = encodeHeader({ job: jobHash('another job'), epoch: 0, ctx: 0, src: 0, tag: 77, seq: 0, kind: Kind.Value, dtype: 0, length: 1, nframes: 1 });
    await stranger.send([foreign, Buffer.from([0x2a])]);
    stranger.close();
    await comm.send('after the stranger', 1, 77);
  } else if (rank === 1) {
    assert.equal(await comm.recv(0, 77), 'after the stranger', 'a foreign message was delivered');
  }
}

// 8. Bad arguments throw CommError naming rank and operation.
await assert.rejects(comm.send(1, size), (e: unknown) => e instanceof CommError && /rank \d+, send\].*destination/.test((e as Error).message));
await assert.rejects(comm.send(1, 0, -3), (e: unknown) => e instanceof CommError && /bad tag -3/.test((e as Error).message));
await assert.rejects(comm.send(1, 0, 1.5), CommError);
await assert.rejects(comm.recv(size + 2), (e: unknown) => e instanceof CommError && /source/.test((e as Error).message));

await comm.barrier();
await finalize();
console.log(`comm-p2p ok at rank ${rank} of ${size}`);
