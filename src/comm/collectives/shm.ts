// Large reductions and broadcasts through shared memory among the ranks of one host (what Open MPI's shared-memory
// collectives do): each rank copies its array into its own segment once and peers read it there; messages only synchronise.

import { CommError, type ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { isTypedArray, type ReduceOp, type TypedArray } from '../reduce-ops.js';
import { acquire, combineFast, discard, freshArray, HEADER_BYTES, mapPeer, release, type OwnSegment, type SegmentDesc } from '../shm.js';
import { chunk, ctorByName, Outbox } from './util.js';

type ViewCtor = (new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray) & (new (n: number) => TypedArray);
const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** dst.set(src, at) for two arrays of one type: a plain copy. */
function put(dst: TypedArray, src: TypedArray, at = 0): void {
  (dst as Float64Array).set(src as Float64Array, at);
}

function peersOf(ch: Channel): number[] {
  return Array.from({ length: ch.size }, (_, q) => q).filter((q) => q !== ch.rank);
}

/** One synchronisation step: a token to every peer, then one from every peer. */
async function allToAll(ch: Channel, box: Outbox): Promise<void> {
  const peers = peersOf(ch);
  for (const q of peers) box.post(0, q);
  for (const q of peers) await ch.recv(q);
}

/**
 * Runs `body` on a segment of at least `bytes`; the segment goes back to the pool after a clean run. After a
 * failure a peer may still read it, so it is given up instead of reused.
 */
async function withSegment<T>(bytes: number, body: (seg: OwnSegment) => Promise<T>): Promise<T> {
  const seg = await acquire(bytes);
  let result: T;
  try {
    result = await body(seg);
  } catch (e) {
    discard(seg);
    throw e;
  }
  release(seg);
  return result;
}

/**
 * Reduce (to `root`) or allreduce (`root` < 0) of a typed array. Each rank copies its input into its segment and
 * tells every peer where it is. On 2 ranks each rank that needs the result then combines the two inputs itself,
 * lower rank first: the same operation on the same operands, so the same bits, with less memory traffic and one
 * step fewer than splitting the work. On 3+ ranks rank r combines chunk r of all inputs, in rank order, into its
 * segment's result area, and after a second step the result is copied out of those areas; each chunk is combined
 * by one rank only, so every rank holds the same bits. Either way the bits are those of the serial fold over the
 * ranks in order. A last step frees the segments for reuse.
 */
export async function shmReduce(
  ch: Channel, x: TypedArray, op: ReduceOp, root: number, ctx: ErrorContext,
): Promise<TypedArray | undefined> {
  const p = ch.size, r = ch.rank, n = x.length, bpe = x.BYTES_PER_ELEMENT;
  const ctor = x.constructor as ViewCtor;
  const whole = p === 2;
  const wants = root < 0 || r === root;
  // The same layout on every rank (same n and p): [header | input, n elements | result, up to ceil(n/p)].
  const inBytes = align(n * bpe);
  const resAt = HEADER_BYTES + inBytes;
  return withSegment(inBytes + (whole ? 0 : align(Math.ceil(n / p) * bpe)), async (seg) => {
    const box = new Outbox(ch);
    put(new ctor(seg.buffer, HEADER_BYTES, n), x);
    for (const q of peersOf(ch)) box.post([seg.desc, ctor.name, n], q);
    const bufs = new Array<ArrayBuffer>(p);
    bufs[r] = seg.buffer;
    for (const q of peersOf(ch)) bufs[q] = await peerInput(ch, q, ctor.name, n, ctx);
    const input = (q: number, lo: number, hi: number) => new ctor(bufs[q], HEADER_BYTES + lo * bpe, hi - lo);

    let out: TypedArray | undefined;
    if (whole) {
      if (wants) {
        out = freshArray(ctor, n);
        combineFast(out, input(0, 0, n), input(1, 0, n), op, ctx);
      }
    } else {
      const [lo, hi] = chunk(n, p, r);
      const res = new ctor(seg.buffer, resAt, hi - lo);
      combineFast(res, input(0, lo, hi), input(1, lo, hi), op, ctx);
      for (let q = 2; q < p; q++) combineFast(res, res, input(q, lo, hi), op, ctx);
      await allToAll(ch, box);
      if (wants) {
        out = freshArray(ctor, n);
        for (let q = 0; q < p; q++) {
          const [a, b] = chunk(n, p, q);
          put(out, new ctor(bufs[q], resAt, b - a), a);
        }
      }
    }
    // Our segment is read by every rank that wants the result: free once they all have it.
    if (root < 0) await allToAll(ch, box);
    else if (r === root) for (const q of peersOf(ch)) box.post(0, q);
    else await ch.recv(root);
    await box.flush();
    return out;
  });
}

/** Rank q's first message: its segment, mapped here, after checking that it holds the same type and length. */
async function peerInput(ch: Channel, q: number, type: string, n: number, ctx: ErrorContext): Promise<ArrayBuffer> {
  const m = await ch.recv(q);
  if (!Array.isArray(m) || m.length !== 3 || m[1] !== type || m[2] !== n) {
    const what = Array.isArray(m) && m.length === 3 ? `${String(m[1])}(${String(m[2])})` : typeof m;
    throw new CommError(`expected ${type}(${n}) from rank ${q}, got ${what}: every rank must pass the same type and length`, { ...ctx, peer: q });
  }
  return mapPeer(m[0], { ...ctx, peer: q });
}

/** The root's side of a shared-memory bcast: `x` copied into a segment; `finish` frees it once every rank has it. */
export async function shmBcastPublish(ch: Channel, x: TypedArray): Promise<{ envelope: [string, number, SegmentDesc]; finish: () => Promise<void> }> {
  const seg = await acquire(align(x.byteLength));
  put(new (x.constructor as ViewCtor)(seg.buffer, HEADER_BYTES, x.length), x);
  const finish = async (): Promise<void> => {
    try {
      for (const q of peersOf(ch)) await ch.recv(q);
    } catch (e) {
      discard(seg);
      throw e;
    }
    release(seg);
  };
  return { envelope: [x.constructor.name, x.length, seg.desc], finish };
}

/** A non-root's side of a shared-memory bcast: the root's array copied out of its segment; then the root is told. */
export async function shmBcastFetch(ch: Channel, envelope: unknown[], root: number, ctx: ErrorContext): Promise<TypedArray> {
  const ctor = ctorByName(envelope[0], ctx) as ViewCtor;
  const n = envelope[1];
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new CommError(`malformed shared-memory bcast length ${String(n)}`, { ...ctx, peer: root });
  const buf = await mapPeer(envelope[2], { ...ctx, peer: root });
  const out = freshArray(ctor, n);
  put(out, new ctor(buf, HEADER_BYTES, n));
  await ch.send(0, root);
  return out;
}

/** Whether a value may take the shared-memory path at all (typed, large enough), before asking the group. */
export function shmEligible(value: unknown, minBytes: number): value is TypedArray {
  return isTypedArray(value) && value.byteLength >= minBytes && value.byteLength > 0;
}
