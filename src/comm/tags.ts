// Tag and context-id constants of the communicator, and the argument checks shared by its methods.
// Context ids come in pairs: an even id for point-to-point traffic, the next odd id for collective calls.
import { CommError } from '../errors.js';

/** Receive from any rank of the communicator (MPI_ANY_SOURCE). */
export const ANY_SOURCE = -1;
/** Receive with any tag (MPI_ANY_TAG). */
export const ANY_TAG = -1;
/** Largest user tag (MPI_TAG_UB); tags are integers in [0, TAG_UB]. */
export const TAG_UB = 2 ** 31 - 1;
/** Context id of the world communicator's point-to-point traffic; `WORLD_CONTEXT + 1` carries its collectives. */
export const WORLD_CONTEXT = 0;

/** Throws CommError unless `tag` is a valid user tag (or ANY_TAG when `allowAny`). */
export function checkTag(tag: unknown, rank: number, op: string, allowAny: boolean): number {
  if (typeof tag === 'number' && Number.isInteger(tag) && ((tag >= 0 && tag <= TAG_UB) || (allowAny && tag === ANY_TAG))) {
    return tag;
  }
  const want = allowAny ? `an integer in [0, ${TAG_UB}] or ANY_TAG` : `an integer in [0, ${TAG_UB}]`;
  throw new CommError(`bad tag ${String(tag)}: expected ${want}`, { rank, op });
}

/** Throws CommError unless `r` is a rank of a communicator of `size` ranks (or ANY_SOURCE when `allowAny`). */
export function checkRank(r: unknown, size: number, rank: number, op: string, what: string, allowAny: boolean): number {
  if (typeof r === 'number' && Number.isInteger(r) && ((r >= 0 && r < size) || (allowAny && r === ANY_SOURCE))) {
    return r;
  }
  const range = size === 1 ? '0' : `0..${size - 1}`;
  throw new CommError(`bad ${what} ${String(r)}: expected a rank in ${range}${allowAny ? ' or ANY_SOURCE' : ''}`, {
    rank,
    op,
  });
}
