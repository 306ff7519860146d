// Triangle counting on an undirected graph: each edge (u, v) with u < v counts the common neighbours w > v,
// so every triangle u < v < w is found once. Rows v held elsewhere are fetched once, upper part only.

import { ShapeError } from '../errors.js';
import type { SparseMatrix } from '../sparse/index.js';
import { ownerOf } from '../sparse/partition.js';
import { checkGraph } from './check.js';

/**
 * Collective: the number of triangles of an undirected graph (G built with `symmetric: true` or read from
 * a symmetric .mtx). Self loops and weights are ignored. The same number on every rank.
 */
export async function triangleCount(G: SparseMatrix): Promise<number> {
  const op = 'graph.triangleCount';
  checkGraph(G, op);
  if (!G.symmetric) {
    throw new ShapeError('triangle counting needs an undirected graph: build it with { symmetric: true } or from a symmetric .mtx file, or use G.symmetrized()', { rank: G.comm.rank, op });
  }
  const comm = G.comm, p = comm.size, m = G.localRows, r0 = G.rowStart;
  // Upper adjacency of own rows, global ids ascending.
  const up = upperRows(G);
  // Ghost rows needed: neighbours v > u of own rows u that live elsewhere.
  const need = new Uint8Array(G.plan.ghosts.length);
  for (let i = 0; i < m; i++) {
    for (let e = G.rowPtr[i]; e < G.rowPtr[i + 1]; e++) {
      const c = G.col[e] - G.plan.nOwn;
      if (c >= 0 && G.plan.ghosts[c] > r0 + i) need[c] = 1;
    }
  }
  const asks: number[][] = Array.from({ length: p }, () => []);
  for (let g = 0; g < need.length; g++) if (need[g]) asks[ownerOf(G.plan.ghosts[g], G.rowBlock)].push(G.plan.ghosts[g]);
  const askArr = asks.map((a) => Int32Array.from(a));
  const requests = await comm.alltoall(askArr);
  // Answer each request list with [lengths..., concatenated rows].
  const replies = requests.map((ids) => {
    let total = ids.length;
    for (const v of ids) total += up.ptr[v - r0 + 1] - up.ptr[v - r0];
    const out = new Int32Array(total);
    let w = ids.length;
    ids.forEach((v, k) => {
      const a = up.ptr[v - r0], b = up.ptr[v - r0 + 1];
      out[k] = b - a;
      out.set(up.adj.subarray(a, b), w);
      w += b - a;
    });
    return out;
  });
  const answers = await comm.alltoall(replies);
  const remote = new Map<number, Int32Array>();
  for (let q = 0; q < p; q++) {
    const ids = askArr[q], b = answers[q];
    let w = ids.length;
    ids.forEach((v, k) => { remote.set(v, b.subarray(w, w + b[k])); w += b[k]; });
  }
  let count = 0;
  for (let i = 0; i < m; i++) {
    const a = up.adj.subarray(up.ptr[i], up.ptr[i + 1]);
    for (const v of a) {
      const b = v < r0 + m ? up.adj.subarray(up.ptr[v - r0], up.ptr[v - r0 + 1]) : remote.get(v)!;
      count += intersectAbove(a, b, v);
    }
  }
  return comm.allreduce(count, 'sum');
}

/** Own rows' neighbours greater than the row's vertex, sorted ascending. */
function upperRows(G: SparseMatrix): { ptr: Int32Array; adj: Int32Array } {
  const m = G.localRows, r0 = G.rowStart;
  const ptr = new Int32Array(m + 1);
  const adj = new Int32Array(G.localNnz);
  let w = 0;
  for (let i = 0; i < m; i++) {
    ptr[i] = w;
    const start = w;
    for (let e = G.rowPtr[i]; e < G.rowPtr[i + 1]; e++) {
      const v = G.globalCol(e);
      if (v > r0 + i) adj[w++] = v;
    }
    adj.subarray(start, w).sort();
  }
  ptr[m] = w;
  return { ptr, adj: adj.slice(0, w) };
}

/** |{w in a and in b : w > v}| for sorted a, b. */
function intersectAbove(a: Int32Array, b: Int32Array, v: number): number {
  let i = 0, j = 0, c = 0;
  while (i < a.length && a[i] <= v) i++;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else { c++; i++; j++; }
  }
  return c;
}
