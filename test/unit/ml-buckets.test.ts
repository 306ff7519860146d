// Unit tests of the DDP bucket plan: reverse parameter order, size and dtype limits, every parameter once.
import assert from 'node:assert/strict';
import { planBuckets, type ParamInfo } from '../../src/ml/index.js';

const f32 = (length: number): ParamInfo => ({ length, dtype: 'float32' });
const f64 = (length: number): ParamInfo => ({ length, dtype: 'float64' });

describe('ml: planBuckets', () => {
  it('walks parameters last to first and closes a bucket before it passes bucketBytes', () => {
    const b = planBuckets([f32(10), f32(10), f32(10), f32(10)], 80);
    assert.deepEqual(b.map((x) => x.params), [[3, 2], [1, 0]]);
    assert.deepEqual(b.map((x) => x.offsets), [[0, 10], [0, 10]]);
    assert.deepEqual(b.map((x) => x.length), [20, 20]);
  });

  it('gives a parameter larger than bucketBytes a bucket of its own', () => {
    const b = planBuckets([f32(2), f32(1000), f32(2), f32(2)], 64);
    assert.deepEqual(b.map((x) => x.params), [[3, 2], [1], [0]]);
  });

  it('never mixes dtypes in one bucket', () => {
    const b = planBuckets([f32(4), f64(4), f64(4), f32(4)], 1 << 20);
    assert.deepEqual(b.map((x) => [x.dtype, x.params]), [['float32', [3]], ['float64', [2, 1]], ['float32', [0]]]);
  });

  it('places every parameter exactly once, contiguously, within the limit unless alone (random layouts)', () => {
    let seed = 7;
    const rnd = (k: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % k; };
    for (let t = 0; t < 200; t++) {
      const params = Array.from({ length: 1 + rnd(12) }, () => (rnd(2) ? f32(1 + rnd(300)) : f64(1 + rnd(300))));
      const limit = 8 * (1 + rnd(200));
      const plan = planBuckets(params, limit);
      const seen = new Array(params.length).fill(0);
      let expectNext = params.length - 1;
      for (const b of plan) {
        let off = 0;
        b.params.forEach((i, j) => {
          seen[i]++;
          assert.equal(i, expectNext--, 'reverse order');
          assert.equal(params[i].dtype, b.dtype);
          assert.equal(b.offsets[j], off);
          off += params[i].length;
        });
        assert.equal(b.length, off);
        const bytes = off * (b.dtype === 'float32' ? 4 : 8);
        assert.ok(bytes <= limit || b.params.length === 1, `bucket of ${bytes} B over ${limit}`);
      }
      assert.ok(seen.every((c) => c === 1));
    }
  });
});
