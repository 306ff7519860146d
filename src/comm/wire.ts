// Wire format of darray messages: a multipart ZeroMQ message [msgpack header, raw frames...]. Pure functions,
// no sockets: typed arrays travel as their own frames (chunked past 1 GiB), anything else as msgpack; bodies of
// at most INLINE_BYTES ride inside the header frame instead (docs/internal-interfaces.md).
import { Packr } from 'msgpackr';
import { ProtocolError } from '../errors.js';

/** Version of the header layout; a peer speaking another version is refused. */
export const WIRE_VERSION = 1;
/** Largest single frame: bigger payloads are split, so messages of several GiB pass Node's and zmq's limits. */
export const CHUNK_BYTES = 2 ** 30;
/** zeromq.js copies frames up to this size itself (its zero-copy threshold), so smaller ones need no copy of ours. */
export const ZMQ_COPIES_UP_TO = 128;
/** Bodies of at most this many bytes may travel inside the header frame: one frame per small message. */
export const INLINE_BYTES = 128;
/** Default cap on one message's declared payload (64 GiB): a header claiming more is refused before any allocation. */
export const DEFAULT_MAX_BYTES = 2 ** 36;

/** What a message is: user/collective data (a msgpack value or a typed array) or transport control. */
export enum Kind {
  Value = 0,
  Typed = 1,
  Bye = 2,
  Heartbeat = 3, // reserved: liveness is watched by ZMTP heartbeats on the control stream
  Ack = 4,
  /** A typed array in the sender's shared-memory segment: the inline body names the segment (ranks of one host). */
  Shared = 5,
}
const KIND_MAX = 5;

/** Bye, Heartbeat, Ack: transport messages without a body. */
function isControl(kind: Kind): boolean {
  return kind === Kind.Bye || kind === Kind.Heartbeat || kind === Kind.Ack;
}

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
  dtype: number; // typed-array code (Kind.Typed, Kind.Shared), else 0
  length: number; // elements (Kind.Typed, Kind.Shared) or body bytes (Kind.Value)
  nframes: number; // body frames after the header
  inline?: Buffer; // the body itself, when it rides in the header frame (then nframes is 0)
}
const HEADER_FIELDS = 11;

const packr = new Packr({ useRecords: false, moreTypes: true, int64AsType: 'bigint' } as ConstructorParameters<typeof Packr>[0]);

/**
 * msgpack encoding of a header: an array of 11 unsigned integers, and a 12th element, a bin of the body, when
 * the body rides inline. Written by hand because this runs for every message (msgpackr would allocate and copy
 * more); the bytes are plain msgpack, which any decoder can read.
 */
export function encodeHeader(h: Header): Buffer {
  const inline = h.inline;
  if (inline !== undefined && inline.byteLength > INLINE_BYTES) throw new RangeError(`an inline body of ${inline.byteLength} bytes is over ${INLINE_BYTES}`);
  const b = Buffer.allocUnsafe(1 + HEADER_FIELDS * 9 + (inline === undefined ? 0 : 2 + inline.byteLength));
  b[0] = 0x90 | (inline === undefined ? HEADER_FIELDS : HEADER_FIELDS + 1); // fixarray
  let o = putUint(b, 1, WIRE_VERSION);
  o = putUint(b, o, h.job);
  o = putUint(b, o, h.epoch);
  o = putUint(b, o, h.ctx);
  o = putUint(b, o, h.src);
  o = putUint(b, o, h.tag);
  o = putUint(b, o, h.seq);
  o = putUint(b, o, h.kind);
  o = putUint(b, o, h.dtype);
  o = putUint(b, o, h.length);
  o = putUint(b, o, h.nframes);
  if (inline !== undefined) {
    b[o] = 0xc4; // bin 8
    b[o + 1] = inline.byteLength;
    b.set(inline, o + 2);
    o += 2 + inline.byteLength;
  }
  return b.subarray(0, o);
}

/** Writes `v` at `o` as the shortest msgpack unsigned integer; returns the offset after it. */
function putUint(b: Buffer, o: number, v: number): number {
  if (v < 0x80) {
    b[o] = v;
    return o + 1;
  }
  if (v < 0x100) {
    b[o] = 0xcc;
    b[o + 1] = v;
    return o + 2;
  }
  if (v < 0x10000) {
    b[o] = 0xcd;
    b[o + 1] = v >>> 8;
    b[o + 2] = v & 0xff;
    return o + 3;
  }
  if (v < 0x100000000) {
    b[o] = 0xce;
    return b.writeUInt32BE(v, o + 1);
  }
  b[o] = 0xcf;
  b.writeUInt32BE(Math.floor(v / 0x100000000), o + 1);
  return b.writeUInt32BE(v >>> 0, o + 5);
}

