// Shared memory among the ranks of one host, for the large collectives: this process's pool of segments, the
// mappings of peers' segments, and the probe by which a communicator agrees that every member can map them.
import { randomInt } from 'node:crypto';
import { CommError, type ErrorContext } from '../errors.js';
import type { Channel } from './channel.js';
import { Outbox, peersOf } from './collectives/util.js';
import { combineInto, type ReduceOp, type TypedArray } from './reduce-ops.js';
import { takeRecycled } from '../kernels/recycle.js';

/** Bytes before a segment's data: a magic number and the segment's random id, checked by every peer that maps it. */
export const HEADER_BYTES = 64;
const MAGIC = 0x44415348; // 'DASH'
/** A peer's segment named by [pid, fd, bytes, id0, id1]: what one rank tells the others so they can map it. */
export type SegmentDesc = [number, number, number, number, number];

/** A segment of this process. `busy` while a collective call uses it; free ones are reused by later calls. */
export interface OwnSegment {
  fd: number;
  buffer: ArrayBuffer;
  bytes: number;
  desc: SegmentDesc;
  busy: boolean;
}

type ShmApi = typeof import('../kernels/shm.js') & typeof import('../kernels/combine.js');
let api: ShmApi | undefined;
/** The addon is loaded on first use only, so that a job that never shares memory never loads it. */
async function shmApi(): Promise<ShmApi> {
  api ??= { ...(await import('../kernels/shm.js')), ...(await import('../kernels/combine.js')) };
  return api;
}

/**
 * Free segments kept for reuse: up to 4 whatever their size (the largest calls stay fast), and up to 16 while
 * they hold at most 48 MiB (point-to-point messages in flight each hold one: a factorization's burst of tile
 * sends takes a dozen); beyond that the smallest free one is given back.
 */
const KEEP_FREE = 4;
const KEEP_FREE_SMALL = 16;
const KEEP_FREE_BYTES = 48 * 2 ** 20;
/** Peers' mappings kept (least recently used go first); a peer replaces a segment only when it needs a larger one. */
const KEEP_MAPPED = 16;

const own: OwnSegment[] = [];
const mapped = new Map<string, ArrayBuffer>();

/**
 * Rounds up to 1/32 of the next power of two (at least 64 KiB): a little slack, so slowly growing arrays rarely
 * need new segments, but not much, since a segment is faulted in whole (a 2 MiB tile's is 2.06 MiB).
 */
function roundUp(bytes: number): number {
  const step = Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(bytes)) / 32);
  return Math.ceil(bytes / step) * step;
}

/** A free segment of at least `bytes` (after the header), made if none is free; marks it busy. */
export async function acquire(bytes: number): Promise<OwnSegment> {
  await shmApi();
  return acquireNow(bytes);
}

/** `acquire` once the addon is loaded (a probe that succeeded loaded it): synchronous, for sends in call order. */
export function acquireNow(bytes: number): OwnSegment {
  const need = HEADER_BYTES + bytes;
  let best: OwnSegment | undefined;
  for (const s of own) if (!s.busy && s.bytes >= need && (!best || s.bytes < best.bytes)) best = s;
  if (!best) {
    if (!api) throw new Error('the shared-memory addon is not loaded');
    const shm = api;
    const size = roundUp(need);
    const { fd, buffer } = shm.shmCreate(size);
    const id0 = randomInt(2 ** 32), id1 = randomInt(2 ** 32);
    new Uint32Array(buffer, 0, 4).set([MAGIC, id0, id1, 0]);
    best = { fd, buffer, bytes: size, desc: [process.pid, fd, size, id0, id1], busy: false };
    own.push(best);
  }
  best.busy = true;
  return best;
}

/** Ends a call's use of `seg`: free for the next call, or dropped when too many are free. */
export function release(seg: OwnSegment): void {
  seg.busy = false;
  const free = own.filter((s) => !s.busy);
  const freeBytes = free.reduce((sum, s) => sum + s.bytes, 0);
  if (free.length > KEEP_FREE && (free.length > KEEP_FREE_SMALL || freeBytes > KEEP_FREE_BYTES)) {
    discard(free.reduce((a, b) => (a.bytes <= b.bytes ? a : b)));
  }
}

