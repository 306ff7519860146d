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

/**
 * Pure: renumbers global column ids of this rank's entries (ncols split in blocks of colBlock over p ranks).
 * A marker array over all columns is fastest but costs O(ncols) memory per rank; when ncols is much larger
 * than the local entry count (huge graphs over many ranks) the ghost ids are sorted instead. `dense` forces
 * one way (for tests).
 */
export function localizeColumns(colIdx: Int32Array, ncols: number, colBlock: number, rank: number, p: number, dense?: boolean): LocalColumns {
  const [c0, c1] = rangeOf(ncols, colBlock, rank);
  const nOwn = c1 - c0;
  const useDense = dense ?? ncols <= 4 * colIdx.length + (1 << 20);
  let ghosts: Int32Array;
  let slotOf: (j: number) => number;
  if (useDense) {
    const slot = new Int32Array(ncols).fill(-1);
    for (let k = 0; k < colIdx.length; k++) {
      const j = colIdx[k];
      if (j < c0 || j >= c1) slot[j] = 0;
    }
    let nGhost = 0;
    for (let j = 0; j < ncols; j++) if (slot[j] === 0) nGhost++;
    ghosts = new Int32Array(nGhost);
    let g = 0;
    for (let j = 0; j < ncols; j++) if (slot[j] === 0) { ghosts[g] = j; slot[j] = nOwn + g++; }
    slotOf = (j) => slot[j];
  } else {
    let m = 0;
    const all = new Int32Array(colIdx.length);
    for (let k = 0; k < colIdx.length; k++) { const j = colIdx[k]; if (j < c0 || j >= c1) all[m++] = j; }
    const sorted = all.subarray(0, m).sort();
    let u = 0;
    for (let k = 0; k < m; k++) if (k === 0 || sorted[k] !== sorted[k - 1]) sorted[u++] = sorted[k];
    ghosts = sorted.slice(0, u);
    slotOf = (j) => {
      let lo = 0, hi = ghosts.length - 1;
      while (lo < hi) { const mid = (lo + hi) >> 1; if (ghosts[mid] < j) lo = mid + 1; else hi = mid; }
      return nOwn + lo;
    };
  }
  const recvStart = new Int32Array(p + 1);
  for (let g = 0; g < ghosts.length; g++) recvStart[ownerOf(ghosts[g], colBlock) + 1]++;
  for (let q = 0; q < p; q++) recvStart[q + 1] += recvStart[q];
  const col = new Int32Array(colIdx.length);
  for (let k = 0; k < colIdx.length; k++) {
    const j = colIdx[k];
    col[k] = j >= c0 && j < c1 ? j - c0 : slotOf(j);
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
