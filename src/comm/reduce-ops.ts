// Reduction operators of the collectives: 'sum' | 'prod' | 'min' | 'max' or a user function, applied to
// numbers, typed arrays (elementwise) and plain arrays of those. Bad ops and shapes give a CommError.

import { CommError, type ErrorContext } from '../errors.js';

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array
  | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

/** A user op combines two elements; it must be associative and commutative (MPI_Op_create with commute). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ReduceFn = (a: any, b: any) => any;
export type ReduceOp = 'sum' | 'prod' | 'min' | 'max' | ReduceFn;

const BUILTIN = ['sum', 'prod', 'min', 'max'] as const;
type Builtin = (typeof BUILTIN)[number];

export function isTypedArray(x: unknown): x is TypedArray {
  return ArrayBuffer.isView(x) && !(x instanceof DataView);
}

/** Throws a CommError naming the operation unless `op` is a built-in name or a function. */
export function checkOp(op: unknown, ctx: ErrorContext): asserts op is ReduceOp {
  if (typeof op === 'function') return;
  if (typeof op === 'string' && (BUILTIN as readonly string[]).includes(op)) return;
  const shown = typeof op === 'string' ? `'${op}'` : String(op);
  throw new CommError(`unknown reduce op ${shown}: expected 'sum', 'prod', 'min', 'max' or a function (a, b) => c`, ctx);
}

function scalar(op: Builtin | ReduceFn, a: number | bigint, b: number | bigint): number | bigint {
  switch (op) {
    case 'sum': return (a as number) + (b as number);
    case 'prod': return (a as number) * (b as number);
    // Math.min/max for numbers (NaN wins, -0 < +0); plain comparison for bigints, which Math.min rejects.
    case 'min': return typeof a === 'bigint' ? (a < b ? a : b) : Math.min(a, b as number);
    case 'max': return typeof a === 'bigint' ? (a > b ? a : b) : Math.max(a, b as number);
    default: return op(a, b);
  }
}

/** A value as error messages name it: `Float64Array(8)`, `Array(3)`, `null`, `number`, ... */
export function describe(x: unknown): string {
  if (isTypedArray(x)) return `${x.constructor.name}(${x.length})`;
  if (Array.isArray(x)) return `Array(${x.length})`;
  return x === null ? 'null' : typeof x;
}

/**
 * out[i] = a[i] op b[i] for i < out.length. `out` may alias `a` or `b` (same offsets). The loops are written
 * once per built-in op so V8 keeps each one tight; this is the hot loop of a large allreduce.
 */
export function combineInto(out: TypedArray, a: TypedArray, b: TypedArray, op: ReduceOp, ctx: ErrorContext): void {
  if (a.length !== b.length || out.length !== a.length || a.constructor !== b.constructor) {
    throw new CommError(`cannot reduce ${describe(a)} with ${describe(b)}: types and lengths must match on every rank`, ctx);
  }
  const n = out.length;
  const o = out as Float64Array, x = a as Float64Array, y = b as Float64Array;
  const big = a instanceof BigInt64Array || a instanceof BigUint64Array;
  if (op === 'sum') {
    for (let i = 0; i < n; i++) o[i] = x[i] + y[i];
  } else if (op === 'prod') {
    for (let i = 0; i < n; i++) o[i] = x[i] * y[i];
  } else if (op === 'min' && !big) {
    for (let i = 0; i < n; i++) o[i] = Math.min(x[i], y[i]);
  } else if (op === 'max' && !big) {
    for (let i = 0; i < n; i++) o[i] = Math.max(x[i], y[i]);
  } else {
    for (let i = 0; i < n; i++) o[i] = scalar(op, x[i], y[i]) as number;
  }
}

/**
 * a op b as a new value: numbers (and bigints) directly, typed arrays elementwise into a fresh array of the
 * same type, plain arrays elementwise and recursively. `a` is always the lower-ranked operand so that every
 * rank that combines the same pair computes bit-identical results, whatever the op.
 */
export function combine(a: unknown, b: unknown, op: ReduceOp, ctx: ErrorContext): unknown {
  const ta = typeof a, tb = typeof b;
  if ((ta === 'number' || ta === 'bigint') && ta === tb) return scalar(op, a as number, b as number);
  if (isTypedArray(a) && isTypedArray(b)) {
    const out = new (a.constructor as new (n: number) => TypedArray)(a.length);
    combineInto(out, a, b, op, ctx);
    return out;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) {
      throw new CommError(`cannot reduce ${describe(a)} with ${describe(b)}: lengths must match on every rank`, ctx);
    }
    return a.map((v, i) => combine(v, b[i], op, ctx));
  }
  throw new CommError(`cannot reduce ${describe(a)} with ${describe(b)}: expected numbers, typed arrays or arrays of them`, ctx);
}
