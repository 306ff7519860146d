// Connected components by min-label propagation over the halo: each vertex takes the smallest label among
// itself and its neighbours until nothing changes. Updates within a rank are applied at once (Gauss-Seidel)
// and labels that name an own vertex are followed one hop (a local pointer jump), which cuts the rounds.

import type { DArray } from '../darray/index.js';
import type { SparseMatrix } from '../sparse/index.js';
import { checkGraph } from './check.js';

/**
 * Collective: the connected components of an undirected graph, or the weakly connected components of a
 * directed one (edges taken both ways). labels[v] is the smallest vertex id in v's component, so two
 * vertices share a label exactly when they are connected. Returns an int32 DArray in G's row layout.
 */
export async function connectedComponents(G: SparseMatrix): Promise<DArray> {
  checkGraph(G, 'graph.connectedComponents');
  const S = await G.symmetrized();
  const comm = S.comm, m = S.localRows, r0 = S.rowStart;
  const ext = new Int32Array(S.plan.nOwn + S.plan.ghosts.length);
  for (let i = 0; i < m; i++) ext[i] = r0 + i;
  const { rowPtr, col } = S;
  for (;;) {
    await S.halo(ext, ext);
    let changed = 0;
    for (let i = 0; i < m; i++) {
      let best = ext[i];
      for (let e = rowPtr[i]; e < rowPtr[i + 1]; e++) if (ext[col[e]] < best) best = ext[col[e]];
      // A label that names an own vertex: take that vertex's label too if it is smaller.
      if (best >= r0 && best < r0 + m && ext[best - r0] < best) best = ext[best - r0];
      if (best < ext[i]) { ext[i] = best; changed++; }
    }
    // Neighbours of a lowered vertex also lower next round; stop only when a whole round changes nothing.
    if ((await comm.allreduce(changed, 'sum')) === 0) break;
  }
  const labels = await S.rowVector('int32');
  labels.tile([comm.rank])?.set(ext.subarray(0, m));
  return labels;
}
