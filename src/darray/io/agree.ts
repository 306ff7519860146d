// Collective error agreement for file operations: a step that fails on some ranks fails on every rank with
// one message naming the ranks and what went wrong, so no rank runs ahead into a collective that never ends.

import type { Comm } from '../../comm/index.js';
import { IOError } from '../../errors.js';

export { IOError };

/**
 * Runs `fn` on this rank, then tells every rank whether any rank failed. On failure every rank throws an
 * IOError naming the failing ranks and their messages; this rank's own error is attached as `cause`.
 */
export async function agree<T>(comm: Comm, op: string, fn: () => T | Promise<T>): Promise<T> {
  let value: T | undefined;
  let err: unknown;
  try {
    value = await fn();
  } catch (e) {
    err = e;
  }
  const msg = err === undefined ? null : String((err as Error)?.message ?? err);
  const all = comm.size === 1 ? [msg] : await comm.allgather(msg);
  const failed = all.map((m, r) => [r, m] as const).filter(([, m]) => m !== null);
  if (failed.length) {
    const text = failed.map(([r, m]) => `rank ${r}: ${m}`).join('; ');
    throw new IOError(text, { rank: comm.rank, op }, { cause: err });
  }
  return value as T;
}
