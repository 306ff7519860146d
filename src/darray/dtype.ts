// Element types of a DArray and the typed arrays that hold their tiles. One place maps a dtype name to its
// constructor, so tiles, messages and ndarray views always agree on the element type.
import { allocateRecyclable } from '../kernels/recycle.js';

/** Element type of a DArray. */
export type Dtype = 'float64' | 'float32' | 'int32';

/** The typed array that stores one tile of a DArray. */
export type TypedArray = Float64Array | Float32Array | Int32Array;

export const DTYPES: readonly Dtype[] = ['float64', 'float32', 'int32'];

type Ctor = Float64ArrayConstructor | Float32ArrayConstructor | Int32ArrayConstructor;

const CTORS: Record<Dtype, Ctor> = { float64: Float64Array, float32: Float32Array, int32: Int32Array };

export function isDtype(x: unknown): x is Dtype {
  return x === 'float64' || x === 'float32' || x === 'int32';
}

/** A zero-filled typed array of `length` elements of `dtype`. */
export function allocate(dtype: Dtype, length: number): TypedArray {
  return new CTORS[dtype](length);
}

/**
 * A typed array of `length` elements of `dtype` whose contents are whatever its memory held: for a tile that its
 * first user overwrites whole before reading. A large zeroed array costs calloc's memset (or a page fault per
 * page) on the allocating thread, which for tiles is the JS thread that schedules the kernels; the memory of a
 * dead array of the same size (`kernels.discard`) costs neither.
 */
export function allocateUninitialized(dtype: Dtype, length: number): TypedArray {
  const Ctor = CTORS[dtype];
  return new Ctor(allocateRecyclable(length * Ctor.BYTES_PER_ELEMENT), 0, length);
}

/** The dtype a typed array stores, or undefined for any other array type. */
export function dtypeOf(a: unknown): Dtype | undefined {
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Int32Array) return 'int32';
  return undefined;
}

/** Bytes per element. */
export function itemSize(dtype: Dtype): number {
  return CTORS[dtype].BYTES_PER_ELEMENT;
}
