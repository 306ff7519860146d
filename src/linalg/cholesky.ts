// Right-looking tiled Cholesky A = L L^T over the block-cyclic grid: POTRF on the diagonal tile, TRSM on the
// panel, SYRK/GEMM on the trailing matrix; a priority queue runs the next panel's work first (lookahead).
import type { DArray } from '../darray/darray.js';
import { tileCounts, tileOwner, tileShape } from '../darray/distribution.js';
import { NotPositiveDefiniteError } from '../errors.js';
import * as kernels from '../kernels/index.js';
import type { FloatArray } from '../kernels/index.js';
import { TileBoard, isTile, type Mail } from './board.js';
import { checkFloat, ownTile, privateComm, releaseTiles, shapeError, syncTiles } from './context.js';
import { KernelQueue } from './scheduler.js';

/** Tag space of Cholesky tile messages on the private linalg communicator. */
const CHOL_TAG_BASE = 1 << 28;

/**
 * The lower Cholesky factor L of a symmetric positive definite A (only A's lower triangle is read), as a new
 * DArray with A's layout and its upper triangle zero. Collective. A needs square tiles. A matrix that is not
 * positive definite raises NotPositiveDefiniteError with the same global column on every rank.
 */
export async function cholesky(A: DArray): Promise<DArray> {
  const op = 'cholesky';
  const comm = A.comm;
  checkFloat(op, 'A', A, [2]);
  const [n, n2] = A.shape;
  if (n !== n2) throw shapeError(comm, op, `A must be square, got shape [${A.shape}]`);
  const [b, b2] = A.blockSize;
  if (b !== b2) {
    throw shapeError(comm, op, `A needs square tiles, got blockSize [${A.blockSize}]; ` +
      `use A.redistribute({ blockSize: [${Math.min(b, b2)}, ${Math.min(b, b2)}] }) first`);
  }
  const L = await A.copy();
  const pcomm = await privateComm(comm);
  const failed = await factor(L, pcomm);
  // Every rank learns the first failing column, also ranks that never touched the failing tiles.
  const first = await comm.allreduce(failed, 'min');
  if (first < n) throw new NotPositiveDefiniteError(first as number, { rank: comm.rank, op });
  return L;
}

/** Panels of lookahead: DARRAY_CHOLESKY_LOOKAHEAD if set (0 = none), else 1. */
function lookahead(): number {
  const v = Number(process.env.DARRAY_CHOLESKY_LOOKAHEAD);
  return process.env.DARRAY_CHOLESKY_LOOKAHEAD !== undefined && Number.isInteger(v) && v >= 0 ? v : 1;
}

