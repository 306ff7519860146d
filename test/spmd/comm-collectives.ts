// spmd: ranks=1,2,3,4,5 timeout=240 env=DARRAY_SHM=1|segment
// Every collective through the real Comm against serial expectations: every root, numbers, objects, typed
// arrays, zero-length, 64 MiB allreduce/bcast (shared memory on one host), bit-identical results, sub-communicators.
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync } from 'node:fs';
import { finalize, init } from '../../src/comm/index.js';
import { CommError } from '../../src/errors.js';

const comm = await init();
const { rank, size } = comm;

/** Rank r's integer-valued data: sums are exact in any order, so the serial reference is exact too. */
const val = (r: number, i: number) => ((i * 7 + r * 13) % 23) - 11;
function data(r: number, n: number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = val(r, i);
  return a;
}
function expectSum(got: Float64Array | undefined, n: number, what: string): void {
  assert.ok(got instanceof Float64Array && got.length === n, `${what}: got ${String(got?.constructor?.name)}(${got?.length})`);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let r = 0; r < size; r++) s += val(r, i);
    if (got[i] !== s) assert.fail(`${what}: element ${i} is ${got[i]}, expected ${s} (rank ${rank} of ${size})`);
  }
}
const item = (r: number): unknown => (r % 3 === 0 ? { r, s: `rank${r}`, nested: [r, null] } : r % 3 === 1 ? data(r, r * 5) : r * 1.5);
const plain = (x: unknown): unknown => (ArrayBuffer.isView(x) ? ['typed', ...(x as Float64Array)] : x);

// barrier, and many small collectives back to back (ordering under load)
await comm.barrier();
for (let k = 0; k < 300; k++) {
  assert.equal(await comm.allreduce(rank + k, k % 2 ? 'max' : 'sum'), k % 2 ? size - 1 + k : (size * (size - 1)) / 2 + size * k);
}

for (let root = 0; root < size; root++) {
  // bcast: object, small typed array, zero-length typed array
  assert.deepEqual(await comm.bcast(rank === root ? { root, list: [1, 'two'] } : undefined, root), { root, list: [1, 'two'] });
  assert.deepEqual(plain(await comm.bcast(rank === root ? data(root, 11) : undefined, root)), plain(data(root, 11)));
  assert.equal((await comm.bcast(rank === root ? new Int32Array(0) : undefined, root))?.length, 0);
  // reduce: every op on numbers, sum of typed arrays
  const r1 = await comm.reduce(rank + 1, 'prod', root);
  assert.equal(r1, rank === root ? Array.from({ length: size }, (_, i) => i + 1).reduce((a, b) => a * b) : undefined);
  const r2 = await comm.reduce(data(rank, 1000), 'sum', root);
  if (rank === root) expectSum(r2, 1000, `reduce to ${root}`);
  else assert.equal(r2, undefined);
  // gather / scatter of mixed values
  const g = await comm.gather(item(rank), root);
  if (rank === root) assert.deepEqual(g!.map(plain), Array.from({ length: size }, (_, r) => plain(item(r))));
  else assert.equal(g, undefined);
  const mine = await comm.scatter(rank === root ? Array.from({ length: size }, (_, r) => item(r + root)) : undefined, root);
  assert.deepEqual(plain(mine), plain(item(rank + root)));
}

assert.deepEqual((await comm.allgather(item(rank))).map(plain), Array.from({ length: size }, (_, r) => plain(item(r))));
const a2a = await comm.alltoall(Array.from({ length: size }, (_, q) => [rank, q]));
assert.deepEqual(a2a, Array.from({ length: size }, (_, i) => [i, rank]));
assert.equal(await comm.allreduce(rank, (a: number, b: number) => Math.max(a, b)), size - 1);
assert.equal((await comm.allreduce(new Float64Array(0), 'sum')).length, 0);

// Real-valued allreduce on the ring path: every rank must hold the same bits.
const real = Float64Array.from({ length: 1 << 17 }, (_, i) => Math.sin(rank * 1e5 + i) / 7);
const summed = await comm.allreduce(real, 'sum');
const bytes = new Uint8Array(summed.buffer, summed.byteOffset, summed.byteLength);
const copies = await comm.allgather(bytes.subarray(0, 1 << 16)); // 64 KiB of each rank's result
for (const c of copies) assert.deepEqual(c, copies[0], 'allreduce results differ between ranks');
assert.deepEqual(real, Float64Array.from({ length: 1 << 17 }, (_, i) => Math.sin(rank * 1e5 + i) / 7), 'input modified');