/** Read position of the fast header parser; one per process (parsing is synchronous). */
let at = 0;

/** Reads the msgpack unsigned integer at `at` (advancing it); -1 when the bytes there are not one. */
function getUint(f: Uint8Array, n: number): number {
  if (at >= n) return -1;
  const t = f[at];
  if (t < 0x80) {
    at += 1;
    return t;
  }
  if (t === 0xcc && at + 2 <= n) {
    at += 2;
    return f[at - 1];
  }
  if (t === 0xcd && at + 3 <= n) {
    at += 3;
    return (f[at - 2] << 8) | f[at - 1];
  }
  if (t === 0xce && at + 5 <= n) {
    const o = at + 1;
    at += 5;
    return f[o] * 0x1000000 + ((f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]);
  }
  if (t === 0xcf && at + 9 <= n) {
    const o = at + 1;
    at += 9;
    const hi = f[o] * 0x1000000 + ((f[o + 1] << 16) | (f[o + 2] << 8) | f[o + 3]);
    const lo = f[o + 4] * 0x1000000 + ((f[o + 5] << 16) | (f[o + 6] << 8) | f[o + 7]);
    return hi * 0x100000000 + lo; // may exceed 2^53: the range checks refuse it
  }
  return -1;
}

/**
 * Fast path of header decoding for the layout encodeHeader writes (no intermediate array); undefined when the
 * bytes differ from it, and the generic msgpack path decides.
 */
function readHeaderFast(f: Buffer): unknown[] | Header | undefined {
  const n = f.byteLength;
  const withBody = f[0] === (0x90 | (HEADER_FIELDS + 1));
  if (!withBody && f[0] !== (0x90 | HEADER_FIELDS)) return undefined;
  at = 1;
  const v = getUint(f, n);
  const job = getUint(f, n);
  const epoch = getUint(f, n);
  const ctx = getUint(f, n);
  const src = getUint(f, n);
  const tag = getUint(f, n);
  const seq = getUint(f, n);
  const kind = getUint(f, n);
  const dtype = getUint(f, n);
  const length = getUint(f, n);
  const nframes = getUint(f, n);
  if (nframes < 0 || length < 0 || dtype < 0 || kind < 0 || seq < 0 || tag < 0 || src < 0 || ctx < 0 || epoch < 0 || job < 0 || v < 0) return undefined;
  let inline: Buffer | undefined;
  if (withBody) {
    // The inline body: a bin 8 that ends the frame.
    if (at + 2 > n || f[at] !== 0xc4 || at + 2 + f[at + 1] !== n) return undefined;
    inline = f.subarray(at + 2, n);
  } else if (at !== n) return undefined;
  if (v === WIRE_VERSION && job <= 0xffffffff && epoch <= 2 ** 31 && src <= 2 ** 31 && tag <= 2 ** 31 - 1 && kind <= KIND_MAX && dtype <= DTYPE_BUFFER && nframes <= 2 ** 20 && ctx <= Number.MAX_SAFE_INTEGER && seq <= Number.MAX_SAFE_INTEGER && length <= Number.MAX_SAFE_INTEGER) {
    const h: Header = { job, epoch, ctx, src, tag, seq, kind: kind as Kind, dtype, length, nframes };
    if (inline !== undefined) h.inline = inline;
    return h;
  }
  // out of range: the generic checks name the field
  return inline === undefined ? [v, job, epoch, ctx, src, tag, seq, kind, dtype, length, nframes] : [v, job, epoch, ctx, src, tag, seq, kind, dtype, length, nframes, inline];
}

/** A body ready for the wire: frames, and whether they alias the caller's memory (so the sender must wait). */
export interface Body {
  kind: Kind.Value | Kind.Typed;
  dtype: number;
  length: number;
  frames: Buffer[];
  aliases: boolean;
  inline?: Buffer; // the whole body, for the header frame to carry (then frames is empty)
}