/** Factors L in place (lower tiles); returns the first failing global column this rank saw, or n. */
async function factor(L: DArray, comm: DArray['comm']): Promise<number> {
  const n = L.shape[0];
  const b = L.blockSize[0];
  const grid = L.grid;
  const nt = tileCounts(L.shape, L.blockSize)[0];
  const me = comm.rank;
  const owner = (i: number, j: number) => tileOwner([i, j], grid);
  const ext = (i: number) => tileShape(L.shape, L.blockSize, [i, 0])[0];
  const tag = (i: number, j: number) => i * nt + j;
  const board = new TileBoard(comm, CHOL_TAG_BASE);
  const queue = new KernelQueue();
  const depth = lookahead();
  // Kernels on tile column j for step s (s < j: an update from panel s; s = j: POTRF or TRSM). Columns within
  // `depth` of their step are the critical path and go first, leftmost column first; the rest of the trailing
  // update follows oldest step first, so each panel's received tiles are dropped as early as possible.
  const prio = (s: number, j: number, i: number) => (j - s <= depth ? [0, j, s, i] : [1, s, j, i]);

  const local: [number, number][] = [];
  const upper: FloatArray[] = [];
  for (const t of L.localTiles()) {
    const [i, j] = t.index;
    if (i >= j) local.push([i, j]);
    else upper.push(t.data as FloatArray);
  }
  // The factor's upper tiles are zero; they are written on the host, so their device copies are stale.
  for (const t of upper) t.fill(0);
  releaseTiles(upper);

  // Who consumes panel tile (i, k): diagonal ones feed the TRSMs below them; off-diagonal ones the updates
  // of row i (left factor) and of column i (right factor).
  const consumers = (i: number, k: number): [number, number][] => {
    const c: [number, number][] = [];
    if (i === k) for (let m = k + 1; m < nt; m++) c.push([m, k]);
    else {
      for (let j = k + 1; j <= i; j++) c.push([i, j]);
      for (let m = i + 1; m < nt; m++) c.push([m, i]);
    }
    return c;
  };
  for (const [i, j] of local) {
    board.need(tag(i, j), me, 0);
    for (let k = 0; k < j; k++) {
      board.need(tag(i, k), owner(i, k));
      board.need(tag(j, k), owner(j, k), i === j ? 0 : 1);
    }
    if (i > j) board.need(tag(j, j), owner(j, j));
  }
  let failed = n;
  const fail = (col: number): Mail => {
    failed = Math.min(failed, col);
    return { failedColumn: col };
  };

  const task = async (i: number, j: number): Promise<void> => {
    const t = ownTile(L, [i, j], 'cholesky');
    const mi = ext(i);
    const nj = ext(j);
    let bad: Mail | undefined;
    for (let k = 0; k < j; k++) {
      const left = await board.get(tag(i, k));
      const right = i === j ? left : await board.get(tag(j, k));
      if (!isTile(left)) bad ??= left;
      else if (!isTile(right)) bad ??= right;
      else if (!bad) {
        const bk = ext(k);
        const [l, r] = [left, right];
        await queue.submit(prio(k, j, i), () => i === j
          ? kernels.syrk('L', false, nj, bk, -1, { data: l, ld: bk }, 1, { data: t, ld: nj })
          : kernels.gemm(false, true, mi, nj, bk, -1, { data: l, ld: bk }, { data: r, ld: bk }, 1, { data: t, ld: nj }));
      }
      await board.unref(tag(i, k));
      if (i !== j) await board.unref(tag(j, k));
    }
    let mail: Mail = t;
    // Every declared message is received even after a failure, so none is left to confuse a later call.
    const d = i > j ? await board.get(tag(j, j)) : undefined;
    if (bad) {
      mail = fail((bad as { failedColumn: number }).failedColumn);
      if (i > j) await board.unref(tag(j, j));
    } else if (i === j) {
      try {
        await queue.submit(prio(j, j, i), () => kernels.potrf('L', nj, { data: t, ld: nj }));
        await kernels.sync(t);
        for (let r = 0; r < nj; r++) t.fill(0, r * nj + r + 1, (r + 1) * nj);
        kernels.release(t);
      } catch (e) {
        if (!(e instanceof NotPositiveDefiniteError)) throw e;
        mail = fail(j * b + e.column);
      }
    } else {
      const diag = d!;
      if (!isTile(diag)) mail = fail(diag.failedColumn);
      else await queue.submit(prio(j, j, i), () => kernels.trsm('R', 'L', true, 'N', mi, nj, 1, { data: diag, ld: nj },
        { data: t, ld: nj }));
      await board.unref(tag(j, j));
    }
    const dests = new Set<number>();
    for (const [r, c] of consumers(i, j)) dests.add(owner(r, c));
    await board.publish(tag(i, j), mail, dests);
  };

  // A failure other than a non-positive pivot (a dead peer, a backend error) fails this rank at once; the
  // launcher then stops the job, so waiting tasks never hang.
  await Promise.all(local.map(([i, j]) => task(i, j)));
  await board.drain();
  const tiles = local.map(([i, j]) => ownTile(L, [i, j], 'cholesky'));
  await syncTiles(tiles);
  releaseTiles(tiles);
  return failed;
}
