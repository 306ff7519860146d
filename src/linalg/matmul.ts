// Distributed matrix product by SUMMA on the 2-D process grid: panels of A travel along grid rows and panels
// of B along grid columns, the next panel's broadcasts in flight while this panel's local GEMMs run. Tiles are
// read through the tile store one at a time (pinned only while a kernel uses them), so a memory limit holds.
import { type DArray, tileBreak, withTiles } from '../darray/darray.js';
import { empty } from '../darray/factories.js';
import { allocateUninitialized, itemSize } from '../darray/dtype.js';
import { gridCoords, tileCounts, tileShape } from '../darray/distribution.js';
import * as kernels from '../kernels/index.js';
import type { FloatArray, Mat } from '../kernels/index.js';
import { checkFloat, checkPair, gridComms, pinned, shapeError, syncStored } from './context.js';
import { KernelQueue } from './scheduler.js';
import { PanelBudget } from './panel-budget.js';
import { type Part, planSteps, stepOrder } from './summa-steps.js';
import { sameLayout, toLayout } from './layout.js';

export interface MatmulOptions {
  /** Use A^T in place of A. */
  transA?: boolean;
  /** Use B^T in place of B. */
  transB?: boolean;
  /** Scale of the product (default 1). */
  alpha?: number;
  /** Scale of `out`'s previous contents added to the product (default 0); needs `out`. */
  beta?: number;
  /** Write the result into this DArray (shape [m, n], same dtype) and return it. */
  out?: DArray;
}

/**
 * Inner-dimension width of one SUMMA step (DARRAY_SUMMA_K, default 512): panels gather tiles up to about this
 * many columns. Wider steps mean fewer, longer GEMMs per C tile (each call's overhead and OpenBLAS's packing
 * amortized over more flops) for two panel buffers of this width per operand.
 */
function panelWidth(): number {
  const v = Number(process.env.DARRAY_SUMMA_K);
  return Number.isInteger(v) && v > 0 ? v : 512;
}

/**
 * C = alpha op(A) op(B) + beta out. Collective over A's communicator; every rank returns its part of C.
 * C takes `out`'s layout if given, else A's row tiling, B's column tiling and A's grid; operands with another
 * tiling or grid are redistributed first. Shape mismatches raise ShapeError on every rank.
 */
export async function matmul(A: DArray, B: DArray, opts: MatmulOptions = {}): Promise<DArray> {
  const op = 'matmul';
  const comm = A.comm;
  checkFloat(op, 'A', A, [2]);
  checkFloat(op, 'B', B, [2]);
  checkPair(op, A, 'A', B, 'B');
  const alpha = opts.alpha ?? 1;
  const beta = opts.beta ?? 0;
  const out = opts.out;
  const [m, ka] = opts.transA ? [A.shape[1], A.shape[0]] : [A.shape[0], A.shape[1]];
  const [kb, n] = opts.transB ? [B.shape[1], B.shape[0]] : [B.shape[0], B.shape[1]];
  if (ka !== kb) {
    throw shapeError(comm, op, `inner dimensions differ: op(A) is ${m} x ${ka} but op(B) is ${kb} x ${n}`);
  }
  if (typeof alpha !== 'number' || typeof beta !== 'number') {
    throw shapeError(comm, op, 'alpha and beta must be numbers');
  }
  if (out) {
    checkFloat(op, 'out', out, [2]);
    checkPair(op, A, 'A', out, 'out');
    if (out.shape[0] !== m || out.shape[1] !== n) {
      throw shapeError(comm, op, `out has shape [${out.shape}] but the product is ${m} x ${n}`);
    }
  } else if (beta !== 0) {
    throw shapeError(comm, op, `beta = ${beta} needs an out array to scale`);
  }

  let opA = opts.transA ? await A.transpose() : A;
  let opB = opts.transB ? await B.transpose() : B;
  const grid = out ? out.grid : opA.grid;
  const rb = out ? out.blockSize[0] : opA.blockSize[0];
  const cb = out ? out.blockSize[1] : opB.blockSize[1];
  const kbs = opA.blockSize[1];
  if (!sameLayout(opA, [rb, kbs], grid)) opA = await toLayout(opA, [rb, kbs], grid);
  if (!sameLayout(opB, [kbs, cb], grid)) opB = await toLayout(opB, [kbs, cb], grid);
  if (out && (out === opA || out === opB || out === A || out === B)) {
    // out is also an operand: panels still to come would read tiles already overwritten. Compute into a
    // copy of out, then write the tiles back (same layout, so tile for tile).
    const tmp = await out.copy();
    await summa(opA, opB, tmp, alpha, beta, true);
    for (const index of tmp.tileIndices()) {
      withTiles([tmp, out], index, (src, dst) => {
        dst.set(src);
        kernels.release(dst as FloatArray);
      });
      await tileBreak();
    }
    return out;
  }
  const C = out ?? (await empty(comm, [m, n], { dtype: A.dtype, blockSize: [rb, cb], grid }));
  await summa(opA, opB, C, alpha, beta, out !== undefined);
  return C;
}

