// Distributed triangular solve op(T) X = B by tiles: each block row of X is finished with a TRSM on the
// diagonal tile and sent down (or up) its grid column, where GEMMs subtract it from the rows still to solve.
// Local tiles are pinned only while a kernel or a send uses them, so a memory limit holds.
import type { DArray } from '../darray/darray.js';
import { tileCounts, tileOwner } from '../darray/distribution.js';
import * as kernels from '../kernels/index.js';
import { TileBoard, isTile } from './board.js';
import type { FloatArray } from '../kernels/index.js';
import { TilePins, checkFloat, checkPair, privateComm, shapeError, syncStored } from './context.js';
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

/** A tile as a kernel reads it: received from its owner, or one of this rank's own tiles (pinned when used). */
type Own = { pins: TilePins; index: number[] };
type Operand = FloatArray | Own;
const isOwn = (o: Operand): o is Own => !isTile(o as FloatArray);

/** Overwrites X (B on entry, tiled like T's rows) with op(T)^-1 B. */
async function solveInPlace(T: DArray, X: DArray, lower: boolean, trans: boolean): Promise<void> {
  const comm = await privateComm(T.comm);
  const me = comm.rank;
  const V = matView(X);
  const nt = tileCounts(T.shape, T.blockSize)[0];
  const forward = lower !== trans;
  const tTag = (a: number, c: number) => a * nt + c;
  const xTag = (i: number, c: number) => nt * nt + i * V.nt + c;
  const xIndex = (i: number, c: number) => (X.shape.length === 1 ? [i] : [i, c]);
  const tOwner = (a: number, d: number) => tileOwner([a, d], T.grid);
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
  // The board receives other ranks' tiles; this rank's own tiles of T and X stay in their arrays (and may
  // spill there under a memory limit), pinned only while a kernel or a send uses them.
  const board = new TileBoard(comm, TRSM_TAG_BASE);
  const queue = new KernelQueue();
  // (i, c) of this rank's X tiles, read from the indices alone (V.local() would bring every tile into memory).
  const mine = X.tileIndices().map((t) => [t[0], t[1] ?? 0] as [number, number]);
  const tPins = new TilePins(T);
  const xPins = new TilePins(X);

  // Declare every use of another rank's tile: each local B tile (i, c) reads op(T)(i, j) and X(j, c) for the
  // rows j solved before it.
  for (const [i, c] of mine) {
    for (const j of earlier(i)) {
      const [a, d] = stored(i, j);
      if (tOwner(a, d) !== me) board.need(tTag(a, d), tOwner(a, d));
      if (V.owner(j, c) !== me) board.need(xTag(j, c), V.owner(j, c));
    }
    if (tOwner(i, i) !== me) board.need(tTag(i, i), tOwner(i, i));
  }
  // Sends of local tiles, each pinned until its sends complete.
  const sends: Promise<unknown>[] = [];
  const send = (pins: TilePins, index: number[], tag: number, dests: Set<number>): void => {
    dests.delete(me);
    if (dests.size === 0) return;
    const data = pins.acquire(index);
    // A tile kept on the device comes home before it travels.
    const out = kernels.sync(data).then(() => Promise.all([...dests].map((d) => comm.send(data, d, TRSM_TAG_BASE + tag))));
    sends.push(out.finally(() => pins.drop(index)));
  };
  // Kernels release the device copies of T's tiles after use: bring dirty ones home first.
  await syncStored(T);
  // Local triangle tiles of T go out at once to the owners of the B rows they update.
  for (const [a, d] of T.tileIndices()) {
    if (lower ? a < d : a > d) continue;
    const row = trans ? d : a;
    const dests = new Set<number>();
    for (let c = 0; c < V.nt; c++) dests.add(V.owner(row, c));
    send(tPins, [a, d], tTag(a, d), dests);
  }
  // This rank's solved X tiles, resolved once final.
  const solved = new Map<number, { promise: Promise<void>; resolve: () => void }>();
  for (const [i, c] of mine) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => { resolve = r; });
    solved.set(xTag(i, c), { promise, resolve });
  }
  const tileOf = async (a: number, d: number): Promise<Operand> => {
    if (tOwner(a, d) === me) return { pins: tPins, index: [a, d] };
    const m = await board.get(tTag(a, d));
    if (!isTile(m)) throw new Error(`rank ${me} triangularSolve: bad tile message (internal error)`);
    return m;
  };
  const xOf = async (j: number, c: number): Promise<Operand> => {
    if (V.owner(j, c) === me) {
      await solved.get(xTag(j, c))!.promise;
      return { pins: xPins, index: xIndex(j, c) };
    }
    const m = await board.get(xTag(j, c));
    if (!isTile(m)) throw new Error(`rank ${me} triangularSolve: bad tile message (internal error)`);
    return m;
  };
  const unrefT = (a: number, d: number) => (tOwner(a, d) !== me ? board.unref(tTag(a, d)) : undefined);
  const unrefX = (j: number, c: number) => (V.owner(j, c) !== me ? board.unref(xTag(j, c)) : undefined);
  /**
   * Runs `kernel` on X tile (i, c) and its operands as one queued job, this rank's tiles pinned only for the
   * job; the result comes back to the host (OpenCL) before the pins go, so a spill never writes a stale tile.
   */
  const onX = (key: number[], i: number, c: number, operands: Operand[],
    kernel: (x: FloatArray, ops: FloatArray[]) => Promise<void>): Promise<void> =>
    queue.submit(key, async () => {
      const held: [TilePins, number[]][] = [];
      const use = (pins: TilePins, index: number[]): FloatArray => {
        const data = pins.acquire(index);
        held.push([pins, index]);
        return data;
      };
      try {
        const x = use(xPins, xIndex(i, c));
        const ops = operands.map((o) => (isOwn(o) ? use(o.pins, o.index) : o));
        await kernel(x, ops);
        await xPins.settle(x);
      } finally {
        for (const [pins, index] of held) pins.drop(index);
      }
    });

  const task = async (i: number, c: number): Promise<void> => {
    const ri = V.rowsOf(i);
    const cc = V.colsOf(c);
    for (const j of earlier(i)) {
      const [a, d] = stored(i, j);
      const t = await tileOf(a, d);
      const xj = await xOf(j, c);
      const rj = V.rowsOf(j);
      await onX([forward ? j : nt - j, i], i, c, [t, xj], (x, [tt, xx]) => kernels.gemm(trans, false, ri, cc, rj, -1,
        { data: tt, ld: trans ? ri : rj }, { data: xx, ld: cc }, 1, { data: x, ld: cc }));
      await unrefT(a, d);
      await unrefX(j, c);
    }
    const dt = await tileOf(i, i);
    await onX([forward ? i : nt - i, i], i, c, [dt], (x, [tt]) => kernels.trsm('L', lower ? 'L' : 'U', trans, 'N', ri, cc, 1,
      { data: tt, ld: ri }, { data: x, ld: cc }));
    await unrefT(i, i);
    solved.get(xTag(i, c))!.resolve();
    const dests = new Set<number>();
    for (const r of later(i)) dests.add(V.owner(r, c));
    send(xPins, xIndex(i, c), xTag(i, c), dests);
  };
  await Promise.all(mine.map(([i, c]) => task(i, c)));
  await Promise.all(sends);
  await xPins.finish();
  await tPins.finish();
}
