// Collective error agreement: a problem found on one rank (a bad vertex id in its edges, a malformed line in
// its part of a file) becomes the same error on every rank, so no rank is left waiting in the next collective.

import type { Comm } from '../comm/index.js';
import { ShapeError } from '../errors.js';

/** Throws the same ShapeError on every rank: for checks on values that every rank holds alike. */
export function fail(comm: Comm, op: string, message: string): never {
  throw new ShapeError(message, { rank: comm.rank, op });
}

/**
 * Collective: every rank passes its own problem (or undefined). If any rank has one, every rank throws a
 * ShapeError naming the lowest such rank and its problem.
 */
export async function agree(comm: Comm, op: string, problem: string | undefined): Promise<void> {
  const all = await comm.allgather(problem ?? null);
  const r = all.findIndex((x) => x !== null);
  if (r < 0) return;
  const more = all.filter((x) => x !== null).length - 1;
  throw new ShapeError(`${r === comm.rank ? '' : `(found on rank ${r}) `}${all[r]}${more ? ` (and ${more} more rank${more > 1 ? 's' : ''})` : ''}`,
    { rank: comm.rank, op });
}
