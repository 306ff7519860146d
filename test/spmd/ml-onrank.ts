// spmd: ranks=1,2,3,4 timeout=90
// SPMD test of onRank: an object built on one rank only, called from every rank through its handle: typed
// arrays in and out, async methods, calls serialized on the owner (actor), remote exceptions, release.
import assert from 'node:assert/strict';
import { finalize, init } from '../../src/comm/index.js';
import { DenseStack, onRank } from '../../src/ml/index.js';

const comm = await init();
const { rank, size } = comm;
const owner = size - 1;

let built = 0;
/** A stateful object: its async method yields mid-way, so unserialized calls would lose increments. */
class Account {
  balance = 0;
  readonly builtOn = rank;
  async deposit(n: number): Promise<number> {
    const before = this.balance;
    await new Promise((r) => setTimeout(r, 1));
    this.balance = before + n;
    return this.balance;
  }
  scale(v: Float64Array, k: number): Float64Array { return v.map((e) => e * k); }
  where(): number { return this.builtOn; }
  fail(why: string): never { throw new RangeError(`refused: ${why}`); }
}

const acct = await onRank(comm, owner, () => { built++; return new Account(); });
assert.equal(built, rank === owner ? 1 : 0, 'built on the owner only');
assert.equal(acct.owner, owner);
assert.equal(acct.local !== undefined, rank === owner);
assert.equal(await acct.where(), owner, 'the method ran on the owner');

// Typed arrays in and out.
const v = Float64Array.from({ length: 1000 }, (_, i) => i + rank);
const w = await acct.scale(v, 2);
assert.ok(w instanceof Float64Array && w.length === 1000 && w.every((e, i) => e === 2 * (i + rank)));

// Every rank deposits 1..10 concurrently; serialized calls keep every increment.
await Promise.all(Array.from({ length: 10 }, (_, i) => acct.deposit(i + 1)));
await comm.barrier();
const total = await acct.deposit(0);
assert.equal(total, 55 * size, `balance ${total}`);

// An exception on the owner is re-thrown at the caller, naming the owner and the method.
await assert.rejects(acct.fail(`from ${rank}`), (e: Error) => {
  if (rank === owner) return e instanceof RangeError && e.message === `refused: from ${rank}`;
  return new RegExp(`rank ${rank}, onRank call fail, peer ${owner}\\] remote RangeError: refused: from ${rank}`).test(e.message);
});
await assert.rejects((acct as unknown as { nope(): Promise<void> }).nope(), /has no method 'nope'/);
await acct.release();
await assert.rejects(acct.where(), /the handle was released/);

// A layer placed on rank 0 only: every rank runs its forward there, and gets what a local copy computes.
const layer = await onRank(comm, 0, () => new DenseStack([{ inputs: 4, outputs: 3, activation: 'tanh' }], { dtype: 'float64', seed: 7 }));
const x = Float64Array.from({ length: 8 }, (_, i) => (i - rank) * 0.25);
const y = await layer.forward(x, { microbatch: rank, training: false });
const want = await new DenseStack([{ inputs: 4, outputs: 3, activation: 'tanh' }], { dtype: 'float64', seed: 7 }).forward(x);
assert.deepEqual(y, want);
await layer.release();

// A failing constructor fails on every rank, with the owner's reason.
await assert.rejects(onRank(comm, owner, () => { throw new Error('no memory'); }), new RegExp(`rank ${rank}, onRank\\] building the object on rank ${owner} failed: make\\(\\) threw Error: no memory`));
await assert.rejects(onRank(comm, size, () => ({})), /owner must be a rank in/);

if (rank === 0) console.log(`ml-onrank: ${size} rank(s) called an object on rank ${owner}`);
await finalize();
