// Fuzzer of the frame decoder (src/comm/wire.ts): hostile headers and bodies must give ProtocolError naming the
// peer, never another exception, a hang or an allocation past the declared limit. Run: npx tsx test/fuzz/wire-fuzz.ts
// [--inputs N] [--seconds S] [--seed X]; prints progress lines and a final JSON line; exit 1 on the first defect.
import { Packr } from 'msgpackr';
import { ProtocolError } from '../../src/errors.js';
import { decodeBody, decodeHeader, encodeBody, encodeHeader, INLINE_BYTES, jobHash, Kind, type Header } from '../../src/comm/wire.js';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const INPUTS = arg('inputs', 1_000_000);
const SECONDS = arg('seconds', 120);
const SEED = arg('seed', Date.now() % 2 ** 31);
/** Declared-size limit the decoder is given: any accepted message must stay under it. */
const LIMIT = 1 << 20;
const PEER_HINT = 3; // the peer a transport knows the frames came from
const RANK = 0;

// xorshift32: reproducible from the printed seed
let s = SEED >>> 0 || 1;
const rnd = (): number => {
  s ^= s << 13;
  s ^= s >>> 17;
  s ^= s << 5;
  return (s >>> 0) / 2 ** 32;
};
const int = (n: number): number => Math.floor(rnd() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
const bytes = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(256);
  return b;
};

const anyPackr = new Packr({ useRecords: false, moreTypes: true } as ConstructorParameters<typeof Packr>[0]);
/** Field values a hostile peer might put in a header: edges of every range, wrong types, huge numbers. */
const EDGES: unknown[] = [0, 1, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53, -(2 ** 53), 1.5, NaN, Infinity,
  '1', '', null, true, [], {}, 2n ** 63n, -(2n ** 63n), 255, 256, 65535, 65536, 1 << 20, (1 << 20) + 1];

const valid = (): { h: Header; frames: Buffer[] } => {
  const choice = int(5);
  let data: unknown;
  if (choice === 0) data = new Float64Array(int(64)).map(() => rnd());
  else if (choice === 1) data = new Int32Array(int(300));
  else if (choice === 2) data = { a: int(1000), b: 'x'.repeat(int(40)), c: [1, 2, 3] };
  else if (choice === 3) data = bytes(int(200));
  else data = new BigInt64Array(int(8));
  const body = encodeBody(data, 1 << 30, rnd() < 0.5 ? INLINE_BYTES : 0); // small bodies in the header frame, or not
  const h: Header = { job: jobHash('fuzz'), epoch: int(3), ctx: int(9), src: int(8), tag: int(100), seq: int(1e6),
    kind: body.kind, dtype: body.dtype, length: body.length, nframes: body.frames.length };
  if (body.inline) h.inline = Buffer.from(body.inline);
  return { h, frames: [encodeHeader(h), ...body.frames.map((f) => Buffer.from(f))] };
};

