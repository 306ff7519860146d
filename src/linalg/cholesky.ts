// Right-looking tiled Cholesky A = L L^T over the block-cyclic grid, written as the textbook tile loop: for each
// step k, POTRF on the diagonal tile, TRSM on the panel below it, SYRK/GEMM on the trailing matrix. Each rank
// spawns the kernels whose output tile it owns; a kernel runs once the tiles it reads are final (received from
// their owner, or this rank's own) and the earlier kernels on its output tile are done, and a priority queue
// runs the next panels' work first (lookahead). Each kernel pins the tiles it uses only while it runs, so under a
// memory limit the factor spills as it goes.
import type { DArray } from '../darray/darray.js';
import { allocateUninitialized } from '../darray/dtype.js';
import { tileCounts, tileOwner, tileShape } from '../darray/distribution.js';
import { NotPositiveDefiniteError } from '../errors.js';
import * as kernels from '../kernels/index.js';
import type { FloatArray } from '../kernels/index.js';
import { TileBoard, isTile, type Mail } from './board.js';
import { TilePins, checkFloat, pinned, privateComm, shapeError } from './context.js';
import { KernelQueue, type Priority } from './scheduler.js';
import { progress } from '../progress.js';

/** Tag space of Cholesky tile messages on the private linalg communicator. */
const CHOL_TAG_BASE = 1 << 28;

/** Options of `cholesky`. */
export interface CholeskyOptions {
  /**
   * Factor in place, as scipy's `overwrite_a` and LAPACK's potrf do: A's own tiles become L and A is returned,
   * its upper triangle zero (upper tiles give their memory back). No copy of A is made, so the factorization
   * needs half the memory. If it fails (NotPositiveDefiniteError), A's contents are unspecified.
   */
  overwrite?: boolean;
}

/**
 * The lower Cholesky factor L of a symmetric positive definite A (only A's lower triangle is read), as a new
 * DArray with A's layout and its upper triangle zero (A itself with `{ overwrite: true }`). Collective. A needs
 * square tiles. A matrix that is not positive definite raises NotPositiveDefiniteError with the same global
 * column on every rank. Speed: tiles of 512 suit a core per rank, but at least 6 tile columns keep the critical
 * path short (n = 2048 on 2 ranks ran 1.16x as fast on tiles of 344 as on 512; see docs/design.md).
 */