/** C = alpha A B + beta C on matching layouts: A [rb, kb], B [kb, cb], C [rb, cb], all on one grid. */
async function summa(A: DArray, B: DArray, C: DArray, alpha: number, beta: number, hasC: boolean): Promise<void> {
  const comm = C.comm;
  const grid = C.grid;
  const [pr, pc] = grid;
  const { row, col } = await gridComms(comm, grid);
  if (comm.rank >= pr * pc) return;
  const [p, q] = gridCoords(comm.rank, grid);
  const [mt, nt] = tileCounts(C.shape, C.blockSize);
  const kt = tileCounts(A.shape, A.blockSize)[1];
  const I: number[] = [];
  const J: number[] = [];
  for (let i = p; i < mt; i += pr) I.push(i);
  for (let j = q; j < nt; j += pc) J.push(j);
  const rowsOf = (i: number) => tileShape(C.shape, C.blockSize, [i, 0])[0];
  const colsOf = (j: number) => tileShape(C.shape, C.blockSize, [0, j])[1];
  const widthOf = (k: number) => tileShape(A.shape, A.blockSize, [0, k])[1];
  // A kernel's C tile is pinned only while the kernel runs, and brought home (OpenCL) before the pin goes, so
  // under a memory limit it can spill between steps without a stale host copy.
  const onC = (i: number, j: number, fn: (c: FloatArray) => Promise<void>, overwrite = false) => async (): Promise<void> => {
    const pin = pinned(C, [i, j], overwrite);
    const c = pin.data as FloatArray;
    try {
      await fn(c);
      await kernels.sync(c);
    } finally {
      kernels.release(c);
      pin.release();
    }
  };
  // Device copies of the tiles are brought home first: packing and the kernels below read the host arrays.
  await syncStored(A);
  await syncStored(B);
  if (hasC) await syncStored(C);

  if (kt === 0) {
    // An empty inner dimension: the product is zero, so C is beta C.
    for (const i of I) {
      for (const j of J) {
        await onC(i, j, async (t) => { for (let x = 0; x < t.length; x++) t[x] = beta === 0 ? 0 : beta * t[x]; })();
      }
    }
    return;
  }

  // A step of one tile whose panels would pass half of a rank's share of A, B and C (a rank holding one tile of
  // each) is cut into slabs that keep under it, so a rank holds at most 1.5 times its share. Widths follow from
  // the largest rank's rows and columns, so every rank cuts the same steps.
  const itemBytes = itemSize(A.dtype);
  const shareBytes = itemBytes * (A.shape[0] * A.shape[1] + B.shape[0] * B.shape[1] + C.shape[0] * C.shape[1]) / (pr * pc);
  const widest = Math.max(1, Math.floor(shareBytes / 2 / itemBytes
    / (Math.ceil(mt / pr) * C.blockSize[0] + Math.ceil(nt / pc) * C.blockSize[1])));
  const perStep = Math.max(1, Math.round(panelWidth() / A.blockSize[1]));
  const steps = planSteps({ kt, grid: [pr, pc], widthOf, perStep, widest });

  // Packed panels and the tiles other ranks broadcast land in buffers that a step takes from this pool and
  // gives back once its GEMMs and broadcasts are over, for a later step to reuse: after the first steps nothing
  // is allocated (no fresh memory's zero-fill and page faults, no garbage for V8), and the pool never holds more
  // than the steps in flight at once used.
  const pool = new Map<number, FloatArray[]>();
  // A buffer is overwritten whole (packed, or received) before anything reads it, so it is not zero-filled.
  const take = (len: number): FloatArray => pool.get(len)?.pop() ?? (allocateUninitialized(A.dtype, len) as FloatArray);
  const giveBack = (bufs: FloatArray[]): void => {
    for (const b of bufs) {
      if (!pool.has(b.length)) pool.set(b.length, []);
      pool.get(b.length)!.push(b);
    }
  };

  // One step's operands: op A rows (one Mat per local tile row) and B columns (one per local tile column), each
  // ready when its promise settles; `owned`: this rank's buffers that the step used (packed or received panels);
  // `settled`: every send and receive of the step is over.
  interface Panel {
    a: Promise<Mat>[]; b: Promise<Mat>[]; kc: number; owned: FloatArray[];
    pins: { data: FloatArray; release: () => void }[]; settled: Promise<unknown>;
  }
  // A panel's promises may reject (a failed peer) before anything awaits them: marked handled here, the
  // failure surfaces where the step awaits them.
  const observed = <T>(ps: Promise<T>[]): Promise<T>[] => {
    for (const x of ps) x.catch(() => undefined);
    return ps;
  };

  // The order this rank computes the steps in (a rank rooting the second step but not the first starts with it).
  const order = stepOrder(steps, [pr, pc], p, q);
  const position = new Map(order.map((s, n) => [s, n]));
  // Panels in flight (received tiles, packed panels, staged copies) stay within a quarter of this rank's share
  // of A, B and C, or within one step's panels where those are more: prefetching fills what the quarter leaves.
  // The pools that outlive the panels (shared-memory segments, recycled buffers) come on top: a third read
  // 1.43-1.52 of the share in bench:linalg on 4 ranks at n = 4096, a quarter 1.26, as without prefetching.
  const budget = new PanelBudget(shareBytes / 4, (r, s) => position.get(r)! < position.get(s)!);

  // Broadcasts on each communicator go one at a time, in program order across steps (a prefetched step's queue
  // behind the current one's), so every rank of a row (column) makes the same collective calls in the same order.
  const chainOf = new Map<unknown, Promise<unknown>>([[row, Promise.resolve()], [col, Promise.resolve()]]);
  const enqueue = <T>(c: typeof row, call: () => Promise<T>): Promise<T> => {
    const p = chainOf.get(c)!.then(call);
    // A failure is reported where the step awaits it; later calls still queue behind it.
    chainOf.set(c, p.catch(() => undefined));
    return p;
  };
  /**
   * A one-tile step needs no packing: the root's GEMMs read its own tiles at once while it sends them, and the
   * others receive them one broadcast per tile, in the order of the tile rows (columns) every rank of the row
   * (column) shares, one at a time per communicator; each GEMM starts as soon as its two tiles are there. No
   * panel buffer exists on the root; the others receive each tile into a buffer from the pool. Each broadcast
   * waits for the budget to admit its memory: the root's staged copy, or the buffer received into.
   */
  const fetchTiles = (s: number): Panel => {
    const k = steps[s][0].k;
    const pins: Panel['pins'] = [];
    const owned: FloatArray[] = [];
    const chains: Promise<unknown>[] = [];
    const direct = (X: DArray, index: number[]): FloatArray => {
      const pin = pinned(X, index);
      pins.push(pin as Panel['pins'][number]);
      return pin.data as FloatArray;
    };
    const along = (c: typeof row, root: number, X: DArray, indices: number[][],
      ld: (n: number) => number): Promise<Mat>[] => {
      const out = indices.map((index, n): Promise<Mat> => {
        const [rows, cols] = tileShape(X.shape, X.blockSize, index);
        const bytes = rows * cols * itemBytes;
        if (c.rank === root) {
          const data = direct(X, index);
          if (c.size > 1) {
            const room = budget.admit(s, bytes, true);
            chains.push(enqueue(c, () => room.then(() => c.bcast(data, root)).finally(() => budget.unstage(bytes))));
          }
          return Promise.resolve({ data, ld: ld(n) });
        }
        const room = budget.admit(s, bytes);
        const got = enqueue(c, async () => {
          await room;
          const into = take(rows * cols);
          owned.push(into);
          return c.bcast<FloatArray | null>(null, root, { into });
        }).then((t) => ({ data: t!, ld: ld(n) }));
        chains.push(got);
        return got;
      });
      return out;
    };
    const a = along(row, k % pc, A, I.map((i) => [i, k]), () => widthOf(k));
    const b = along(col, k % pr, B, J.map((j) => [k, j]), (jj) => colsOf(J[jj]));
    const settled = observed([Promise.all(chains)])[0];
    return { kc: widthOf(k), owned, pins, a: observed(a), b: observed(b), settled };
  };

  /**
   * A step of several tiles, or of a slab of one: each root packs its parts into one panel per operand and
   * broadcasts it. Both panel buffers are admitted by the budget before they are taken (and a root's staged
   * copies before it sends).
   */
  const fetchPacked = (s: number): Panel => {
    const parts = steps[s];
    const kc = parts.reduce((sum, part) => sum + part.w, 0);
    const qa = parts[0].k % pc;
    const pb = parts[0].k % pr;
    const aOff: number[] = [];
    let na = 0;
    for (const i of I) { aOff.push(na); na += rowsOf(i) * kc; }
    const bOff: number[] = [];
    let nb = 0;
    for (const j of J) { bOff.push(nb); nb += kc * colsOf(j); }
    const owned: FloatArray[] = [];
    // The roots pack their tiles into these buffers; the other ranks receive the panels into them.
    const room = budget.admit(s, (na + nb) * itemBytes);
    const stageA = row.size > 1 && q === qa ? budget.admit(s, na * itemBytes, true) : undefined;
    const stageB = col.size > 1 && p === pb ? budget.admit(s, nb * itemBytes, true) : undefined;
    const buffers = room.then((): [FloatArray, FloatArray] => {
      const ap = take(na);
      const bp = take(nb);
      owned.push(ap, bp);
      if (q === qa) {
        I.forEach((i, ii) => {
          let co = 0;
          for (const { k, off, w } of parts) {
            const tw = widthOf(k);
            const r = rowsOf(i);
            withTiles([A], [i, k], (t) => {
              for (let x = 0; x < r; x++) ap.set(t.subarray(x * tw + off, x * tw + off + w), aOff[ii] + x * kc + co);
            });
            co += w;
          }
        });
      }
      if (p === pb) {
        J.forEach((j, jj) => {
          const nj = colsOf(j);
          let ro = 0;
          for (const { k, off, w } of parts) {
            withTiles([B], [k, j], (t) => bp.set(t.subarray(off * nj, (off + w) * nj), bOff[jj] + ro * nj));
            ro += w;
          }
        });
      }
      return [ap, bp];
    });
    const send = (c: typeof row, root: number, panel: Promise<FloatArray>, stage: Promise<void> | undefined,
      bytes: number): Promise<FloatArray> => (c.size === 1 ? panel : enqueue(c, async () => {
      const x = await panel;
      await stage;
      try {
        return await c.bcast(x, root, { into: x });
      } finally {
        if (stage) budget.unstage(bytes);
      }
    }));
    const got = Promise.all([
      send(row, qa, buffers.then(([ap]) => ap), stageA, na * itemBytes),
      send(col, pb, buffers.then(([, bp]) => bp), stageB, nb * itemBytes),
    ]);
    return {
      kc,
      owned,
      pins: [],
      a: observed(I.map((_, ii) => got.then(([a]) => ({ data: a, offset: aOff[ii], ld: kc })))),
      b: observed(J.map((j, jj) => got.then(([, b]) => ({ data: b, offset: bOff[jj], ld: colsOf(j) })))),
      settled: observed([got])[0],
    };
  };
  const whole = (part: Part) => part.w === widthOf(part.k);
  const fetch = (s: number): Panel => (steps[s].length === 1 && whole(steps[s][0]) ? fetchTiles(s) : fetchPacked(s));

  const queue = new KernelQueue();
  const panels: Panel[] = [];
  let reached = -1;
  for (let n = 0; n < order.length; n++) {
    const s = order[n];
    // Every step up to the furthest one reached, and the one after it, has its broadcasts queued: the budget
    // decides how much of their memory comes in while this step's GEMMs run.
    reached = Math.max(reached, s);
    while (panels.length < Math.min(reached + 2, steps.length)) panels.push(fetch(panels.length));
    const panel = panels[s];
    const b0 = n === 0 ? (hasC ? beta : 0) : 1;
    const jobs: Promise<void>[] = [];
    I.forEach((i, ii) => J.forEach((j, jj) => {
      const mi = rowsOf(i);
      const nj = colsOf(j);
      // With beta = 0 the first step's GEMM writes C without reading it: a C tile not yet in memory comes unzeroed.
      jobs.push(Promise.all([panel.a[ii], panel.b[jj]]).then(([a, b]) => queue.submit([n], onC(i, j, (c) =>
        kernels.gemm(false, false, mi, nj, panel.kc, alpha, a, b, b0, { data: c, ld: nj }), b0 === 0))));
    }));
    try {
      await Promise.all(jobs);
      await panel.settled;
    } finally {
      // A failed step still lets its sends finish reading the pinned tiles before the pins go.
      await panel.settled.catch(() => undefined);
      // The step's buffers lose their device copies (their host memory serves a later step); operand tiles
      // used directly lose their device copies and their pins.
      kernels.release(...panel.owned);
      giveBack(panel.owned);
      kernels.release(...panel.pins.map((p) => p.data));
      for (const p of panel.pins) p.release();
      budget.done(s);
    }
  }
  // Nothing reads the buffers any more: their memory goes back now rather than when V8 collects them.
  kernels.discard(...[...pool.values()].flat());
}
