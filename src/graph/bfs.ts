// Level-synchronous breadth-first search on a row-partitioned graph, direction-optimising (Beamer et al.):
// top-down steps push frontier edges to their owners; bottom-up steps let unvisited vertices look for a
// parent in the frontier when the frontier is large, fetching only the frontier flags their edges need.

import type { DArray } from '../darray/index.js';
import type { SparseMatrix } from '../sparse/index.js';
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

/** A growable Int32 list of pairs, kept across levels (reset, not reallocated). */
class PairList {
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
  const n = G.nrows, m = G.localRows, r0 = G.rowStart;
  const alpha = opts.alpha ?? 14, beta = opts.beta ?? 24, mode = opts.direction ?? 'auto';
  const s = new Search(G);
  if (source >= r0 && source < r0 + m) s.visit(source - r0, source, 0);
  let Gt: SparseMatrix | undefined;
  let flags: Uint8Array | undefined;
  const steps: ('top-down' | 'bottom-up')[] = [];
  let bottomUp = mode === 'bottom-up';
  const stats = new Float64Array(3);
  const out = Array.from({ length: p }, () => new PairList());
  const views: Int32Array[] = new Array(p);
  let lastNf = 0;
  // Per level: one allreduce (frontier size and edges, unvisited edges) and one exchange.
  for (let L = 0; ; L++) {
    stats[0] = s.nf; stats[1] = s.frontierEdges(); stats[2] = s.unvisitedEdges;
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
    s.startLevel();
    if (!bottomUp) {
      // Top-down: own targets are claimed at once; remote ones go to their owner as (target, parent) pairs.
      for (const l of out) l.length = 0;
      s.topDown(L + 1, out);
      for (let q = 0; q < p; q++) views[q] = out[q].data.subarray(0, out[q].length);
      const got = await comm.alltoall(views);
      for (let q = 0; q < p; q++) if (q !== me) s.claim(got[q], L + 1);
    } else {
      // Bottom-up: each unvisited vertex looks through its in-edges, most connected first, for a frontier
      // vertex. In-edges to own vertices are searched while the frontier flags of ghosts travel.
      Gt ??= G.symmetric ? G : await G.transpose();
      const K = Gt.kernel();
      flags ??= new Uint8Array(K.nExt);
      flags.fill(0, 0, K.nOwn);
      for (let k = 0; k < s.nf; k++) flags[K.extPos[s.frontier[k]]] = 1;
      const pending = K.startHalo(flags);
      s.bottomUp(L + 1, flags, K.rowOrder, K.globalId, K.ownPtr, K.ownCol, null);
      await K.finishHalo(pending, flags, op);
      s.bottomUp(L + 1, flags, K.rowOrder, K.globalId, K.gPtr, K.gCol, K.gRows);
    }
    s.endLevel();
  }
  const parents = await G.rowVector('int32'), levels = await G.rowVector('int32');
  parents.tile([me])?.set(s.parent);
  levels.tile([me])?.set(s.level);
  return { parents, levels, steps };
}

/** One rank's search state: levels, parents, the frontier and the next one (both kept, swapped each level). */
class Search {
  readonly level: Int32Array;
  readonly parent: Int32Array;
  frontier: Int32Array;
  nf = 0;
  private next: Int32Array;
  private nn = 0;
  unvisitedEdges = 0;
  private readonly rowPtr: Int32Array;
  private readonly col: Int32Array;
  private readonly r0: number;
  private readonly nOwn: number;
  private readonly ghosts: Int32Array;
  /** Owner rank of each ghost, and the level it was last sent at (each ghost goes at most once a level). */
  private readonly ghostOwner: Int32Array;
  private readonly ghostSent: Int32Array;

  constructor(G: SparseMatrix) {
    const m = G.localRows;
    this.level = new Int32Array(m).fill(-1);
    this.parent = new Int32Array(m).fill(-1);
    this.frontier = new Int32Array(m);
    this.next = new Int32Array(m);
    this.rowPtr = G.rowPtr;
    this.col = G.col;
    this.r0 = G.rowStart;
    this.nOwn = G.plan.nOwn;
    this.ghosts = G.plan.ghosts;
    this.unvisitedEdges = G.localNnz;
    this.ghostOwner = new Int32Array(this.ghosts.length);
    const rs = G.plan.recvStart;
    for (let q = 0; q + 1 < rs.length; q++) this.ghostOwner.fill(q, rs[q], rs[q + 1]);
    this.ghostSent = new Int32Array(this.ghosts.length).fill(-1);
  }

  /** Marks local vertex v reached at level `lv` from global vertex `from` (the first visit wins). */
  visit(v: number, from: number, lv: number): void {
    this.level[v] = lv;
    this.parent[v] = from;
    this.unvisitedEdges -= this.rowPtr[v + 1] - this.rowPtr[v];
    if (lv === 0) this.frontier[this.nf++] = v;
    else this.next[this.nn++] = v;
  }

  frontierEdges(): number {
    let fe = 0;
    for (let k = 0; k < this.nf; k++) fe += this.rowPtr[this.frontier[k] + 1] - this.rowPtr[this.frontier[k]];
    return fe;
  }

  startLevel(): void {
    this.nn = 0;
  }

  endLevel(): void {
    const f = this.frontier;
    this.frontier = this.next;
    this.next = f;
    this.nf = this.nn;
  }

  topDown(lv: number, out: PairList[]): void {
    const { rowPtr, col, nOwn, ghosts, ghostOwner, ghostSent, frontier, level, r0 } = this;
    for (let k = 0; k < this.nf; k++) {
      const u = frontier[k];
      for (let e = rowPtr[u], end = rowPtr[u + 1]; e < end; e++) {
        const c = col[e];
        if (c < nOwn) {
          // Own block: with a square matrix the own column block is the own row block.
          if (level[c] < 0) this.visit(c, r0 + u, lv);
        } else if (ghostSent[c - nOwn] !== lv) {
          ghostSent[c - nOwn] = lv;
          out[ghostOwner[c - nOwn]].push(ghosts[c - nOwn], r0 + u);
        }
      }
    }
  }

  /** Claims the (target, parent) pairs a peer sent. */
  claim(b: Int32Array, lv: number): void {
    const r0 = this.r0;
    for (let k = 0; k < b.length; k += 2) {
      const v = b[k] - r0;
      if (this.level[v] < 0) this.visit(v, b[k + 1], lv);
    }
  }

  /**
   * Bottom-up over the kernel rows `rows` (all rows when null) with entries ptr/col (positions into flags):
   * each still unvisited vertex takes the first flagged neighbour as its parent.
   */
  bottomUp(lv: number, flags: Uint8Array, rowOrder: Int32Array, globalId: Int32Array, ptr: Int32Array, col: Int32Array, rows: Int32Array | null): void {
    const level = this.level;
    const count = rows ? rows.length : rowOrder.length;
    for (let t = 0; t < count; t++) {
      const v = rowOrder[rows ? rows[t] : t];
      if (level[v] >= 0) continue;
      for (let e = ptr[t], end = ptr[t + 1]; e < end; e++) {
        const c = col[e];
        if (flags[c] !== 0) { this.visit(v, globalId[c], lv); break; }
      }
    }
  }
}
