// Collectives that move values without combining them: dissemination barrier, linear gather and scatter,
// Bruck allgather and pairwise-exchange alltoall. Typed arrays always travel as their own messages (raw
// frames, no copy) and are forwarded as the received views.

import { ProtocolError, type ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { isTypedArray, type TypedArray } from '../reduce-ops.js';
import { ctorByName, mod, Outbox } from './util.js';

/** Dissemination barrier: ceil(log2 p) rounds, in round k a token to r + 2^k and one from r - 2^k. */
export async function barrier(ch: Channel): Promise<void> {
  const p = ch.size, r = ch.rank;
  const box = new Outbox(ch);
  for (let d = 1; d < p; d *= 2) {
    box.post(0, mod(r + d, p));
    await ch.recv(mod(r - d, p));
  }
  await box.flush();
}

/** Linear gather: the root receives from every rank in rank order; the root's own value is kept as is. */
export async function gather(ch: Channel, value: unknown, root: number): Promise<unknown[] | undefined> {
  const p = ch.size, r = ch.rank;
  if (r !== root) {
    await ch.send(value, root);
    return undefined;
  }
  const out = new Array<unknown>(p);
  for (let q = 0; q < p; q++) out[q] = q === r ? value : await ch.recv(q);
  return out;
}

/** Linear scatter: the root sends values[q] to each rank q (caller checked values on the root). */
export async function scatter(ch: Channel, values: unknown[] | undefined, root: number): Promise<unknown> {
  const p = ch.size, r = ch.rank;
  if (r !== root) return ch.recv(root);
  const box = new Outbox(ch);
  for (let k = 1; k < p; k++) {
    const q = mod(root + k, p);
    box.post(values![q], q);
  }
  await box.flush();
  return values![r];
}

// A Bruck step opens with one header message, an entry per block: [INLINE, value] for a value that is not a
// typed array; [BYTES, type, bytes] for a typed array when the step is small (copied, one message in all);
// RAW when the typed array follows as its own message (large steps: raw frames, no copy). Typed arrays never
// ride inside msgpack as such, since the transport's msgpack need not keep their type.
const INLINE = 0;
const BYTES = 1;
const RAW = 2;

function toBytes(b: TypedArray): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

function fromBytes(name: unknown, bytes: Uint8Array, ctx: ErrorContext): TypedArray {
  const ctor = ctorByName(name, ctx);
  const out = new ctor(bytes.byteLength / new ctor(0).BYTES_PER_ELEMENT);
  toBytes(out).set(bytes); // copy: msgpack's bytes need not be aligned for the element type
  return out;
}

/**
 * Bruck allgather: in step k (distance d = 2^k) rank r sends the min(d, p - d) blocks it holds, starting with
 * its own, to r - d and receives as many from r + d. ceil(log2 p) steps for any p, and each rank sends every
 * block but its last once, p-1 blocks in all, the same volume as a ring. Since each rank's block may have a
 * different size, no rank could pick ring versus tree by size alone; Bruck needs no such choice.
 */
export async function allgather(ch: Channel, value: unknown, packBytes: number): Promise<unknown[]> {
  const p = ch.size, r = ch.rank;
  const ctx: ErrorContext = { rank: r, op: 'allgather' };
  const box = new Outbox(ch);
  const have: unknown[] = [value]; // have[i] is the block of rank r + i
  for (let d = 1; d < p; d *= 2) {
    const blocks = have.slice(0, Math.min(d, p - d));
    const bytes = blocks.reduce<number>((s, b) => s + (isTypedArray(b) ? b.byteLength : 0), 0);
    const small = bytes < packBytes;
    const to = mod(r - d, p), from = mod(r + d, p);
    box.post(blocks.map((b) => (!isTypedArray(b) ? [INLINE, b] : small ? [BYTES, b.constructor.name, toBytes(b)] : RAW)), to);
    for (const b of blocks) if (isTypedArray(b) && !small) box.post(b, to);
    const head = (await ch.recv(from)) as unknown[];
    for (const e of head) {
      if (e === RAW) have.push(await ch.recv(from));
      else if (Array.isArray(e) && e[0] === INLINE) have.push(e[1]);
      else if (Array.isArray(e) && e[0] === BYTES) have.push(fromBytes(e[1], e[2] as Uint8Array, { ...ctx, peer: from }));
      else throw new ProtocolError(`malformed allgather header entry ${String(JSON.stringify(e)).slice(0, 80)}`, { ...ctx, peer: from });
    }
  }
  await box.flush();
  const out = new Array<unknown>(p);
  for (let i = 0; i < p; i++) out[mod(r + i, p)] = have[i];
  return out;
}

/** Pairwise exchange: in step s (1..p-1) send to r + s and receive from r - s; got[r] is values[r] itself. */
export async function alltoall(ch: Channel, values: unknown[]): Promise<unknown[]> {
  const p = ch.size, r = ch.rank;
  const box = new Outbox(ch);
  const got = new Array<unknown>(p);
  got[r] = values[r];
  for (let s = 1; s < p; s++) {
    box.post(values[mod(r + s, p)], mod(r + s, p));
    const from = mod(r - s, p);
    got[from] = await ch.recv(from);
  }
  await box.flush();
  return got;
}
