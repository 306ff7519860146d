// Point-to-point messages through shared memory between the ranks of one host: the sender stages a typed array in
// a segment of its own (SharedOutbox), the message names the segment, the receiver copies it out (landShared) and
// acks, which frees the segment. Used once the world's probe at init found that every rank can map every other's.
// Where every rank can also read every other's memory directly, nothing is staged: the message names the array
// itself (process and address), the receiver reads it straight into its own, and the ack frees the sender to
// change it.
import { ProtocolError } from '../errors.js';
import { allocateRecyclable } from '../kernels/recycle.js';
import {
  acquireNow, addressNow, discard as discardSegment, HEADER_BYTES, isCount, mapPeerNow, readPeerNow,
  release as releaseSegment, unmapNow, type OwnSegment, type SegmentDesc,
} from './shm.js';
import { decodeShared, dtypeOf, type AnyTypedArray, type Header } from './wire.js';

/**
 * Between ranks that share memory, typed arrays of this many bytes and up (to 1 GiB) travel through the sender's
 * shared-memory segment: one copy in, one copy out into recycled memory, where a socket costs the kernel's two
 * copies, zmq's work and a fresh buffer per message (faulted in page by page): 4x the CPU for 2 MiB tiles.
 */
export const SHARED_FROM = 256 * 1024;
const SHARED_UP_TO = 2 ** 30;
/** Bytes of this rank's segments busy with sends at most; further sends use the socket until acks free some. */
const SHARED_IN_FLIGHT = 32 * 2 ** 20;

/** Whether `data` is a typed array of a size that travels through shared memory (Buffers never do). */
export function travelsShared(data: unknown): data is AnyTypedArray {
  if (dtypeOf(data) < 0 || Buffer.isBuffer(data)) return false;
  const bytes = (data as AnyTypedArray).byteLength;
  return bytes >= SHARED_FROM && bytes <= SHARED_UP_TO;
}

/** Where a directly read array lies: [pid, address] (a segment's descriptor has five numbers). */
type DirectDesc = [number, number];

/** One send's hold on a staged array: the segment (or array) to name, and what to call when that send has ended. */
export interface Staged {
  desc: SegmentDesc | DirectDesc;
  done(failed: boolean): void;
}

/** The sender's side: this rank's segments that hold arrays being sent. */
export class SharedOutbox {
  /** Arrays whose shared-memory sends are in flight: their segment and how many sends still use it. */
  private readonly out = new WeakMap<AnyTypedArray, { seg: OwnSegment; users: number; failed: boolean }>();
  private busy = 0;
  /** Messages sent through shared memory so far. */
  sent = 0;
  /** Receivers read arrays straight from this process's memory: nothing is staged (set once by init). */
  direct = false;

  /**
   * Stages `ta` for one more send: copied into a segment of this rank, or the segment it is already in. The same
   * array sent to several peers at once is copied once: until its sends complete the caller may not change it,
   * so they all name one segment, free again after the last `done`. Undefined when no segment can be had. With
   * `direct`, nothing is copied: the send names the array itself.
   */
  stage(ta: AnyTypedArray): Staged | undefined {
    if (this.direct) {
      // The send's promise keeps `ta` alive, and the caller keeps it unchanged, until the receiver's ack.
      this.sent++;
      return { desc: [process.pid, addressNow(ta)], done: () => undefined };
    }
    let use = this.out.get(ta);
    if (!use) {
      if (this.busy + ta.byteLength > SHARED_IN_FLIGHT) return undefined;
      let seg: OwnSegment;
      try {
        seg = acquireNow(ta.byteLength);
      } catch {
        return undefined;
      }
      new Uint8Array(seg.buffer, HEADER_BYTES, ta.byteLength).set(new Uint8Array(ta.buffer, ta.byteOffset, ta.byteLength));
      use = { seg, users: 0, failed: false };
      this.out.set(ta, use);
      this.busy += ta.byteLength;
    }
    const held = use;
    held.users++;
    this.sent++;
    const done = (failed: boolean): void => {
      held.failed ||= failed;
      if (--held.users > 0) return;
      if (this.out.get(ta) === held) this.out.delete(ta);
      this.busy -= ta.byteLength;
      if (held.failed) discardSegment(held.seg); // a peer given up on may still read it: never reuse it
      else releaseSegment(held.seg);
    };
    return { desc: held.seg.desc, done };
  }
}

/**
 * The array a Kind.Shared message names, copied out of the sender's segment (mapped once, then cached), or read
 * straight from the sender's memory.
 */
export function landShared(h: Header, rank: number): AnyTypedArray {
  const { segment, ctor, bytes } = decodeShared(h, rank);
  const ctx = { rank, op: 'receive', peer: h.src, tag: h.tag };
  // Memory that kernels.discard can recycle once the receiver is done with the array (a received tile).
  const fresh = () => new (ctor as unknown as new (b: ArrayBuffer, o: number, n: number) => AnyTypedArray)(allocateRecyclable(bytes), 0, h.length);
  if (Array.isArray(segment) && segment.length === 2) {
    const [pid, address] = segment as unknown[];
    if (!isCount(pid, 1) || !isCount(address, 1)) {
      throw new ProtocolError(`malformed message: array at ${String(JSON.stringify(segment)).slice(0, 60)}`, ctx);
    }
    const out = fresh();
    readPeerNow(pid, address, out, ctx);
    return out;
  }
  const buf = mapPeerNow(segment, ctx);
  if (HEADER_BYTES + bytes > buf.byteLength) {
    throw new ProtocolError(`malformed message: ${bytes} bytes announced in a shared segment of ${buf.byteLength}`, ctx);
  }
  const out = fresh();
  const src = new Uint8Array(buf, HEADER_BYTES, bytes);
  new Uint8Array(out.buffer, out.byteOffset, bytes).set(src);
  // The owner's resident size counts the segment; ours would count it again until it is reused.
  unmapNow(src);
  return out;
}
