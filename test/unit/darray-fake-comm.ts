// A Comm stand-in over the in-memory channel (bench/fake-channel.ts) and the real collective algorithms, so
// DArray's unit tests run 1-4 simulated ranks in one process without the launcher.

import type { Comm } from '../../src/comm/index.js';
export { FakeWorld } from '../../bench/fake-channel.js';
import { FakeWorld, runWorld } from '../../bench/fake-channel.js';
import * as coll from '../../src/comm/collectives.js';
import type { Channel } from '../../src/comm/channel.js';
import type { ReduceOp } from '../../src/comm/reduce-ops.js';

/** The collective part of Comm's API (what DArray uses), one call after another on one channel. */
class FakeComm {
  constructor(private readonly ch: Channel) {}
  get rank(): number { return this.ch.rank; }
  get size(): number { return this.ch.size; }
  barrier() { return coll.barrier(this.ch); }
  bcast<T>(v: T, root = 0) { return coll.bcast(this.ch, v, root); }
  reduce<T>(v: T, op: ReduceOp = 'sum', root = 0) { return coll.reduce(this.ch, v, op, root); }
  allreduce<T>(v: T, op: ReduceOp = 'sum') { return coll.allreduce(this.ch, v, op); }
  gather<T>(v: T, root = 0) { return coll.gather(this.ch, v, root); }
  allgather<T>(v: T) { return coll.allgather(this.ch, v); }
  scatter<T>(vs: T[] | undefined, root = 0) { return coll.scatter(this.ch, vs, root); }
  alltoall<T>(vs: T[]) { return coll.alltoall(this.ch, vs); }
}

/** Runs fn on `size` simulated ranks at once; results in rank order; rejects with the first rank's error. */
export async function onRanks<T>(
  size: number, fn: (comm: Comm) => Promise<T>, timeoutMs = 30000, world = new FakeWorld(size, { jitter: 1 }),
): Promise<T[]> {
  const results = await runWorld(world, (ch) => fn(new FakeComm(ch) as unknown as Comm), timeoutMs);
  const left = world.leftovers();
  if (left.length) throw new Error(`messages left undelivered: ${left.join('; ')}`);
  return results;
}
