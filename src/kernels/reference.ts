// Plain-TypeScript versions of every tile kernel, synchronous, same arguments as src/kernels/index.ts: the
// independent oracle the kernel tests compare the addon with. Written for clarity, not speed.
import { NotPositiveDefiniteError, SingularMatrixError } from '../errors.js';
import type { FloatArray, Mat } from './validate.js';

const at = (M: Mat, i: number, j: number): number => M.data[(M.offset ?? 0) + i * M.ld + j];
const put = (M: Mat, i: number, j: number, v: number): void => {
  M.data[(M.offset ?? 0) + i * M.ld + j] = v;
};
/** Element (i, j) of op(M). */
const opAt = (M: Mat, t: boolean, i: number, j: number): number => (t ? at(M, j, i) : at(M, i, j));

export function gemm(transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number, A: Mat,
  B: Mat, beta: number, C: Mat): void {
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += opAt(A, transA, i, l) * opAt(B, transB, l, j);
      // beta = 0 overwrites C, as BLAS does (NaN or garbage in C is not propagated)
      put(C, i, j, alpha * s + (beta === 0 ? 0 : beta * at(C, i, j)));
    }
  }
}

export function syrk(uplo: 'L' | 'U', trans: boolean, n: number, k: number, alpha: number, A: Mat, beta: number,
  C: Mat): void {
  for (let i = 0; i < n; i++) {
    const [j0, j1] = uplo === 'L' ? [0, i] : [i, n - 1];
    for (let j = j0; j <= j1; j++) {
      let s = 0;
      for (let l = 0; l < k; l++) s += opAt(A, trans, i, l) * opAt(A, trans, j, l);
      put(C, i, j, alpha * s + (beta === 0 ? 0 : beta * at(C, i, j)));
    }
  }
}

/** op(A) as a dense ka x ka array, zero outside its triangle, 1 on the diagonal when diag is U. */
function triangle(uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U', ka: number, A: Mat): Float64Array {
  const T = new Float64Array(ka * ka);
  for (let i = 0; i < ka; i++) {
    for (let j = 0; j < ka; j++) {
      const inside = uplo === 'L' ? j <= i : j >= i;
      if (!inside) continue;
      const v = i === j && diag === 'U' ? 1 : at(A, i, j);
      if (transA) T[j * ka + i] = v;
      else T[i * ka + j] = v;
    }
  }
  return T;
}

/** B as an m x n dense copy, and a writer back. */
function dense(B: Mat, m: number, n: number): Float64Array {
  const X = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) X[i * n + j] = at(B, i, j);
  return X;
}
function store(B: Mat, m: number, n: number, X: Float64Array): void {
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) put(B, i, j, X[i * n + j]);
}

export function trsm(side: 'L' | 'R', uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U', m: number, n: number,
  alpha: number, A: Mat, B: Mat): void {
  const ka = side === 'L' ? m : n;
  const T = triangle(uplo, transA, diag, ka, A);
  const lower = (uplo === 'L') !== transA; // op(A) is lower triangular
  const X = dense(B, m, n).map((v) => alpha * v);
  if (side === 'L') {
    // T X = alpha B, one column of X at a time, by substitution
    for (let j = 0; j < n; j++) {
      for (let s = 0; s < m; s++) {
        const i = lower ? s : m - 1 - s;
        let v = X[i * n + j];
        for (let l = 0; l < m; l++) if (l !== i && T[i * m + l] !== 0) v -= T[i * m + l] * X[l * n + j];
        X[i * n + j] = v / T[i * m + i];
      }
    }
  } else {
    // X T = alpha B, one row of X at a time: column c of X depends on columns after it (lower) or before (upper)
    for (let i = 0; i < m; i++) {
      for (let s = 0; s < n; s++) {
        const c = lower ? n - 1 - s : s;
        let v = X[i * n + c];
        for (let l = 0; l < n; l++) if (l !== c && T[l * n + c] !== 0) v -= X[i * n + l] * T[l * n + c];
        X[i * n + c] = v / T[c * n + c];
      }
    }
  }
  store(B, m, n, X);
}

export function trmm(side: 'L' | 'R', uplo: 'L' | 'U', transA: boolean, diag: 'N' | 'U', m: number, n: number,
  alpha: number, A: Mat, B: Mat): void {
  const ka = side === 'L' ? m : n;
  const T = triangle(uplo, transA, diag, ka, A);
  const X = dense(B, m, n);
  const Y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      if (side === 'L') for (let l = 0; l < m; l++) s += T[i * m + l] * X[l * n + j];
      else for (let l = 0; l < n; l++) s += X[i * n + l] * T[l * n + j];
      Y[i * n + j] = alpha * s;
    }
  }
  store(B, m, n, Y);
}

