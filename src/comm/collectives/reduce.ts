// Latency-optimal reductions for small values: binomial-tree reduce and recursive-doubling allreduce with
// the standard fold for rank counts that are not powers of two. Operands are always combined lower rank
// first, so partners compute bit-identical results.

import type { ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { combine, type ReduceOp } from '../reduce-ops.js';
import { mod, Outbox, own } from './util.js';

/** Binomial-tree reduce to `root` (ranks taken relative to root); the result on root, undefined elsewhere. */
export async function treeReduce(
  ch: Channel, value: unknown, op: ReduceOp, root: number, ctx: ErrorContext,
): Promise<unknown> {
  const p = ch.size, vr = mod(ch.rank - root, p);
  const box = new Outbox(ch);
  let acc = value;
  for (let mask = 1; mask < p; mask <<= 1) {
    if (vr & mask) {
      box.post(acc, mod(vr - mask + root, p));
      break;
    }
    if (vr + mask < p) {
      const child = mod(vr + mask + root, p);
      acc = combine(acc, await ch.recv(child), op, { ...ctx, peer: child });
    }
  }
  await box.flush();
  return vr === 0 ? (acc === value ? own(value) : acc) : undefined;
}

/**
 * Recursive doubling over the largest power of two pof2 <= p. The first 2*(p - pof2) ranks fold pairwise
 * (even into odd) beforehand and the odd ones hand the result back afterwards (MPICH's scheme).
 */
export async function recursiveDoubling(ch: Channel, value: unknown, op: ReduceOp, ctx: ErrorContext): Promise<unknown> {
  const p = ch.size, r = ch.rank;
  const box = new Outbox(ch);
  let pof2 = 1;
  while (pof2 * 2 <= p) pof2 *= 2;
  const rem = p - pof2;
  let acc = value;
  let newrank: number;
  if (r < 2 * rem) {
    if (r % 2 === 0) {
      box.post(acc, r + 1);
      newrank = -1;
    } else {
      acc = combine(await ch.recv(r - 1), acc, op, { ...ctx, peer: r - 1 });
      newrank = r >> 1;
    }
  } else {
    newrank = r - rem;
  }
  if (newrank >= 0) {
    for (let mask = 1; mask < pof2; mask <<= 1) {
      const newdst = newrank ^ mask;
      const dst = newdst < rem ? newdst * 2 + 1 : newdst + rem;
      box.post(acc, dst);
      const got = await ch.recv(dst);
      acc = dst < r ? combine(got, acc, op, { ...ctx, peer: dst }) : combine(acc, got, op, { ...ctx, peer: dst });
    }
  }
  if (r < 2 * rem) {
    if (r % 2 === 1) box.post(acc, r - 1);
    else acc = await ch.recv(r + 1);
  }
  await box.flush();
  return acc === value ? own(value) : acc;
}
