// Tile kernels vs the plain-TypeScript reference (src/kernels/reference.ts), both dtypes, on the cpu backend;
// defineKernelSuite is reused by kernels-opencl.test.ts for the OpenCL backend.
import assert from 'node:assert/strict';
import * as K from '../../src/kernels/index.js';
import * as R from '../../src/kernels/reference.js';
import type { FloatArray, Mat } from '../../src/kernels/index.js';

type Dtype = 'float64' | 'float32';
const GUARD = -7.25; // fills the array around a tile: a kernel writing outside its tile is caught

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function alloc(dtype: Dtype, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

/** A rows x cols tile inside a larger guarded array (offset and ld > cols when `pad`), filled by f. */
export function tile(dtype: Dtype, rows: number, cols: number, f: (i: number, j: number) => number, pad = true): Mat {
  const offset = pad ? 3 : 0;
  const ld = cols + (pad ? 5 : 0);
  const data = alloc(dtype, offset + Math.max(rows, 1) * ld + (pad ? 4 : 0)).fill(GUARD);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[offset + i * ld + j] = f(i, j);
  return { data, offset, ld };
}

export function clone(M: Mat): Mat {
  return { data: M.data.slice(), offset: M.offset, ld: M.ld };
}

function eps(dtype: Dtype): number {
  return dtype === 'float64' ? 2 ** -52 : 2 ** -23;
}

/** Whole arrays equal to within tol relative to the largest reference entry (guards included, so they must stay). */
export function close(actual: FloatArray, expected: FloatArray, dtype: Dtype, depth: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let scale = 1;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  const tol = 16 * eps(dtype) * Math.max(depth, 1) * scale;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= tol)) assert.fail(`${what}: element ${i} is ${actual[i]}, reference ${expected[i]} (tol ${tol.toExponential(2)})`);
  }
}

const sameArray = (a: Int32Array, b: Int32Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * A partial-pivoting LU of A0 in place of A: every multiplier is at most 1 in size, and P A0 = L U (the pivots are
 * LAPACK's row swaps, 0-based, applied in order).
 */
function checkLU(m: number, n: number, A0: Mat, A: Mat, piv: Int32Array, dtype: Dtype): void {
  const k = Math.min(m, n);
  const at = (M: Mat, i: number, j: number): number => M.data[(M.offset ?? 0) + i * M.ld + j];
  const PA = Array.from({ length: m }, (_, i) => Array.from({ length: n }, (_, j) => at(A0, i, j)));
  for (let i = 0; i < k; i++) [PA[i], PA[piv[i]]] = [PA[piv[i]], PA[i]];
  const LU = alloc(dtype, m * n), ref = alloc(dtype, m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let l = 0; l <= Math.min(i, j, k - 1); l++) sum += (l === i ? 1 : at(A, i, l)) * (l <= j ? at(A, l, j) : 0);
      LU[i * n + j] = sum;
      ref[i * n + j] = PA[i][j];
    }
    for (let l = 0; l < Math.min(i, k); l++) {
      assert.ok(Math.abs(at(A, i, l)) <= 1 + 16 * eps(dtype), `getrf: multiplier L[${i}][${l}] = ${at(A, i, l)} exceeds 1`);
    }
  }
  close(LU, ref, dtype, k * 4, 'getrf: P A = L U');
}

/** Triangular factor well conditioned with or without its diagonal: small off-diagonal, diagonal in [1, 2]. */
function triangularTile(dtype: Dtype, ka: number, r: () => number): Mat {
  return tile(dtype, ka, ka, (i, j) => (i === j ? 1 + r() : (2 * r() - 1) / ka));
}

function spdTile(dtype: Dtype, n: number, r: () => number): Mat {
  const M = Array.from({ length: n * n }, () => 2 * r() - 1);
  return tile(dtype, n, n, (i, j) => {
    let s = i === j ? n : 0;
    for (let l = 0; l < n; l++) s += M[i * n + l] * M[j * n + l];
    return s / n;
  });
}

export interface SuiteOptions {
  sizes: number[]; // square sizes
  shapes: [number, number, number][]; // non-square m, n, k
  fullCombos: number; // largest size at which every flag combination runs
  oneCombo?: boolean; // only the first flag combination of each kernel (every size still runs)
}

