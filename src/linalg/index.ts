// Distributed linear algebra on DArrays: SUMMA matmul, tiled Cholesky, triangular solve, SPD solve, norms.
export { matmul, type MatmulOptions } from './matmul.js';
export { cholesky, type CholeskyOptions } from './cholesky.js';
export { triangularSolve, type TriangularSolveOptions } from './trsm.js';
export { solve } from './solve.js';
export { norm, type NormOptions } from './norm.js';
