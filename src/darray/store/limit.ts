// The per-rank memory limit for DArray tiles: `setMemoryLimit(bytes)` or DARRAY_MEMORY_LIMIT (bytes, or a
// number with a K/M/G/T suffix in powers of 1024). Unset means no limit: tiles never spill.

import { DArrayError } from '../../errors.js';

let limit: number | undefined;
const listeners: (() => void)[] = [];

/** Parses "1073741824", "512M", "8G", "1.5g" into bytes; throws a clear error for anything else. */
export function parseBytes(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?|b)?\s*$/i.exec(text);
  if (!m) throw new DArrayError(`${what}: expected bytes such as 1073741824, 512M or 8G, got ${JSON.stringify(text)}`, { op: 'setMemoryLimit' });
  const scale = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(m[2] ?? '').charAt(0).toLowerCase()]!;
  return Math.floor(Number(m[1]) * scale);
}

/** The limit in bytes for this rank's resident tiles (Infinity when none is set). */
export function memoryLimit(): number {
  if (limit === undefined) {
    const env = process.env.DARRAY_MEMORY_LIMIT;
    limit = env === undefined || env === '' ? Infinity : parseBytes(env, 'DARRAY_MEMORY_LIMIT');
  }
  return limit;
}

/**
 * Sets this rank's memory limit for DArray tiles (bytes; Infinity or null lifts it). When the tiles held
 * exceed it, the least recently used ones not in use move to a private spill directory and come back on use.
 * Local, not collective: each rank may have its own limit. Applies at once to the tiles already held.
 */
export function setMemoryLimit(bytes: number | null): void {
  if (bytes === null || bytes === Infinity) limit = Infinity;
  else if (typeof bytes === 'number' && Number.isFinite(bytes) && bytes >= 0) limit = Math.floor(bytes);
  else throw new DArrayError(`bytes must be a non-negative number, Infinity or null, got ${String(bytes)}`, { op: 'setMemoryLimit' });
  for (const f of listeners) f();
}

/** @internal Called after every change of the limit (the tile store shrinks to it). */
export function onLimitChange(f: () => void): void {
  listeners.push(f);
}