// 64 MiB: ring allreduce and chain bcast.
const N = 8 * 2 ** 20;
expectSum(await comm.allreduce(data(rank, N), 'sum'), N, 'allreduce 64 MiB');
const root = size - 1;
const big = await comm.bcast(rank === root ? data(7, N) : undefined, root);
assert.ok(big instanceof Float64Array && big.length === N);
for (let i = 0; i < N; i++) if (big[i] !== val(7, i)) assert.fail(`bcast 64 MiB: element ${i} is ${big[i]}`);
// Into a given array (the shared-memory path on one host, the chain or tree elsewhere), twice into the same one;
// a wrong length fails on its own rank only.
const into = new Float64Array(N / 8);
for (const seed of [3, 4]) {
  const got = (await comm.bcast(rank === root ? data(seed, N / 8) : undefined, root, { into }))!;
  if (rank !== root) assert.equal(got, into, 'bcast into: the given array comes back');
  for (let i = 0; i < N / 8; i++) if (got[i] !== val(seed, i)) assert.fail(`bcast into: element ${i} is ${got[i]}`);
}
const short = await comm.bcast(rank === root ? data(5, N / 8) : undefined, root, { into: new Float64Array(N / 8 - 1) })
  .then(() => undefined, (e: Error) => e);
if (rank === root) assert.equal(short, undefined, 'the root ignores into');
else assert.match(String(short), /into is Float64Array\(1048575\) but the root broadcast Float64Array\(1048576\)/);

// Sub-communicators: even and odd ranks reduce among themselves.
const sub = (await comm.split(rank % 2))!;
const members = Array.from({ length: size }, (_, r) => r).filter((r) => r % 2 === rank % 2);
assert.equal(await sub.allreduce(rank, 'sum'), members.reduce((a, b) => a + b, 0));
assert.deepEqual(await sub.allgather(rank), members);
sub.free();

