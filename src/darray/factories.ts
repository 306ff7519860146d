// Factories: the ways to create a DArray (empty, zeros, ones, full, fromFunction, rand, randn, distribute).
// All are collective in the sense that every rank calls them with the same shape and options.

import ndarray from 'ndarray';
import type { Comm } from '../comm/index.js';
import { ShapeError } from '../errors.js';
import { allocateDArray, forEachRow } from './alloc.js';
import { type DArray, tileBreak, withTiles } from './darray.js';
import { stridesOf, tileOffset, tileShape } from './distribution.js';
import { allocate, dtypeOf, type Dtype, isDtype, type TypedArray } from './dtype.js';
import { exchange, mapLookup } from './exchange.js';
import { identityMapping, wholeOnRoot } from './exchange-plan.js';
import { CounterRng, STREAM_NORMAL, STREAM_UNIFORM, seedKey } from './random.js';
import { type DArrayOptions, fail, resolveLayout } from './validate.js';

/** An array whose tiles are allocated; contents unspecified (currently zeros). Local: no messages. */
export async function empty(comm: Comm, shape: number[], opts?: DArrayOptions): Promise<DArray> {
  return allocateDArray(comm, resolveLayout(comm, 'empty', shape, opts));
}

export async function zeros(comm: Comm, shape: number[], opts?: DArrayOptions): Promise<DArray> {
  return allocateDArray(comm, resolveLayout(comm, 'zeros', shape, opts));
}

export async function ones(comm: Comm, shape: number[], opts?: DArrayOptions): Promise<DArray> {
  return fillNew(comm, 'ones', shape, 1, opts);
}

/** An array with every element `value` (stored as the dtype stores it: int32 truncates). */
export async function full(comm: Comm, shape: number[], value: number, opts?: DArrayOptions): Promise<DArray> {
  if (typeof value !== 'number') fail(comm, 'full', `value must be a number, got ${typeof value}`);
  return fillNew(comm, 'full', shape, value, opts);
}

async function fillNew(comm: Comm, op: string, shape: number[], value: number, opts?: DArrayOptions): Promise<DArray> {
  const a = allocateDArray(comm, resolveLayout(comm, op, shape, opts));
  for (const index of a.tileIndices()) {
    withTiles([a], index, (t) => t.fill(value));
    await tileBreak();
  }
  return a;
}

/** Calls `fn` on each of a's tiles in turn with its offset and shape, one tile in memory at a time. */
async function eachTile(a: DArray, fn: (data: TypedArray, offset: number[], shape: number[]) => void): Promise<void> {
  for (const index of a.tileIndices()) {
    const offset = tileOffset(a.blockSize, index), shape = tileShape(a.shape, a.blockSize, index);
    withTiles([a], index, (data) => fn(data, offset, shape));
    await tileBreak();
  }
}

/** An array whose element at (i, j, ...) is fn(i, j, ...); each rank evaluates fn for its own elements only. */
export async function fromFunction(
  comm: Comm, shape: number[], fn: (...index: number[]) => number, opts?: DArrayOptions,
): Promise<DArray> {
  if (typeof fn !== 'function') fail(comm, 'fromFunction', 'fn must be a function of the global index');
  const a = allocateDArray(comm, resolveLayout(comm, 'fromFunction', shape, opts));
  const last = shape.length - 1;
  await eachTile(a, (data, offset, tshape) => {
    forEachRow(a.shape, tshape, offset, (local, g, _lin, len) => {
      if (last < 0) { data[0] = fn(); return; }
      const idx = [...g];
      for (let j = 0; j < len; j++) {
        idx[last] = g[last] + j;
        data[local + j] = fn(...idx);
      }
    });
  });
  return a;
}

/** Options of rand and randn: the layout options plus the seed (a non-negative safe integer, default 0). */
export interface RandomOptions extends DArrayOptions {
  seed?: number;
}

async function randomArray(comm: Comm, op: string, shape: number[], opts: RandomOptions, normal: boolean): Promise<DArray> {
  const seed = opts.seed ?? 0;
  try { seedKey(seed); } catch (e) { fail(comm, op, (e as Error).message); }
  const l = resolveLayout(comm, op, shape, opts);
  if (l.dtype === 'int32') fail(comm, op, "random values need a float dtype ('float64' or 'float32'), got 'int32'");
  const a = allocateDArray(comm, l);
  const rng = new CounterRng(seed, normal ? STREAM_NORMAL : STREAM_UNIFORM);
  // float32 uniforms use 24 bits so that rounding can never produce 1.0.
  const draw = normal ? (i: number) => rng.normal(i) : l.dtype === 'float32' ? (i: number) => rng.uniform24(i) : (i: number) => rng.uniform(i);
  await eachTile(a, (data, offset, tshape) => {
    forEachRow(a.shape, tshape, offset, (local, _g, lin, len) => {
      for (let j = 0; j < len; j++) data[local + j] = draw(lin + j);
    });
  });
  return a;
}

