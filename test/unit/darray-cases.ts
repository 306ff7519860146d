// Checks of every DArray operation against serial ndarray computations that each rank builds on its own.
// Shared by the in-process unit tests (simulated ranks) and the SPMD programs in test/spmd (real ranks).

import ndarray from 'ndarray';
import type { Comm } from '../../src/comm/index.js';
import * as da from '../../src/darray/index.js';
import { allocate, type Dtype, type TypedArray } from '../../src/darray/dtype.js';
import { CounterRng, STREAM_NORMAL } from '../../src/darray/random.js';
import { ShapeError } from '../../src/errors.js';

type Nd = ndarray.NdArray<TypedArray>;

/** One layout to test: a shape and block sizes for two operands (the second tiled differently). */
export interface Case { shape: number[]; bs: number[] | undefined; bs2: number[] }

/** Shapes of 0 to 3 dimensions with tiles that divide the shape, that do not, and single whole tiles. */
export const CASES: Case[] = [
  { shape: [7, 5], bs: [3, 2], bs2: [2, 4] },
  { shape: [7, 5], bs: [4, 4], bs2: [7, 5] },
  { shape: [8, 6], bs: undefined, bs2: [3, 3] },
  { shape: [10, 9, 4], bs: [3, 4, 3], bs2: [5, 2, 4] },
  { shape: [13], bs: [4], bs2: [5] },
  { shape: [], bs: [], bs2: [] },
];

/**
 * Layouts whose exchanges copy blocks of 256 elements and more, which go through the addon's block copy (the
 * small ones above stay in JS): 2-D and 3-D, tiles that do not divide the shape, rows that do not fill a tile.
 */
export const LARGE_CASES: Case[] = [
  { shape: [300, 170], bs: [64, 48], bs2: [50, 90] },
  { shape: [40, 33, 70], bs: [16, 12, 32], bs2: [10, 33, 24] },
];

export const label = (c: Case) => `shape [${c.shape}] blockSize ${c.bs ? `[${c.bs}]` : 'default'}`;

const prod = (xs: number[]) => xs.reduce((a, b) => a * b, 1);

/** Row-major coordinates of a linear index. */
export function unravel(lin: number, shape: number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = lin % shape[d]; lin = Math.floor(lin / shape[d]); }
  return idx;
}
const ravel = (idx: number[], shape: number[]) => idx.reduce((acc, v, d) => acc * shape[d] + v, 0);

/** Test values: f1 has negatives, fractions and repeats; f2 is never zero (safe to divide by). */
export const f1 = (shape: number[], dtype: Dtype = 'float64') => (...idx: number[]) => {
  const lin = ravel(idx, shape);
  return ((lin * 7) % 23) - 11 + (dtype === 'int32' ? 0 : 0.25 * (lin % 4));
};
export const f2 = (shape: number[]) => (...idx: number[]) => ((ravel(idx, shape) * 5) % 13) + 1;

/** A serial reference: a contiguous ndarray of `dtype` with element idx = f(...idx). */
export function refArray(shape: number[], f: (...idx: number[]) => number, dtype: Dtype = 'float64'): Nd {
  const data = allocate(dtype, prod(shape));
  for (let i = 0; i < data.length; i++) data[i] = f(...unravel(i, shape));
  return ndarray(data, shape);
}

/** Throws unless got has want's shape and every element agrees within rel * max(1, |want|). */
export function expectClose(got: Nd | undefined, want: Nd, what: string, rel = 0): void {
  if (!got) throw new Error(`${what}: no result`);
  if (got.shape.join() !== want.shape.join()) throw new Error(`${what}: shape [${got.shape}] != [${want.shape}]`);
  for (let i = 0; i < prod(want.shape); i++) {
    const idx = unravel(i, want.shape);
    const g = got.get(...idx) as number, w = want.get(...idx) as number;
    const ok = Number.isNaN(w) ? Number.isNaN(g) : g === w || Math.abs(g - w) <= rel * Math.max(1, Math.abs(w));
    if (!ok) throw new Error(`${what}: element [${idx}] is ${g}, expected ${w}`);
  }
}

