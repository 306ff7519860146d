// Distributed triangular solve op(T) X = B by tiles: each block row of X is finished with a TRSM on the
// diagonal tile and sent down (or up) its grid column, where GEMMs subtract it from the rows still to solve.
import type { DArray } from '../darray/darray.js';
import { tileCounts, tileOwner } from '../darray/distribution.js';
import * as kernels from '../kernels/index.js';
import { TileBoard, isTile } from './board.js';
import { checkFloat, checkPair, privateComm, releaseTiles, shapeError, syncTiles } from './context.js';
import { sameLayout, toLayout } from './layout.js';
import { matView } from './matview.js';
import { KernelQueue } from './scheduler.js';

/** Tag space of triangular-solve messages on the private linalg communicator. */
const TRSM_TAG_BASE = 2 << 28;

export interface TriangularSolveOptions {
  /** T is lower triangular (default true); otherwise upper. Only that triangle of T is read. */
  lower?: boolean;
  /** Solve T^T X = B instead of T X = B (default false). */
  trans?: boolean;
}

/**
 * X with op(T) X = B, T an n x n triangular DArray with square tiles, B an n x m matrix or a length-n vector
 * (1-D DArray). Collective; X is a new DArray with B's layout. B is redistributed to T's row tiling first
 * when they differ.
 */
export async function triangularSolve(T: DArray, B: DArray, opts: TriangularSolveOptions = {}): Promise<DArray> {
  const op = 'triangularSolve';
  const comm = T.comm;
  const lower = opts.lower ?? true;
  const trans = opts.trans ?? false;
  checkFloat(op, 'T', T, [2]);
  checkFloat(op, 'B', B, [1, 2]);
  checkPair(op, T, 'T', B, 'B');
  const n = T.shape[0];
  if (T.shape[1] !== n) throw shapeError(comm, op, `T must be square, got shape [${T.shape}]`);
  const b = T.blockSize[0];
  if (T.blockSize[1] !== b) throw shapeError(comm, op, `T needs square tiles, got blockSize [${T.blockSize}]`);
  if (B.shape[0] !== n) {
    throw shapeError(comm, op, `T is ${n} x ${n} but B has ${B.shape[0]} rows (shape [${B.shape}])`);
  }
  const want = B.shape.length === 1 ? [b] : [b, B.blockSize[1]];
  const work = sameLayout(B, want, B.grid) ? await B.copy() : await toLayout(B, want, B.grid);
  await solveInPlace(T, work, lower, trans);
  return sameLayout(work, B.blockSize, B.grid) ? work : toLayout(work, B.blockSize, B.grid);
}

/** Overwrites X (B on entry, tiled like T's rows) with op(T)^-1 B. */
async function solveInPlace(T: DArray, X: DArray, lower: boolean, trans: boolean): Promise<void> {
  const comm = await privateComm(T.comm);
  const me = comm.rank;
  const V = matView(X);
  const nt = tileCounts(T.shape, T.blockSize)[0];
  const forward = lower !== trans;
  const tTag = (a: number, c: number) => a * nt + c;
  const xTag = (i: number, c: number) => nt * nt + i * V.nt + c;
  // The stored tile holding op(T)(i, j), and the B rows that op(T)(i, j) updates.
  const stored = (i: number, j: number): [number, number] => (trans ? [j, i] : [i, j]);
  const later = (i: number): number[] => {
    const r: number[] = [];
    if (forward) for (let x = i + 1; x < nt; x++) r.push(x);
    else for (let x = i - 1; x >= 0; x--) r.push(x);
    return r;
  };
  const earlier = (i: number): number[] => {
    const r: number[] = [];
    if (forward) for (let x = 0; x < i; x++) r.push(x);
    else for (let x = nt - 1; x > i; x--) r.push(x);
    return r;
  };
  const board = new TileBoard(comm, TRSM_TAG_BASE);
  const queue = new KernelQueue();
  const mine = V.local();

  // Declare every use: each local B tile (i, c) reads op(T)(i, j) and X(j, c) for the rows j solved before it.
  for (const [i, c] of mine) {
    board.need(xTag(i, c), me, 0);
    for (const j of earlier(i)) {
      const [a, d] = stored(i, j);
      board.need(tTag(a, d), tileOwner([a, d], T.grid));
      board.need(xTag(j, c), V.owner(j, c));
    }
    board.need(tTag(i, i), tileOwner([i, i], T.grid));
  }
  // Local triangle tiles of T go out at once to the owners of the B rows they update.
  const tSends: Promise<void>[] = [];
  for (const t of T.localTiles()) {
    const [a, d] = t.index;
    if (lower ? a < d : a > d) continue;
    const row = trans ? d : a;
    const dests = new Set<number>();
    for (let c = 0; c < V.nt; c++) dests.add(V.owner(row, c));
    board.need(tTag(a, d), me, 0);
    tSends.push(board.publish(tTag(a, d), t.data as Float64Array | Float32Array, dests));
  }

  const task = async (i: number, c: number): Promise<void> => {
    const x = V.tile(i, c);
    const ri = V.rowsOf(i);
    const cc = V.colsOf(c);
    for (const j of earlier(i)) {
      const [a, d] = stored(i, j);
      const t = await board.get(tTag(a, d));
      const xj = await board.get(xTag(j, c));
      if (!isTile(t) || !isTile(xj)) throw new Error(`rank ${me} triangularSolve: bad tile message (internal error)`);
      const rj = V.rowsOf(j);
      await queue.submit([forward ? j : nt - j, i], () => kernels.gemm(trans, false, ri, cc, rj, -1,
        { data: t, ld: trans ? ri : rj }, { data: xj, ld: cc }, 1, { data: x, ld: cc }));
      await board.unref(tTag(a, d));
      await board.unref(xTag(j, c));
    }
    const dt = await board.get(tTag(i, i));
    if (!isTile(dt)) throw new Error(`rank ${me} triangularSolve: bad tile message (internal error)`);
    await queue.submit([forward ? i : nt - i, i], () => kernels.trsm('L', lower ? 'L' : 'U', trans, 'N', ri, cc, 1,
      { data: dt, ld: ri }, { data: x, ld: cc }));
    await board.unref(tTag(i, i));
    const dests = new Set<number>();
    for (const r of later(i)) dests.add(V.owner(r, c));
    await board.publish(xTag(i, c), x, dests);
  };
  await Promise.all([...tSends, ...mine.map(([i, c]) => task(i, c))]);
  await board.drain();
  const tiles = mine.map(([i, c]) => V.tile(i, c));
  await syncTiles(tiles);
  releaseTiles(tiles);
}