/** One hostile message: a list of frames, made by one of several strategies. */
function makeInput(): { how: string; frames: Buffer[] } {
  const how = int(9);
  const { h, frames } = valid();
  switch (how) {
    case 0: // random bytes as the header, random bodies
      return { how: 'random', frames: [bytes(int(300)), ...Array.from({ length: int(3) }, () => bytes(int(64)))] };
    case 1: { // a valid header with bytes flipped
      const f = Buffer.from(frames[0]);
      for (let k = 1 + int(4); k > 0; k--) f[int(f.length)] = int(256);
      return { how: 'flip', frames: [f, ...frames.slice(1)] };
    }
    case 2: // truncated or extended header
      return { how: 'cut', frames: [rnd() < 0.5 ? frames[0].subarray(0, int(frames[0].length)) : Buffer.concat([frames[0], bytes(1 + int(8))]), ...frames.slice(1)] };
    case 3: { // header fields replaced by edge values of any type, msgpack-encoded the generic way
      const vals: unknown[] = [1, h.job, h.epoch, h.ctx, h.src, h.tag, h.seq, h.kind, h.dtype, h.length, h.nframes];
      if (h.inline) vals.push(h.inline);
      for (let k = 1 + int(3); k > 0; k--) vals[int(vals.length)] = pick(EDGES);
      if (rnd() < 0.1) vals.length = int(14);
      return { how: 'fields', frames: [Buffer.from(anyPackr.pack(vals)), ...frames.slice(1)] };
    }
    case 4: { // consistent-looking header whose length/dtype/frame count disagree with the bodies
      const g: Header = { ...h, dtype: int(13), length: pick([0, 1, int(1 << 16), LIMIT, LIMIT + 1, 2 ** 40]), nframes: int(4) };
      if (rnd() < 0.5) g.kind = int(5) as Kind;
      let hdr: Buffer;
      try {
        hdr = encodeHeader(g);
      } catch {
        hdr = frames[0];
      }
      return { how: 'lengths', frames: [hdr, ...Array.from({ length: int(4) }, () => bytes(int(2048)))] };
    }
    case 5: // body frames truncated, dropped or duplicated
      return { how: 'body', frames: [frames[0], ...frames.slice(1).map((f) => f.subarray(0, int(f.length + 1))), ...(rnd() < 0.3 ? [bytes(int(16))] : [])] };
    case 6: { // a Value message whose msgpack body is garbage or declares huge containers in a few bytes
      const huge = [0xdd, 0xff, 0xff, 0xff, 0xff, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0xc6, 0xff, 0xff, 0xff, 0xf0, 0xdb, 0x7f, 0xff, 0xff, 0xff, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x12];
      const b = rnd() < 0.5 ? Buffer.from(huge.slice(int(huge.length))) : bytes(1 + int(64));
      const g: Header = { ...h, kind: Kind.Value, dtype: 0, length: b.length, nframes: 1, inline: undefined };
      return { how: 'value', frames: [encodeHeader(g), b] };
    }
    case 7: // empty message or nothing but empty frames
      return { how: 'empty', frames: Array.from({ length: int(3) }, () => Buffer.alloc(0)) };
    default: // control kinds with bodies, and bodies on control kinds
      return { how: 'control', frames: [encodeHeader({ ...h, kind: pick([Kind.Bye, Kind.Heartbeat, Kind.Ack]), length: int(3), nframes: int(2) }), ...frames.slice(1)] };
  }
}

/** Bytes held by a decoded value, to check that nothing past the limit was built. */
function sizeOf(v: unknown): number {
  if (ArrayBuffer.isView(v)) return v.byteLength;
  if (typeof v === 'string') return v.length * 2;
  if (Array.isArray(v)) return v.length * 8;
  return 0;
}

const stats = { inputs: 0, accepted: 0, refused: 0, byHow: {} as Record<string, number>, maxMs: 0, maxArrayBuffers: 0 };
const base = process.memoryUsage().arrayBuffers;
const t0 = Date.now();
const deadline = t0 + SECONDS * 1000;
const hex = (fr: Buffer[]) => fr.map((f) => f.subarray(0, 64).toString('hex')).join(' | ');

while (stats.inputs < INPUTS && Date.now() < deadline) {
  const { how, frames } = makeInput();
  stats.inputs++;
  const t = performance.now();
  try {
    if (frames.length === 0) throw new ProtocolError('malformed message: no frames', { rank: RANK, op: 'receive', peer: PEER_HINT });
    const h = decodeHeader(frames[0], { rank: RANK, peerHint: PEER_HINT, maxBytes: LIMIT });
    if (h.kind === Kind.Value || h.kind === Kind.Typed) {
      const v = decodeBody(h, frames.slice(1), { rank: RANK });
      if (sizeOf(v) > LIMIT) throw new Error(`accepted a value of ${sizeOf(v)} bytes, over the ${LIMIT}-byte limit`);
    }
    stats.accepted++;
  } catch (e) {
    if (!(e instanceof ProtocolError) || e.peer === undefined || !e.message.includes(`peer ${e.peer}`) || !e.message.includes(`rank ${RANK}`)) {
      console.log(JSON.stringify({ defect: String((e as Error)?.stack ?? e), how, seed: SEED, input: stats.inputs, frames: hex(frames) }));
      process.exit(1);
    }
    stats.refused++;
    stats.byHow[how] = (stats.byHow[how] ?? 0) + 1;
  }
  const ms = performance.now() - t;
  if (ms > stats.maxMs) stats.maxMs = ms;
  if ((stats.inputs & 0x3fff) === 0) {
    const ab = process.memoryUsage().arrayBuffers - base;
    if (ab > stats.maxArrayBuffers) stats.maxArrayBuffers = ab;
    if (stats.inputs % 262144 === 0) console.log(`fuzz: ${stats.inputs} inputs, ${stats.refused} refused, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
console.log(JSON.stringify({ done: true, seed: SEED, seconds: (Date.now() - t0) / 1000, ...stats, maxMs: +stats.maxMs.toFixed(2) }));
