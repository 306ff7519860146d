// Unit tests of the wire codec (src/comm/wire.ts): round trips of every typed-array kind and of msgpack
// values, chunking past the frame limit, and ProtocolError (never a crash) on malformed or hostile frames.
import assert from 'node:assert/strict';
import { ProtocolError } from '../../src/errors.js';
import {
  CHUNK_BYTES, INLINE_BYTES, Kind, decodeBody, decodeHeader, decodeShared, dtypeOf, encodeBody, encodeControl, encodeHeader,
  encodeShared, jobHash, type Header,
} from '../../src/comm/wire.js';

const base = { job: jobHash('job-1'), epoch: 0, ctx: 4, src: 2, tag: 7, seq: 11 };

/** Encodes `data` as a sender would and decodes it as a receiver would (header through its own frame). */
function roundTrip(data: unknown, copyBelow = 0, inlineUpTo = 0): unknown {
  const body = encodeBody(data, copyBelow, inlineUpTo);
  const h: Header = { ...base, kind: body.kind, dtype: body.dtype, length: body.length, nframes: body.frames.length };
  if (body.inline) h.inline = body.inline;
  const frames = [encodeHeader(h), ...body.frames].map((f) => Buffer.from(f)); // as if received: fresh memory
  const got = decodeHeader(frames[0], { rank: 0 });
  assert.deepEqual({ ...got, inline: got.inline && [...got.inline] }, { ...h, inline: h.inline && [...h.inline] });
  return decodeBody(got, frames.slice(1), { rank: 0 });
}

const kinds = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array];

