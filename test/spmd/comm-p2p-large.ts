// spmd: ranks=1,2,3,4 timeout=180 env=DARRAY_SHM=1|segment|0
// SPMD test of large point-to-point payloads: 64 MiB typed arrays and a 64 MiB value around a ring, sends that
// wait for a receiver past the unexpected-mail limit, and (DARRAY_TEST_HUGE=1) one message past the 1 GiB
// frame limit, which travels chunked and arrives whole. Typed arrays from SHARED_FROM bytes on travel through
// shared memory (one host), or through the sockets with DARRAY_SHM=0: both runs must give the same results.
import assert from 'node:assert/strict';
import { finalize, init } from '../../src/comm/index.js';
import { SHARED_FROM } from '../../src/comm/shared-p2p.js';
import { UNEXPECTED_LIMIT, type Transport } from '../../src/comm/transport.js';

const comm = await init();
const { rank, size } = comm;
const next = (rank + 1) % size;
const prev = (rank + size - 1) % size;
const MiB = 2 ** 20;

async function shift<T>(data: unknown, tag: number): Promise<T> {
  const [, got] = await Promise.all([comm.send(data, next, tag), comm.recv<T>(prev, tag)]);
  return got;
}

// 64 MiB of float64, each element a function of (index, sender): any lost, shifted or mixed chunk shows.
const n = (64 * MiB) / 8;
const a = new Float64Array(n);
for (let i = 0; i < n; i++) a[i] = i * 0.5 + rank * 1e9;
for (let round = 0; round < 2; round++) {
  const b = await shift<Float64Array>(a, round);
  assert.ok(b instanceof Float64Array);
  assert.equal(b.length, n);
  for (let i = 0; i < n; i++) {
    if (b[i] !== i * 0.5 + prev * 1e9) assert.fail(`round ${round}: element ${i} is ${b[i]}, expected ${i * 0.5 + prev * 1e9}`);
  }
}

// 64 MiB + 3 bytes of uint8 (odd length), and a Float32Array view at an offset into a larger buffer.
const u = new Uint8Array(64 * MiB + 3);
for (let i = 0; i < u.length; i++) u[i] = (i * 31 + rank) & 255;
const ub = await shift<Uint8Array>(u, 5);
assert.equal(ub.length, u.length);
for (let i = 0; i < ub.length; i++) if (ub[i] !== ((i * 31 + prev) & 255)) assert.fail(`uint8 element ${i} wrong`);
const backing = new Float32Array(1000 + 16 * MiB);
backing.fill(rank + 1, 1000);
const fv = await shift<Float32Array>(backing.subarray(1000), 6);
assert.equal(fv.length, 16 * MiB);
assert.ok(fv.every((x) => x === prev + 1));