export function defineKernelSuite(backend: 'cpu' | 'opencl', dtypes: Dtype[], o: SuiteOptions): void {
  for (const dtype of dtypes) {
    describe(`kernels on ${backend}, ${dtype}`, function () {
      let previous: 'cpu' | 'opencl' = 'cpu';
      before(() => {
        previous = K.getBackend();
        K.setBackend(backend);
      });
      after(() => {
        K.releaseAll();
        K.setBackend(previous);
      });
      const r = rng(dtype === 'float64' ? 11 : 12);
      const rand = (): number => 2 * r() - 1;
      const flags = [false, true];
      // Every kernel result is read on the host after sync(): a no-op on cpu, the write-back on opencl.
      const done = async (...ms: FloatArray[]): Promise<void> => K.sync(...ms);

      const gemmCases: [number, number, number][] = [...o.sizes.map((s) => [s, s, s] as [number, number, number]), ...o.shapes];
      for (const [m, n, k] of gemmCases) {
        for (const ta of flags) for (const tb of flags) {
          if ((Math.max(m, n, k) > o.fullCombos && ta !== tb) || (o.oneCombo && (ta || tb))) continue;
          it(`gemm ${m}x${n}x${k} transA=${ta} transB=${tb}`, async () => {
            const A = tile(dtype, ta ? k : m, ta ? m : k, rand);
            const B = tile(dtype, tb ? n : k, tb ? k : n, rand);
            const C = tile(dtype, m, n, rand);
            const E = clone(C);
            await K.gemm(ta, tb, m, n, k, 0.75, A, B, -0.5, C);
            await done(C.data);
            R.gemm(ta, tb, m, n, k, 0.75, A, B, -0.5, E);
            close(C.data, E.data, dtype, k, 'gemm');
          });
        }
      }

      for (const [n, k] of [...o.sizes.map((s) => [s, s]), ...o.shapes.map(([a, , c]) => [a, c])]) {
        for (const uplo of ['L', 'U'] as const) for (const trans of flags) {
          if ((Math.max(n, k) > o.fullCombos || o.oneCombo) && trans) continue;
          it(`syrk n=${n} k=${k} uplo=${uplo} trans=${trans} leaves the other triangle`, async () => {
            const A = tile(dtype, trans ? k : n, trans ? n : k, rand);
            const C = tile(dtype, n, n, rand);
            const E = clone(C);
            await K.syrk(uplo, trans, n, k, 1.5, A, 0.25, C);
            await done(C.data);
            R.syrk(uplo, trans, n, k, 1.5, A, 0.25, E);
            close(C.data, E.data, dtype, k, 'syrk');
          });
        }
      }

      const triShapes: [number, number][] = [...o.sizes.map((s) => [s, s] as [number, number]), ...o.shapes.map(([a, b]) => [a, b] as [number, number])];
      for (const op of ['trsm', 'trmm'] as const) {
        for (const [m, n] of triShapes) {
          for (const side of ['L', 'R'] as const) for (const uplo of ['L', 'U'] as const)
            for (const trans of flags) for (const diag of ['N', 'U'] as const) {
              if ((Math.max(m, n) > o.fullCombos || o.oneCombo) && (trans || diag === 'U')) continue;
              if (o.oneCombo && side === 'R' && uplo === 'U') continue;
              it(`${op} ${m}x${n} side=${side} uplo=${uplo} trans=${trans} diag=${diag}`, async () => {
                const ka = side === 'L' ? m : n;
                const A = triangularTile(dtype, ka, r);
                const B = tile(dtype, m, n, rand);
                const E = clone(B);
                await K[op](side, uplo, trans, diag, m, n, -1.25, A, B);
                await done(B.data);
                R[op](side, uplo, trans, diag, m, n, -1.25, A, E);
                close(B.data, E.data, dtype, ka, op);
              });
            }
        }
      }

      for (const n of o.sizes) {
        for (const uplo of ['L', 'U'] as const) {
          it(`potrf n=${n} uplo=${uplo}`, async () => {
            const A = spdTile(dtype, n, r);
            const E = clone(A);
            await K.potrf(uplo, n, A);
            R.potrf(uplo, n, E);
            close(A.data, E.data, dtype, n, 'potrf');
          });
        }
      }

      for (const n of o.sizes) {
        for (const uplo of ['L', 'U'] as const) {
          for (const diag of ['N', 'U'] as const) {
            it(`trtri n=${n} uplo=${uplo} diag=${diag}`, async () => {
              const A = triangularTile(dtype, n, r);
              const E = clone(A);
              await K.trtri(uplo, diag, n, A);
              R.trtri(uplo, diag, n, E);
              close(A.data, E.data, dtype, n, 'trtri');
            });
          }
        }
      }

      // Sizes above 128 take the recursive path (halves joined by TRMMs and a SYRK), below it LAPACK's.
      for (const n of o.sizes) {
        for (const uplo of ['L', 'U'] as const) {
          it(`potrfInv n=${n} uplo=${uplo}: the factor and its inverse, other triangles zero`, async () => {
            const A = spdTile(dtype, n, r);
            const X = tile(dtype, n, n, () => 9);
            const E = clone(A);
            await K.potrfInv(uplo, n, A, X);
            R.potrf(uplo, n, E);
            const off = E.offset ?? 0;
            for (let i = 0; i < n; i++) {
              for (let j = i + 1; j < n; j++) E.data[off + (uplo === 'L' ? i * E.ld + j : j * E.ld + i)] = 0;
            }
            const EX = { data: E.data.slice(), offset: X.offset, ld: X.ld };
            R.trtri(uplo, 'N', n, EX);
            close(A.data, E.data, dtype, n, 'potrfInv factor');
            close(X.data, EX.data, dtype, n * 4, 'potrfInv inverse');
          });
        }
      }

      for (const [n, bad] of [[17, 9], [300, 9], [300, 211]]) {
        it(`potrfInv n=${n} of a non-SPD tile names the failing column ${bad}`, async () => {
          for (const uplo of ['L', 'U'] as const) {
            const A = spdTile(dtype, n, r);
            A.data[(A.offset ?? 0) + bad * A.ld + bad] = -1;
            const X = tile(dtype, n, n, () => 0);
            const err = await K.potrfInv(uplo, n, A, X).then(() => undefined, (e: unknown) => e);
            assert.equal((err as Error)?.name, 'NotPositiveDefiniteError', uplo);
            assert.equal((err as { column: number }).column, bad, uplo);
          }
        });
      }

      it('trtri of a tile with a zero on the diagonal rejects with SingularMatrixError there', async () => {
        const n = 17;
        const A = triangularTile(dtype, n, r);
        A.data[(A.offset ?? 0) + 4 * A.ld + 4] = 0;
        const err = await K.trtri('L', 'N', n, A).then(() => undefined, (e: unknown) => e);
        assert.equal((err as Error)?.name, 'SingularMatrixError');
        assert.equal((err as { column: number }).column, 4);
        assert.throws(() => R.trtri('L', 'N', n, clone(A)), { name: 'SingularMatrixError' });
      });

      const luShapes: [number, number][] = [...o.sizes.map((s) => [s, s] as [number, number]), [17, 5], [5, 17]];
      for (const [m, n] of luShapes) {
        it(`getrf ${m}x${n} pivots and factors`, async () => {
          const A = tile(dtype, m, n, rand);
          const E = clone(A);
          const piv = new Int32Array(Math.min(m, n));
          const epiv = new Int32Array(Math.min(m, n));
          await K.getrf(m, n, A, piv);
          checkLU(m, n, E, A, piv, dtype);
          R.getrf(m, n, E, epiv);
          // In float32, near-equal candidates can make LAPACK and the reference pick different pivots, both
          // valid: the factorization check above covers that case, so pivots are compared exactly in float64 only.
          if (dtype === 'float32' && !sameArray(piv, epiv)) return;
          assert.deepEqual(Array.from(piv), Array.from(epiv), 'pivots');
          close(A.data, E.data, dtype, Math.min(m, n) * 4, 'getrf');
        });
        it(`geqrf ${m}x${n} reflectors and tau`, async () => {
          const A = tile(dtype, m, n, rand);
          const E = clone(A);
          const tau = alloc(dtype, Math.min(m, n));
          const etau = alloc(dtype, Math.min(m, n));
          await K.geqrf(m, n, A, tau);
          R.geqrf(m, n, E, etau);
          close(A.data, E.data, dtype, m * 2, 'geqrf');
          close(tau, etau, dtype, m * 2, 'geqrf tau');
        });
      }

      for (const n of [1, 17, 1000]) {
        it(`axpy, scal and copy n=${n}`, async () => {
          const x = alloc(dtype, n + 2).map(rand);
          const y = alloc(dtype, n + 2).map(rand);
          const ey = y.slice();
          const ex = x.slice();
          await K.axpy(n, 0.5, x, y);
          await K.scal(n, -3, x);
          const z = alloc(dtype, n + 2).fill(GUARD);
          await K.copy(n, y, z); // on the host: a device copy of y comes home first
          await done(z);
          assert.deepEqual(Array.from(z.subarray(0, n)), Array.from(y.subarray(0, n)), 'copy');
          assert.deepEqual(Array.from(z.subarray(n)), [GUARD, GUARD], 'copy stays within n');
          await done(x, y);
          R.axpy(n, 0.5, ex, ey);
          R.scal(n, -3, ex);
          close(y, ey, dtype, 1, 'axpy');
          close(x, ex, dtype, 1, 'scal');
        });
      }

      it('potrf of a non-SPD tile names the failing column', async () => {
        const n = 17;
        const A = spdTile(dtype, n, r);
        const off = A.offset ?? 0;
        A.data[off + 9 * A.ld + 9] = -1; // leading minor of order 10 is no longer positive
        const err = await K.potrf('L', n, A).then(() => undefined, (e: unknown) => e);
        assert.equal((err as Error)?.name, 'NotPositiveDefiniteError');
        assert.equal((err as { column: number }).column, 9);
        assert.throws(() => R.potrf('L', n, clone({ ...A, data: A.data })), { name: 'NotPositiveDefiniteError' });
      });

      it('getrf of a singular tile rejects with SingularMatrixError at the zero pivot', async () => {
        const n = 17;
        const A = tile(dtype, n, n, (i, j) => (j === 6 ? 0 : rand()));
        const err = await K.getrf(n, n, A, new Int32Array(n)).then(() => undefined, (e: unknown) => e);
        assert.equal((err as Error)?.name, 'SingularMatrixError');
        assert.equal((err as { column: number }).column, 6);
      });

      it('gemm on tiles over a SharedArrayBuffer, at an offset', async () => {
        const n = 33;
        const over = (M: Mat): Mat => {
          const bpe = M.data.BYTES_PER_ELEMENT;
          const shared = new SharedArrayBuffer((M.data.length + 3) * bpe);
          const data = dtype === 'float64' ? new Float64Array(shared, 3 * bpe) : new Float32Array(shared, 3 * bpe);
          data.set(M.data);
          return { ...M, data };
        };
        const A = over(tile(dtype, n, n, rand));
        const B = over(tile(dtype, n, n, rand));
        const C = over(tile(dtype, n, n, rand));
        const E = clone(C);
        await K.gemm(false, true, n, n, n, 2, A, B, -1, C);
        await done(C.data);
        R.gemm(false, true, n, n, n, 2, A, B, -1, E);
        close(C.data, E.data, dtype, n, 'gemm over shared memory');
      });

      it('many kernels in flight at once all finish correctly', async () => {
        const n = 64;
        const jobs = Array.from({ length: 12 }, () => {
          const A = tile(dtype, n, n, rand, false);
          const B = tile(dtype, n, n, rand, false);
          const C = tile(dtype, n, n, () => 0, false);
          return { A, B, C };
        });
        await Promise.all(jobs.map(({ A, B, C }) => K.gemm(false, false, n, n, n, 1, A, B, 0, C)));
        await done(...jobs.map((j) => j.C.data));
        for (const { A, B, C } of jobs) {
          const E = clone(C);
          R.gemm(false, false, n, n, n, 1, A, B, 0, E);
          close(C.data, E.data, dtype, n, 'concurrent gemm');
        }
      });
    });
  }
}

if (!process.env.DARRAY_KERNELS_SKIP_CPU) {
  defineKernelSuite('cpu', ['float64', 'float32'], {
    sizes: [1, 2, 17, 64, 255, 256, 300],
    shapes: [[17, 64, 5], [300, 2, 255], [2, 255, 64]],
    fullCombos: 64,
  });
}
