// The kernel suite on the OpenCL backend (CLBlast; POCL's CPU device where there is no GPU), plus the device
// tile cache: results stay on the device until sync(), host kernels fetch dirty tiles, release() forgets.
import assert from 'node:assert/strict';
import * as K from '../../src/kernels/index.js';
import * as R from '../../src/kernels/reference.js';
import { clone, close, defineKernelSuite, tile } from './kernels.test.js';

// POCL compiles every CLBlast kernel variant on first use (seconds each, minutes for the suite on a cold
// cache), so float32 sweeps every flag combination up to 17 and float64 runs one combination per kernel (the
// variants are the same kernels at the other precision). DARRAY_OPENCL_FULL=1 (the GPU check) sweeps both.
const full = process.env.DARRAY_OPENCL_FULL === '1';
const sizes = [1, 2, 17, 64, 255, 256, 300];
defineKernelSuite('opencl', ['float32'], { sizes, shapes: [[17, 64, 5], [300, 2, 255]], fullCombos: full ? 64 : 17 });
defineKernelSuite('opencl', ['float64'], { sizes, shapes: [[17, 64, 5], [300, 2, 255]], fullCombos: full ? 64 : 17, oneCombo: !full });

describe('OpenCL device tile cache', function () {
  let previous: 'cpu' | 'opencl' = 'cpu';
  before(() => {
    previous = K.getBackend();
    K.setBackend('opencl');
  });
  after(() => {
    K.releaseAll();
    K.setBackend(previous);
  });
  const n = 32;
  const sq = (f: (i: number, j: number) => number) => tile('float32', n, n, f, false);

  it('keeps results on the device until sync() and writes them back then', async () => {
    K.releaseAll();
    const A = sq((i, j) => (i + 2 * j) % 7 - 3);
    const B = sq((i, j) => (3 * i + j) % 5 - 2);
    const C = sq(() => 0);
    await K.gemm(false, false, n, n, n, 1, A, B, 0, C);
    assert.ok(C.data.every((v) => v === 0), 'host copy untouched before sync');
    assert.deepEqual(K.deviceCacheStats(), { bytes: 3 * n * n * 4, tiles: 3 });
    // A second kernel reads the resident result without any host round trip.
    await K.gemm(false, false, n, n, n, 1, C, B, 0, A);
    await K.syncAll();
    const E1 = sq(() => 0);
    R.gemm(false, false, n, n, n, 1, clone(sq((i, j) => (i + 2 * j) % 7 - 3)), B, 0, E1);
    close(C.data, E1.data, 'float32', n, 'first gemm');
    const E2 = sq(() => 0);
    R.gemm(false, false, n, n, n, 1, E1, B, 0, E2);
    close(A.data, E2.data, 'float32', n * n, 'chained gemm');
  });

  it('a host kernel (potrf) first fetches the tile a device kernel (syrk) left dirty', async () => {
    K.releaseAll();
    const X = sq((i, j) => ((i * 7 + j * 3) % 11) / 11 - 0.5);
    const S = sq((i, j) => (i === j ? n : 0));
    const E = clone(S);
    await K.syrk('L', false, n, n, 1, X, 1, S); // S = X X^T + n I, on the device
    await K.potrf('L', n, S); // on the host, after the device copy came home
    R.syrk('L', false, n, n, 1, X, 1, E);
    R.potrf('L', n, E);
    close(S.data, E.data, 'float32', n * 4, 'syrk then potrf');
    assert.equal(K.deviceCacheStats().tiles, 1, 'the factored tile left the device cache, X stayed');
  });

  it('release() after a host-side write makes the device see the new values', async () => {
    K.releaseAll();
    const x = new Float32Array(8).fill(1);
    const y = new Float32Array(8).fill(0);
    await K.axpy(8, 1, x, y);
    x.fill(5); // host-side write: the device copy of x is stale now
    K.release(x);
    await K.axpy(8, 1, x, y);
    await K.sync(y);
    assert.deepEqual(Array.from(y), new Array(8).fill(6));
    K.releaseAll();
    assert.deepEqual(K.deviceCacheStats(), { bytes: 0, tiles: 0 });
  });
});