export function expectEqual(got: unknown, want: unknown, what: string): void {
  if (got !== want) throw new Error(`${what}: got ${String(got)}, expected ${String(want)}`);
}

function opts(c: Case, second = false, dtype: Dtype = 'float64'): da.DArrayOptions {
  const bs = second ? c.bs2 : c.bs;
  return bs ? { blockSize: bs, dtype } : { dtype };
}

/** Factories, collect (all and root), get/set, fill, copy/similar, distribute, localTiles. */
export async function checkAccess(comm: Comm, c: Case): Promise<void> {
  const tag = label(c);
  const want = refArray(c.shape, f1(c.shape));
  const A = await da.fromFunction(comm, c.shape, f1(c.shape), opts(c));
  expectClose(await A.collect(), want, `fromFunction/collect ${tag}`);
  const root = comm.size - 1;
  const onRoot = await A.collect({ root });
  if (comm.rank === root) expectClose(onRoot, want, `collect({root}) ${tag}`);
  else expectEqual(onRoot, undefined, `collect({root}) off root ${tag}`);

  let owned = 0;
  for (const t of A.localTiles()) {
    owned += t.data.length;
    if (t.data !== A.tile(t.index)) throw new Error(`localTiles/tile disagree at [${t.index}] ${tag}`);
    for (let i = 0; i < t.data.length; i++) {
      const idx = unravel(i, t.shape).map((x, d) => x + t.offset[d]);
      expectEqual(t.view.get(...unravel(i, t.shape)), want.get(...idx), `localTiles element [${idx}] ${tag}`);
    }
  }
  expectEqual(await comm.allreduce(owned, 'sum'), prod(c.shape), `tiles cover the array ${tag}`);

  for (const [shape, v, name] of [[c.shape, 0, 'zeros'], [c.shape, 1, 'ones'], [c.shape, -2.5, 'full']] as const) {
    const Z = name === 'zeros' ? await da.zeros(comm, shape, opts(c)) : name === 'ones'
      ? await da.ones(comm, shape, opts(c)) : await da.full(comm, shape, v, opts(c, true));
    expectClose(await Z.collect(), refArray(c.shape, () => v), `${name} ${tag}`);
  }

  if (prod(c.shape) > 0) {
    const last = c.shape.map((n) => n - 1), mid = c.shape.map((n) => n >> 1);
    for (const idx of [c.shape.map(() => 0), last, mid]) {
      expectEqual(await A.get(idx), want.get(...idx), `get [${idx}] ${tag}`);
    }
    await A.set(mid, 99.5);
    want.set(...mid, 99.5);
    expectEqual(await A.get(mid), 99.5, `get after set ${tag}`);
    expectClose(await A.collect(), want, `collect after set ${tag}`);
  }

  const C = await A.copy();
  await A.fill(3);
  expectClose(await C.collect(), want, `copy is independent of fill ${tag}`);
  expectClose(await A.collect(), refArray(c.shape, () => 3), `fill ${tag}`);
  const S = A.similar({ dtype: 'int32' });
  expectEqual(S.dtype, 'int32', `similar dtype ${tag}`);
  expectEqual(S.shape.join(), A.shape.join(), `similar shape ${tag}`);

  // distribute from the last rank, of a strided view only that rank holds: every other row and, with two axes
  // or more, the last axis reversed (a negative stride).
  const nd = c.shape.length;
  const bigShape = nd ? [2 * c.shape[0], ...c.shape.slice(1)] : [];
  const fb = f1(bigShape);
  const steps = bigShape.map((_, d) => (d === 0 ? 2 : d === nd - 1 ? -1 : 1));
  const view = comm.rank === root ? (nd ? refArray(bigShape, fb).step(...steps) : refArray([], fb)) : undefined;
  const D = await da.distribute(comm, view as ndarray.NdArray | undefined, { root, ...opts(c, true) });
  const wantD = refArray(c.shape, (...idx) => (nd === 0 ? fb()
    : fb(...idx.map((x, d) => (d === 0 ? 2 * x : nd > 1 && d === nd - 1 ? c.shape[d] - 1 - x : x)))));
  expectClose(await D.collect(), wantD, `distribute of a strided view ${tag}`);
}