// Shared memory (one host): sizes around the threshold, odd lengths, other types and ops, every root, equal to
// a serial fold over the ranks in order (which the shared path computes exactly so) and the same bits on every rank.
// A job over tcp (several hosts, or network namespaces) takes the socket algorithms, which add in another order:
// there float results match the fold to rounding, and integer ones exactly.
const T = 256 * 1024; // tuning.shmBytes
const shared = size > 1 && (process.env.DARRAY_ROOT ?? '').startsWith('ipc://');
function sameAsFold(got: Float64Array | Float32Array | Int32Array, want: typeof got, what: string): void {
  if (shared || got instanceof Int32Array) {
    assert.deepEqual(bits(got), bits(want), `${what} differs from the serial fold`);
    return;
  }
  const tol = got instanceof Float32Array ? 1e-5 : 1e-12;
  let scale = 1;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < got.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= tol * scale * size)) assert.fail(`${what}: element ${i} is ${got[i]}, the fold ${want[i]}`);
  }
}
const fold = (n: number, mk: (r: number, i: number) => number, f: (a: number, b: number) => number, Ctor: new (n: number) => Float64Array | Float32Array | Int32Array) => {
  const out = new Ctor(n), cell = new Ctor(1);
  const v = (r: number, i: number) => ((cell[0] = mk(r, i)), cell[0]); // the input as its type stores it
  for (let i = 0; i < n; i++) {
    let acc = v(0, i);
    for (let r = 1; r < size; r++) acc = f(acc, v(r, i));
    out[i] = acc;
  }
  return out;
};
const bits = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
async function sameEverywhere(x: ArrayBufferView, what: string): Promise<void> {
  const all = await comm.allgather(bits(x).slice());
  for (const c of all) assert.deepEqual(c, all[0], `${what}: results differ between ranks`);
}
const wave = (r: number, i: number) => Math.sin(r * 7919 + i * 0.37) * 1000;
const int = (r: number, i: number) => ((i * 31 + r * 17) % 201) - 100;
type Ctor = new (n: number) => Float64Array | Float32Array | Int32Array;
const shmCases: [Ctor, number, 'sum' | 'max' | 'prod', (a: number, b: number) => number, (r: number, i: number) => number][] = [
  [Float64Array, T / 8 - 1, 'sum', (a, b) => a + b, int], // just below: sockets (in another order: exact data)
  [Float64Array, T / 8, 'sum', (a, b) => a + b, wave], // at the threshold: shared memory
  [Float64Array, T / 8 + 4097, 'sum', (a, b) => a + b, wave],
  [Float32Array, T / 4 + 1, 'max', Math.max, wave],
  [Float32Array, 300_001, 'sum', (a, b) => Math.fround(a + b), wave],
  [Int32Array, 100_003, 'sum', (a, b) => (a + b) | 0, int],
  [Int32Array, 99_999, 'prod', (a, b) => Math.imul(a, b), (r, i) => (int(r, i) % 5) + 3],
];
for (const [C, n, op, f, mk] of shmCases) {
  const x = new C(n);
  for (let i = 0; i < n; i++) x[i] = mk(rank, i);
  const want = fold(n, mk, f, C);
  const before = x.slice();
  const got = await comm.allreduce(x, op);
  assert.ok(got instanceof C && got.length === n, `${C.name}(${n}) ${op}: got ${got.constructor.name}(${got.length})`);
  sameAsFold(got, want, `allreduce ${C.name}(${n}) ${op}`);
  await sameEverywhere(got, `allreduce ${C.name}(${n})`);
  assert.deepEqual(bits(x), bits(before), `allreduce ${C.name}(${n}): input modified`);
}
for (let root = 0; root < size; root++) {
  const n = T / 4 + 3 * root + 1;
  const r = await comm.reduce(Float32Array.from({ length: n }, (_, i) => wave(rank, i)), 'sum', root);
  if (rank === root) sameAsFold(r as Float32Array, fold(n, wave, (a, b) => Math.fround(a + b), Float32Array), `reduce to ${root}`);
  else assert.equal(r, undefined);
  const b = await comm.bcast(rank === root ? Int32Array.from({ length: n }, (_, i) => int(root, i)) : undefined, root);
  assert.ok(b instanceof Int32Array && b.length === n, `bcast from ${root}`);
  for (let i = 0; i < n; i++) if (b[i] !== int(root, i)) assert.fail(`bcast from ${root}: element ${i} is ${b[i]}`);
}
// Several in flight at once on one communicator (as data-parallel training does), and on two communicators.
{
  const n = 70_001;
  const xs = [0, 1, 2].map((k) => Float64Array.from({ length: n }, (_, i) => wave(rank + k, i)));
  const got = await Promise.all(xs.map((x) => comm.allreduce(x, 'sum')));
  got.forEach((g, k) => sameAsFold(g, fold(n, (r, i) => wave(r + k, i), (a, b) => a + b, Float64Array), `concurrent allreduce ${k}`));
  const half = (await comm.split(rank < Math.ceil(size / 2) ? 0 : 1))!;
  const hm = Array.from({ length: size }, (_, r) => r).filter((r) => (r < Math.ceil(size / 2)) === (rank < Math.ceil(size / 2)));
  const [hs, ws] = await Promise.all([half.allreduce(xs[0], 'sum'), comm.allreduce(xs[1], 'max')]);
  const hw = new Float64Array(n);
  for (let i = 0; i < n; i++) hw[i] = hm.map((r) => wave(r, i)).reduce((a, b) => a + b);
  sameAsFold(hs, hw, 'allreduce on a sub-communicator');
  sameAsFold(ws, fold(n, (r, i) => wave(r + 1, i), Math.max, Float64Array), 'allreduce beside a sub-communicator');
  const hb = await half.bcast(half.rank === half.size - 1 ? xs[2] : undefined, half.size - 1);
  assert.deepEqual(bits(hb as Float64Array), bits(Float64Array.from({ length: n }, (_, i) => wave(hm[hm.length - 1] + 2, i))), 'bcast on a sub-communicator');
  half.free();
}
// On one host with 2+ ranks the large collectives went through a shared segment (a memfd this process holds).
if (shared) {
  const memfds = readdirSync('/proc/self/fd').filter((fd) => {
    try { return readlinkSync(`/proc/self/fd/${fd}`).startsWith('/memfd:darray-shm'); } catch { return false; }
  });
  assert.ok(memfds.length > 0, 'no shared-memory segment: the large collectives did not share memory');
}

// Bad arguments fail on every rank with a CommError naming rank and operation, and leave the comm usable.
await assert.rejects(comm.allreduce(1, 'avg' as 'sum'), (e: unknown) => e instanceof CommError && /allreduce\] unknown reduce op 'avg'/.test(e.message));
await assert.rejects(comm.bcast(1, size), (e: unknown) => e instanceof CommError && new RegExp(`rank ${rank}, bcast\\] root ${size}`).test(e.message));
await comm.barrier();

if (rank === 0) console.log(`comm-collectives: all checks passed at ${size} ranks`);
await finalize();
