// Bandwidth-optimal reduction of large typed arrays: a pipelined ring reduce-scatter, followed by a ring
// allgather (allreduce) or a gather to the root (reduce, Rabenseifner's scheme). Each rank sends and
// receives 2(p-1)/p of the array; the reduction of one segment overlaps the transfer of the next.

import type { ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { combineInto, type ReduceOp, type TypedArray } from '../reduce-ops.js';
import { chunk, ctorOf, expectTyped, mod, Outbox, segments } from './util.js';

/**
 * Ring reduce-scatter into `out`, which holds elements from index `base` on. At step s rank r receives chunk
 * r-s-1 from its left neighbour, combines it with its own input and passes it on; after p-1 steps it holds
 * chunk r+1 fully reduced, and calls `onFinal` per segment of it as soon as that segment is done, so the next
 * phase starts at once. Each chunk is reduced by exactly one rank, so every rank later holds the same bits.
 */
async function reduceScatter(
  ch: Channel, x: TypedArray, op: ReduceOp, ctx: ErrorContext, box: Outbox,
  out: TypedArray, base: number, onFinal: (dst: TypedArray) => void,
): Promise<void> {
  const p = ch.size, r = ch.rank, n = x.length, bpe = x.BYTES_PER_ELEMENT;
  const right = mod(r + 1, p), left = mod(r - 1, p);
  const ctor = ctorOf(x);
  for (const [a, b] of segments(...chunk(n, p, r), bpe)) box.post(x.subarray(a, b), right);
  for (let s = 0; s < p - 1; s++) {
    const last = s === p - 2;
    for (const [a, b] of segments(...chunk(n, p, mod(r - s - 1, p)), bpe)) {
      const got = expectTyped(await ch.recv(left), ctor, b - a, ctx, left);
      if (last) {
        const dst = out.subarray(a - base, b - base);
        combineInto(dst, got, x.subarray(a, b), op, ctx);
        onFinal(dst);
      } else {
        // The partial sum lives in the received buffer (ours), never in `out`, which is written once later.
        combineInto(got, got, x.subarray(a, b), op, ctx);
        box.post(got, right);
      }
    }
  }
}

/** Allreduce of a large typed array on 2+ ranks: ring reduce-scatter, then ring allgather. */
export async function ringAllreduce(ch: Channel, x: TypedArray, op: ReduceOp, ctx: ErrorContext): Promise<TypedArray> {
  const p = ch.size, r = ch.rank, n = x.length, bpe = x.BYTES_PER_ELEMENT;
  const right = mod(r + 1, p), left = mod(r - 1, p);
  const box = new Outbox(ch);
  const ctor = ctorOf(x);
  const out = new ctor(n);
  await reduceScatter(ch, x, op, ctx, box, out, 0, (dst) => box.post(dst, right));
  for (let s = 0; s < p - 1; s++) {
    for (const [a, b] of segments(...chunk(n, p, mod(r - s, p)), bpe)) {
      const got = expectTyped(await ch.recv(left), ctor, b - a, ctx, left);
      if (s < p - 2) box.post(got, right); // forward the received view itself: no wait for our copy
      (out as Float64Array).set(got as Float64Array, a); // same type, checked
    }
  }
  await box.flush();
  return out;
}

/** Reduce of a large typed array on 2+ ranks: ring reduce-scatter, then every rank sends its chunk to root. */
export async function ringReduce(
  ch: Channel, x: TypedArray, op: ReduceOp, root: number, ctx: ErrorContext,
): Promise<TypedArray | undefined> {
  const p = ch.size, r = ch.rank, n = x.length, bpe = x.BYTES_PER_ELEMENT;
  const box = new Outbox(ch);
  const ctor = ctorOf(x);
  // The root assembles the whole result; any other rank keeps only the chunk it finishes (r + 1).
  const [lo, hi] = chunk(n, p, mod(r + 1, p));
  const out = r === root ? new ctor(n) : new ctor(hi - lo);
  await reduceScatter(ch, x, op, ctx, box, out, r === root ? 0 : lo, (dst) => { if (r !== root) box.post(dst, root); });
  if (r === root) {
    for (let q = 0; q < p; q++) {
      if (q === root) continue;
      for (const [a, b] of segments(...chunk(n, p, mod(q + 1, p)), bpe)) {
        (out as Float64Array).set(expectTyped(await ch.recv(q), ctor, b - a, ctx, q) as Float64Array, a);
      }
    }
  }
  await box.flush();
  return r === root ? out : undefined;
}

/**
 * Allreduce of a large typed array on exactly 2 ranks: each sends its whole array as one message and combines
 * what arrives into that received buffer, which it owns and returns. Each rank moves the same bytes as the
 * ring (n each way) but in one step instead of two dependent ones (reduce-scatter, then allgather), and no
 * result array is allocated or copied into: at 64 MiB the fresh result's page faults and the gathered half's
 * copy cost more than overlapping the reduction with the transfer saves (measured against 1 and 4 MiB
 * segments combined into a fresh array). Both ranks combine lower rank first, so they hold the same bits.
 */
export async function pairAllreduce(ch: Channel, x: TypedArray, op: ReduceOp, ctx: ErrorContext): Promise<TypedArray> {
  const peer = 1 - ch.rank;
  const box = new Outbox(ch);
  box.post(x, peer);
  const got = expectTyped(await ch.recv(peer), ctorOf(x), x.length, ctx, peer);
  if (ch.rank === 0) combineInto(got, x, got, op, ctx);
  else combineInto(got, got, x, op, ctx);
  await box.flush();
  return got;
}
