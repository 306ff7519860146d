// Broadcast: a binomial tree for small values and any msgpack value; for large typed arrays, when all ranks share a
// host, the root's array read directly by each rank (or the root's shared segment where that is refused), else on
// 3+ ranks a pipelined chain (about n/bandwidth plus one segment per hop).

import { CommError, ProtocolError, type ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { describe, isTypedArray, type TypedArray } from '../reduce-ops.js';
import { directBcastFetch, directBcastPublish, shmBcastFetch, shmBcastPublish, shmEligible } from './shm.js';
import { ctorByName, expectTyped, intoIf, mod, Outbox, segments, tuning } from './util.js';

// Only the root knows the value, so the tree carries an envelope saying what follows: a typed array travels
// bare (raw frames, zero copy); anything else as [SMALL, value]; a large typed array as [CHAIN, type, length], or
// as [SHM, type, length, segment, block] once its first block sits in the root's shared segment, or as [DIRECT, type,
// length, pid, address] where ranks read each other's memory. [PROBE] asks every rank to find out first whether
// the communicator can share memory, and then to run the bcast again.
const SMALL = 0;
const CHAIN = 1;
const SHM = 2;
const PROBE = 3;
const DIRECT = 4;

/** `into` (non-roots only): where the root's typed array lands, when it has that type and length. */
export async function bcast<T>(ch: Channel, value: T, root: number, ctx: ErrorContext, into?: TypedArray): Promise<T> {
  const p = ch.size, r = ch.rank;
  if (p === 1) return value;
  const vr = mod(r - root, p);
  const box = new Outbox(ch);
  let msg: unknown;
  let published: Awaited<ReturnType<typeof shmBcastPublish>> | undefined;
  if (vr === 0 && ch.local && ch.local.known !== false && shmEligible(value, tuning.shmBytes)) {
    if (ch.local.known && ch.local.direct) {
      published = directBcastPublish(ch, value);
      msg = [DIRECT, ...published.envelope];
    } else if (ch.local.known) {
      published = await shmBcastPublish(ch, value);
      msg = [SHM, ...published.envelope];
    } else msg = [PROBE];
  } else if (vr === 0) {
    const chain = isTypedArray(value) && p > 2 && value.byteLength >= tuning.bcastChainBytes;
    msg = chain ? [CHAIN, value.constructor.name, value.length] : isTypedArray(value) ? value : [SMALL, value];
  }
  // Binomial tree (MPICH): receive from the parent that differs in the lowest set bit, send to children below.
  let mask = 1;
  while (mask < p) {
    if (vr & mask) {
      const parent = mod(r - mask, p);
      msg = await ch.recv(parent);
      break;
    }
    mask <<= 1;
  }
  for (mask >>= 1; mask > 0; mask >>= 1) {
    if (vr + mask < p) box.post(msg, mod(r + mask, p));
  }
  let result: unknown;
  if (isTypedArray(msg)) result = msg;
  else if (Array.isArray(msg) && msg[0] === SHM) {
    if (published) published.rest(box);
    result = vr === 0 ? value : await shmBcastFetch(ch, msg.slice(1), root, ctx, into);
  } else if (Array.isArray(msg) && msg[0] === DIRECT) {
    result = vr === 0 ? value : await directBcastFetch(ch, msg.slice(1), root, ctx, into);
  } else if (Array.isArray(msg) && msg[0] === PROBE && ch.local) {
    await box.flush();
    await ch.local.usable(ch);
    return bcast(ch, value, root, ctx, into);
  } else if (Array.isArray(msg) && msg[0] === SMALL) result = msg[1];
  else if (Array.isArray(msg) && msg[0] === CHAIN) {
    result = await chain(ch, vr === 0 ? (value as TypedArray) : undefined, msg, root, ctx, box, into);
  } else {
    // Only a rank running other code (or another version) sends something else.
    throw new ProtocolError(`malformed bcast envelope ${String(JSON.stringify(msg)).slice(0, 80)}`, ctx);
  }
  await box.flush();
  await published?.finish();
  // Checked only now: a rank whose `into` does not fit still passed the value on and released the root.
  return (into ? land(into, result, root, ctx) : result) as T;
}

/** The received value in `into`: the array itself when it was received there, else copied in if it fits. */
function land(into: TypedArray, got: unknown, root: number, ctx: ErrorContext): TypedArray {
  if (got === into) return into;
  if (isTypedArray(got) && intoIf(into, got.constructor, got.length)) {
    (into as Float64Array).set(got as Float64Array);
    return into;
  }
  throw new CommError(`into is ${describe(into)} but the root broadcast ${describe(got)}`, { ...ctx, peer: root });
}

/**
 * Pipelined chain root -> root+1 -> ... -> root-1: each rank forwards a segment as soon as it has it. The root
 * passes its array `x` and gets it back; the others get the assembled array.
 */
async function chain(
  ch: Channel, x: TypedArray | undefined, header: unknown[], root: number, ctx: ErrorContext, box: Outbox,
  into?: TypedArray,
): Promise<TypedArray> {
  const p = ch.size, vr = mod(ch.rank - root, p);
  const ctor = ctorByName(header[1], ctx);
  const n = header[2] as number;
  const next = vr + 1 < p ? mod(ch.rank + 1, p) : -1;
  const prev = mod(ch.rank - 1, p);
  // The pipeline fills in p-2 segment times: keep that under half the payload's own time by shrinking the
  // segments on long chains (down to 64 KiB, below which per-message costs dominate).
  const bpe = new ctor(0).BYTES_PER_ELEMENT;
  const fill = Math.floor((n * bpe) / (2 * Math.max(1, p - 2)));
  const segs = segments(0, n, bpe, Math.min(tuning.segmentBytes, Math.max(64 * 1024, fill)));
  if (x) {
    for (const [a, b] of segs) box.post(x.subarray(a, b), next);
    return x;
  }
  // One segment: the received buffer is the result, no copy. Several: assemble them (in `into` if it fits).
  const out = segs.length === 1 ? undefined : intoIf(into, ctor, n) ?? new ctor(n);
  let only: TypedArray | undefined;
  for (const [a, b] of segs) {
    const got = expectTyped(await ch.recv(prev), ctor, b - a, ctx, prev);
    if (next >= 0) box.post(got, next);
    if (out) (out as Float64Array).set(got as Float64Array, a);
    else only = got;
  }
  return out ?? only ?? new ctor(0);
}
