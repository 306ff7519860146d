// Level-synchronous breadth-first search on a row-partitioned graph, direction-optimising (Beamer et al.):
// top-down steps push frontier edges to their owners; bottom-up steps let unvisited vertices look for a
// parent in the frontier when the frontier is large, fetching only the frontier flags their edges need.

import type { DArray } from '../darray/index.js';
import type { SparseMatrix } from '../sparse/index.js';
import { ownerOf } from '../sparse/partition.js';
import { checkGraph, checkVertex } from './check.js';

export interface BfsOptions {
  /** Switch to bottom-up when frontier edges exceed unvisited edges / alpha (Beamer's alpha; default 14). */
  alpha?: number;
  /** Switch back to top-down when the frontier holds fewer than n / beta vertices (default 24). */
  beta?: number;
  /** 'auto' (default) optimises direction; 'top-down' never goes bottom-up (for testing and comparison). */
  direction?: 'auto' | 'top-down' | 'bottom-up';
}

export interface BfsResult {
  /** parents[v]: v's parent in the BFS tree; the source is its own parent; -1 when v is not reached. */
  parents: DArray;
  /** levels[v]: hops from the source; -1 when v is not reached. */
  levels: DArray;
  /** The direction each level was expanded in (for benchmarks and tests). */
  steps: ('top-down' | 'bottom-up')[];
}

/** A growable Int32 list, so top-down steps need no second pass to size their messages. */
class IntList {
  data = new Int32Array(64);
  length = 0;
  push(a: number, b: number): void {
    if (this.length + 2 > this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length++] = a;
    this.data[this.length++] = b;
  }
}

/**
 * Collective: BFS from `source` following edges i -> j (entry (i, j) of G). Returns int32 DArrays in G's row
 * layout. For a directed G, bottom-up steps use the transpose (made once, only if needed).
 */
export async function bfs(G: SparseMatrix, source: number, opts: BfsOptions = {}): Promise<BfsResult> {
  const op = 'graph.bfs';
  checkGraph(G, op);
  checkVertex(G, source, op, 'source');
  const comm = G.comm, p = comm.size, me = comm.rank;
  const n = G.nrows, m = G.localRows, r0 = G.rowStart, block = G.rowBlock;
  const alpha = opts.alpha ?? 14, beta = opts.beta ?? 24, mode = opts.direction ?? 'auto';
  const level = new Int32Array(m).fill(-1), parent = new Int32Array(m).fill(-1);
  let frontier = new Int32Array(m), nf = 0;
  if (source >= r0 && source < r0 + m) {
    level[source - r0] = 0;
    parent[source - r0] = source;
    frontier[nf++] = source - r0;
  }
  const deg = (i: number) => G.rowPtr[i + 1] - G.rowPtr[i];
  let unvisitedEdges = 0;
  for (let i = 0; i < m; i++) if (level[i] < 0) unvisitedEdges += deg(i);
  let Gt: SparseMatrix | undefined;
  let flags: Uint8Array | undefined;
  const ghostSent = new Int32Array(G.plan.ghosts.length).fill(-1);
  const steps: ('top-down' | 'bottom-up')[] = [];
  let bottomUp = mode === 'bottom-up';
  const stats = new Float64Array(3);
  let lastNf = 0;
  for (let L = 0; ; L++) {
    let fe = 0;
    for (let k = 0; k < nf; k++) fe += deg(frontier[k]);
    stats[0] = nf; stats[1] = fe; stats[2] = unvisitedEdges;
    const [gnf, gfe, gue] = await comm.allreduce(stats, 'sum');
    if (gnf === 0) break;
    // Beamer's rule: go bottom-up while the frontier grows and its edges outweigh the unvisited ones; come
    // back only once it shrinks below n / beta (without the trend test the direction flaps every level).
    if (mode === 'auto') {
      if (!bottomUp && gfe > gue / alpha && gnf > lastNf) bottomUp = true;
      else if (bottomUp && gnf < n / beta && gnf < lastNf) bottomUp = false;
    }
    lastNf = gnf;
    steps.push(bottomUp ? 'bottom-up' : 'top-down');
    const next = new Int32Array(m);
    let nn = 0;
    if (!bottomUp) {
      // Top-down: scan the frontier's edges; remote targets go to their owner as (target, parent) pairs,
      // each ghost at most once per level.
      const out = Array.from({ length: p }, () => new IntList());
      const { rowPtr, col } = G, nOwn = G.plan.nOwn, ghosts = G.plan.ghosts;
      for (let k = 0; k < nf; k++) {
        const u = frontier[k];
        for (let e = rowPtr[u]; e < rowPtr[u + 1]; e++) {
          const c = col[e];
          if (c < nOwn) {
            // Own block: with a square matrix the own column block is the own row block.
            if (level[c] < 0) { level[c] = L + 1; parent[c] = r0 + u; next[nn++] = c; unvisitedEdges -= deg(c); }
          } else if (ghostSent[c - nOwn] !== L) {
            ghostSent[c - nOwn] = L;
            const v = ghosts[c - nOwn];
            out[ownerOf(v, block)].push(v, r0 + u);
          }
        }
      }
      const got = await comm.alltoall(out.map((l) => l.data.slice(0, l.length)));
      for (let q = 0; q < p; q++) {
        const b = got[q];
        for (let k = 0; k < b.length; k += 2) {
          const v = b[k] - r0;
          if (level[v] < 0) { level[v] = L + 1; parent[v] = b[k + 1]; next[nn++] = v; unvisitedEdges -= deg(v); }
        }
      }
    } else {
      // Bottom-up: each unvisited vertex scans its in-edges for a frontier vertex and stops at the first.
      Gt ??= G.symmetric ? G : await G.transpose();
      flags ??= new Uint8Array(Gt.plan.nOwn + Gt.plan.ghosts.length);
      flags.fill(0, 0, Gt.plan.nOwn);
      for (let k = 0; k < nf; k++) flags[frontier[k]] = 1;
      await Gt.halo(flags, flags);
      const { rowPtr, col } = Gt;
      for (let v = 0; v < m; v++) {
        if (level[v] >= 0) continue;
        for (let e = rowPtr[v]; e < rowPtr[v + 1]; e++) {
          const c = col[e];
          if (flags[c]) {
            level[v] = L + 1; parent[v] = Gt.globalCol(e); next[nn++] = v; unvisitedEdges -= deg(v);
            break;
          }
        }
      }
    }
    frontier = next;
    nf = nn;
  }
  const parents = await G.rowVector('int32'), levels = await G.rowVector('int32');
  parents.tile([me])?.set(parent);
  levels.tile([me])?.set(level);
  return { parents, levels, steps };
}