/** dtype codes by exact constructor: one lookup for the common case. */
const CODE_OF = new Map<unknown, number>([...DTYPES.map((c, i): [unknown, number] => [c, i]), [Buffer, DTYPE_BUFFER]]);

/** The dtype code of a typed array, or -1 when `x` is not one the wire carries raw. */
export function dtypeOf(x: unknown): number {
  if (!ArrayBuffer.isView(x)) return -1;
  const code = CODE_OF.get(x.constructor);
  if (code !== undefined) return code;
  if (x instanceof DataView) return -1;
  if (Buffer.isBuffer(x)) return DTYPE_BUFFER;
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
 * most `copyBelow` bytes, which are copied so that the send can complete at once. A body of 1 to `inlineUpTo`
 * bytes (at most INLINE_BYTES) comes back as `inline` with no frames, for the header frame to carry: it may
 * view the caller's memory or the encoder's scratch space, so encodeHeader must consume it before anything else.
 */
export function encodeBody(data: unknown, copyBelow = 0, inlineUpTo = 0): Body {
  const dtype = dtypeOf(data);
  const inlineMax = Math.min(inlineUpTo, INLINE_BYTES);
  if (dtype >= 0) {
    const ta = data as AnyTypedArray;
    const bytes = ta.byteLength;
    if (bytes > 0 && bytes <= inlineMax) {
      return { kind: Kind.Typed, dtype, length: ta.length, frames: [], aliases: false, inline: Buffer.from(ta.buffer, ta.byteOffset, bytes) };
    }
    const frames = chunk(ta.buffer, ta.byteOffset, bytes);
    if (bytes <= Math.min(copyBelow, ZMQ_COPIES_UP_TO)) {
      return { kind: Kind.Typed, dtype, length: ta.length, frames, aliases: false };
    }
    if (bytes <= copyBelow) {
      return { kind: Kind.Typed, dtype, length: ta.length, frames: frames.map((f) => Buffer.from(f)), aliases: false };
    }
    return { kind: Kind.Typed, dtype, length: ta.length, frames, aliases: true };
  }
  let packed: Buffer;
  try {
    packed = packr.pack(data);
  } catch (e) {
    throw new TypeError(`cannot encode value for sending: ${(e as Error).message}`);
  }
  if (packed.byteLength <= inlineMax) return { kind: Kind.Value, dtype: 0, length: packed.byteLength, frames: [], aliases: false, inline: packed };
  packed = Buffer.from(packed); // msgpackr reuses its buffer for the next value
  return { kind: Kind.Value, dtype: 0, length: packed.byteLength, frames: chunk(packed.buffer, packed.byteOffset, packed.byteLength), aliases: false };
}

/** Frames of a control message (Bye, Heartbeat, Ack): a header alone. */
export function encodeControl(kind: Kind.Bye | Kind.Heartbeat | Kind.Ack, h: Omit<Header, 'kind' | 'dtype' | 'length' | 'nframes'>): Buffer[] {
  return [encodeHeader({ ...h, kind, dtype: 0, length: 0, nframes: 0 })];
}

/**
 * Header of a typed array the sender copied into its shared-memory segment `segment`, or left where it is
 * (`segment` then names the process and address): a short msgpack value the header carries inline. The receiver
 * copies it out and acks, after which the sender reuses the segment (or may change the array).
 */
export function encodeShared(h: Omit<Header, 'kind' | 'dtype' | 'length' | 'nframes' | 'inline'>, data: AnyTypedArray, segment: unknown): Buffer {
  const inline = packr.pack(segment);
  if (inline.byteLength > INLINE_BYTES) throw new TypeError('shared-memory segment name too long');
  return encodeHeader({ ...h, kind: Kind.Shared, dtype: dtypeOf(data), length: data.length, nframes: 0, inline });
}

/** The segment a Kind.Shared message names (unchecked: the receiver validates it) and the array it announces. */
export function decodeShared(h: Header, rank?: number): { segment: unknown; ctor: TypedCtor; bytes: number } {
  let segment: unknown;
  try {
    segment = packr.unpack(h.inline!);
  } catch (e) {
    throw malformed(`shared-memory segment name is not msgpack (${(e as Error).message})`, rank, h.src, h.tag);
  }
  return { segment, ctor: DTYPES[h.dtype], bytes: h.length * bpe(h.dtype) };
}

function isU(x: unknown, max: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= max;
}

/** The ProtocolError for a malformed message from `peer` (undefined: not known) received by `rank`. */
function malformed(why: string, rank: number | undefined, peer: number | undefined, tag?: number): ProtocolError {
  return new ProtocolError(`malformed message: ${why}`, { rank, op: 'receive', peer, tag });
}

/**
 * Parses and validates a header frame. Throws ProtocolError naming `peerHint` (the sender, when known) for
 * anything malformed: wrong version, wrong field count or types, impossible sizes.
 */
export function decodeHeader(frame: Buffer, ctx: { rank?: number; peerHint?: number; maxBytes?: number } = {}): Header {
  if (!(frame as unknown instanceof Uint8Array)) throw malformed('header is not bytes', ctx.rank, ctx.peerHint);
  if (frame.byteLength === 0 || frame.byteLength > 256) throw malformed(`header of ${frame.byteLength} bytes`, ctx.rank, ctx.peerHint);
  let arr: unknown = readHeaderFast(frame);
  if (arr !== undefined && !Array.isArray(arr)) {
    const h = arr as Header;
    checkSize(h, ctx.maxBytes ?? DEFAULT_MAX_BYTES, ctx.rank, ctx.peerHint ?? h.src);
    return h;
  }
  if (arr === undefined) {
    try {
      arr = packr.unpack(frame); // any other msgpack spelling of the same array
    } catch (e) {
      throw malformed(`header is not msgpack (${(e as Error).message})`, ctx.rank, ctx.peerHint);
    }
  }
  if (!Array.isArray(arr) || (arr.length !== HEADER_FIELDS && arr.length !== HEADER_FIELDS + 1)) {
    throw malformed('header is not an array of 11 fields (12 with an inline body)', ctx.rank, ctx.peerHint);
  }
  const [v, job, epoch, cx, src, tag, seq, kind, dtype, length, nframes, body] = arr as unknown[];
  // The socket's word for the sender wins over the header's claim; the header's only when there is no other.
  const peer = ctx.peerHint ?? (isU(src, 2 ** 31) ? src : undefined);
  const r = ctx.rank;
  if (v !== WIRE_VERSION) throw malformed(`wire version ${String(v)}, expected ${WIRE_VERSION}`, r, peer);
  if (!isU(job, 2 ** 32 - 1)) throw malformed('job id field', r, peer);
  if (!isU(epoch, 2 ** 31)) throw malformed('epoch field', r, peer);
  if (!isU(cx, Number.MAX_SAFE_INTEGER)) throw malformed('context field', r, peer);
  if (!isU(src, 2 ** 31)) throw malformed('source field', r, peer);
  if (!isU(tag, 2 ** 31 - 1)) throw malformed('tag field', r, peer);
  if (!isU(seq, Number.MAX_SAFE_INTEGER)) throw malformed('sequence field', r, peer);
  if (!isU(kind, KIND_MAX)) throw malformed(`unknown kind ${String(kind)}`, r, peer);
  if (!isU(dtype, DTYPE_BUFFER)) throw malformed(`unknown dtype ${String(dtype)}`, r, peer);
  if (!isU(length, Number.MAX_SAFE_INTEGER)) throw malformed('length field', r, peer);
  if (!isU(nframes, 2 ** 20)) throw malformed('frame count field', r, peer);
  const h: Header = { job, epoch, ctx: cx, src, tag, seq, kind: kind as Kind, dtype, length, nframes };
  if (arr.length > HEADER_FIELDS) {
    if (!(body instanceof Uint8Array) || body.byteLength > INLINE_BYTES) throw malformed(`inline body field is not bytes of at most ${INLINE_BYTES}`, r, peer);
    h.inline = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }
  checkSize(h, ctx.maxBytes ?? DEFAULT_MAX_BYTES, r, peer);
  return h;
}

/** Refuses a header whose declared payload is over `maxBytes`, or a control message that claims a body. */
function checkSize(h: Header, maxBytes: number, rank: number | undefined, peer: number | undefined): void {
  const bytes = h.kind === Kind.Typed || h.kind === Kind.Shared ? h.length * bpe(h.dtype) : h.length;
  if (bytes > maxBytes) throw malformed(`declared ${bytes} bytes, over the limit of ${maxBytes}`, rank, peer);
  if (h.kind === Kind.Shared && (h.inline === undefined || h.dtype === DTYPE_BUFFER)) throw malformed('shared-memory message without a segment or of Buffer type', rank, peer);
  if (isControl(h.kind) && (h.length !== 0 || h.nframes !== 0 || h.inline !== undefined)) throw malformed('control message with a body', rank, peer);
  if (h.inline !== undefined && h.nframes !== 0) throw malformed(`inline body and ${h.nframes} body frames`, rank, peer);
}

function bpe(dtype: number): number {
  return dtype === DTYPE_BUFFER ? 1 : DTYPES[dtype].BYTES_PER_ELEMENT;
}

/**
 * Decodes the body frames of a data message whose header was already checked. A typed array arrives as the
 * same type and length, viewing the received frame when it is one aligned frame, else copied together. The
 * body is `frames` from index `first` on (the receiver passes the whole message, header frame included).
 */
export function decodeBody(h: Header, frames: Buffer[], ctx: { rank?: number } = {}, first = 0): unknown {
  const count = frames.length - first;
  if (count !== h.nframes) throw malformed(`header announces ${h.nframes} frames, ${count} arrived`, ctx.rank, h.src, h.tag);
  if (h.inline !== undefined) return decodeInline(h, h.inline, ctx.rank);
  if (count === 1 && h.kind === Kind.Typed) {
    // The common case, without loops or copies: one frame, viewed as the announced type.
    const f = frames[first];
    const size = bpe(h.dtype);
    if (f.byteLength !== h.length * size) throw malformed(`typed array of ${h.length} elements needs ${h.length * size} bytes, ${f.byteLength} arrived`, ctx.rank, h.src, h.tag);
    if (h.dtype === DTYPE_BUFFER) return f;
    if (f.byteOffset % size === 0) return new DTYPES[h.dtype](f.buffer as ArrayBuffer, f.byteOffset, h.length);
  }
  const parts = first === 0 ? frames : frames.slice(first);
  let total = 0;
  for (const f of parts) total += f.byteLength;
  if (h.kind === Kind.Typed) {
    const size = bpe(h.dtype);
    if (total !== h.length * size) throw malformed(`typed array of ${h.length} elements needs ${h.length * size} bytes, ${total} arrived`, ctx.rank, h.src, h.tag);
    if (h.dtype === DTYPE_BUFFER) return parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
    const Ctor = DTYPES[h.dtype];
    if (parts.length === 0) return new Ctor(0);
    const out = new Ctor(h.length); // size checked against the bytes that actually arrived
    let off = 0;
    for (const f of parts) {
      new Uint8Array(out.buffer, off, f.byteLength).set(f); // per frame: no view over 4 GiB
      off += f.byteLength;
    }
    return out;
  }
  if (h.kind !== Kind.Value) throw malformed('control message where data was expected', ctx.rank, h.src, h.tag);
  if (total !== h.length) throw malformed(`value of ${h.length} bytes announced, ${total} arrived`, ctx.rank, h.src, h.tag);
  if (total === 0) throw malformed('empty value body', ctx.rank, h.src, h.tag);
  const body = parts.length === 1 ? parts[0] : Buffer.concat(parts, total);
  try {
    return packr.unpack(body);
  } catch (e) {
    throw malformed(`value body is not msgpack (${(e as Error).message})`, ctx.rank, h.src, h.tag);
  }
}

/** The body that rode in the header frame: a typed array is copied out (the bytes sit unaligned after the header). */
function decodeInline(h: Header, b: Buffer, rank: number | undefined): unknown {
  if (h.kind === Kind.Typed) {
    const size = bpe(h.dtype);
    if (b.byteLength !== h.length * size) throw malformed(`typed array of ${h.length} elements needs ${h.length * size} bytes, ${b.byteLength} arrived`, rank, h.src, h.tag);
    if (h.dtype === DTYPE_BUFFER) return Buffer.from(b);
    const out = new DTYPES[h.dtype](h.length);
    new Uint8Array(out.buffer).set(b);
    return out;
  }
  if (h.kind !== Kind.Value) throw malformed('control message where data was expected', rank, h.src, h.tag);
  if (b.byteLength !== h.length) throw malformed(`value of ${h.length} bytes announced, ${b.byteLength} arrived`, rank, h.src, h.tag);
  if (b.byteLength === 0) throw malformed('empty value body', rank, h.src, h.tag);
  try {
    return packr.unpack(b);
  } catch (e) {
    throw malformed(`value body is not msgpack (${(e as Error).message})`, rank, h.src, h.tag);
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
