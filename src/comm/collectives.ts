// The collective operations of a communicator, each run on a private Channel (docs/internal-interfaces.md).
// This entry checks arguments and picks the algorithm by payload; the algorithms live in ./collectives/.

import { CommError } from '../errors.js';
import type { Channel } from './channel.js';
import { bcast as treeOrChainBcast } from './collectives/bcast.js';
import * as ex from './collectives/exchange.js';
import { recursiveDoubling, treeReduce } from './collectives/reduce.js';
import { pairAllreduce, ringAllreduce, ringReduce } from './collectives/ring.js';
import { shmEligible, shmReduce } from './collectives/shm.js';
import { checkRoot, context, own, tuning } from './collectives/util.js';
import { checkOp, isTypedArray, type ReduceOp, type TypedArray } from './reduce-ops.js';

export type { Channel } from './channel.js';
export { tuning } from './collectives/util.js';

/** Collective; blocks until every rank has entered it. */
export async function barrier(ch: Channel): Promise<void> {
  await ex.barrier(ch);
}

/** Collective: the root's value on every rank (the root gets its own value back); elsewhere in `into` if given. */
export async function bcast<T>(ch: Channel, value: T, root: number, into?: TypedArray): Promise<T> {
  const ctx = context(ch, 'bcast');
  if (into !== undefined && !isTypedArray(into)) throw new CommError('into must be a typed array', ctx);
  return treeOrChainBcast(ch, value, checkRoot(ch, root, ctx), ctx, ch.rank === root ? undefined : into);
}

/** Collective: the reduction of every rank's value on root, undefined elsewhere. */
export async function reduce<T>(ch: Channel, value: T, op: ReduceOp, root: number): Promise<T | undefined> {
  const ctx = context(ch, 'reduce');
  checkOp(op, ctx);
  root = checkRoot(ch, root, ctx);
  if (ch.size === 1) return own(value);
  if (ch.local && shmEligible(value, tuning.shmBytes) && (await ch.local.usable(ch))) {
    return (await shmReduce(ch, value, op, root, ctx)) as T | undefined;
  }
  if (isTypedArray(value) && value.byteLength >= tuning.reduceRingBytes && value.length >= ch.size) {
    return (await ringReduce(ch, value, op, root, ctx)) as T | undefined;
  }
  return (await treeReduce(ch, value, op, root, ctx)) as T | undefined;
}

/** Collective: the reduction of every rank's value, bit-identical on every rank. */
export async function allreduce<T>(ch: Channel, value: T, op: ReduceOp): Promise<T> {
  const ctx = context(ch, 'allreduce');
  checkOp(op, ctx);
  if (ch.size === 1) return own(value);
  if (ch.local && shmEligible(value, tuning.shmBytes) && (await ch.local.usable(ch))) {
    return (await shmReduce(ch, value, op, -1, ctx)) as T;
  }
  if (isTypedArray(value) && value.byteLength >= tuning.allreduceRingBytes && value.length >= ch.size) {
    if (ch.size === 2 && tuning.pairAllreduce) return (await pairAllreduce(ch, value, op, ctx)) as T;
    return (await ringAllreduce(ch, value, op, ctx)) as T;
  }
  return (await recursiveDoubling(ch, value, op, ctx)) as T;
}

/** Collective: every rank's value, in rank order, on root; undefined elsewhere. */
export async function gather<T>(ch: Channel, value: T, root: number): Promise<T[] | undefined> {
  const ctx = context(ch, 'gather');
  return (await ex.gather(ch, value, checkRoot(ch, root, ctx))) as T[] | undefined;
}

/** Collective: every rank's value, in rank order, on every rank. */
export async function allgather<T>(ch: Channel, value: T): Promise<T[]> {
  return (await ex.allgather(ch, value, tuning.packBytes)) as T[];
}

/** Collective: rank q gets the root's values[q]; `values` is read on the root only. */
export async function scatter<T>(ch: Channel, values: T[] | undefined, root: number): Promise<T> {
  const ctx = context(ch, 'scatter');
  root = checkRoot(ch, root, ctx);
  if (ch.rank === root) checkPerRank(ch, values, 'scatter');
  return (await ex.scatter(ch, values, root)) as T;
}

/** Collective: values[q] goes to rank q; the result's [i] is what rank i sent to this rank. */
export async function alltoall<T>(ch: Channel, values: T[]): Promise<T[]> {
  checkPerRank(ch, values, 'alltoall');
  return (await ex.alltoall(ch, values)) as T[];
}

function checkPerRank(ch: Channel, values: unknown, op: string): asserts values is unknown[] {
  if (!Array.isArray(values) || values.length !== ch.size) {
    const got = Array.isArray(values) ? `an array of ${values.length}` : typeof values;
    throw new CommError(`values must be an array with one entry per rank (${ch.size}), got ${got}`, context(ch, op));
  }
}
