// Issue 6, item 3: ordering and volume. COUNT messages (default 100,000) spread over every pair of ranks, sizes
// 0 B..8 MiB of mixed types, all taken by any-source/any-tag receives; every byte and the per-sender order are
// checked. Then exact-source receives in reverse tag order, zero-length messages and zero-count collectives.
// Usage: volume.ts [COUNT]. Prints "volume: N messages, B bytes, 0 mismatches" from each rank.
import assert from 'node:assert/strict';
import { ANY_SOURCE, ANY_TAG, finalize, init } from '../../../src/comm/index.js';

const COUNT = Number(process.argv[2] ?? 100_000);
const comm = await init();
const { rank, size } = comm;
assert.ok(size >= 2, 'volume needs at least 2 ranks');
const perRank = Math.floor(COUNT / size);

// Deterministic per (src, k): every rank can compute what any message must be.
const mix = (a: number, b: number): number => {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) >>> 0;
};
const dest = (src: number, k: number): number => (src + 1 + (k % (size - 1))) % size;
type Kind = 'u8' | 'i32' | 'f64' | 'value';
function shape(src: number, k: number): { kind: Kind; bytes: number } {
  const h = mix(src, k);
  const u = (h % 100000) / 100000;
  let bytes: number;
  if (u < 0.003) bytes = 1 + (mix(k, src) % (8 << 20)); // 1 B..8 MiB
  else if (u < 0.004) bytes = 8 << 20;
  else if (u < 0.05) bytes = 0;
  else bytes = Math.floor(2 ** ((mix(k, k) % 16000) / 1000)); // log-uniform 1 B..64 KiB
  const kind = (['u8', 'i32', 'f64', 'value'] as const)[(h >>> 20) & 3];
  if (kind === 'value') bytes = Math.min(bytes, 4096);
  return { kind, bytes };
}
function fill(u8: Uint8Array, seed: number): void {
  const words = u8.byteLength >>> 2;
  const u32 = new Uint32Array(u8.buffer, u8.byteOffset, words);
  for (let i = 0; i < words; i++) u32[i] = (seed + Math.imul(i, 0x9e3779b1)) >>> 0;
  for (let i = words * 4; i < u8.byteLength; i++) u8[i] = (seed + i) & 255;
}
function make(src: number, k: number): unknown {
  const { kind, bytes } = shape(src, k);
  const seed = mix(src, k);
  if (kind === 'value') return { src, k, s: 'v'.repeat(bytes), n: -k - 1, f: k / 7 };
  const n = kind === 'u8' ? bytes : kind === 'i32' ? bytes >>> 2 : bytes >>> 3;
  const a = kind === 'u8' ? new Uint8Array(n) : kind === 'i32' ? new Int32Array(n) : new Float64Array(n);
  const u8 = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  fill(u8, seed);
  return a;
}

let bad = 0;
const say = (why: string): void => {
  if (bad++ < 5) console.error(`volume: rank ${rank}: ${why}`); // the first few, for a failing run's log
};
let checked = 0;
let bytesIn = 0;
const lastK = new Map<number, number>();
/** Checks one received message (tag = k, its index at the sender) against what the sender must have sent. */
function check(src: number, k: number, data: unknown): void {
  const want = make(src, k);
  checked++;
  const prev = lastK.get(src) ?? -1;
  if (k <= prev || dest(src, k) !== rank) say(`message ${k} from ${src} out of order (after ${prev}) or misdelivered`);
  lastK.set(src, k);
  if (ArrayBuffer.isView(want)) {
    if (!ArrayBuffer.isView(data) || data.constructor !== want.constructor || data.byteLength !== want.byteLength) {
      say(`message ${k} from ${src}: ${data?.constructor?.name} of ${(data as Uint8Array)?.byteLength} bytes, expected ${want.constructor.name} of ${want.byteLength}`);
      return;
    }
    bytesIn += data.byteLength;
    const got = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!got.equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))) say(`message ${k} from ${src}: contents differ`);
  } else {
    try {
      assert.deepEqual(data, want);
    } catch (e) {
      say(`message ${k} from ${src}: ${(e as Error).message.slice(0, 300)}`);
    }
  }
}

// Phase 1: COUNT messages, sends windowed (not awaited one by one), every receive any-source and any-tag.
const expected = Array.from({ length: size }, (_, s) => {
  let n = 0;
  for (let k = 0; k < perRank; k++) if (s !== rank && dest(s, k) === rank) n++;
  return n;
}).reduce((a, b) => a + b, 0);
const t0 = Date.now();
const sending = (async () => {
  const window: Promise<void>[] = [];
  for (let k = 0; k < perRank; k++) {
    // The tag is k: the receiver rebuilds the expected payload from (source, k).
    window.push(comm.send(make(rank, k), dest(rank, k), k));
    if (window.length >= 64) await window.shift();
  }
  await Promise.all(window);
})();
for (let i = 0; i < expected; i++) {
  const m = await comm.recvStatus(ANY_SOURCE, ANY_TAG);
  check(m.source, m.tag, m.data);
}
await sending;
const ms1 = Date.now() - t0;
// Phase 1's any-tag receives would take phase 2's mail: nobody starts phase 2 before everyone is done.
await comm.barrier();

// Phase 2: exact sources, tags taken in reverse order of sending (matching out of the unexpected queue), empty
// typed arrays of each kind among them.
const kinds = [Uint8Array, Int32Array, Float64Array, Float32Array];
const peer = (rank + 1) % size;
const from = (rank + size - 1) % size;
await Promise.all(Array.from({ length: 16 }, (_, t) => comm.send(t % 4 === 0 ? new kinds[(t / 4) | 0](0) : new Int32Array([rank, t]), peer, 1000 + t)));
for (let t = 15; t >= 0; t--) {
  const got = await comm.recv(from, 1000 + t);
  checked++;
  if (t % 4 === 0) {
    if (!(got instanceof kinds[(t / 4) | 0]) || (got as Uint8Array).length !== 0) say(`tag ${1000 + t}: expected an empty ${kinds[(t / 4) | 0].name}`);
  } else if (!(got instanceof Int32Array) || got[0] !== from || got[1] !== t) say(`tag ${1000 + t}: got ${String(got)}`);
}

// Zero-count collectives: empty typed arrays through every collective keep their type and length 0.
const empty = new Float64Array(0);
const z = [
  await comm.allreduce(empty, 'sum'),
  await comm.bcast(rank === 0 ? empty : undefined, 0),
  ...((await comm.allgather(new Int32Array(0))) as unknown[]),
  ...((await comm.alltoall(Array.from({ length: size }, () => new Float32Array(0)))) as unknown[]),
  await comm.scatter(rank === 0 ? Array.from({ length: size }, () => new Uint8Array(0)) : undefined, 0),
];
const red = await comm.reduce(empty, 'max', 0);
if (rank === 0) z.push(red, ...((await comm.gather(new Float64Array(0), 0)) as unknown[]));
else await comm.gather(new Float64Array(0), 0);
for (const v of z) {
  checked++;
  if (!ArrayBuffer.isView(v) || v.byteLength !== 0) say(`a zero-count collective returned ${String(v)}`);
}
const total = await comm.allreduce(checked, 'sum');
const totalBad = await comm.allreduce(bad, 'sum');
console.log(`volume: rank ${rank} checked ${checked} messages (${expected} any-source, ${(bytesIn / 2 ** 20).toFixed(0)} MiB) in ${ms1} ms, ${bad} mismatches`);
if (rank === 0) console.log(`volume total: ${total} messages checked, ${totalBad} mismatches`);
await finalize();
if (totalBad !== 0) process.exit(1);
