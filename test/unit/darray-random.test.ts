// Unit tests of the counter-based generator: Philox4x32-10 against the Random123 known-answer vectors, and
// the uniform/normal transforms' range and moments.

import assert from 'node:assert/strict';
import { CounterRng, STREAM_NORMAL, philox4x32, seedKey } from '../../src/darray/random.js';

const hex = (a: Uint32Array) => Array.from(a, (x) => x.toString(16).padStart(8, '0')).join(' ');

describe('Philox4x32-10 generator', () => {
  it('matches the Random123 known-answer vectors', () => {
    const o = new Uint32Array(4);
    assert.equal(hex(philox4x32(0, 0, 0, 0, 0, 0, o)), '6627e8d5 e169c58d bc57ac4c 9b00dbd8');
    const f = 0xffffffff;
    assert.equal(hex(philox4x32(f, f, f, f, f, f, o)), '408f276d 41c83b0e a20bc7c6 6d5451fd');
    assert.equal(hex(philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, o)),
      'd16cfe09 94fdcceb 5001e420 24126ea1');
  });

  it('splits seeds into two key words and rejects bad seeds', () => {
    assert.deepEqual(seedKey(0), [0, 0]);
    assert.deepEqual(seedKey(2 ** 32 + 5), [5, 1]);
    assert.throws(() => seedKey(-1), RangeError);
    assert.throws(() => seedKey(1.5), RangeError);
  });

  it('is a pure function of (seed, index): any visiting order gives the same values', () => {
    const a = new CounterRng(42), b = new CounterRng(42), c = new CounterRng(43);
    const fwd = Array.from({ length: 100 }, (_, i) => a.uniform(i));
    const back = Array.from({ length: 100 }, (_, i) => b.uniform(99 - i)).reverse();
    assert.deepEqual(fwd, back);
    assert.notDeepEqual(fwd, Array.from({ length: 100 }, (_, i) => c.uniform(i)));
    assert.equal(a.uniform(2 ** 40 + 3), b.uniform(2 ** 40 + 3)); // high counter word in use
    assert.notEqual(a.uniform(2 ** 40 + 3), a.uniform(3));
  });

  it('uniforms lie in [0, 1) with mean 1/2 and variance 1/12', () => {
    const g = new CounterRng(7);
    const n = 200000;
    let s = 0, s2 = 0, s32 = 0;
    for (let i = 0; i < n; i++) {
      const u = g.uniform(i), v = g.uniform24(i);
      assert.ok(u >= 0 && u < 1 && v >= 0 && v < 1 && Math.fround(v) === v);
      s += u; s2 += u * u; s32 += v;
    }
    // Standard error of the mean is 0.29 / sqrt(n) = 6.5e-4: allow 5 of them.
    assert.ok(Math.abs(s / n - 0.5) < 3.3e-3, `mean ${s / n}`);
    assert.ok(Math.abs(s32 / n - 0.5) < 3.3e-3, `float32 mean ${s32 / n}`);
    assert.ok(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12) < 2e-3, 'variance');
  });

  it('normals have mean 0, variance 1 and a plausible tail', () => {
    const g = new CounterRng(7, STREAM_NORMAL);
    const n = 200000;
    let s = 0, s2 = 0, beyond2 = 0;
    for (let i = 0; i < n; i++) {
      const z = g.normal(i);
      assert.ok(Number.isFinite(z));
      s += z; s2 += z * z;
      if (Math.abs(z) > 2) beyond2++;
    }
    assert.ok(Math.abs(s / n) < 0.012, `mean ${s / n}`);
    assert.ok(Math.abs(s2 / n - 1) < 0.02, `variance ${s2 / n}`);
    assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.004, `P(|z| > 2) = ${beyond2 / n}`);
  });
});
