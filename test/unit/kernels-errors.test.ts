// Bad arguments to the tile kernels fail in TypeScript, before the addon, naming the kernel and the argument.
import assert from 'node:assert/strict';
import * as K from '../../src/kernels/index.js';

const m = (n: number, ld = n, data: Float64Array | Float32Array = new Float64Array(n * ld)) => ({ data, ld });

describe('kernel argument checks', () => {
  it('rejects a matrix too short for its shape, naming the operand', async () => {
    await assert.rejects(K.gemm(false, false, 4, 4, 4, 1, { data: new Float64Array(15), ld: 4 }, m(4), 0, m(4)),
      (e: Error) => e instanceof RangeError && /^gemm: A \(4x4, offset 0, ld 4\) needs 16 elements/.test(e.message));
    await assert.rejects(K.trsm('L', 'L', false, 'N', 4, 3, 1, m(4), { data: new Float64Array(12), offset: 1, ld: 3 }),
      /trsm: B .* needs 13 elements/);
  });
  it('rejects an ld smaller than the column count', async () => {
    await assert.rejects(K.syrk('L', false, 4, 5, 1, { data: new Float64Array(100), ld: 4 }, 0, m(4)),
      (e: Error) => e instanceof RangeError && /syrk: A.ld must be an integer >= 5/.test(e.message));
  });
  it('rejects operands of mixed dtypes', async () => {
    await assert.rejects(K.gemm(false, false, 2, 2, 2, 1, m(2), m(2, 2, new Float32Array(4)), 0, m(2)),
      (e: Error) => e instanceof TypeError && /gemm: A is float64 but B is float32/.test(e.message));
    await assert.rejects(K.axpy(2, 1, new Float32Array(2), new Float64Array(2)), /axpy: x is float32 but y is float64/);
  });
  it('rejects bad flags, dimensions and scalars', async () => {
    await assert.rejects(K.potrf('X' as 'L', 2, m(2)), (e: Error) => e instanceof TypeError && /potrf: uplo must be 'L' or 'U'/.test(e.message));
    await assert.rejects(K.trsm('L', 'L', false, 'Q' as 'N', 2, 2, 1, m(2), m(2)), /trsm: diag must be 'N' or 'U'/);
    await assert.rejects(K.gemm(false, false, -1, 2, 2, 1, m(2), m(2), 0, m(2)), (e: Error) => e instanceof RangeError && /gemm: m must be/.test(e.message));
    await assert.rejects(K.gemm(false, false, 2.5, 2, 2, 1, m(2), m(2), 0, m(2)), /gemm: m must be a non-negative integer/);
    await assert.rejects(K.scal(2, '2' as unknown as number, new Float64Array(2)), /scal: alpha must be a number/);
    await assert.rejects(K.gemm(0 as unknown as boolean, false, 2, 2, 2, 1, m(2), m(2), 0, m(2)), /gemm: transA must be a boolean/);
  });
  it('rejects short pivot and tau arrays and non-float data', async () => {
    await assert.rejects(K.getrf(3, 3, m(3), new Int32Array(2)), /getrf: ipiv has 2 entries, needs min\(m, n\) = 3/);
    await assert.rejects(K.geqrf(4, 3, m(4, 3), new Float64Array(2)), /geqrf: tau has 2 elements, needs at least 3/);
    await assert.rejects(K.potrf('L', 2, { data: new Int32Array(4) as unknown as Float64Array, ld: 2 }), /potrf: A.data must be a Float64Array or Float32Array/);
    await assert.rejects(K.axpy(5, 1, new Float64Array(4), new Float64Array(5)), /axpy: x has 4 elements, needs at least 5/);
  });
  it('zero-sized problems are accepted and do nothing', async () => {
    const C = new Float64Array([5]);
    await K.gemm(false, false, 0, 0, 0, 1, m(1), m(1), 0, { data: C, ld: 1 });
    await K.potrf('L', 0, { data: new Float64Array(0), ld: 1 });
    assert.equal(C[0], 5);
  });
  it('rejects an unknown backend and keeps the current one', () => {
    const before = K.getBackend();
    assert.throws(() => K.setBackend('cuda' as 'cpu'), /setBackend: name must be 'cpu' or 'opencl'/);
    assert.equal(K.getBackend(), before);
  });
});
