// spmd: ranks=1,2,3,4,5 timeout=240
// Every collective through the real Comm against serial expectations: every root, numbers, objects, typed
// arrays, zero-length, 64 MiB allreduce/bcast (ring and chain paths), bit-identical results, sub-communicators.
import assert from 'node:assert/strict';
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

// Sub-communicators: even and odd ranks reduce among themselves.
const sub = (await comm.split(rank % 2))!;
const members = Array.from({ length: size }, (_, r) => r).filter((r) => r % 2 === rank % 2);
assert.equal(await sub.allreduce(rank, 'sum'), members.reduce((a, b) => a + b, 0));
assert.deepEqual(await sub.allgather(rank), members);
sub.free();

// Bad arguments fail on every rank with a CommError naming rank and operation, and leave the comm usable.
await assert.rejects(comm.allreduce(1, 'avg' as 'sum'), (e: unknown) => e instanceof CommError && /allreduce\] unknown reduce op 'avg'/.test(e.message));
await assert.rejects(comm.bcast(1, size), (e: unknown) => e instanceof CommError && new RegExp(`rank ${rank}, bcast\\] root ${size}`).test(e.message));
await comm.barrier();

if (rank === 0) console.log(`comm-collectives: all checks passed at ${size} ranks`);
await finalize();
