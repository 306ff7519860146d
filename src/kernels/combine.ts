// TypeScript face of the addon's `combine`: out[i] = a[i] op b[i] for the built-in reduce ops, bit for bit what
// JavaScript's typed-array arithmetic gives, at memory speed. The reduction inside large collectives uses it.
import { addon_ } from './index.js';

const OPS: Record<string, number> = { sum: 0, prod: 1, min: 2, max: 3 };

/**
 * Combines in native code and returns true, or returns false (nothing written) for what it leaves to JS: a
 * function op, and products of 32-bit integers (JS rounds those through doubles). The caller has checked that
 * the three arrays share one type and length; `out` may alias `a` or `b`.
 */
export function combineNative(op: unknown, out: ArrayBufferView, a: ArrayBufferView, b: ArrayBufferView): boolean {
  const code = typeof op === 'string' ? OPS[op] : undefined;
  if (code === undefined) return false;
  return addon_().combine(code, out as Float64Array, a as Float64Array, b as Float64Array) as boolean;
}