describe('comm wire codec', () => {
  for (const K of kinds) {
    it(`${K.name} arrives as the same type and length, for 0, 1 and 1000 elements`, () => {
      for (const n of [0, 1, 1000]) {
        const a = new K(n);
        for (let i = 0; i < n; i++) a[i] = (i * 37) % 120;
        const b = roundTrip(a) as typeof a;
        assert.equal(b.constructor, K);
        assert.equal(b.length, n);
        assert.deepEqual(Array.from(b), Array.from(a));
      }
    });
  }

  it('BigInt64Array, BigUint64Array and Buffer keep their types', () => {
    const a = roundTrip(new BigInt64Array([-5n, 2n ** 62n])) as BigInt64Array;
    assert.ok(a instanceof BigInt64Array);
    assert.deepEqual(Array.from(a), [-5n, 2n ** 62n]);
    const u = roundTrip(new BigUint64Array([2n ** 64n - 1n])) as BigUint64Array;
    assert.ok(u instanceof BigUint64Array);
    assert.equal(u[0], 2n ** 64n - 1n);
    const buf = roundTrip(Buffer.from('hello')) as Buffer;
    assert.ok(Buffer.isBuffer(buf));
    assert.equal(buf.toString(), 'hello');
  });

  it('sends a subarray view, not its whole backing buffer', () => {
    const whole = new Float64Array([1, 2, 3, 4, 5]);
    const b = roundTrip(whole.subarray(1, 3)) as Float64Array;
    assert.deepEqual(Array.from(b), [2, 3]);
  });

  it('large typed arrays alias the sender memory; small ones are copied when asked', () => {
    const a = new Float64Array(1 << 16);
    const big = encodeBody(a, 1024);
    assert.equal(big.aliases, true);
    assert.equal(big.frames[0].buffer, a.buffer);
    const small = encodeBody(new Float64Array(8), 1024);
    assert.equal(small.aliases, false);
  });

  it('an unaligned single frame is copied into an aligned array', () => {
    const a = new Float64Array([1.5, -2.25, 3]);
    const h: Header = { ...base, kind: Kind.Typed, dtype: dtypeOf(a), length: 3, nframes: 1 };
    const raw = Buffer.alloc(25);
    Buffer.from(a.buffer).copy(raw, 1);
    const b = decodeBody(h, [raw.subarray(1)]) as Float64Array;
    assert.deepEqual(Array.from(b), [1.5, -2.25, 3]);
  });

  it('payloads past the chunk size are split into several frames and joined on arrival', () => {
    // Uses a small view of the chunk logic: a header announcing several frames whose sum is the array.
    const a = new Float32Array(10).map((_, i) => i);
    const bytes = Buffer.from(a.buffer);
    const h: Header = { ...base, kind: Kind.Typed, dtype: dtypeOf(a), length: 10, nframes: 3 };
    const b = decodeBody(h, [bytes.subarray(0, 8), bytes.subarray(8, 24), bytes.subarray(24)]) as Float32Array;
    assert.deepEqual(Array.from(b), Array.from(a));
    assert.equal(CHUNK_BYTES % 8, 0);
  });

  it('encodes a real >1 GiB array as several frames without copying', function () {
    let a: Uint8Array;
    try {
      a = new Uint8Array(CHUNK_BYTES + 8); // untouched pages: no real memory is used
    } catch {
      this.skip();
    }
    const body = encodeBody(a!, 0);
    assert.equal(body.frames.length, 2);
    assert.equal(body.frames[0].byteLength, CHUNK_BYTES);
    assert.equal(body.frames[1].byteLength, 8);
    assert.equal(body.frames[1].buffer, a!.buffer);
  });

  it('msgpack values round-trip: objects, arrays, strings, bigint, undefined, nested typed arrays', () => {
    const v = { a: 1, b: [1, 'two', null, true], c: 'é€', d: -2.5, big: 12n, u: undefined, f: new Float32Array([1, 2]) };
    const w = roundTrip(v) as typeof v;
    assert.equal(w.a, 1);
    assert.deepEqual(w.b, [1, 'two', null, true]);
    assert.equal(w.c, 'é€');
    assert.equal(w.big, 12n);
    assert.ok('u' in w && w.u === undefined);
    assert.ok(w.f instanceof Float32Array);
    assert.deepEqual(Array.from(w.f), [1, 2]);
    assert.equal(roundTrip(0), 0);
    assert.equal(roundTrip(null), null);
    assert.equal(roundTrip(''), '');
  });

  it(`bodies of 1 to ${INLINE_BYTES} bytes ride inside the header frame when asked, and arrive as sent`, () => {
    for (const a of [new Float64Array([1.5, -2]), new Uint8Array([7]), new Int16Array(INLINE_BYTES / 2).fill(-3), Buffer.from('hi')]) {
      const body = encodeBody(a, 0, INLINE_BYTES);
      assert.equal(body.frames.length, 0);
      assert.equal(body.inline?.byteLength, a.byteLength);
      const b = roundTrip(a, 0, INLINE_BYTES) as typeof a;
      assert.equal(b.constructor, a.constructor);
      assert.deepEqual(Array.from(b), Array.from(a));
      assert.ok(b.buffer !== a.buffer || b.byteOffset !== a.byteOffset, 'the received array is a copy'); // Buffers share a pool
    }
    // One byte over, empty arrays and large values keep their own frames.
    assert.equal(encodeBody(new Uint8Array(INLINE_BYTES + 1), 0, INLINE_BYTES).inline, undefined);
    assert.equal(encodeBody(new Float32Array(0), 0, INLINE_BYTES).inline, undefined);
    assert.equal(encodeBody('x'.repeat(200), 0, INLINE_BYTES).inline, undefined);
    assert.deepEqual(roundTrip({ a: [1, 'two'] }, 0, INLINE_BYTES), { a: [1, 'two'] });
    assert.equal(roundTrip('x'.repeat(200), 0, INLINE_BYTES), 'x'.repeat(200));
    // Any msgpack spelling of the 12-element header is read the same (here with a 32-bit bin length).
    const h = decodeHeader(encodeHeader({ ...base, kind: Kind.Typed, dtype: 1, length: 2, nframes: 0, inline: Buffer.from([4, 5]) }));
    assert.deepEqual(Array.from(decodeBody(h, []) as Uint8Array), [4, 5]);
  });

  it('control messages carry no body', () => {
    const [f] = encodeControl(Kind.Ack, base);
    const h = decodeHeader(f);
    assert.equal(h.kind, Kind.Ack);
    assert.equal(h.seq, 11);
  });

  it('a shared-memory message names its segment and announces the array; its declared size is checked', () => {
    const seg = [4242, 17, 2 ** 21 + 64, 2 ** 32 - 1, 5];
    const h = decodeHeader(encodeShared(base, new Float32Array(1000), seg), { rank: 0 });
    assert.equal(h.kind, Kind.Shared);
    assert.equal(h.length, 1000);
    assert.equal(h.nframes, 0);
    const got = decodeShared(h, 0);
    assert.deepEqual(got.segment, seg);
    assert.equal(got.ctor, Float32Array);
    assert.equal(got.bytes, 4000);
    assert.throws(() => decodeHeader(encodeShared(base, new Float64Array(1000), seg), { maxBytes: 100 }), /8000 bytes, over the limit/);
  });

  describe('malformed input gives ProtocolError naming the peer', () => {
    const throwsProto = (fn: () => unknown, re: RegExp) =>
      assert.throws(fn, (e: unknown) => e instanceof ProtocolError && re.test((e as Error).message));

    it('rejects garbage, wrong versions and wrong field counts', () => {
      throwsProto(() => decodeHeader(Buffer.alloc(0), { peerHint: 3 }), /header of 0 bytes/);
      throwsProto(() => decodeHeader(Buffer.from([0xc1]), { peerHint: 3 }), /peer 3/);
      throwsProto(() => decodeHeader(Buffer.alloc(1000)), /1000 bytes/);
      const good = encodeHeader({ ...base, kind: Kind.Value, dtype: 0, length: 1, nframes: 1 });
      const wrongVersion = Buffer.from(good);
      wrongVersion[1] = 9; // first array element (positive fixint)
      throwsProto(() => decodeHeader(wrongVersion), /wire version 9.*peer 2|peer 2.*wire version 9/);
    });

    it('rejects huge declared sizes before any allocation', () => {
      const h = encodeHeader({ ...base, kind: Kind.Typed, dtype: 8, length: 2 ** 40, nframes: 1 });
      throwsProto(() => decodeHeader(h), /over the limit/);
      const small = encodeHeader({ ...base, kind: Kind.Typed, dtype: 8, length: 1000, nframes: 1 });
      throwsProto(() => decodeHeader(small, { maxBytes: 100 }), /8000 bytes, over the limit of 100/);
    });

    it('rejects truncated frames, wrong frame counts, and bad dtypes', () => {
      const h: Header = { ...base, kind: Kind.Typed, dtype: 8, length: 4, nframes: 1 };
      throwsProto(() => decodeBody(h, [Buffer.alloc(31)]), /needs 32 bytes, 31 arrived/);
      throwsProto(() => decodeBody(h, []), /announces 1 frames, 0 arrived/);
      throwsProto(() => decodeHeader(encodeHeader({ ...h, dtype: 99 })), /unknown dtype 99/);
      throwsProto(() => decodeHeader(encodeHeader({ ...h, kind: 17 as Kind })), /unknown kind 17/);
      throwsProto(() => decodeBody({ ...h, kind: Kind.Value, length: 3 }, [Buffer.from([0xc1, 0xc1, 0xc1])]), /not msgpack/);
    });

    it('rejects inline bodies of the wrong size, beside body frames, on control kinds, or not bytes', () => {
      const inl = (h: Partial<Header>, bytes: number[]) => encodeHeader({ ...base, kind: Kind.Typed, dtype: 8, length: 1, nframes: 0, ...h, inline: Buffer.from(bytes) });
      throwsProto(() => decodeBody(decodeHeader(inl({}, [1, 2, 3])), []), /needs 8 bytes, 3 arrived/);
      throwsProto(() => decodeHeader(inl({ nframes: 1 }, [1, 2, 3, 4, 5, 6, 7, 8])), /inline body and 1 body frames/);
      throwsProto(() => decodeHeader(inl({ kind: Kind.Ack, length: 0 }, [1])), /control message with a body/);
      throwsProto(() => decodeHeader(encodeHeader({ ...base, kind: Kind.Shared, dtype: 8, length: 1, nframes: 0 })), /shared-memory message without a segment/);
      throwsProto(() => decodeHeader(inl({ kind: Kind.Shared, dtype: 11 }, [1])), /shared-memory message without a segment or of Buffer type/);
      throwsProto(() => decodeShared(decodeHeader(inl({ kind: Kind.Shared }, [0x93, 0x01])), 0), /segment name is not msgpack/);
      throwsProto(() => decodeBody(decodeHeader(inl({ kind: Kind.Value, dtype: 0, length: 2 }, [0xc1, 0xc1])), []), /not msgpack/);
      const notBytes = Buffer.from(inl({}, [1, 2, 3, 4, 5, 6, 7, 8]));
      notBytes[notBytes.length - 10] = 0xa8; // the bin 8 marker becomes a fixstr of 8
      notBytes.copy(notBytes, notBytes.length - 9, notBytes.length - 8); // drop the length byte
      throwsProto(() => decodeHeader(notBytes.subarray(0, notBytes.length - 1), { peerHint: 4 }), /peer 4\] malformed message: inline body field is not bytes/);
      assert.throws(() => encodeHeader({ ...base, kind: Kind.Typed, dtype: 1, length: 200, nframes: 0, inline: Buffer.alloc(200) }), RangeError);
    });

    it('survives a random fuzz of header and body bytes without other exceptions', function () {
      this.timeout(60_000);
      let seed = 12345;
      const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
      const good = encodeHeader({ ...base, kind: Kind.Typed, dtype: 6, length: 4, nframes: 1 });
      for (let i = 0; i < 5000; i++) {
        const f = Buffer.from(good);
        const flips = 1 + Math.floor(rnd() * 4);
        for (let k = 0; k < flips; k++) f[Math.floor(rnd() * f.length)] = Math.floor(rnd() * 256);
        const frame = rnd() < 0.1 ? f.subarray(0, Math.floor(rnd() * f.length)) : f;
        try {
          const h = decodeHeader(frame, { maxBytes: 1 << 20 });
          decodeBody(h, h.nframes === 1 ? [Buffer.alloc(Math.floor(rnd() * 40))] : []);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, `input ${f.toString('hex')} threw ${(e as Error).stack}`);
        }
      }
    });
  });

  it('job hashes differ for different ids', () => {
    assert.notEqual(jobHash('a1b2'), jobHash('a1b3'));
    assert.equal(jobHash('x'), jobHash('x'));
  });
});