/** Gives a segment up (never reused): peers that still map it keep the memory until they let go of it too. */
export function discard(seg: OwnSegment): void {
  const i = own.indexOf(seg);
  if (i < 0) return;
  own.splice(i, 1);
  api?.shmClose(seg.fd);
}

/** Drops this process's mapping of the pages of `view`, a peer's segment it has read (see kernels' unmapPages). */
export function unmapNow(view: ArrayBufferView): void {
  api?.unmapPages(view);
}

/** A count, process id or address received from a peer: a safe integer of at least `min` (a peer may send anything). */
export const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

/** Where `x`'s first byte lies in this process, for a peer's `readPeerNow` (once a probe found direct reads work). */
export function addressNow(x: ArrayBufferView): number {
  if (!api) throw new Error('the shared-memory addon is not loaded');
  return api.addressOf(x);
}

/** Copies the peer's bytes at `address` in process `pid` into `into`; CommError naming the peer when it cannot. */
export function readPeerNow(pid: number, address: number, into: ArrayBufferView, ctx: ErrorContext): void {
  if (!api) throw new CommError('shared memory is not set up on this rank', ctx);
  try {
    api.peerRead(pid, address, into);
  } catch (e) {
    throw new CommError(`cannot read the peer's array: ${(e as Error).message}`, ctx, { cause: e });
  }
}

/** Checks a descriptor received from a peer (any rank may be running other code: refuse rather than crash). */
function checkDesc(d: unknown, ctx: ErrorContext): SegmentDesc {
  if (Array.isArray(d) && d.length === 5 && d.every((v) => Number.isSafeInteger(v) && v >= 0) && d[2] > HEADER_BYTES) {
    return d as SegmentDesc;
  }
  throw new CommError(`malformed shared-memory segment descriptor ${String(JSON.stringify(d)).slice(0, 80)}`, ctx);
}

/**
 * The mapping of a peer's segment, whole (made once, then reused while the peer keeps that segment). Throws
 * CommError naming the peer when it cannot be opened or is not the segment announced.
 */
export async function mapPeer(d: unknown, ctx: ErrorContext): Promise<ArrayBuffer> {
  await shmApi();
  return mapPeerNow(d, ctx);
}

/** `mapPeer` once the addon is loaded: synchronous, for a message being received. */
export function mapPeerNow(d: unknown, ctx: ErrorContext): ArrayBuffer {
  const [pid, fd, bytes, id0, id1] = checkDesc(d, ctx);
  const key = `${pid}:${fd}:${id0}:${id1}`;
  let buf = mapped.get(key);
  if (buf) {
    mapped.delete(key); // re-inserted below: the Map's order is the use order
  } else {
    if (!api) throw new CommError('shared memory is not set up on this rank', ctx);
    const shm = api;
    const path = shm.shmPath(pid, fd);
    try {
      buf = shm.shmOpen(path, bytes);
    } catch (e) {
      throw new CommError(`cannot map the peer's shared memory: ${(e as Error).message}`, ctx, { cause: e });
    }
    const h = new Uint32Array(buf, 0, 3);
    if (h[0] !== MAGIC || h[1] !== id0 || h[2] !== id1) {
      throw new CommError(`${path} is not the shared-memory segment the peer announced`, ctx);
    }
    if (mapped.size >= KEEP_MAPPED) mapped.delete(mapped.keys().next().value!);
  }
  mapped.set(key, buf);
  return buf;
}

/** Results at least this large take memory that earlier, collected results gave back (else pre-faulted memory). */
const REUSE_BYTES = 1024 * 1024;
/** Arrays at least this large are pre-faulted before a collective fills them. */
const PREFAULT_BYTES = 256 * 1024;

/**
 * A new array for a collective's result or a received message, which the caller fills whole. Filling a fresh
 * 64 MiB array costs more in zero-fill and page faults than in the copy itself (30 ms against 12 on a VM): an
 * array takes the memory of a dead one of its size (`kernels.discard`) if there is one, else large ones reuse
 * the memory of earlier results once those are collected (up to 3 of this size kept), and any other is
 * pre-faulted.
 */
