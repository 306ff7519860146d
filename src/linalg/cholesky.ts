// Right-looking tiled Cholesky A = L L^T over the block-cyclic grid: POTRF on the diagonal tile, TRSM on the
// panel, SYRK/GEMM on the trailing matrix; a priority queue runs the next panel's work first (lookahead).
// Each kernel pins the tiles it uses only while it runs, so under a memory limit the factor spills as it goes.
import { type DArray, tileBreak, withTiles } from '../darray/darray.js';
import { tileCounts, tileOwner, tileShape } from '../darray/distribution.js';
import { NotPositiveDefiniteError } from '../errors.js';
import * as kernels from '../kernels/index.js';
import type { FloatArray } from '../kernels/index.js';
import { TileBoard, isTile, type Mail } from './board.js';
import { TilePins, checkFloat, privateComm, shapeError } from './context.js';
import { KernelQueue } from './scheduler.js';
import { progress } from '../progress.js';

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
  const L = await lowerCopy(A);
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

/**
 * A's lower tiles copied into a new array of A's layout, one tile at a time. The upper tiles of the factor are
 * zero: they stay unmaterialised zero tiles, so they take no memory (and need no copy) unless someone reads them.
 */
async function lowerCopy(A: DArray): Promise<DArray> {
  const L = A.similar();
  for (const index of A.tileIndices()) {
    if (index[0] < index[1]) continue;
    withTiles([A, L], index, (a, l) => l.set(a));
    await tileBreak();
  }
  return L;
}