/** Cholesky on the uplo triangle; throws NotPositiveDefiniteError(column) like LAPACK's info > 0. */
export function potrf(uplo: 'L' | 'U', n: number, A: Mat): void {
  // Work on the lower form: for uplo U, element (i, j) of L is A(j, i).
  const get = (i: number, j: number): number => (uplo === 'L' ? at(A, i, j) : at(A, j, i));
  const set = (i: number, j: number, v: number): void => (uplo === 'L' ? put(A, i, j, v) : put(A, j, i, v));
  for (let j = 0; j < n; j++) {
    let d = get(j, j);
    for (let l = 0; l < j; l++) d -= get(j, l) * get(j, l);
    if (!(d > 0)) throw new NotPositiveDefiniteError(j, { op: 'potrf' });
    const ljj = Math.sqrt(d);
    set(j, j, ljj);
    for (let i = j + 1; i < n; i++) {
      let s = get(i, j);
      for (let l = 0; l < j; l++) s -= get(i, l) * get(j, l);
      set(i, j, s / ljj);
    }
  }
}

/** In-place inverse of a triangular matrix by column-wise substitution (the other triangle untouched). */
export function trtri(uplo: 'L' | 'U', diag: 'N' | 'U', n: number, A: Mat): void {
  // Work on the lower form: for uplo U, element (i, j) of the lower matrix is A(j, i).
  const get = (i: number, j: number): number => (uplo === 'L' ? at(A, i, j) : at(A, j, i));
  const set = (i: number, j: number, v: number): void => (uplo === 'L' ? put(A, i, j, v) : put(A, j, i, v));
  const d = (i: number): number => (diag === 'U' ? 1 : get(i, i));
  for (let i = 0; i < n; i++) if (d(i) === 0) throw new SingularMatrixError(i, { op: 'trtri' });
  const x = new Float64Array(n * n);
  // Column j of X = T^-1 solves T x = e_j: forward substitution from row j down.
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) {
      let s = i === j ? 1 : 0;
      for (let l = j; l < i; l++) s -= get(i, l) * x[l * n + j];
      x[i * n + j] = s / d(i);
    }
  }
  for (let j = 0; j < n; j++) for (let i = j; i < n; i++) if (i !== j || diag === 'N') set(i, j, x[i * n + j]);
}

/** LU with partial pivoting (first largest |pivot|, whole rows swapped), 0-based ipiv, LAPACK's storage. */
export function getrf(m: number, n: number, A: Mat, ipiv: Int32Array): void {
  let firstZero = -1;
  for (let j = 0; j < Math.min(m, n); j++) {
    let p = j;
    for (let i = j + 1; i < m; i++) if (Math.abs(at(A, i, j)) > Math.abs(at(A, p, j))) p = i;
    ipiv[j] = p;
    if (p !== j) {
      for (let c = 0; c < n; c++) {
        const t = at(A, j, c);
        put(A, j, c, at(A, p, c));
        put(A, p, c, t);
      }
    }
    const piv = at(A, j, j);
    if (piv === 0) {
      if (firstZero < 0) firstZero = j;
      continue; // LAPACK skips the elimination for a zero pivot and goes on
    }
    for (let i = j + 1; i < m; i++) {
      const l = at(A, i, j) / piv;
      put(A, i, j, l);
      for (let c = j + 1; c < n; c++) put(A, i, c, at(A, i, c) - l * at(A, j, c));
    }
  }
  if (firstZero >= 0) throw new SingularMatrixError(firstZero, { op: 'getrf' });
}

/** Householder QR as LAPACK's dgeqr2/dlarfg: beta = -sign(alpha) ||x||, tau = (beta - alpha) / beta. */
export function geqrf(m: number, n: number, A: Mat, tau: FloatArray): void {
  for (let j = 0; j < Math.min(m, n); j++) {
    const alpha = at(A, j, j);
    let xnorm = 0;
    for (let i = j + 1; i < m; i++) xnorm = Math.hypot(xnorm, at(A, i, j));
    if (xnorm === 0) {
      tau[j] = 0;
      continue;
    }
    const beta = -Math.sign(alpha || 1) * Math.hypot(alpha, xnorm);
    const t = (beta - alpha) / beta;
    tau[j] = t;
    const scale = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) put(A, i, j, at(A, i, j) * scale);
    put(A, j, j, beta);
    // Apply H = I - t v v^T (v = [1; A(j+1:m, j)]) to the columns on the right.
    for (let c = j + 1; c < n; c++) {
      let w = at(A, j, c);
      for (let i = j + 1; i < m; i++) w += at(A, i, j) * at(A, i, c);
      w *= t;
      put(A, j, c, at(A, j, c) - w);
      for (let i = j + 1; i < m; i++) put(A, i, c, at(A, i, c) - w * at(A, i, j));
    }
  }
}

export function axpy(n: number, alpha: number, x: FloatArray, y: FloatArray): void {
  for (let i = 0; i < n; i++) y[i] += alpha * x[i];
}

export function scal(n: number, alpha: number, x: FloatArray): void {
  for (let i = 0; i < n; i++) x[i] *= alpha;
}