export function freshArray<T extends ArrayBufferView>(ctor: new (n: number) => T, n: number): T {
  const bytes = n * (ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  const buf = takeRecycled(bytes) ?? (api && bytes >= REUSE_BYTES ? api.allocReusable(bytes, Math.min(2 ** 30, 3 * bytes)) : undefined);
  if (buf) return new (ctor as unknown as new (b: ArrayBuffer, o: number, n: number) => T)(buf, 0, n);
  const a = new ctor(n);
  if (api && a.byteLength >= PREFAULT_BYTES) api.prefault(a);
  return a;
}

/** combineInto, in native code where it can be (a built-in op; the addon is loaded once a probe succeeded). */
export function combineFast(out: TypedArray, a: TypedArray, b: TypedArray, op: ReduceOp, ctx: ErrorContext): void {
  if (api && out.length === a.length && a.length === b.length && a.constructor === b.constructor && out.constructor === a.constructor
    && api.combineNative(op, out, a, b)) return;
  combineInto(out, a, b, op, ctx);
}

let warned = false;

/**
 * The shared-memory state of one communicator whose ranks all run on this host. Whether its members can map
 * each other's segments is probed once, collectively, by the first call that wants to; every member gets the
 * same answer, so every member then picks the same algorithm.
 */
export class LocalGroup {
  private probe?: Promise<boolean>;
  /** The probe's answer once it has one; undefined before. */
  known?: boolean;
  /**
   * Whether every member can also read every other's memory directly (`peerRead`), so a large message or broadcast
   * is copied once, from the sender's array into each receiver's, with no segment (DARRAY_SHM=segment turns it
   * off). Set with `known`.
   */
  direct = false;

  /** Collective on `ch` the first time (later calls on any channel of the communicator share that answer). */
  usable(ch: Channel): Promise<boolean> {
    this.probe ??= probe(ch).then(({ shared, direct }) => {
      this.direct = shared && direct;
      return (this.known = shared);
    });
    return this.probe;
  }
}

/** Whether the header at `address` in process `pid` reads as the one mapped from its segment (false if refused). */
function readsDirectly(pid: number, address: unknown, mapped: ArrayBuffer): boolean {
  if (!isCount(address, 1)) return false;
  const got = new Uint8Array(12);
  try {
    api!.peerRead(pid, address, got);
  } catch {
    return false; // ptrace rules or a seccomp filter forbid it: segments still work
  }
  return Buffer.compare(got, new Uint8Array(mapped, 0, 12)) === 0;
}

/**
 * Every rank makes (or reuses) a small segment and sends its descriptor, and the address of the segment's header
 * in its own memory, to every peer; each maps every peer's segment, reads the header at that address, and sends
 * back whether each worked; the group shares memory (reads directly) only if every member could do so with every
 * other.
 */
async function probe(ch: Channel): Promise<{ shared: boolean; direct: boolean }> {
  const ctx: ErrorContext = { rank: ch.rank, op: 'shared-memory probe' };
  let seg: OwnSegment | undefined;
  let why = '';
  let direct = process.env.DARRAY_SHM !== 'segment';
  if (process.env.DARRAY_SHM === '0') why = 'off (DARRAY_SHM=0)';
  else {
    try {
      seg = await acquire(4096);
    } catch (e) {
      why = (e as Error).message;
    }
  }
  try {
    const peers = peersOf(ch);
    const box = new Outbox(ch);
    const header = seg && api ? addressNow(new Uint8Array(seg.buffer, 0, 12)) : 0;
    for (const q of peers) box.post(seg ? [seg.desc, header] : null, q);
    for (const q of peers) {
      const d = await ch.recv(q);
      if (why || d === null) continue; // a member that cannot share says so in its own answer
      try {
        const [desc, address] = d as [unknown, unknown];
        const mapped = await mapPeer(desc, { ...ctx, peer: q });
        if (direct) direct = readsDirectly(checkDesc(desc, ctx)[0], address, mapped);
      } catch (e) {
        why = (e as Error).message;
      }
    }
    for (const q of peers) box.post([why === '', direct], q);
    let all = why === '';
    for (const q of peers) {
      const answer = await ch.recv(q);
      all = Array.isArray(answer) && answer[0] === true && all;
      direct = Array.isArray(answer) && answer[1] === true && direct;
    }
    await box.flush();
    if (why && !warned && process.env.DARRAY_SHM !== '0') {
      warned = true;
      process.stderr.write(`[rank ${ch.rank}] darray: no shared memory among the ranks (${why}); large messages and collectives use the sockets\n`);
    }
    return { shared: all, direct: all && direct };
  } finally {
    if (seg) release(seg);
  }
}
