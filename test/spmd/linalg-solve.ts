// spmd: ranks=1,2,3,4 timeout=300 env=DARRAY_BACKEND=cpu|opencl
// triangularSolve (all four lower/trans cases), solve (matrix and vector right-hand sides, other tilings) and
// norm ('fro', 1, Infinity) against serial references; shape errors on every rank.
import { init, finalize } from '../../src/comm/index.js';
import { fromFunction } from '../../src/darray/index.js';
import { getBackend } from '../../src/kernels/index.js';
import * as ref from '../../src/kernels/reference.js';
import { norm, solve, triangularSolve } from '../../src/linalg/index.js';
import { dense, expectClose, expectError, hashVal, spd, tolFor, typed } from './_linalg.js';

const comm = await init();
const size = comm.size;
let checks = 0;

// Well-conditioned triangular T: unit-ish random off the diagonal, n on it; the other triangle is garbage
// that the solver must not read.
for (const dtype of ['float64', 'float32'] as const) {
  const n = 43;
  const T = await fromFunction(comm, [n, n], (i, j) => (i === j ? n : hashVal(i, j, 5)), { dtype, blockSize: [8, 8] });
  const t = await dense(T);
  for (const lower of [true, false]) {
    for (const trans of [false, true]) {
      for (const shape of [[n, 13], [n]]) {
        const B = await fromFunction(comm, shape, (i, j = 0) => hashVal(i, j, 6),
          { dtype, blockSize: shape.length === 2 ? [8, 5] : [8], grid: shape.length === 2 ? undefined : [size] });
        const X = await triangularSolve(T, B, { lower, trans });
        if (X.shape.join() !== B.shape.join() || X.blockSize.join() !== B.blockSize.join()) {
          throw new Error(`rank ${comm.rank}: triangularSolve result layout [${X.shape}] [${X.blockSize}]`);
        }
        const b = await dense(B);
        const want = typed(b, 'float64');
        ref.trsm('L', lower ? 'L' : 'U', trans, 'N', n, b.cols, 1, { data: typed(t, 'float64'), ld: n }, { data: want, ld: b.cols });
        expectClose(comm, `triangularSolve lower=${lower} trans=${trans} ${dtype} [${shape}]`, (await dense(X)).data,
          want, tolFor(dtype, 10));
        checks++;
      }
    }
  }
}

// solve: SPD A with a matrix right-hand side on another row tiling and a vector one; residual and reference.
for (const dtype of ['float64', 'float32'] as const) {
  const n = 57;
  const A = await fromFunction(comm, [n, n], spd(n, 11), { dtype, blockSize: [10, 10] });
  const a = await dense(A);
  const L = typed(a, 'float64');
  ref.potrf('L', n, { data: L, ld: n });
  for (const shape of [[n, 9], [n]]) {
    const B = await fromFunction(comm, shape, (i, j = 0) => hashVal(i, j, 12),
      { dtype, blockSize: shape.length === 2 ? [7, 4] : [16] });
    const X = await solve(A, B);
    const b = await dense(B);
    const want = typed(b, 'float64');
    ref.trsm('L', 'L', false, 'N', n, b.cols, 1, { data: L, ld: n }, { data: want, ld: b.cols });
    ref.trsm('L', 'L', true, 'N', n, b.cols, 1, { data: L, ld: n }, { data: want, ld: b.cols });
    expectClose(comm, `solve ${dtype} [${shape}]`, (await dense(X)).data, want, tolFor(dtype, 10));
    checks++;
  }
}

// norm against plain loops on the collected matrix; vectors as numpy: 'fro' is the 2-norm.
for (const dtype of ['float64', 'float32'] as const) {
  const M = await fromFunction(comm, [29, 34], (i, j) => hashVal(i, j, 20) * (1 + i), { dtype, blockSize: [8, 6] });
  const m = await dense(M);
  let fro = 0;
  const colSum = new Float64Array(34);
  const rowSum = new Float64Array(29);
  for (let i = 0; i < 29; i++) for (let j = 0; j < 34; j++) {
    const x = m.data[i * 34 + j];
    fro += x * x;
    colSum[j] += Math.abs(x);
    rowSum[i] += Math.abs(x);
  }
  const want = [Math.sqrt(fro), Math.max(...colSum), Math.max(...rowSum)];
  const got = [await norm(M), await norm(M, { ord: 1 }), await norm(M, { ord: Infinity })];
  expectClose(comm, `norm ${dtype}`, got, want, tolFor(dtype));
  const v = await fromFunction(comm, [50], (i) => hashVal(i, 0, 21), { dtype, blockSize: [7] });
  const vd = (await dense(v)).data;
  const vwant = [Math.hypot(...vd), vd.reduce((s, x) => s + Math.abs(x), 0), Math.max(...vd.map(Math.abs))];
  const vgot = [await norm(v, { ord: 'fro' }), await norm(v, { ord: 1 }), await norm(v, { ord: Infinity })];
  expectClose(comm, `vector norm ${dtype}`, vgot, vwant, tolFor(dtype));
  checks += 2;
}
// Huge entries: the scaled Frobenius sum does not overflow.
const H = await fromFunction(comm, [9, 9], () => 1e200, { blockSize: [4, 4] });
expectClose(comm, 'norm without overflow', [await norm(H)], [9e200], 1e-14);

// Errors, the same on every rank.
const A = await fromFunction(comm, [12, 12], spd(12, 1), { blockSize: [4, 4] });
const B = await fromFunction(comm, [10, 3], () => 1, { blockSize: [4, 4] });
await expectError(comm, 'solve rows', () => solve(A, B), 'ShapeError', ['solve', '12 x 12', '10 rows']);
await expectError(comm, 'trsm rows', () => triangularSolve(A, B), 'ShapeError', ['triangularSolve', '10 rows']);
const R = await fromFunction(comm, [12, 10], () => 1, { blockSize: [4, 4] });
await expectError(comm, 'solve square', () => solve(R, B), 'ShapeError', ['solve', 'square']);
await expectError(comm, 'norm ord', () => norm(A, { ord: 2 }), 'ShapeError', ['norm', 'ord']);
const B32 = await fromFunction(comm, [12], () => 1, { dtype: 'float32' });
await expectError(comm, 'solve dtype', () => solve(A, B32), 'ShapeError', ['solve', 'float32']);
const bad = await fromFunction(comm, [12, 12], (i, j) => (i === j ? (i === 7 ? -3 : 4) : 0), { blockSize: [4, 4] });
const ones = await fromFunction(comm, [12], () => 1);
await expectError(comm, 'solve non-SPD', () => solve(bad, ones),
  'NotPositiveDefiniteError', ['cholesky', 'order 8']);

if (comm.rank === 0) console.log(`linalg-solve: ${checks + 1} checks and 6 error checks passed at ${size} ranks on ${getBackend()}`);
await finalize();
