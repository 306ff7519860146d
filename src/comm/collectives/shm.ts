// Large reductions and broadcasts through shared memory among the ranks of one host (what Open MPI's shared-memory
// collectives do): each rank copies its array into its own segment once and peers read it there; messages only synchronise.

import { CommError, type ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { isTypedArray, type ReduceOp, type TypedArray } from '../reduce-ops.js';
import {
  acquire, addressNow, combineFast, discard, freshArray, HEADER_BYTES, isCount, mapPeer, readPeerNow, release,
  type OwnSegment, type SegmentDesc,
} from '../shm.js';
import { chunk, ctorByName, intoIf, Outbox, peersOf, tuning } from './util.js';

type ViewCtor = (new (buffer: ArrayBuffer, byteOffset: number, length: number) => TypedArray) & (new (n: number) => TypedArray);
const align = (bytes: number): number => Math.ceil(bytes / 64) * 64;

/** dst.set(src, at) for two arrays of one type: a plain copy. */
function put(dst: TypedArray, src: TypedArray, at = 0): void {
  (dst as Float64Array).set(src as Float64Array, at);
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

/** Bytes per block of the chunk reduction: a block's partial result stays in cache while every input is added. */
const BLOCK_BYTES = 128 * 1024;

/**
 * Reduce (to `root`) or allreduce (`root` < 0) of a typed array. Rank r combines chunk r (`chunk(n, p, r)`) of
 * every rank's input, so each rank copies into its segment only the chunks the others combine, and combines
 * its own chunk straight from its input. It combines in rank order, block by block (a block's partial result
 * stays in cache), into its segment's result area, and copies each block to its own result as it goes. After
 * a step the other chunks are copied out of the others' result areas; a last step frees the segments for
 * reuse. Each chunk is combined by one rank only, so every rank holds the same bits: those of the serial fold
 * over the ranks in order.
 */
export async function shmReduce(
  ch: Channel, x: TypedArray, op: ReduceOp, root: number, ctx: ErrorContext,
): Promise<TypedArray | undefined> {
  const p = ch.size, r = ch.rank, n = x.length, bpe = x.BYTES_PER_ELEMENT;
  const ctor = x.constructor as ViewCtor;
  const wants = root < 0 || r === root;
  // The same layout on every rank (same n and p): [header | input, n elements | result, up to ceil(n/p)].
  const inBytes = align(n * bpe);
  const resAt = HEADER_BYTES + inBytes;
  return withSegment(inBytes + align(Math.ceil(n / p) * bpe), async (seg) => {
    const box = new Outbox(ch);
    const [lo, hi] = chunk(n, p, r);
    const mine = new ctor(seg.buffer, HEADER_BYTES, n);
    put(mine, x.subarray(0, lo));
    put(mine, x.subarray(hi), hi);
    for (const q of peersOf(ch)) box.post([seg.desc, ctor.name, n], q);
    const bufs = new Array<ArrayBuffer>(p);
    for (const q of peersOf(ch)) bufs[q] = await peerInput(ch, q, ctor.name, n, ctx);

    const out = wants ? freshArray(ctor, n) : undefined;
    const step = Math.max(1, Math.floor(BLOCK_BYTES / bpe));
    for (let a = lo; a < hi; a += step) {
      const b = Math.min(hi, a + step);
      const input = (q: number) => (q === r ? x.subarray(a, b) : new ctor(bufs[q], HEADER_BYTES + a * bpe, b - a));
      const res = new ctor(seg.buffer, resAt + (a - lo) * bpe, b - a);
      combineFast(res, input(0), input(1), op, ctx);
      for (let q = 2; q < p; q++) combineFast(res, res, input(q), op, ctx);
      if (out) put(out, res, a);
    }
    // Every result area is complete once every rank that wants the result has heard so from its owner.
    if (root < 0) await allToAll(ch, box);
    else if (r !== root) box.post(0, root);
    else for (const q of peersOf(ch)) await ch.recv(q);
    if (out) {
      for (const q of peersOf(ch)) {
        const [a, b] = chunk(n, p, q);
        put(out, new ctor(bufs[q], HEADER_BYTES + inBytes, b - a), a);
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

export interface ShmBcast {
  /** What the envelope carries after SHM ([type name, length, segment, elements per block]) or DIRECT ([type
   *  name, length, process id, address]). */
  envelope: [string, number, SegmentDesc, number] | [string, number, number, number];
  /** Copies in the blocks after the first, telling every rank as each one lands (after the envelope went out). */
  rest: (box: Outbox) => void;
  /** Waits until every rank has the array, then frees the segment. */
  finish: () => Promise<void>;
}

/** The root's side of a shared-memory bcast: the first block of `x` copied into a segment; the rest follows. */
export async function shmBcastPublish(ch: Channel, x: TypedArray): Promise<ShmBcast> {
  const seg = await acquire(align(x.byteLength));
  const dst = new (x.constructor as ViewCtor)(seg.buffer, HEADER_BYTES, x.length);
  // Blocks of a pipeline segment: receivers copy block k out while the root copies block k+1 in.
  const step = Math.max(1, Math.floor(tuning.segmentBytes / x.BYTES_PER_ELEMENT));
  put(dst, x.subarray(0, step));
  const rest = (box: Outbox): void => {
    const peers = peersOf(ch);
    for (let a = step, k = 1; a < x.length; a += step, k++) {
      put(dst, x.subarray(a, a + step), a);
      for (const q of peers) box.post(k, q);
    }
  };
  const finish = async (): Promise<void> => {
    try {
      for (const q of peersOf(ch)) await ch.recv(q);
    } catch (e) {
      discard(seg);
      throw e;
    }
    release(seg);
  };
  return { envelope: [x.constructor.name, x.length, seg.desc, step], rest, finish };
}

/**
 * A non-root's side of a shared-memory bcast: the root's array copied out of its segment block by block, each
 * once the root says it has landed; then the root is told.
 */
export async function shmBcastFetch(
  ch: Channel, envelope: unknown[], root: number, ctx: ErrorContext, into?: TypedArray,
): Promise<TypedArray> {
  const ctor = ctorByName(envelope[0], ctx) as ViewCtor;
  const [, n, desc, step] = envelope;
  if (!isCount(n, 0) || !isCount(step, 1)) {
    throw new CommError(`malformed shared-memory bcast envelope (length ${String(n)}, block ${String(step)})`, { ...ctx, peer: root });
  }
  const buf = await mapPeer(desc, { ...ctx, peer: root });
  const src = new ctor(buf, HEADER_BYTES, n);
  // Straight into the caller's array when it has the type and length (else the caller reports the mismatch).
  const out = intoIf(into, ctor, n) ?? freshArray(ctor, n);
  for (let a = 0, k = 0; a < n; a += step, k++) {
    if (k > 0) {
      const got = await ch.recv(root);
      if (got !== k) throw new CommError(`expected notice of block ${k} from the root, got ${String(JSON.stringify(got)).slice(0, 40)}`, { ...ctx, peer: root });
    }
    put(out, src.subarray(a, a + step), a);
  }
  await ch.send(0, root);
  return out;
}

/**
 * The root's side of a direct bcast (the group reads each other's memory): no copy at all. The envelope names
 * `x` by this process's id and the array's address; `finish` waits until every rank has read it, and until then
 * the caller keeps `x` alive and unchanged, as for any bcast.
 */
export function directBcastPublish(ch: Channel, x: TypedArray): ShmBcast {
  const finish = async (): Promise<void> => {
    for (const q of peersOf(ch)) await ch.recv(q);
  };
  return { envelope: [x.constructor.name, x.length, process.pid, addressNow(x)], rest: () => undefined, finish };
}

/** A non-root's side of a direct bcast: the root's array read straight into ours, in one copy; then the root is told. */
export async function directBcastFetch(
  ch: Channel, envelope: unknown[], root: number, ctx: ErrorContext, into?: TypedArray,
): Promise<TypedArray> {
  const ctor = ctorByName(envelope[0], ctx) as ViewCtor;
  const [, n, pid, address] = envelope;
  if (!isCount(n, 0) || !isCount(pid, 1) || !isCount(address, 1)) {
    throw new CommError(`malformed direct bcast envelope (length ${String(n)}, process ${String(pid)})`, { ...ctx, peer: root });
  }
  const out = intoIf(into, ctor, n) ?? freshArray(ctor, n);
  readPeerNow(pid, address, out, { ...ctx, peer: root });
  await ch.send(0, root);
  return out;
}

/** Whether a value may take the shared-memory path at all (typed, large enough), before asking the group. */
export function shmEligible(value: unknown, minBytes: number): value is TypedArray {
  return isTypedArray(value) && value.byteLength >= minBytes && value.byteLength > 0;
}