const ARITH: [string, (x: number, y: number) => number][] = [
  ['add', (x, y) => x + y], ['sub', (x, y) => x - y], ['mul', (x, y) => x * y], ['div', (x, y) => x / y],
  ['pow', (x, y) => Math.pow(x, y)],
];
const CMP: [string, (x: number, y: number) => number][] = [
  ['eq', (x, y) => +(x === y)], ['ne', (x, y) => +(x !== y)], ['lt', (x, y) => +(x < y)],
  ['le', (x, y) => +(x <= y)], ['gt', (x, y) => +(x > y)], ['ge', (x, y) => +(x >= y)],
];

/** Arithmetic and comparisons with DArrays of another tiling and with numbers, map, and { out }. */
export async function checkElementwise(comm: Comm, c: Case, dtype: Dtype = 'float64'): Promise<void> {
  const tag = `${label(c)} ${dtype}`;
  const r1 = refArray(c.shape, f1(c.shape, dtype), dtype), r2 = refArray(c.shape, f2(c.shape), dtype);
  const A = await da.fromFunction(comm, c.shape, f1(c.shape, dtype), opts(c, false, dtype));
  const B = await da.fromFunction(comm, c.shape, f2(c.shape), opts(c, true, dtype));
  const combos = [...ARITH.map(([n, f]) => [n, f, dtype] as const), ...CMP.map(([n, f]) => [n, f, 'int32' as Dtype] as const)];
  for (const [name, f, outType] of combos) {
    const op = name as da.BinaryOp;
    const got = await A.elementwise(B, op);
    expectEqual(got.dtype, outType, `${name} dtype ${tag}`);
    expectClose(await got.collect(), refArray(c.shape, (...i) => f(r1.get(...i), r2.get(...i)), outType), `${name} ${tag}`);
    const k = name === 'pow' ? 2 : 2.5;
    const gotS = await A.elementwise(k, op);
    expectClose(await gotS.collect(), refArray(c.shape, (...i) => f(r1.get(...i), k), outType), `${name} number ${tag}`);
  }
  // In place into A itself, and into an out of another tiling.
  const O = await da.zeros(comm, c.shape, opts(c, true, dtype));
  const ret = await A.mul(B, { out: O });
  if (ret !== O) throw new Error(`mul with out returned another array ${tag}`);
  expectClose(await O.collect(), refArray(c.shape, (...i) => r1.get(...i) * r2.get(...i), dtype), `mul out ${tag}`);
  await A.add(B, { out: A });
  expectClose(await A.collect(), refArray(c.shape, (...i) => r1.get(...i) + r2.get(...i), dtype), `add out=A ${tag}`);
  const M = await B.map((x) => x * x - 3);
  expectClose(await M.collect(), refArray(c.shape, (...i) => r2.get(...i) ** 2 - 3, dtype), `map ${tag}`);
  const H = await B.map((x) => x / 4, { dtype: 'float64' });
  expectClose(await H.collect(), refArray(c.shape, (...i) => r2.get(...i) / 4), `map to float64 ${tag}`);
}

