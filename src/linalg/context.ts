// Shared plumbing of the tiled algorithms: cached sub-communicators per (comm, grid), argument checks that
// raise the same ShapeError on every rank, and small helpers on tiles.
import type { Comm } from '../comm/index.js';
import type { DArray } from '../darray/darray.js';
import { ShapeError } from '../errors.js';
import { gridCoords, prod } from '../darray/distribution.js';
import * as kernels from '../kernels/index.js';
import { memoryLimit } from '../darray/store/index.js';
import type { FloatArray } from '../kernels/index.js';

/** Row and column communicators of a 2-D grid: in `row` a rank's rank is its grid column q, in `col` its row p. */
export interface GridComms {
  row: Comm;
  col: Comm;
}

const gridCache = new WeakMap<Comm, Map<string, Promise<GridComms>>>();
const privCache = new WeakMap<Comm, Promise<Comm>>();

/**
 * The row and column sub-communicators of `grid` over `comm`, made once with `comm.split` and cached.
 * Collective the first time (every rank of `comm` must call it for the same grid in the same order, which
 * holds because every rank runs the same algorithm on the same metadata). Ranks outside the grid get
 * singleton communicators.
 */
export function gridComms(comm: Comm, grid: readonly number[]): Promise<GridComms> {
  const m = gridCache.get(comm) ?? new Map<string, Promise<GridComms>>();
  gridCache.set(comm, m);
  const key = grid.join('x');
  let p = m.get(key);
  if (!p) {
    const [pr, pc] = grid;
    const inGrid = comm.rank < pr * pc;
    const [gp, gq] = inGrid ? gridCoords(comm.rank, grid) : [0, 0];
    // Colors past pr / pc are private to one outside rank each, so they never join a real row or column.
    const outside = pr + pc + comm.rank;
    p = (async () => {
      const row = member(await comm.split(inGrid ? gp : outside, inGrid ? gq : 0));
      const col = member(await comm.split(inGrid ? gq : outside, inGrid ? gp : 0));
      return { row, col };
    })();
    m.set(key, p);
  }
  return p;
}

/**
 * A duplicate of `comm` reserved for linalg point-to-point traffic, so that tile messages never meet user
 * messages. Made once per comm (collective the first time).
 */
export function privateComm(comm: Comm): Promise<Comm> {
  const cached = privCache.get(comm);
  if (cached) return cached;
  const p = comm.split(0, comm.rank).then(member);
  privCache.set(comm, p);
  return p;
}

/** split gives null only to a negative color, which these calls never pass. */
function member(c: Comm | null): Comm {
  if (!c) throw new Error('linalg: split returned no communicator for a non-negative color (internal error)');
  return c;
}

/** A ShapeError naming rank and operation; every rank computes it from the same metadata. */
export function shapeError(comm: Comm, op: string, msg: string): ShapeError {
  return new ShapeError(msg, { rank: comm.rank, op });
}

/** Checks that `A` is a float DArray of `ndims` dimensions (one of the listed counts). */
export function checkFloat(op: string, name: string, A: DArray, ndims: readonly number[]): void {
  if (!ndims.includes(A.shape.length)) {
    throw shapeError(A.comm, op, `${name} must have ${ndims.join(' or ')} dimensions, got shape [${A.shape}]`);
  }
  if (A.dtype !== 'float64' && A.dtype !== 'float32') {
    throw shapeError(A.comm, op, `${name} has dtype ${A.dtype}; linear algebra needs float64 or float32`);
  }
}

/** Checks that two operands live on the same communicator and have the same dtype. */
export function checkPair(op: string, A: DArray, nameA: string, B: DArray, nameB: string): void {
  if (A.comm !== B.comm) throw shapeError(A.comm, op, `${nameA} and ${nameB} live on different communicators`);
  if (A.dtype !== B.dtype) {
    throw shapeError(A.comm, op, `${nameA} has dtype ${A.dtype} but ${nameB} has ${B.dtype}`);
  }
}

/** True when this rank owns tiles of a DArray on `grid`. */
export function inGrid(comm: Comm, grid: readonly number[]): boolean {
  return comm.rank < prod(grid);
}

/** This rank's tile `index` of `A` as a float array; throws if the rank does not own it (a bug, not input). */
export function ownTile(A: DArray, index: number[], op: string): FloatArray {
  const t = A.tile(index);
  if (!t) throw new Error(`rank ${A.comm.rank} ${op}: tile [${index}] is not local (internal error)`);
  return t as FloatArray;
}

/** Pins tile `index` of X (it stays in memory until `release`). */
export function pinned(X: DArray, index: number[], overwrite = false): { data: FloatArray; release: () => void } {
  const p = X.pinTile(index, { overwrite });
  if (!p) throw new Error(`rank ${X.comm.rank}: tile [${index}] is not local (internal error)`);
  return p as { data: FloatArray; release: () => void };
}

/**
 * Brings the device copies of X's tiles home (OpenCL), one tile at a time. Without an open device there are
 * none, and the tiles are not touched (touching them would bring spilled tiles back for nothing).
 */
export async function syncStored(X: DArray): Promise<void> {
  if (!kernels.deviceInfo()) return;
  for (const index of X.tileIndices()) {
    const p = pinned(X, index);
    try {
      await kernels.sync(p.data);
    } finally {
      p.release();
    }
  }
}

/**
 * Pins of one DArray's tiles, shared by the kernels and sends that use a tile at the same time. A tile is in
 * memory only while pinned. Where the result of a kernel lives afterwards depends on whether tiles can spill:
 * - without a memory limit nothing spills, so on the OpenCL backend a tile stays on the device from one kernel
 *   to the next (the point of the device cache); it comes home only to be sent (the caller syncs) and once at
 *   `finish()`;
 * - under a limit, each kernel's result comes home (`settle`) and the last user drops the device copy (keyed by
 *   the host array, which a spill and restore replace) before the pin goes, so a spill never writes a stale tile.
 */
export class TilePins {
  /** True when tiles cannot spill, so device copies may outlive their pins. */
  readonly resident = !Number.isFinite(memoryLimit());
  private readonly pins = new Map<string, { data: FloatArray; release: () => void; users: number }>();
  private readonly kept = new Set<FloatArray>();

  constructor(private readonly A: DArray) {}

  /** The tile's array, in memory until the matching drop; `overwrite` as for DArray.pinTile. */
  acquire(index: readonly number[], overwrite = false): FloatArray {
    const key = index.join(',');
    let p = this.pins.get(key);
    if (!p) {
      p = { ...pinned(this.A, [...index], overwrite), users: 0 };
      this.pins.set(key, p);
      if (this.resident) this.kept.add(p.data);
    }
    p.users++;
    return p.data;
  }

  /** After a kernel wrote `data`: under a memory limit its result must be on the host before the pin goes. */
  async settle(data: FloatArray): Promise<void> {
    if (!this.resident) await kernels.sync(data);
  }

  /** One use is over; the last one lets the tile go (and, under a limit, its device copy first). */
  drop(index: readonly number[]): void {
    const key = index.join(',');
    const p = this.pins.get(key)!;
    if (--p.users > 0) return;
    this.pins.delete(key);
    if (!this.resident) kernels.release(p.data);
    p.release();
  }

  /** End of the algorithm: tiles kept on the device come home and their device copies go. */
  async finish(): Promise<void> {
    const kept = [...this.kept];
    this.kept.clear();
    await kernels.sync(...kept);
    kernels.release(...kept);
  }
}
