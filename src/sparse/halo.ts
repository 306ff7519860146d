// Halo exchange for row-partitioned sparse matrices: each rank fetches only the vector entries its rows
// reference outside its own column block. The plan is made once per matrix; the exchange is one alltoall.

import type { Comm } from '../comm/index.js';
import { DArrayError } from '../errors.js';
import { ownerOf, rangeOf } from './partition.js';

type Vec = Float64Array | Float32Array | Int32Array | Uint8Array;

/** Columns renumbered into an extended local vector: own block first, then ghosts in ascending global order. */
export interface LocalColumns {
  /** Per entry: index into the extended vector [own block | ghosts]. */
  col: Int32Array;
  /** First global column this rank owns, and how many. */
  colStart: number;
  nOwn: number;
  /** Global ids of the ghost slots, ascending (so grouped by owner). */
  ghosts: Int32Array;
  /** Ghost slots from rank q are ghosts[recvStart[q] .. recvStart[q + 1]). */
  recvStart: Int32Array;
}

/** The full plan: LocalColumns plus, per peer, the own-block indices that peer needs from this rank. */
export interface HaloPlan extends LocalColumns {
  sendIdx: Int32Array[];
}

/** Pure: renumbers global column ids of this rank's entries (ncols split in blocks of colBlock over p ranks). */
export function localizeColumns(colIdx: Int32Array, ncols: number, colBlock: number, rank: number, p: number): LocalColumns {
  const [c0, c1] = rangeOf(ncols, colBlock, rank);
  const nOwn = c1 - c0;
  const slot = new Int32Array(ncols).fill(-1);
  for (let k = 0; k < colIdx.length; k++) {
    const j = colIdx[k];
    if (j < c0 || j >= c1) slot[j] = 0;
  }
  let nGhost = 0;
  for (let j = 0; j < ncols; j++) if (slot[j] === 0) nGhost++;
  const ghosts = new Int32Array(nGhost);
  const recvStart = new Int32Array(p + 1);
  let g = 0;
  for (let j = 0; j < ncols; j++) {
    if (slot[j] !== 0) continue;
    recvStart[ownerOf(j, colBlock) + 1]++;
    ghosts[g] = j;
    slot[j] = nOwn + g++;
  }
  for (let q = 0; q < p; q++) recvStart[q + 1] += recvStart[q];
  const col = new Int32Array(colIdx.length);
  for (let k = 0; k < colIdx.length; k++) {
    const j = colIdx[k];
    col[k] = j >= c0 && j < c1 ? j - c0 : slot[j];
  }
  return { col, colStart: c0, nOwn, ghosts, recvStart };
}

/** Collective: completes the plan by telling each owner which of its entries this rank needs. */
export async function makeHaloPlan(comm: Comm, lc: LocalColumns): Promise<HaloPlan> {
  const p = comm.size;
  const asks = Array.from({ length: p }, (_, q) => lc.ghosts.slice(lc.recvStart[q], lc.recvStart[q + 1]));
  const got = await comm.alltoall(asks);
  const sendIdx = got.map((ids) => {
    const idx = new Int32Array(ids.length);
    for (let k = 0; k < ids.length; k++) idx[k] = ids[k] - lc.colStart;
    return idx;
  });
  return { ...lc, sendIdx };
}

/**
 * Collective: fills ext = [own | ghosts] from this rank's own block `own` (length nOwn) and the peers' blocks.
 * `ext` may already hold `own` in its first nOwn slots (then own === ext is allowed).
 */
export async function haloExchange<T extends Vec>(comm: Comm, plan: HaloPlan, own: T, ext: T, op = 'halo exchange'): Promise<void> {
  const p = comm.size, me = comm.rank;
  const Ctor = own.constructor as new (n: number) => T;
  const out = plan.sendIdx.map((idx, q) => {
    const b = new Ctor(q === me ? 0 : idx.length);
    if (q !== me) for (let k = 0; k < idx.length; k++) b[k] = own[idx[k]];
    return b;
  });
  const got = await comm.alltoall(out);
  if (own !== ext) ext.set(own.subarray(0, plan.nOwn) as never, 0);
  for (let q = 0; q < p; q++) {
    if (q === me) continue;
    const want = plan.recvStart[q + 1] - plan.recvStart[q];
    const g = got[q] as T;
    if (!g || g.length !== want) {
      throw new DArrayError(`expected ${want} halo entries from rank ${q}, got ${g?.length}`, { rank: me, op, peer: q });
    }
    ext.set(g as never, plan.nOwn + plan.recvStart[q]);
  }
}
