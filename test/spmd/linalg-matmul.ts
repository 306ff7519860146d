// spmd: ranks=1,2,3,4 timeout=300 env=DARRAY_BACKEND=cpu|opencl
// SUMMA matmul against the serial reference GEMM: rectangular shapes not divisible by the tiles, transposes,
// alpha/beta into out, operands on other tilings and grids, both dtypes, and shape errors on every rank.
import { init, finalize } from '../../src/comm/index.js';
import { fromFunction } from '../../src/darray/index.js';
import { getBackend } from '../../src/kernels/index.js';
import * as ref from '../../src/kernels/reference.js';
import { matmul } from '../../src/linalg/index.js';
import { dense, expectClose, expectError, hashVal, tolFor, typed } from './_linalg.js';

const comm = await init();
const size = comm.size;

interface Case {
  m: number; k: number; n: number; dtype: 'float64' | 'float32';
  bsA: number[]; bsB: number[]; gridB?: number[]; transA?: boolean; transB?: boolean;
}
const cases: Case[] = [
  { m: 37, k: 53, n: 29, dtype: 'float64', bsA: [8, 8], bsB: [8, 8] },
  { m: 41, k: 19, n: 66, dtype: 'float32', bsA: [16, 16], bsB: [16, 16], transA: true },
  { m: 23, k: 47, n: 31, dtype: 'float64', bsA: [8, 8], bsB: [8, 8], transB: true, transA: true },
  // B on another tiling and grid: redistributed to A's before the product.
  { m: 50, k: 45, n: 38, dtype: 'float64', bsA: [16, 8], bsB: [10, 12], gridB: [size, 1] },
  { m: 7, k: 100, n: 5, dtype: 'float32', bsA: [4, 16], bsB: [16, 4], transB: true },
];

for (const [ci, c] of cases.entries()) {
  const shapeA = c.transA ? [c.k, c.m] : [c.m, c.k];
  const shapeB = c.transB ? [c.n, c.k] : [c.k, c.n];
  const A = await fromFunction(comm, shapeA, (i, j) => hashVal(i, j, 1 + ci), { dtype: c.dtype, blockSize: c.bsA });
  const B = await fromFunction(comm, shapeB, (i, j) => hashVal(i, j, 50 + ci),
    { dtype: c.dtype, blockSize: c.bsB, grid: c.gridB });
  // Even cases take one-tile SUMMA steps (tiles broadcast as they are); odd ones pack several tiles per step.
  if (ci % 2 === 0) process.env.DARRAY_SUMMA_K = '1';
  else delete process.env.DARRAY_SUMMA_K;
  const C = await matmul(A, B, { transA: c.transA, transB: c.transB });
  delete process.env.DARRAY_SUMMA_K;
  if (C.shape[0] !== c.m || C.shape[1] !== c.n) throw new Error(`rank ${comm.rank}: case ${ci}: shape [${C.shape}]`);
  if (C.dtype !== c.dtype) throw new Error(`rank ${comm.rank}: case ${ci}: dtype ${C.dtype}`);
  const a = await dense(A);
  const b = await dense(B);
  const want = new Float64Array(c.m * c.n);
  ref.gemm(!!c.transA, !!c.transB, c.m, c.n, c.k, 1, { data: a.data, ld: a.cols }, { data: b.data, ld: b.cols }, 0,
    { data: want, ld: c.n });
  expectClose(comm, `matmul case ${ci}`, (await dense(C)).data, want, tolFor(c.dtype, c.k / 10));
}

// alpha and beta into out: out <- 2 A B - 0.5 out, written in place and returned. SUMMA steps of the default
// width (packed panels of several tiles) and of one tile each (DARRAY_SUMMA_K=8, panels small enough to
// prefetch: beta applies on the first step while the next one's broadcasts are in flight).
const betaCases = [['float64', 21, ''], ['float32', 21, ''], ['float64', 64, '8'], ['float32', 64, '8']] as const;
for (const [dtype, k, summaK] of betaCases) {
  if (summaK) process.env.DARRAY_SUMMA_K = summaK;
  const opts = { dtype, blockSize: [8, 8] };
  const A = await fromFunction(comm, [33, k], (i, j) => hashVal(i, j, 7), opts);
  const B = await fromFunction(comm, [k, 27], (i, j) => hashVal(i, j, 8), opts);
  const out = await fromFunction(comm, [33, 27], (i, j) => hashVal(i, j, 9), opts);
  const before = await dense(out);
  const got = await matmul(A, B, { alpha: 2, beta: -0.5, out });
  delete process.env.DARRAY_SUMMA_K;
  if (got !== out) throw new Error(`rank ${comm.rank}: matmul with out returned a different array`);
  const a = await dense(A);
  const b = await dense(B);
  const want = typed(before, 'float64') as Float64Array;
  ref.gemm(false, false, 33, 27, k, 2, { data: a.data, ld: k }, { data: b.data, ld: 27 }, -0.5, { data: want, ld: 27 });
  const what = `matmul alpha/beta ${dtype} k ${k}${summaK ? ` steps of ${summaK}` : ''}`;
  expectClose(comm, what, (await dense(out)).data, want, tolFor(dtype, k / 7));
}

// out aliasing an operand (A <- A B for square B), and operands all on rank 0 (grid [1, 1]).
{
  const opts = { blockSize: [6, 6], grid: [1, 1] };
  const A = await fromFunction(comm, [20, 17], (i, j) => hashVal(i, j, 30), opts);
  const B = await fromFunction(comm, [17, 17], (i, j) => hashVal(i, j, 31), { blockSize: [6, 6] });
  const a = await dense(A);
  const b = await dense(B);
  const want = new Float64Array(20 * 17);
  ref.gemm(false, false, 20, 17, 17, 1, { data: a.data, ld: 17 }, { data: b.data, ld: 17 }, 0, { data: want, ld: 17 });
  const got = await matmul(A, B, { out: A });
  if (got !== A || A.grid.join() !== '1,1') throw new Error(`rank ${comm.rank}: matmul into an operand lost the array`);
  expectClose(comm, 'matmul into an operand on grid [1,1]', (await dense(A)).data, want, tolFor('float64', 3));
}

// Shape errors: the same ShapeError on every rank, naming the operation and the mismatch.
const A = await fromFunction(comm, [10, 12], (i, j) => i + j, { blockSize: [4, 4] });
const B = await fromFunction(comm, [11, 6], (i, j) => i - j, { blockSize: [4, 4] });
await expectError(comm, 'inner mismatch', () => matmul(A, B), 'ShapeError', ['matmul', 'inner dimensions', '12', '11']);
const B32 = await fromFunction(comm, [12, 6], (i, j) => i - j, { blockSize: [4, 4], dtype: 'float32' });
await expectError(comm, 'dtype mismatch', () => matmul(A, B32), 'ShapeError', ['matmul', 'float32']);
const out = await fromFunction(comm, [10, 7], () => 0, { blockSize: [4, 4] });
const B12 = await fromFunction(comm, [12, 6], (i, j) => i - j, { blockSize: [4, 4] });
await expectError(comm, 'out shape', () => matmul(A, B12, { out }), 'ShapeError', ['matmul', 'out has shape']);
await expectError(comm, 'beta without out', () => matmul(A, B12, { beta: 1 }), 'ShapeError', ['matmul', 'beta']);

if (comm.rank === 0) console.log(`linalg-matmul: ${cases.length + betaCases.length + 1} products and 4 error checks passed at ${size} ranks on ${getBackend()}`);
await finalize();
