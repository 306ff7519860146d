// Shared pieces of the training helpers: the float buffers they move, argument checks and errors that name the
// rank and operation, and the cutting of a batch into micro-batches.
import { DArrayError, type ErrorContext } from '../errors.js';

/** A parameter, gradient or activation buffer: what tfjs `dataSync()` and most JS frameworks hand out. */
export type FloatArray = Float32Array | Float64Array;

export function isFloatArray(x: unknown): x is FloatArray {
  return x instanceof Float32Array || x instanceof Float64Array;
}

/** Describes a value for an error message without dumping it. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (ArrayBuffer.isView(x)) return `${x.constructor.name}(${(x as unknown as ArrayLike<number>).length ?? x.byteLength})`;
  if (Array.isArray(x)) return `an array of ${x.length}`;
  return typeof x;
}

/** Throws a DArrayError with the rank and operation in its message. */
export function fail(message: string, ctx: ErrorContext): never {
  throw new DArrayError(message, ctx);
}

/**
 * Cuts a batch of rows (row-major, `width` values per sample) into `parts` micro-batches of equal row counts,
 * as views without a copy: the input of `Pipeline.step`. Throws if the rows do not divide evenly, because
 * unequal micro-batches would weight the samples of the step's mean loss unequally.
 */
export function splitMicrobatches<A extends FloatArray>(data: A, width: number, parts: number): A[] {
  const ctx = { op: 'splitMicrobatches' };
  if (!isFloatArray(data)) fail(`data must be a Float32Array or Float64Array, got ${describe(data)}`, ctx);
  if (!Number.isSafeInteger(width) || width <= 0 || data.length % width !== 0) {
    fail(`width must be a positive integer dividing the data length ${data.length}, got ${String(width)}`, ctx);
  }
  const rows = data.length / width;
  if (!Number.isSafeInteger(parts) || parts <= 0 || rows % parts !== 0) {
    fail(`${rows} rows do not split into ${String(parts)} equal micro-batches`, ctx);
  }
  const step = (rows / parts) * width;
  return Array.from({ length: parts }, (_, i) => data.subarray(i * step, (i + 1) * step) as A);
}