/** Whole-array and per-axis reductions. */
export async function checkReductions(comm: Comm, c: Case, dtype: Dtype = 'float64'): Promise<void> {
  const tag = `${label(c)} ${dtype}`;
  const r1 = refArray(c.shape, f1(c.shape, dtype), dtype);
  const A = await da.fromFunction(comm, c.shape, f1(c.shape, dtype), opts(c, false, dtype));
  const vals = Array.from(r1.data as ArrayLike<number>);
  const n = vals.length;
  const rel = 1e-12;
  const near = (g: number, w: number, what: string) => {
    if (!(Math.abs(g - w) <= rel * Math.max(1, vals.reduce((s, v) => s + Math.abs(v), 0)))) throw new Error(`${what} ${tag}: ${g} != ${w}`);
  };
  near(await A.sum(), vals.reduce((s, v) => s + v, 0), 'sum');
  near(await A.mean(), vals.reduce((s, v) => s + v, 0) / n, 'mean');
  if (n > 0) {
    expectEqual(await A.min(), Math.min(...vals), `min ${tag}`);
    expectEqual(await A.max(), Math.max(...vals), `max ${tag}`);
  }
  const P = await A.map((x) => 1 + x / 64, { dtype: 'float64' });
  const pv = vals.map((x) => 1 + x / 64).reduce((s, v) => s * v, 1);
  const gp = await P.prod();
  if (!(Math.abs(gp - pv) <= 1e-12 * Math.abs(pv))) throw new Error(`prod ${tag}: ${gp} != ${pv}`);

  for (let axis = 0; axis < c.shape.length; axis++) {
    const outShape = c.shape.filter((_, d) => d !== axis);
    const along = (fold: (acc: number, v: number) => number, init: number) => (...idx: number[]) => {
      let acc = init;
      for (let j = 0; j < c.shape[axis]; j++) acc = fold(acc, r1.get(...idx.slice(0, axis), j, ...idx.slice(axis)));
      return acc;
    };
    const wide: Dtype = dtype === 'int32' ? 'float64' : dtype;
    const mean = along((a, v) => a + v, 0);
    const checks: [string, da.DArray, Nd, number][] = [
      ['sum', await A.sum({ axis }), refArray(outShape, along((a, v) => a + v, 0), wide), 1e-6],
      ['mean', await A.mean({ axis }), refArray(outShape, (...i) => mean(...i) / c.shape[axis], wide), 1e-6],
      ['min', await A.min({ axis }), refArray(outShape, along((a, v) => Math.min(a, v), Infinity), dtype), 0],
      ['max', await A.max({ axis: axis - c.shape.length }), refArray(outShape, along((a, v) => Math.max(a, v), -Infinity), dtype), 0],
      ['prod', await P.prod({ axis }), refArray(outShape, (...i) => {
        let acc = 1;
        for (let j = 0; j < c.shape[axis]; j++) acc *= 1 + r1.get(...i.slice(0, axis), j, ...i.slice(axis)) / 64;
        return acc;
      }), 1e-12],
    ];
    for (const [name, got, want, tol] of checks) {
      expectClose(await got.collect(), want, `${name} along axis ${axis} ${tag}`, dtype === 'float32' ? Math.max(tol, 1e-6) : tol);
    }
  }
}

/** transpose, redistribute (block size and grid), slice. */
export async function checkMovement(comm: Comm, c: Case): Promise<void> {
  const tag = label(c);
  const nd = c.shape.length;
  const r1 = refArray(c.shape, f1(c.shape));
  const A = await da.fromFunction(comm, c.shape, f1(c.shape), opts(c));
  const perms = nd === 3 ? [[2, 1, 0], [1, 2, 0]] : [[...Array(nd).keys()].reverse()];
  for (const perm of perms) {
    const T = await A.transpose(nd === 3 ? perm : undefined);
    const want = refArray(perm.map((p) => c.shape[p]), (...idx) => {
      const src = new Array<number>(nd);
      perm.forEach((p, d) => { src[p] = idx[d]; });
      return r1.get(...src);
    });
    expectClose(await T.collect(), want, `transpose [${perm}] ${tag}`);
  }
  const grids = [c.shape.map(() => 1), c.shape.map((_, d) => (d === nd - 1 ? comm.size : 1))];
  for (const grid of grids) {
    const R = await A.redistribute({ blockSize: c.bs2, grid });
    expectEqual(R.grid.join(), grid.join(), `redistribute grid ${tag}`);
    expectClose(await R.collect(), r1, `redistribute to [${c.bs2}] on grid [${grid}] ${tag}`);
  }
  if (nd >= 1) {
    // Every other element from 1 on axis 0, the last axis reversed-free range, a middle index dropped.
    const ranges: da.SliceRange[] = c.shape.map((n, d) => (d === 0 ? [1, n, 2] : d === 1 && nd === 3 ? n >> 1 : [0, -1]));
    const S = await A.slice(ranges);
    const keep = ranges.map((r, d) => (typeof r === 'number' ? -1 : d)).filter((d) => d >= 0);
    const shape = keep.map((d) => (d === 0 ? Math.ceil((c.shape[0] - 1) / 2) : c.shape[d] - 1));
    const want = refArray(shape, (...idx) => {
      const src = ranges.map((r) => (typeof r === 'number' ? r : 0));
      keep.forEach((d, k) => { src[d] = d === 0 ? 1 + 2 * idx[k] : idx[k]; });
      return r1.get(...src);
    });
    expectClose(await S.collect(), want, `slice ${JSON.stringify(ranges)} ${tag}`);
  }
}

