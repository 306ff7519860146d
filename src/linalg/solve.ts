// solve(A, B) for symmetric positive definite A: Cholesky A = L L^T, then L Y = B and L^T X = Y.
import type { DArray } from '../darray/darray.js';
import { cholesky } from './cholesky.js';
import { checkFloat, checkPair, shapeError } from './context.js';
import { triangularSolve } from './trsm.js';

/**
 * X with A X = B, A symmetric positive definite (n x n, square tiles; only its lower triangle is read), B an
 * n x m matrix or a length-n vector. Collective; X has B's layout. NotPositiveDefiniteError on every rank
 * when A is not positive definite.
 */
export async function solve(A: DArray, B: DArray): Promise<DArray> {
  const op = 'solve';
  checkFloat(op, 'A', A, [2]);
  checkFloat(op, 'B', B, [1, 2]);
  checkPair(op, A, 'A', B, 'B');
  // Check B against A before the (expensive) factorization, so a mismatch fails fast on every rank.
  if (A.shape[0] !== A.shape[1]) throw shapeError(A.comm, op, `A must be square, got shape [${A.shape}]`);
  if (B.shape[0] !== A.shape[0]) {
    throw shapeError(A.comm, op, `A is ${A.shape[0]} x ${A.shape[1]} but B has ${B.shape[0]} rows (shape [${B.shape}])`);
  }
  const L = await cholesky(A);
  const Y = await triangularSolve(L, B, { lower: true, trans: false });
  return triangularSolve(L, Y, { lower: true, trans: true });
}
