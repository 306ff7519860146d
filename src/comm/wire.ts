// Wire format of darray messages: a multipart ZeroMQ message [msgpack header, raw frames...]. Pure functions,
// no sockets: typed arrays travel as their own frames (chunked past 1 GiB), anything else as msgpack.
import { Packr } from 'msgpackr';
import { ProtocolError } from '../errors.js';

/** Version of the header layout; a peer speaking another version is refused. */
export const WIRE_VERSION = 1;
/** Largest single frame: bigger payloads are split, so messages of several GiB pass Node's and zmq's limits. */
export const CHUNK_BYTES = 2 ** 30;
/** zeromq.js copies frames up to this size itself (its zero-copy threshold), so smaller ones need no copy of ours. */
export const ZMQ_COPIES_UP_TO = 128;
/** Default cap on one message's declared payload (64 GiB): a header claiming more is refused before any allocation. */
export const DEFAULT_MAX_BYTES = 2 ** 36;

/** What a message is: user/collective data (a msgpack value or a typed array) or transport control. */
export enum Kind {
  Value = 0,
  Typed = 1,
  Bye = 2,
  Heartbeat = 3, // reserved: liveness is watched by ZMTP heartbeats on the control stream
  Ack = 4,
}
const KIND_MAX = 4;

/** Every typed-array constructor the wire knows, by dtype code. Buffer is its own code so it arrives as a Buffer. */
type TypedCtor =
  | Int8ArrayConstructor | Uint8ArrayConstructor | Uint8ClampedArrayConstructor | Int16ArrayConstructor
  | Uint16ArrayConstructor | Int32ArrayConstructor | Uint32ArrayConstructor | Float32ArrayConstructor
  | Float64ArrayConstructor | BigInt64ArrayConstructor | BigUint64ArrayConstructor;
const DTYPES: TypedCtor[] = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];
const DTYPE_BUFFER = DTYPES.length; // Node Buffer: bytes, arrives as Buffer

export type AnyTypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** The header every message carries: who, where, which (job, epoch, sequence) and how the body is laid out. */
export interface Header {
  job: number; // 32-bit hash of the job id: mail from another job is refused
  epoch: number; // incarnation of the job: a restarted rank never reads its predecessor's mail
  ctx: number; // communicator context id
  src: number; // sender's world rank
  tag: number;
  seq: number; // per (sender, receiver) sequence number, also what an Ack acknowledges
  kind: Kind;
  dtype: number; // typed-array code (Kind.Typed), else 0
  length: number; // elements (Kind.Typed) or body bytes (Kind.Value)
  nframes: number; // body frames after the header
}
const HEADER_FIELDS = 11;

const packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'bigint' } as ConstructorParameters<typeof Packr>[0]);

/**
 * msgpack encoding of a header: an array of 11 unsigned integers, written by hand because this runs for every
 * message (msgpackr would allocate and copy more). The bytes are plain msgpack; any decoder can read them.
 */
export function encodeHeader(h: Header): Buffer {
  const vals = [WIRE_VERSION, h.job, h.epoch, h.ctx, h.src, h.tag, h.seq, h.kind, h.dtype, h.length, h.nframes];
  const b = Buffer.allocUnsafe(1 + HEADER_FIELDS * 9);
  let o = 0;
  b[o++] = 0x90 | HEADER_FIELDS; // fixarray
  for (const v of vals) {
    if (v < 0x80) b[o++] = v;
    else if (v < 0x100) {
      b[o++] = 0xcc;
      b[o++] = v;
    } else if (v < 0x10000) {
      b[o++] = 0xcd;
      o = b.writeUInt16BE(v, o);
    } else if (v < 0x100000000) {
      b[o++] = 0xce;
      o = b.writeUInt32BE(v, o);
    } else {
      b[o++] = 0xcf;
      o = b.writeUInt32BE(Math.floor(v / 0x100000000), o);
      o = b.writeUInt32BE(v >>> 0, o);
    }
  }
  return b.subarray(0, o);
}

