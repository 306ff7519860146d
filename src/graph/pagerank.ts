// PageRank by power iteration on a distributed sparse adjacency matrix, with networkx's conventions: uniform
// start and teleport, dangling vertices' rank spread evenly, stop when the L1 change < n * tol.

import type { DArray } from '../darray/index.js';
import { DArrayError, ShapeError } from '../errors.js';
import type { SparseMatrix } from '../sparse/index.js';
import { checkGraph } from './check.js';

export interface PagerankOptions {
  /** Probability of following an edge (networkx's alpha); default 0.85. */
  damping?: number;
  /** Convergence: stop when sum |x_new - x| < n * tol (networkx's test); default 1e-6. */
  tol?: number;
  /** Iterations before giving up with an error; default 100. */
  maxIter?: number;
  /** Called after each iteration with its number (from 1) and the L1 change, on every rank. */
  onIteration?: (iteration: number, change: number) => void;
}

/**
 * Collective: the PageRank vector of the graph whose edge i -> j is entry (i, j) of G (weights count:
 * rank flows along out-edges in proportion to weight). Returns a float64 DArray in G's row layout, summing
 * to 1. Throws on every rank if it has not converged after maxIter iterations.
 */
export async function pagerank(G: SparseMatrix, opts: PagerankOptions = {}): Promise<DArray> {
  const op = 'graph.pagerank';
  checkGraph(G, op);
  const d = opts.damping ?? 0.85, tol = opts.tol ?? 1e-6, maxIter = opts.maxIter ?? 100;
  const rank = G.comm.rank;
  if (typeof d !== 'number' || !(d >= 0 && d <= 1)) throw new ShapeError(`damping must be in [0, 1], got ${d}`, { rank, op });
  if (typeof tol !== 'number' || !(tol > 0)) throw new ShapeError(`tol must be positive, got ${tol}`, { rank, op });
  if (!Number.isSafeInteger(maxIter) || maxIter < 1) throw new ShapeError(`maxIter must be a positive integer, got ${maxIter}`, { rank, op });
  // x_new = d * (A^T (x / outweight) + dangling mass / n) + (1 - d) / n: a matvec with the transpose. Every
  // per-vertex array lives in the kernel's order (K.rowOrder), which the product needs no shuffle for.
  const At = G.symmetric ? G : await G.transpose();
  const K = At.kernel();
  const n = G.nrows, m = G.localRows, order = K.rowOrder;
  const sums = G.localRowSums();
  const inv = new Float64Array(m);
  let nd = 0;
  for (let r = 0; r < m; r++) if (sums[order[r]] === 0) nd++;
  const dangling = new Int32Array(nd);
  nd = 0;
  for (let r = 0; r < m; r++) {
    const w = sums[order[r]];
    if (w === 0) dangling[nd++] = r;
    else inv[r] = 1 / w;
  }
  const x = new Float64Array(m).fill(1 / n);
  const z = new Float64Array(K.nExt);
  const y = new Float64Array(m);
  // The two scalars an iteration ends with (its L1 change, the next dangling mass) are summed over the ranks
  // by riding on the next iteration's halo exchange: one message round per iteration. The change is thus
  // known one exchange late; the product then under way is dropped and x (that iteration's result) returned.
  const stats = new Float64Array(2);
  stats[1] = nd / n;
  let it = 1;
  const converged = (s: Float64Array) => it > 1 && s[0] < n * tol;
  for (; it <= maxIter + 1; it++) {
    scaleInto(z, x, inv, m);
    let done: boolean;
    if (it <= maxIter) done = !(await K.multiply(z, y, op, stats, converged));
    else { stats.set(await G.comm.allreduce(stats, 'sum')); done = converged(stats); }
    if (it > 1) opts.onIteration?.(it - 1, stats[0]);
    if (done) return toVector(G, x, order);
    if (it > maxIter) break;
    stats[0] = update(x, y, d, d * (stats[1] / n) + (1 - d) / n, m);
    let dm = 0;
    for (let k = 0; k < nd; k++) dm += x[dangling[k]];
    stats[1] = dm;
  }
  throw new DArrayError(`did not converge to tol ${tol} in ${maxIter} iterations`, { rank, op });
}

function scaleInto(z: Float64Array, x: Float64Array, inv: Float64Array, m: number): void {
  for (let i = 0; i < m; i++) z[i] = x[i] * inv[i];
}

/** x = d * y + base in place; returns sum |x_new - x_old|. */
function update(x: Float64Array, y: Float64Array, d: number, base: number, m: number): number {
  let err = 0;
  for (let i = 0; i < m; i++) {
    const v = d * y[i] + base;
    err += Math.abs(v - x[i]);
    x[i] = v;
  }
  return err;
}

async function toVector(G: SparseMatrix, x: Float64Array, order: Int32Array): Promise<DArray> {
  const v = await G.rowVector('float64');
  const t = v.tile([G.comm.rank]);
  if (t) for (let r = 0; r < x.length; r++) t[order[r]] = x[r];
  return v;
}