export async function cholesky(A: DArray, opts: CholeskyOptions = {}): Promise<DArray> {
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
  // Without overwrite, the factor starts as an empty array of A's layout: each lower tile takes A's values in a
  // queued job of its own, so the first panel need not wait for the whole copy. The upper tiles stay
  // unmaterialised zero tiles, so they take no memory unless someone reads them.
  // In place, the upper tiles become zero tiles now, and their memory is freed during the factorization (kept for
  // the next tile of its size, or given back to the OS) rather than whenever V8 collects their arrays (a third of
  // the footprint at 4 ranks, n = 4096).
  const L = opts.overwrite ? A : A.similar();
  const dead: FloatArray[] = [];
  if (opts.overwrite) {
    for (const [i, j] of A.tileIndices()) {
      if (i < j) {
        const held = A.zeroTile([i, j]);
        if (held) dead.push(held as FloatArray);
      }
    }
  }
  const pcomm = await privateComm(comm);
  const failed = await factor(A, L, pcomm, dead);
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

/** News that an earlier step failed at this global column; it replaces every tile computed from that step on. */
type Failure = { failedColumn: number };
/** A tile as a kernel reads it: an array (received, or the inverse of a diagonal tile) or this rank's tile (i, j) of L. */
type Operand = FloatArray | readonly [number, number];
const isFailure = (x: unknown): x is Failure => typeof x === 'object' && x !== null && 'failedColumn' in x;

/**
 * Factors A into L (lower tiles; L starts empty, or is A itself); returns the first failing global column this
 * rank saw, or n. `dead`: arrays nothing reads any more (A's upper tiles in place), given back on the way.
 *
 * The panel TRSMs L(i, k) = A(i, k) L(k, k)^-T run as TRMMs by the inverse of the diagonal tile: its owner
 * computes L(k, k)^-1 once (in the same kernel as the POTRF) and sends it, in place of L(k, k),
 * to the ranks that own the panel; OpenBLAS's TRMM runs at GEMM speed where its TRSM is several times slower.
 * The explicit inverse scales a panel tile's rounding error by at most cond(L(k, k)) <= sqrt(cond(A)), as in
 * MAGMA's and SLATE's tile TRSMs; for the matrices Cholesky is meant for (not near singular) the residual stays
 * at rounding level.
 */
async function factor(A: DArray, L: DArray, comm: DArray['comm'], dead: FloatArray[]): Promise<number> {
  const n = L.shape[0];
  const b = L.blockSize[0];
  const grid = L.grid;
  const nt = tileCounts(L.shape, L.blockSize)[0];
  const me = comm.rank;
  const owner = (i: number, j: number) => tileOwner([i, j], grid);
  const mine = (i: number, j: number) => owner(i, j) === me;
  const ext = (i: number) => tileShape(L.shape, L.blockSize, [i, 0])[0];
  const tag = (i: number, j: number) => i * nt + j;
  // The board receives the panel tiles of other ranks; this rank's own tiles stay in L (and may spill there).
  const board = new TileBoard(comm, CHOL_TAG_BASE);
  // The lookahead columns' kernels (priority class 0) are the critical path.
  const queue = new KernelQueue(undefined, (key) => key[0] === 0);
  const pins = new TilePins(L);
  const depth = lookahead();
  // Giving the dead tiles' pages back costs about 0.25 ms per MiB of the rank's core (docs/design.md): done while
  // the rank waits for a panel, it delays no kernel. Tiles still held at the end go then.
  for (const t of dead) queue.whenIdle(() => kernels.discard(t));
  // Kernels on tile column j for step k (k < j: an update from panel k; k = j: POTRF or TRSM). Columns within
  // `depth` of their step are the critical path and go first, leftmost column first; the rest of the trailing
  // update follows oldest step first, so each panel's received tiles are dropped as early as possible.
  const prio = (k: number, j: number, i: number): Priority => (j - k <= depth ? [0, j, k, i] : [1, k, j, i]);

  // Progress (rank 0, on a terminal) in kernels done: tile (i, j) takes j updates and its own step.
  let work = 0;
  for (const [i, j] of L.tileIndices()) if (i >= j) work += j + 1;
  const prog = progress(comm, `cholesky ${n}x${n}`, work || 1);

  let failed = n;
  const fail = (f: Failure): Failure => {
    failed = Math.min(failed, f.failedColumn);
    return f;
  };

  // The latest kernel spawned on each of this rank's tiles (the first one copies A's tile in): it settles with
  // the failure notice when the tile was computed from a failed step, else undefined.
  const latest = new Map<number, Promise<Failure | undefined>>();
  const none = Promise.resolve(undefined);
  const current = (i: number, j: number) => latest.get(tag(i, j)) ?? none;
  // The inverse of each local diagonal tile (or the failure that replaced it), for the panel below.
  const inverses = new Map<number, Promise<FloatArray | Failure>>();
  // Every kernel and send spawned; a rejection surfaces where they are awaited at the end, not as unhandled
  // while later steps are still being spawned.
  const spawned: Promise<unknown>[] = [];
  const track = (p: Promise<unknown>): void => {
    p.catch(() => undefined);
    spawned.push(p);
  };

  /**
   * Panel tile (i, k) as a kernel reads it, once final: this rank's tile, or the one received from its owner
   * (the diagonal tile travels as its inverse). A received tile is held until the kernels that declared it
   * here have run (`done`).
   */
  const operand = (i: number, k: number): Promise<Operand | Failure> => {
    if (!mine(i, k)) {
      board.need(tag(i, k), owner(i, k));
      return board.get(tag(i, k)) as Promise<FloatArray | Failure>;
    }
    if (i === k) return inverses.get(k)!;
    return current(i, k).then((f) => f ?? [i, k]);
  };
  const done = (reads: readonly (readonly [number, number])[]) =>
    Promise.all(reads.filter(([i, k]) => !mine(i, k)).map(([i, k]) => board.unref(tag(i, k))));

  /**
   * Spawns `kernel` on this rank's tile (i, j) of L after the kernels already spawned on it, reading the final
   * panel tiles `reads`. It is skipped (and the tile carries the failure on) when an input comes from a failed
   * step. This rank's tiles are pinned only while the kernel runs (see TilePins for where the result lives
   * afterwards on the OpenCL backend). `counted`: the kernel counts towards progress; `overwrites`: it writes
   * all of tile (i, j) before reading any of it; `urgent`: overrides the queue's verdict on `key`.
   */
  const spawn = (key: Priority, i: number, j: number, reads: [number, number][],
    kernel: (t: FloatArray, ops: FloatArray[]) => Promise<void> | void,
    { counted = true, overwrites = false, urgent }: { counted?: boolean; overwrites?: boolean; urgent?: boolean } = {},
  ): Promise<unknown> => {
    const inputs = reads.map(([r, c]) => operand(r, c));
    const run = Promise.all([current(i, j), ...inputs]).then(async ([prev, ...ops]) => {
      try {
        const bad = prev ?? ops.find(isFailure);
        if (bad) return fail(bad);
        await queue.submit(key, async () => {
          const held: (readonly [number, number])[] = [];
          const use = (r: number, c: number, overwrite = false): FloatArray => {
            held.push([r, c]);
            return pins.acquire([r, c], overwrite);
          };
          try {
            const t = use(i, j, overwrites);
            await kernel(t, (ops as Operand[]).map((o) => (isTile(o as Mail) ? o as FloatArray : use(o[0], o[1]))));
            await pins.settle(t);
          } finally {
            for (const [r, c] of held) pins.drop([r, c]);
          }
        }, urgent);
        return undefined;
      } catch (e) {
        if (!(e instanceof NotPositiveDefiniteError) || i !== j || reads.length > 0) throw e;
        return fail({ failedColumn: j * b + e.column });
      } finally {
        if (counted) prog.add(1);
        await done(reads);
      }
    });
    latest.set(tag(i, j), run);
    track(run);
    return run;
  };

  // Finished tiles go to the other ranks that read them, pinned until their sends complete. A tile computed
  // from a failed step travels as the failure notice, so every posted receive is matched.
  const sends: Promise<unknown>[] = [];
  const publish = (k: number, what: Promise<FloatArray | Failure | undefined>, dests: Set<number>,
    pinned?: [number, number]): Promise<unknown> => {
    dests.delete(me);
    if (dests.size === 0) return none;
    const sent = what.then(async (got) => {
      if (isFailure(got)) {
        await Promise.all([...dests].map((d) => comm.send(got, d, CHOL_TAG_BASE + k)));
        return;
      }
      const data = got ?? pins.acquire(pinned!);
      try {
        // A tile kept on the device comes home before it travels.
        await kernels.sync(data);
        await Promise.all([...dests].map((d) => comm.send(data, d, CHOL_TAG_BASE + k)));
      } finally {
        if (!got) pins.drop(pinned!);
      }
    });
    sent.catch(() => undefined);
    sends.push(sent);
    return sent;
  };

  // A's lower tiles come in first, each just before the kernels that need it first (an idle rank copies ahead).
  // The copies run as kernels, off the JS thread and within the cap on kernels in flight: on the JS thread they
  // would compete for this rank's core with the first panel's kernels, the critical path at the start. They are
  // never urgent: as urgent kernels, the next copies took the freed slot ahead of the first POTRF, which the end
  // of its own tile's copy unblocks a few promise turns later (two copies ran before it at each start).
  for (const [i, j] of L.tileIndices()) {
    if (i < j || L === A) continue;
    spawn(prio(0, j, i), i, j, [], async (t) => {
      const a = pinned(A, [i, j]);
      try {
        await kernels.copy(t.length, a.data, t);
      } finally {
        a.release();
      }
    }, { counted: false, overwrites: true, urgent: false });
  }

  for (let k = 0; k < nt; k++) {
    const nk = ext(k);
    let invSent = none as Promise<unknown>;
    // POTRF on the diagonal tile and, for the panel below, its inverse: one kernel, so that nothing runs
    // between the two halves of the critical path's first step.
    if (mine(k, k)) {
      const last = k + 1 === nt;
      // The inverse's memory is taken when the kernel runs, not when it is spawned (all steps are spawned at once),
      // and not zeroed: potrfInv writes all of it (a zero-filled 2 MiB cost the JS thread about 0.7 ms per step).
      let x: FloatArray | undefined;
      const diag = spawn(prio(k, k, k), k, k, [], async (t) => {
        if (!last) {
          x = allocateUninitialized(L.dtype, nk * nk) as FloatArray;
          await kernels.potrfInv('L', nk, { data: t, ld: nk }, { data: x, ld: nk });
        } else {
          await kernels.potrf('L', nk, { data: t, ld: nk });
          await kernels.sync(t);
          for (let r = 0; r < nk; r++) t.fill(0, r * nk + r + 1, (r + 1) * nk);
        }
        kernels.release(t);
      });
      if (!last) {
        const inv = diag.then((bad) => (isFailure(bad) ? bad : x!));
        inverses.set(k, inv);
        track(inv);
        const dests = new Set<number>();
        for (let m = k + 1; m < nt; m++) dests.add(owner(m, k));
        invSent = publish(tag(k, k), inv, dests);
      }
    }
    // The panel: L(m, k) = A(m, k) L(k, k)^-T.
    const users: Promise<unknown>[] = [];
    for (let m = k + 1; m < nt; m++) {
      if (!mine(m, k)) continue;
      const mm = ext(m);
      users.push(spawn(prio(k, k, m), m, k, [[k, k]], (t, [inv]) =>
        kernels.trmm('R', 'L', true, 'N', mm, nk, 1, { data: inv, ld: nk }, { data: t, ld: nk })));
      // Its readers: the updates of row m (left factor) and of column m (right factor).
      const dests = new Set<number>();
      for (let j = k + 1; j <= m; j++) dests.add(owner(m, j));
      for (let i = m + 1; i < nt; i++) dests.add(owner(i, m));
      publish(tag(m, k), current(m, k), dests, [m, k]);
    }
    // This rank's inverse of L(k, k) goes (memory and device copy) once its panel and its sends are done.
    const inv = inverses.get(k);
    if (inv) {
      inverses.delete(k);
      users.push(invSent);
      track(Promise.all(users).then(() => inv).then((x) => { if (!isFailure(x)) kernels.discard(x); }));
    }
    // The trailing update by panel k.
    for (let j = k + 1; j < nt; j++) {
      const nj = ext(j);
      if (mine(j, j)) {
        spawn(prio(k, j, j), j, j, [[j, k]], (t, [l]) =>
          kernels.syrk('L', false, nj, nk, -1, { data: l, ld: nk }, 1, { data: t, ld: nj }));
      }
      for (let i = j + 1; i < nt; i++) {
        if (!mine(i, j)) continue;
        const mi = ext(i);
        spawn(prio(k, j, i), i, j, [[i, k], [j, k]], (t, [l, r]) =>
          kernels.gemm(false, true, mi, nj, nk, -1, { data: l, ld: nk }, { data: r, ld: nk }, 1, { data: t, ld: nj }));
      }
    }
    // Kernels already spawned start while later steps are spawned. Safe for the board's use counts: the tiles
    // of panel k are read by step k's kernels only, all declared above.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  // A failure other than a non-positive pivot (a dead peer, a backend error) fails this rank at once; the
  // launcher then stops the job, so waiting kernels never hang.
  await Promise.all(spawned);
  queue.flushIdle();
  prog.done();
  await Promise.all(sends);
  await pins.finish();
  return failed;
}
