// spmd: ranks=1,2,3,4,5 timeout=120
// SPMD test of split: membership and order by key, sub-communicator p2p and collectives against serial
// expectations, no cross-talk with the parent on equal tags, nested splits, null for no color, and many
// split/free cycles that keep the matching state flat.
import assert from 'node:assert/strict';
import { ANY_SOURCE, finalize, init, type Comm } from '../../src/comm/index.js';
import { CommError } from '../../src/errors.js';

const world = await init();
const { rank, size } = world;

// Parity split, ordered by descending world rank (key = -rank).
const color = rank % 2;
const sub = await world.split(color, -rank);
assert.ok(sub);
const members = Array.from({ length: size }, (_, r) => r).filter((r) => r % 2 === color).sort((a, b) => b - a);
assert.equal(sub.size, members.length);
assert.equal(sub.rank, members.indexOf(rank));

// Collectives on the sub-communicator see only its members.
const total = await sub.allreduce(rank);
assert.equal(total, members.reduce((a, b) => a + b, 0));
const all = await sub.allgather(rank);
assert.deepEqual(all, members);

// Same tag on world and on sub at the same time: each receive gets its own communicator's message.
const wNext = (rank + 1) % size;
const wPrev = (rank + size - 1) % size;
const sNext = (sub.rank + 1) % sub.size;
const sPrev = (sub.rank + sub.size - 1) % sub.size;
await Promise.all([world.send({ via: 'world', from: rank }, wNext, 0), sub.send({ via: 'sub', from: rank }, sNext, 0)]);
const fromSub = await sub.recvStatus<{ via: string; from: number }>(ANY_SOURCE, 0);
const fromWorld = await world.recv<{ via: string; from: number }>(wPrev, 0);
assert.deepEqual(fromSub.data, { via: 'sub', from: members[sPrev] });
assert.equal(fromSub.source, sPrev, 'recvStatus names the source by its rank in the sub-communicator');
assert.deepEqual(fromWorld, { via: 'world', from: wPrev });

// Nested split: halves of the sub-communicator, by sub rank.
const nested = await sub.split(sub.rank < sub.size / 2 ? 0 : 1);
assert.ok(nested);
const nestedMembers = members.filter((_, i) => (i < sub.size / 2) === (sub.rank < sub.size / 2));
assert.equal(nested.size, nestedMembers.length);
assert.equal(await nested.allreduce(1), nestedMembers.length);
assert.deepEqual(await nested.allgather(rank), nestedMembers);

// A rank with no color gets null, and the others still agree on a new communicator.
const maybe = await world.split(rank === 0 ? undefined : 7);
if (rank === 0) assert.equal(maybe, null);
else {
  assert.ok(maybe);
  assert.equal(maybe.size, size - 1);
  assert.equal(maybe.rank, rank - 1);
  assert.equal(await maybe.allreduce(rank), (size * (size - 1)) / 2);
}

// Messages sent before a peer has even made the new communicator are kept for it.
const early = await world.split(0);
assert.ok(early);
if (size > 1) {
  if (early.rank === 0) for (let r = 1; r < size; r++) await early.send(`early ${r}`, r, 3);
  else assert.equal(await early.recv(0, 3), `early ${early.rank}`);
}

// Many split/free cycles reusing the same tags: no cross-talk, and the matching state does not grow.
const matcherOf = (c: Comm) => (c as unknown as { transport: { matcher: { contextCount: number } } }).transport.matcher;
await world.barrier();
const before = matcherOf(world).contextCount;
for (let i = 0; i < 300; i++) {
  const c = await world.split(i % 3 === 0 ? 0 : rank % 2, rank);
  assert.ok(c);
  const n = (c.rank + 1) % c.size;
  const p = (c.rank + c.size - 1) % c.size;
  const [, got] = await Promise.all([c.send(i, n, 1), c.recv<number>(p, 1)]);
  assert.equal(got, i, `cycle ${i}: got mail of cycle ${got}`);
  assert.equal(await c.allreduce(1), c.size);
  c.free();
  await assert.rejects(c.send(1, 0), (e: unknown) => e instanceof CommError && /freed/.test((e as Error).message));
}
await world.barrier();
const after = matcherOf(world).contextCount;
assert.ok(after <= before + 2, `matching state grew from ${before} to ${after} contexts over 300 split/free cycles`);

// Bad arguments.
await assert.rejects(world.split(1.5), (e: unknown) => e instanceof CommError && /bad color 1\.5/.test((e as Error).message));
assert.throws(() => world.free(), CommError);
// the rejected split sent nothing: the collective sequence still agrees on every rank
await world.barrier();

await finalize();
console.log(`comm-split ok at rank ${rank} of ${size}`);