/** A panel tile as a kernel reads it: received from its owner, or this rank's own finished tile (i, k) of L. */
type Operand = FloatArray | readonly [number, number];
type Failure = { failedColumn: number };
const isFailure = (x: Operand | Mail): x is Failure => !isTile(x as Mail) && !Array.isArray(x);

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
  // The board receives the panel tiles of other ranks; this rank's own tiles stay in L (and may spill there).
  const board = new TileBoard(comm, CHOL_TAG_BASE);
  const queue = new KernelQueue();
  const depth = lookahead();
  // Kernels on tile column j for step s (s < j: an update from panel s; s = j: POTRF or TRSM). Columns within
  // `depth` of their step are the critical path and go first, leftmost column first; the rest of the trailing
  // update follows oldest step first, so each panel's received tiles are dropped as early as possible.
  const prio = (s: number, j: number, i: number) => (j - s <= depth ? [0, j, s, i] : [1, s, j, i]);

  // Lower tiles only: the upper ones are zero tiles that were never materialised (see lowerCopy).
  const local = L.tileIndices().filter(([i, j]) => i >= j) as [number, number][];
  // Progress (rank 0, on a terminal) in kernels done: tile (i, j) takes j updates and its own step.
  const prog = progress(comm, `cholesky ${n}x${n}`, local.reduce((t, [, j]) => t + j + 1, 0) || 1);

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
  const remote = (i: number, k: number) => owner(i, k) !== me;
  for (const [i, j] of local) {
    for (let k = 0; k < j; k++) {
      if (remote(i, k)) board.need(tag(i, k), owner(i, k));
      if (remote(j, k)) board.need(tag(j, k), owner(j, k), i === j ? 0 : 1);
    }
    if (i > j && remote(j, j)) board.need(tag(j, j), owner(j, j));
  }
  // This rank's finished tiles: each resolves with undefined (the tile is final in L) or a failure notice.
  const finished = new Map<number, { promise: Promise<Failure | undefined>; resolve: (f: Failure | undefined) => void }>();
  for (const [i, j] of local) {
    let resolve!: (f: Failure | undefined) => void;
    const promise = new Promise<Failure | undefined>((r) => { resolve = r; });
    finished.set(tag(i, j), { promise, resolve });
  }
  const panel = async (i: number, k: number): Promise<Operand | Failure> => {
    if (remote(i, k)) return (await board.get(tag(i, k))) as FloatArray | Failure;
    return (await finished.get(tag(i, k))!.promise) ?? [i, k];
  };
  const unref = (i: number, k: number) => (remote(i, k) ? board.unref(tag(i, k)) : undefined);

  const pins = new TilePins(L);
  const acquire = (i: number, j: number): FloatArray => pins.acquire([i, j]);
  const drop = (i: number, j: number): void => pins.drop([i, j]);
  /**
   * Runs `kernel` on tile (i, j) of L and its operands as one queued job: this rank's tiles are pinned only
   * for the job (see TilePins for where the result lives afterwards on the OpenCL backend).
   */
  const onTile = (key: number[], i: number, j: number, operands: Operand[],
    kernel: (t: FloatArray, ops: FloatArray[]) => Promise<void>): Promise<void> =>
    queue.submit(key, async () => {
      const held: (readonly [number, number])[] = [];
      const use = (i: number, j: number): FloatArray => {
        const data = acquire(i, j);
        held.push([i, j]);
        return data;
      };
      try {
        const t = use(i, j);
        const ops = operands.map((o) => (isTile(o as Mail) ? o as FloatArray : use(o[0], o[1])));
        await kernel(t, ops);
        await pins.settle(t);
      } finally {
        for (const [r, c] of held) drop(r, c);
      }
    });

  let failed = n;
  const fail = (col: number): Failure => {
    failed = Math.min(failed, col);
    return { failedColumn: col };
  };
  // Finished tiles go to the other ranks that consume them, pinned until their sends complete.
  const sends: Promise<unknown>[] = [];
  const publish = (i: number, j: number, mail: Failure | undefined): void => {
    finished.get(tag(i, j))!.resolve(mail);
    const dests = new Set<number>();
    for (const [r, c] of consumers(i, j)) if (remote(r, c)) dests.add(owner(r, c));
    if (dests.size === 0) return;
    const data = mail ?? acquire(i, j);
    // A tile kept on the device comes home before it travels.
    const ready = mail ? Promise.resolve() : kernels.sync(data as FloatArray);
    const out = ready.then(() => Promise.all([...dests].map((d) => comm.send(data, d, CHOL_TAG_BASE + tag(i, j)))));
    sends.push(mail ? out : out.finally(() => drop(i, j)));
  };

  const task = async (i: number, j: number): Promise<void> => {
    const mi = ext(i);
    const nj = ext(j);
    let bad: Failure | undefined;
    for (let k = 0; k < j; k++) {
      const left = await panel(i, k);
      const right = i === j ? left : await panel(j, k);
      if (isFailure(left)) bad ??= left;
      else if (isFailure(right)) bad ??= right;
      else if (!bad) {
        const bk = ext(k);
        await (i === j
          ? onTile(prio(k, j, i), i, j, [left], (t, [l]) =>
            kernels.syrk('L', false, nj, bk, -1, { data: l, ld: bk }, 1, { data: t, ld: nj }))
          : onTile(prio(k, j, i), i, j, [left, right], (t, [l, r]) =>
            kernels.gemm(false, true, mi, nj, bk, -1, { data: l, ld: bk }, { data: r, ld: bk }, 1, { data: t, ld: nj })));
      }
      await unref(i, k);
      if (i !== j) await unref(j, k);
    }
    let mail: Failure | undefined;
    // Every declared message is received even after a failure, so none is left to confuse a later call.
    const d = i > j ? await panel(j, j) : undefined;
    if (bad) {
      mail = fail(bad.failedColumn);
    } else if (i === j) {
      try {
        await onTile(prio(j, j, i), i, j, [], async (t) => {
          await kernels.potrf('L', nj, { data: t, ld: nj });
          await kernels.sync(t);
          for (let r = 0; r < nj; r++) t.fill(0, r * nj + r + 1, (r + 1) * nj);
          kernels.release(t);
        });
      } catch (e) {
        if (!(e instanceof NotPositiveDefiniteError)) throw e;
        mail = fail(j * b + e.column);
      }
    } else {
      const diag = d!;
      if (isFailure(diag)) mail = fail(diag.failedColumn);
      else await onTile(prio(j, j, i), i, j, [diag], (t, [dd]) => kernels.trsm('R', 'L', true, 'N', mi, nj, 1,
        { data: dd, ld: nj }, { data: t, ld: nj }));
    }
    if (i > j) await unref(j, j);
    publish(i, j, mail);
    prog.add(j + 1);
  };

  // A failure other than a non-positive pivot (a dead peer, a backend error) fails this rank at once; the
  // launcher then stops the job, so waiting tasks never hang.
  await Promise.all(local.map(([i, j]) => task(i, j)));
  prog.done();
  await Promise.all(sends);
  await pins.finish();
  return failed;
}