/** rand/randn: same values as a serial evaluation of the generator, whatever the tiling. */
export async function checkRandom(comm: Comm, c: Case): Promise<void> {
  const tag = label(c);
  for (const [name, dtype] of [['rand', 'float64'], ['rand', 'float32'], ['randn', 'float64']] as const) {
    const rng = new CounterRng(1234, name === 'randn' ? STREAM_NORMAL : 0);
    const want = refArray(c.shape, (...idx) => {
      const i = ravel(idx, c.shape);
      return name === 'randn' ? rng.normal(i) : dtype === 'float32' ? rng.uniform24(i) : rng.uniform(i);
    }, dtype);
    for (const second of [false, true]) {
      const R = await da[name](comm, c.shape, { seed: 1234, ...opts(c, second, dtype) });
      expectClose(await R.collect(), want, `${name} ${dtype} ${second ? 'second tiling' : ''} ${tag}`);
    }
  }
}

/** Runs op expecting a ShapeError naming this rank and the operation, on every rank alike. */
async function expectShapeError(comm: Comm, op: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof ShapeError)) throw new Error(`${op}: expected ShapeError, got ${(e as Error)?.stack ?? e}`);
    if (!e.message.includes(`rank ${comm.rank}`) || !e.message.includes(op)) throw new Error(`${op}: unclear message: ${e.message}`);
    return;
  }
  throw new Error(`${op}: no error thrown`);
}

/** Bad input gives the same ShapeError on every rank, and the ranks stay in step afterwards. */
export async function checkErrors(comm: Comm): Promise<void> {
  const A = await da.fromFunction(comm, [6, 4], (i, j) => i + j, { blockSize: [4, 3] });
  const B = await da.zeros(comm, [4, 6]);
  const I = await da.zeros(comm, [6, 4], { dtype: 'int32' });
  await expectShapeError(comm, 'add', () => A.add(B));
  await expectShapeError(comm, 'mul', () => A.mul(I));
  await expectShapeError(comm, 'get', () => A.get([6, 0]));
  await expectShapeError(comm, 'set', () => A.set([0, -1], 1));
  await expectShapeError(comm, 'zeros', () => da.zeros(comm, [3, 3], { blockSize: [0, 2] }));
  await expectShapeError(comm, 'zeros', () => da.zeros(comm, [3, 3], { grid: [comm.size + 1, 1] }));
  await expectShapeError(comm, 'rand', () => da.rand(comm, [3], { dtype: 'int32' }));
  await expectShapeError(comm, 'sum', () => A.sum({ axis: 2 }));
  await expectShapeError(comm, 'slice', () => A.slice([[0, 7]]));
  await expectShapeError(comm, 'transpose', () => A.transpose([0, 0]));
  await expectShapeError(comm, 'add', () => A.add(A, { out: B }));
  await expectShapeError(comm, 'distribute', () => da.distribute(comm, undefined, { root: 0 }));
  await expectShapeError(comm, 'min', async () => (await da.zeros(comm, [0, 3])).min());
  // Still in step: a collective after the errors gives the right answer.
  expectEqual(await A.sum(), 6 * 4 * (2.5 + 1.5), 'sum after errors');
  // Ranks beyond the grid own nothing and still take part.
  const G = await da.fromFunction(comm, [5, 5], (i, j) => i * 5 + j, { grid: [1, 1], blockSize: [2, 2] });
  if (comm.rank > 0 && G.localTiles().length) throw new Error('a rank beyond the grid owns tiles');
  expectEqual(await G.sum(), 300, 'sum on a 1x1 grid');
}
