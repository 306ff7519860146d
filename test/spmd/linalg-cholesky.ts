// spmd: ranks=1,2,3,4 timeout=300 env=DARRAY_BACKEND=cpu|opencl
// Tiled Cholesky against the serial reference POTRF: orders not divisible by the tile, both dtypes, upper
// triangle zero, also in place; a non-SPD matrix and bad shapes raise the same error on every rank.
import { init, finalize } from '../../src/comm/index.js';
import { fromFunction } from '../../src/darray/index.js';
import { getBackend } from '../../src/kernels/index.js';
import * as ref from '../../src/kernels/reference.js';
import { cholesky, matmul, norm } from '../../src/linalg/index.js';
import { dense, expectClose, expectError, spd, tolFor, typed } from './_linalg.js';

const comm = await init();

const cases = [
  { n: 37, b: 8, dtype: 'float64' as const },
  { n: 61, b: 16, dtype: 'float32' as const },
  { n: 100, b: 12, dtype: 'float64' as const },
  { n: 5, b: 8, dtype: 'float64' as const }, // a single tile
  { n: 30, b: 7, dtype: 'float64' as const, grid: [1, 1] }, // all on rank 0; other ranks own nothing
  // Tiles over 256: the diagonal tiles' inverses are blocked (halves inverted, the corner by TRMMs).
  { n: 700, b: 300, dtype: 'float64' as const },
  { n: 620, b: 520, dtype: 'float32' as const },
];
for (const [ci, c] of cases.entries()) {
  const A = await fromFunction(comm, [c.n, c.n], spd(c.n, ci), { dtype: c.dtype, blockSize: [c.b, c.b], grid: c.grid });
  const L = await cholesky(A);
  if (L.dtype !== c.dtype || L.shape.join() !== A.shape.join() || L.blockSize.join() !== A.blockSize.join()) {
    throw new Error(`rank ${comm.rank}: cholesky case ${ci}: result layout ${L.dtype} [${L.shape}] [${L.blockSize}]`);
  }
  const a = await dense(A);
  const want = typed(a, 'float64');
  ref.potrf('L', c.n, { data: want, ld: c.n });
  for (let i = 0; i < c.n; i++) for (let j = i + 1; j < c.n; j++) want[i * c.n + j] = 0;
  const got = (await dense(L)).data;
  expectClose(comm, `cholesky case ${ci} (n ${c.n}, tile ${c.b}, ${c.dtype})`, got, want, tolFor(c.dtype, 10));
  for (let i = 0; i < c.n; i++) for (let j = i + 1; j < c.n; j++) {
    if (got[i * c.n + j] !== 0) throw new Error(`rank ${comm.rank}: cholesky case ${ci}: L(${i},${j}) = ${got[i * c.n + j]}`);
  }
  // A itself is left as it was.
  expectClose(comm, `cholesky case ${ci} input untouched`, (await dense(A)).data, a.data, 0);
  // In place: A becomes the same factor (bit for bit: the same kernels on the same tiles), upper triangle zero.
  const Lw = await cholesky(A, { overwrite: true });
  if (Lw !== A) throw new Error(`rank ${comm.rank}: cholesky case ${ci}: overwrite returned another array`);
  expectClose(comm, `cholesky case ${ci} in place`, (await dense(A)).data, got, 0);
}

// Larger orders: the residual ||A - L L^T||_F / ||A||_F, computed distributed, and ||L||_F^2 = trace(A).
for (const dtype of ['float64', 'float32'] as const) {
  const n = 300;
  const A = await fromFunction(comm, [n, n], spd(n, 40), { dtype, blockSize: [32, 32] });
  const L = await cholesky(A);
  const D = await A.copy();
  await matmul(L, L, { transB: true, beta: -1, out: D });
  const res = (await norm(D)) / (await norm(A));
  if (!(res < (dtype === 'float32' ? 1e-6 : 1e-14))) throw new Error(`rank ${comm.rank}: cholesky n ${n} ${dtype}: residual ${res}`);
  let trace = 0;
  for (let i = 0; i < n; i++) trace += spd(n, 40)(i, i);
  expectClose(comm, `cholesky n ${n} ${dtype}: ||L||_F^2 vs trace(A)`, [(await norm(L)) ** 2], [trace], tolFor(dtype));
}

// Not positive definite: the diagonal turns negative at column 29; reference POTRF says where it fails.
for (const dtype of ['float64', 'float32'] as const) {
  const n = 45;
  const f = spd(n, 3);
  const A = await fromFunction(comm, [n, n], (i, j) => (i === j && i >= 29 ? -1 : f(i, j)), { dtype, blockSize: [8, 8] });
  const a = await dense(A);
  let col = -1;
  try {
    ref.potrf('L', n, { data: typed(a, 'float64'), ld: n });
  } catch (e) {
    col = (e as { column: number }).column;
  }
  if (col !== 29) throw new Error(`rank ${comm.rank}: reference POTRF failed at ${col}, expected 29`);
  const err = await expectError(comm, `non-SPD ${dtype}`, () => cholesky(A), 'NotPositiveDefiniteError',
    ['cholesky', `order ${col + 1}`]);
  if (err.column !== col) throw new Error(`rank ${comm.rank}: non-SPD ${dtype}: column ${String(err.column)}, expected ${col}`);
  const inPlace = await expectError(comm, `non-SPD ${dtype} in place`, () => cholesky(A, { overwrite: true }),
    'NotPositiveDefiniteError', ['cholesky', `order ${col + 1}`]);
  if (inPlace.column !== col) throw new Error(`rank ${comm.rank}: non-SPD ${dtype} in place: column ${String(inPlace.column)}`);
}
// A matrix that fails in its very first tile, then a good one: the communicator is clean after a failure.
const bad = await fromFunction(comm, [20, 20], (i, j) => (i === j ? (i === 0 ? 0 : 5) : 0), { blockSize: [6, 6] });
await expectError(comm, 'non-SPD first column', () => cholesky(bad), 'NotPositiveDefiniteError', ['order 1']);
const good = await fromFunction(comm, [20, 20], spd(20, 9), { blockSize: [6, 6] });
const Lg = await cholesky(good);
const g = typed(await dense(good), 'float64');
ref.potrf('L', 20, { data: g, ld: 20 });
for (let i = 0; i < 20; i++) for (let j = i + 1; j < 20; j++) g[i * 20 + j] = 0;
expectClose(comm, 'cholesky after a failure', (await dense(Lg)).data, g, tolFor('float64', 10));

// Shapes: non-square matrix, non-square tiles.
const rect = await fromFunction(comm, [12, 10], () => 1, { blockSize: [4, 4] });
await expectError(comm, 'non-square', () => cholesky(rect), 'ShapeError', ['cholesky', 'square', '12,10']);
const tiles = await fromFunction(comm, [12, 12], spd(12, 1), { blockSize: [4, 6] });
await expectError(comm, 'non-square tiles', () => cholesky(tiles), 'ShapeError', ['cholesky', 'square tiles', '4,6']);
const ints = await fromFunction(comm, [6, 6], (i, j) => (i === j ? 2 : 0), { blockSize: [3, 3], dtype: 'int32' });
await expectError(comm, 'int32', () => cholesky(ints), 'ShapeError', ['cholesky', 'int32']);

if (comm.rank === 0) console.log(`linalg-cholesky: ${2 * cases.length + 3} factorizations and 9 error checks passed at ${comm.size} ranks on ${getBackend()}`);
await finalize();