// Every rank sends one array to every other at once (through shared memory, one segment for all of them) and
// receives theirs: dtypes, lengths around the threshold, each element a function of (index, sender, round).
// After the sends complete the sender changes the array and sends it again: the new contents must arrive.
const transport = (comm as unknown as { transport: Transport }).transport;
const sharedBefore = transport.sharedSent;
const kinds = [
  { C: Float64Array, bytes: 2 * MiB }, { C: Float32Array, bytes: SHARED_FROM }, { C: Int32Array, bytes: SHARED_FROM - 4 },
  { C: Uint8Array, bytes: SHARED_FROM + 1 }, { C: BigInt64Array, bytes: 512 * 1024 },
] as const;
const valueOf = (C: unknown, i: number, from: number, round: number): number | bigint => {
  const v = (i * 7 + from * 13 + round * 101) % 251;
  return C === BigInt64Array ? BigInt(v) - 100n : v;
};
for (const [k, { C, bytes }] of kinds.entries()) {
  const len = bytes / C.BYTES_PER_ELEMENT;
  const mine = new (C as unknown as new (n: number) => ArrayLike<number | bigint> & { [i: number]: number | bigint })(len);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < len; i++) mine[i] = valueOf(C, i, rank, round);
    const peers = Array.from({ length: size }, (_, r) => r).filter((r) => r !== rank);
    const [, ...got] = await Promise.all([
      Promise.all(peers.map((r) => comm.send(mine, r, 60 + k))),
      ...peers.map((r) => comm.recv<ArrayLike<number | bigint>>(r, 60 + k)),
    ]);
    got.forEach((g, j) => {
      assert.ok(g instanceof C, `${C.name}: arrived as ${Object.prototype.toString.call(g)}`);
      assert.equal(g.length, len);
      for (let i = 0; i < len; i++) {
        if (g[i] !== valueOf(C, i, peers[j], round)) assert.fail(`${C.name} round ${round} from ${peers[j]}: element ${i} is ${g[i]}`);
      }
    });
  }
}
const sharedNow = transport.sharedSent - sharedBefore;
// One host (ipc) shares memory; ranks on several hosts (tcp) cannot.
if (size > 1 && process.env.DARRAY_SHM !== '0' && transport.env.transport === 'ipc') assert.ok(sharedNow > 0, 'no message went through shared memory');
if (transport.env.transport === 'tcp') assert.equal(sharedNow, 0, 'a tcp job sent through shared memory');
if (process.env.DARRAY_SHM === '0') assert.equal(sharedNow, 0, 'DARRAY_SHM=0, yet messages went through shared memory');

// A large msgpack value (a long string plus an array) goes through the value path.
const text = String(rank).repeat(64 * MiB);
const got = await shift<{ text: string; arr: number[] }>({ text, arr: Array.from({ length: 1000 }, (_, i) => i + rank) }, 7);
assert.equal(got.text.length, 64 * MiB);
assert.equal(got.text[12345], String(prev));
assert.equal(got.arr[999], 999 + prev);

// Backpressure: past UNEXPECTED_LIMIT bytes of unmatched mail from one sender, large sends complete only when
// the receiver takes them, so a sender cannot run ahead of a receiver that does not receive.
if (size >= 2 && rank < 2) {
  const msg = new Float64Array(8 * MiB).fill(3.25); // 64 MiB, sent from this memory without copies
  const fit = Math.floor(UNEXPECTED_LIMIT / msg.byteLength);
  const total = fit + 2;
  if (rank === 0) {
    const done: boolean[] = [];
    const sends = Array.from({ length: total }, (_, i) => comm.send(msg, 1, 40).then(() => void (done[i] = true)));
    await Promise.all(sends.slice(0, fit));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(done.filter(Boolean).length, fit, `${done.filter(Boolean).length} of ${total} sends completed with nobody receiving; expected ${fit}`);
    await comm.send('go', 1, 41);
    await Promise.all(sends);
  } else {
    assert.equal(await comm.recv(0, 41), 'go'); // arrives after all the large ones, which wait unmatched
    for (let i = 0; i < total; i++) {
      const m = await comm.recv<Float64Array>(0, 40);
      assert.equal(m.length, 8 * MiB);
      assert.ok(m[0] === 3.25 && m[m.length - 1] === 3.25);
    }
  }
}

// Optional: one message of 1.25 GiB, past the single-frame limit (memory-hungry, so only when asked).
if (process.env.DARRAY_TEST_HUGE === '1' && size >= 2 && rank < 2) {
  const len = 1.25 * 2 ** 30;
  if (rank === 0) {
    const h = new Uint8Array(len);
    for (let i = 0; i < len; i += 4096) h[i] = (i / 4096) & 255;
    h[len - 1] = 77;
    await comm.send(h, 1, 9);
  } else {
    const h = await comm.recv<Uint8Array>(0, 9);
    assert.equal(h.length, len);
    for (let i = 0; i < len; i += 4096) if (h[i] !== ((i / 4096) & 255)) assert.fail(`huge message byte ${i} wrong`);
    assert.equal(h[len - 1], 77);
    console.log('1.25 GiB message arrived whole');
  }
}

await comm.barrier();
await finalize();
console.log(`comm-p2p-large ok at rank ${rank} of ${size}`);
