// Public names of the DArray layer; src/index.ts re-exports this module.

export { DArray, type AxisOptions, type LocalTile } from './darray.js';
export {
  empty, zeros, ones, full, fromFunction, rand, randn, distribute, type RandomOptions, type DistributeOptions,
} from './factories.js';
export type { DArrayOptions } from './validate.js';
export type { Dtype, TypedArray } from './dtype.js';
export type { Operand, BinaryOp, ElementwiseOptions, MapOptions } from './elementwise.js';
export type { ReduceOp as ReductionOp } from './reductions.js';
export type { RedistributeOptions } from './redistribute.js';
export type { SliceRange } from './access.js';
export * as distribution from './distribution.js';