/** Fast path of header decoding for the layout encodeHeader writes; undefined when the bytes differ from it. */
function readHeaderFields(f: Uint8Array): number[] | undefined {
  if (f[0] !== (0x90 | HEADER_FIELDS)) return undefined;
  const out = new Array<number>(HEADER_FIELDS);
  const n = f.byteLength;
  let o = 1;
  for (let i = 0; i < HEADER_FIELDS; i++) {
    if (o >= n) return undefined;
    const t = f[o++];
    if (t < 0x80) out[i] = t;
    else if (t === 0xcc && o + 1 <= n) out[i] = f[o++];
    else if (t === 0xcd && o + 2 <= n) {
      out[i] = (f[o] << 8) | f[o + 1];
      o += 2;
    } else if (t === 0xce && o + 4 <= n) {
      out[i] = f[o] * 0x1000000 + ((f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]);
      o += 4;
    } else if (t === 0xcf && o + 8 <= n) {
      const hi = f[o] * 0x1000000 + ((f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]);
      const lo = f[o + 4] * 0x1000000 + ((f[o + 5] << 16) | (f[o + 6] << 8) | f[o + 7]);
      out[i] = hi * 0x100000000 + lo; // may exceed 2^53: the range checks below refuse it
      o += 8;
    } else return undefined;
  }
  return o === n ? out : undefined;
}

/** A body ready for the wire: frames, and whether they alias the caller's memory (so the sender must wait). */
export interface Body {
  kind: Kind.Value | Kind.Typed;
  dtype: number;
  length: number;
  frames: Buffer[];
  aliases: boolean;
}

/** The dtype code of a typed array, or -1 when `x` is not one the wire carries raw. */
export function dtypeOf(x: unknown): number {
  if (!ArrayBuffer.isView(x) || x instanceof DataView) return -1;
  if (Buffer.isBuffer(x)) return DTYPE_BUFFER;
  for (let i = 0; i < DTYPES.length; i++) if (x.constructor === DTYPES[i]) return i;
  // a subclass of a typed array: travel as its base type
  for (let i = 0; i < DTYPES.length; i++) if (x instanceof DTYPES[i]) return i;
  return -1;
}

/** Views of at most CHUNK_BYTES over a byte range: no view ever spans more than Node's 4 GiB view limit. */
function chunk(buf: ArrayBufferLike, offset: number, length: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < length; off += CHUNK_BYTES) {
    out.push(Buffer.from(buf as ArrayBuffer, offset + off, Math.min(CHUNK_BYTES, length - off)));
  }
  return out;
}

/**
 * Encodes a payload. Typed arrays become raw frames viewing the caller's memory (no copy) unless they are at
 * most `copyBelow` bytes, which are copied so that the send can complete at once.
 */
export function encodeBody(data: unknown, copyBelow = 0): Body {
  const dtype = dtypeOf(data);
  if (dtype >= 0) {
    const ta = data as AnyTypedArray;
    const frames = chunk(ta.buffer, ta.byteOffset, ta.byteLength);
    if (ta.byteLength <= Math.min(copyBelow, ZMQ_COPIES_UP_TO)) {
      return { kind: Kind.Typed, dtype, length: ta.length, frames, aliases: false };
    }
    if (ta.byteLength <= copyBelow) {
      return { kind: Kind.Typed, dtype, length: ta.length, frames: frames.map((f) => Buffer.from(f)), aliases: false };
    }
    return { kind: Kind.Typed, dtype, length: ta.length, frames, aliases: true };
  }
  let packed: Buffer;
  try {
    packed = Buffer.from(packr.pack(data));
  } catch (e) {
    throw new TypeError(`cannot encode value for sending: ${(e as Error).message}`);
  }
  return { kind: Kind.Value, dtype: 0, length: packed.byteLength, frames: chunk(packed.buffer, packed.byteOffset, packed.byteLength), aliases: false };
}

/** Frames of a control message (Bye, Heartbeat, Ack): a header alone. */
export function encodeControl(kind: Kind.Bye | Kind.Heartbeat | Kind.Ack, h: Omit<Header, 'kind' | 'dtype' | 'length' | 'nframes'>): Buffer[] {
  return [encodeHeader({ ...h, kind, dtype: 0, length: 0, nframes: 0 })];
}

function isU(x: unknown, max: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
}

/**
 * Parses and validates a header frame. Throws ProtocolError naming `peerHint` (the sender, when known) for
 * anything malformed: wrong version, wrong field count or types, impossible sizes.
 */
