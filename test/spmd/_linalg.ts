// Helpers of the linalg SPMD tests: whole matrices from DArrays, serial references on them, tolerant
// comparison, and "every rank raises this error" checks. Not a test program itself (leading underscore).
import type { Comm } from '../../src/comm/index.js';
import type { DArray } from '../../src/darray/index.js';
import type { FloatArray } from '../../src/kernels/index.js';

/** A whole matrix (rows x cols, row-major float64) on every rank; a vector is rows x 1. */
export interface Dense { rows: number; cols: number; data: Float64Array }

export async function dense(A: DArray): Promise<Dense> {
  const full = await A.collect();
  const rows = A.shape[0];
  const cols = A.shape.length === 2 ? A.shape[1] : 1;
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = A.shape.length === 2 ? full.get(i, j) : full.get(i);
  }
  return { rows, cols, data };
}

/** Same values as Dense but in the element type of the DArray (for references run in that precision). */
export function typed(d: Dense, dtype: string): FloatArray {
  return dtype === 'float32' ? Float32Array.from(d.data) : Float64Array.from(d.data);
}

/** Largest |x - y| over the largest |y| (1 if y is all zero): a relative error measure. */
export function relErr(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new Error(`length ${x.length} vs ${y.length}`);
  let d = 0;
  let s = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    s = Math.max(s, Math.abs(y[i]));
  }
  return d / (s || 1);
}

/** Throws (naming rank and what) when `err` exceeds `tol`. */
export function expectClose(comm: Comm, what: string, x: ArrayLike<number>, y: ArrayLike<number>, tol: number): void {
  const e = relErr(x, y);
  if (!(e <= tol)) throw new Error(`rank ${comm.rank}: ${what}: relative error ${e.toExponential(2)} > ${tol}`);
}

export function tolFor(dtype: string, scale = 1): number {
  return (dtype === 'float32' ? 2e-4 : 1e-11) * scale;
}

/**
 * Runs `fn`, which must reject with an error of class `name` whose message names this rank and contains
 * each of `parts`. Returns the error. Every rank runs this, so every rank must see the error.
 */
export async function expectError(comm: Comm, what: string, fn: () => Promise<unknown>, name: string,
  parts: string[]): Promise<Error & Record<string, unknown>> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof Error)) throw new Error(`rank ${comm.rank}: ${what}: expected ${name}, got no error`);
  if (caught.name !== name) {
    throw new Error(`rank ${comm.rank}: ${what}: expected ${name}, got ${caught.name}: ${caught.message}`);
  }
  for (const p of [`rank ${comm.rank}`, ...parts]) {
    if (!caught.message.includes(p)) {
      throw new Error(`rank ${comm.rank}: ${what}: message '${caught.message}' lacks '${p}'`);
    }
  }
  return caught as Error & Record<string, unknown>;
}

/** Deterministic pseudo-random value of global element (i, j, seed) in [-0.5, 0.5): independent of tiling. */
export function hashVal(i: number, j: number, seed: number): number {
  let h = Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(j + 7, 0x85ebca77) ^ Math.imul(seed + 13, 0xc2b2ae3d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 2 ** 32 - 0.5;
}

/** Element (i, j) of a symmetric positive definite test matrix of order n (diagonally dominant). */
export function spd(n: number, seed: number): (i: number, j: number) => number {
  return (i, j) => hashVal(Math.min(i, j), Math.max(i, j), seed) + (i === j ? n : 0);
}