/**
 * Uniform values on [0, 1) from Philox4x32-10 keyed by `seed` at each element's global row-major index:
 * the same numbers on any number of ranks and with any tiling. float64 values carry 53 random bits.
 */
export async function rand(comm: Comm, shape: number[], opts: RandomOptions = {}): Promise<DArray> {
  return randomArray(comm, 'rand', shape, opts, false);
}

/** Standard normal values (Box-Muller on Philox4x32-10), a function of seed and global index only. */
export async function randn(comm: Comm, shape: number[], opts: RandomOptions = {}): Promise<DArray> {
  return randomArray(comm, 'randn', shape, opts, true);
}

/** Options of distribute: the root holding the ndarray (default 0) and the layout of the result. */
export interface DistributeOptions extends DArrayOptions {
  root?: number;
}

/**
 * Collective: deals out an ndarray held by `root` (other ranks pass anything, e.g. undefined). The root sends
 * each rank only its tiles, in bounded rounds. dtype: opts.dtype, else the ndarray's typed-array type, else
 * float64. Any strides and offset of the ndarray are honoured.
 */
export async function distribute(
  comm: Comm, source: ndarray.NdArray | undefined | null, opts: DistributeOptions = {},
): Promise<DArray> {
  const root = opts.root ?? 0;
  if (!Number.isSafeInteger(root) || root < 0 || root >= comm.size) {
    fail(comm, 'distribute', `root ${root} is not a rank of a communicator of size ${comm.size}`);
  }
  // Only the root sees the ndarray: it announces shape and dtype, or the problem, so no rank is left waiting.
  let header: { shape?: number[]; dtype?: Dtype; error?: string } = {};
  let data: TypedArray | undefined;
  let geom = { offset: 0, stride: [] as number[] };
  if (comm.rank === root) {
    const nd = source;
    if (!nd || !Array.isArray(nd.shape) || !nd.data) {
      header = { error: `root ${root} passed ${nd === null ? 'null' : typeof nd} instead of an ndarray` };
    } else {
      const dtype = opts.dtype ?? dtypeOf(nd.data) ?? 'float64';
      if (!isDtype(dtype)) header = { error: `dtype must be 'float64', 'float32' or 'int32', got ${JSON.stringify(dtype)}` };
      else {
        header = { shape: [...nd.shape], dtype };
        if (dtypeOf(nd.data) === dtype) {
          data = nd.data as TypedArray;
          geom = { offset: nd.offset, stride: [...nd.stride] };
        } else {
          // Another element type (or a plain Array): convert once into a contiguous typed array.
          data = allocate(dtype, nd.size);
          const c = ndarray(data, [...nd.shape]);
          copyNd(nd, c);
          geom = { offset: 0, stride: stridesOf(nd.shape) };
        }
      }
    }
  }
  header = (await comm.bcast(header, root)) as typeof header;
  if (header.error) throw new ShapeError(header.error, { rank: comm.rank, op: 'distribute' });
  const l = resolveLayout(comm, 'distribute', header.shape, { ...opts, dtype: header.dtype });
  const a = allocateDArray(comm, l);
  const src = wholeOnRoot(l.shape, root);
  await exchange(comm, l.dtype, src, () => data!, a.layout, mapLookup(a.tiles, 'distribute'),
    identityMapping(l.shape.length), () => geom);
  return a;
}

/** Element-by-element copy between two ndarrays of one shape (any strides, any data type). */
function copyNd(from: ndarray.NdArray, to: ndarray.NdArray): void {
  const shape = from.shape, nd = shape.length;
  if (shape.some((n) => n === 0)) return;
  const idx = new Array<number>(nd).fill(0);
  for (;;) {
    to.set(...idx, from.get(...idx) as number);
    let d = nd - 1;
    while (d >= 0 && ++idx[d] >= shape[d]) { idx[d] = 0; d--; }
    if (d < 0) return;
  }
}