export function decodeHeader(frame: Buffer, ctx: { rank?: number; peerHint?: number; maxBytes?: number } = {}): Header {
  const bad = (why: string, peer = ctx.peerHint): ProtocolError =>
    new ProtocolError(`malformed message: ${why}`, { rank: ctx.rank, op: 'receive', peer });
  if (!(frame as unknown instanceof Uint8Array)) throw bad('header is not bytes');
  if (frame.byteLength === 0 || frame.byteLength > 256) throw bad(`header of ${frame.byteLength} bytes`);
  let arr: unknown = readHeaderFields(frame);
  if (arr === undefined) {
    try {
      arr = packr.unpack(frame); // any other msgpack spelling of the same array
    } catch (e) {
      throw bad(`header is not msgpack (${(e as Error).message})`);
    }
  }
  if (!Array.isArray(arr) || arr.length !== HEADER_FIELDS) throw bad('header is not an array of 11 fields');
  const [v, job, epoch, cx, src, tag, seq, kind, dtype, length, nframes] = arr as unknown[];
  const peer = isU(src, 2 ** 31) ? src : ctx.peerHint;
  if (v !== WIRE_VERSION) throw bad(`wire version ${String(v)}, expected ${WIRE_VERSION}`, peer);
  if (!isU(job, 2 ** 32 - 1)) throw bad('job id field', peer);
  if (!isU(epoch, 2 ** 31)) throw bad('epoch field', peer);
  if (!isU(cx, Number.MAX_SAFE_INTEGER)) throw bad('context field', peer);
  if (!isU(src, 2 ** 31)) throw bad('source field', peer);
  if (!isU(tag, 2 ** 31 - 1)) throw bad('tag field', peer);
  if (!isU(seq, Number.MAX_SAFE_INTEGER)) throw bad('sequence field', peer);
  if (!isU(kind, KIND_MAX)) throw bad(`unknown kind ${String(kind)}`, peer);
  if (!isU(dtype, DTYPE_BUFFER)) throw bad(`unknown dtype ${String(dtype)}`, peer);
  if (!isU(length, Number.MAX_SAFE_INTEGER)) throw bad('length field', peer);
  if (!isU(nframes, 2 ** 20)) throw bad('frame count field', peer);
  const maxBytes = ctx.maxBytes ?? DEFAULT_MAX_BYTES;
  const bytes = kind === Kind.Typed ? length * bpe(dtype) : length;
  if (bytes > maxBytes) throw bad(`declared ${bytes} bytes, over the limit of ${maxBytes}`, peer);
  if (kind >= Kind.Bye && (length !== 0 || nframes !== 0)) throw bad('control message with a body', peer);
  return { job, epoch, ctx: cx, src, tag, seq, kind: kind as Kind, dtype, length, nframes };
}

function bpe(dtype: number): number {
  return dtype === DTYPE_BUFFER ? 1 : DTYPES[dtype].BYTES_PER_ELEMENT;
}

/**
 * Decodes the body frames of a data message whose header was already checked. A typed array arrives as the
 * same type and length, viewing the received frame when it is one aligned frame, else copied together.
 */
export function decodeBody(h: Header, frames: Buffer[], ctx: { rank?: number } = {}): unknown {
  const bad = (why: string): ProtocolError =>
    new ProtocolError(`malformed message: ${why}`, { rank: ctx.rank, op: 'receive', peer: h.src, tag: h.tag });
  if (frames.length !== h.nframes) throw bad(`header announces ${h.nframes} frames, ${frames.length} arrived`);
  let total = 0;
  for (const f of frames) total += f.byteLength;
  if (h.kind === Kind.Typed) {
    const size = bpe(h.dtype);
    if (total !== h.length * size) throw bad(`typed array of ${h.length} elements needs ${h.length * size} bytes, ${total} arrived`);
    if (h.dtype === DTYPE_BUFFER) return frames.length === 1 ? frames[0] : Buffer.concat(frames, total);
    const Ctor = DTYPES[h.dtype];
    if (frames.length === 1 && frames[0].byteOffset % size === 0) {
      return new Ctor(frames[0].buffer as ArrayBuffer, frames[0].byteOffset, h.length);
    }
    if (frames.length === 0) return new Ctor(0);
    const out = new Ctor(h.length); // size checked against the bytes that actually arrived
    let off = 0;
    for (const f of frames) {
      new Uint8Array(out.buffer, off, f.byteLength).set(f); // per frame: no view over 4 GiB
      off += f.byteLength;
    }
    return out;
  }
  if (h.kind !== Kind.Value) throw bad('control message where data was expected');
  if (total !== h.length) throw bad(`value of ${h.length} bytes announced, ${total} arrived`);
  if (total === 0) throw bad('empty value body');
  const body = frames.length === 1 ? frames[0] : Buffer.concat(frames, total);
  try {
    return packr.unpack(body);
  } catch (e) {
    throw bad(`value body is not msgpack (${(e as Error).message})`);
  }
}

/** 32-bit FNV-1a hash of a job id string, the form carried in every header. */
export function jobHash(jobId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < jobId.length; i++) {
    h ^= jobId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
