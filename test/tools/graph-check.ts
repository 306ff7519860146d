// Shared checks of the graph tests (unit tests over the in-memory comm and SPMD programs): run our
// algorithms on a graph and compare with networkx's answers from networkx_ref.py, and validate BFS trees
// the Graph500 way. Every rank calls these collectively; rank 0 runs Python once and broadcasts.

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Comm } from '../../src/comm/index.js';
import * as graph from '../../src/graph/index.js';
import type { SparseMatrix } from '../../src/sparse/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURES = path.resolve(here, '..', 'fixtures', 'graphs');
const SCRIPT = path.join(here, 'networkx_ref.py');

export interface NxRef {
  n: number;
  pagerank: number[];
  levels: Record<string, number[]>;
  components: number[];
  triangles?: number;
}

/** Collective: networkx's answers for an .mtx file (run on rank 0 through Debian's /usr/bin/python3). */
export async function networkxRef(comm: Comm, file: string, sources: number[]): Promise<NxRef> {
  return (await networkxRefs(comm, [[file, sources]]))[0];
}

/** Collective: networkx's answers for several files from one Python start-up (which takes seconds). */
export async function networkxRefs(comm: Comm, jobs: [string, number[]][]): Promise<NxRef[]> {
  let ref: NxRef[] | { error: string } | undefined;
  if (comm.rank === 0) {
    try {
      ref = JSON.parse(execFileSync('/usr/bin/python3', [SCRIPT, 'refs', JSON.stringify(jobs)], { encoding: 'utf8', timeout: 60_000 }));
    } catch (e) {
      ref = { error: `networkx_ref.py failed on ${jobs.map((j) => j[0]).join(', ')}: ${(e as Error).message}` };
    }
  }
  const got = await comm.bcast(ref);
  if (got && 'error' in got) throw new Error(got.error);
  return got as NxRef[];
}

/** Collective: every entry of G on every rank, as sorted global (row, col, value) triplets. */
export async function allEntries(G: SparseMatrix): Promise<{ rows: number[]; cols: number[]; vals: number[] }> {
  const e = G.localEntries();
  const parts = await G.comm.allgather([Array.from(e.rows), Array.from(e.cols), Array.from(e.vals)]);
  const rows: number[] = [], cols: number[] = [], vals: number[] = [];
  for (const [r, c, v] of parts) { rows.push(...r); cols.push(...c); vals.push(...v); }
  return { rows, cols, vals };
}

/** Collective: writes G to a temporary .mtx on rank 0 (lower triangle when symmetric) and returns its path. */
export async function writeTempMtx(G: SparseMatrix, name: string): Promise<string> {
  const { rows, cols, vals } = await allEntries(G);
  const file = path.join(os.tmpdir(), `darray-graph-${process.pid}-${name}.mtx`);
  if (G.comm.rank === 0) {
    const lines: string[] = [];
    for (let k = 0; k < rows.length; k++) {
      if (G.symmetric && cols[k] > rows[k]) continue;
      lines.push(`${rows[k] + 1} ${cols[k] + 1} ${vals[k]}`);
    }
    fs.writeFileSync(file, `%%MatrixMarket matrix coordinate real ${G.symmetric ? 'symmetric' : 'general'}\n`
      + `${G.nrows} ${G.ncols} ${lines.length}\n${lines.join('\n')}\n`);
  }
  return (await G.comm.bcast(file)) as string;
}

/**
 * Graph500's BFS validation: the source is its own parent at level 0; every other reached vertex's parent
 * is a reached vertex one level up joined to it by an edge; every edge from a reached vertex leads to a
 * reached vertex at most one level further (both ways for undirected graphs). Returns the problems found.
 */
export function validateBfsTree(n: number, rows: number[], cols: number[], source: number, parents: ArrayLike<number>, levels: ArrayLike<number>): string[] {
  const bad: string[] = [];
  const edges = new Set<number>();
  for (let k = 0; k < rows.length; k++) edges.add(rows[k] * n + cols[k]);
  if (parents[source] !== source || levels[source] !== 0) bad.push(`source ${source}: parent ${parents[source]}, level ${levels[source]}`);
  for (let v = 0; v < n && bad.length < 5; v++) {
    if ((levels[v] < 0) !== (parents[v] < 0)) bad.push(`vertex ${v}: level ${levels[v]} but parent ${parents[v]}`);
    if (v === source || parents[v] < 0) continue;
    const u = parents[v];
    if (!edges.has(u * n + v)) bad.push(`vertex ${v}: parent ${u} is not joined to it by an edge`);
    if (levels[u] !== levels[v] - 1) bad.push(`vertex ${v} at level ${levels[v]} has parent ${u} at level ${levels[u]}`);
  }
  for (let k = 0; k < rows.length && bad.length < 5; k++) {
    const u = rows[k], v = cols[k];
    if (levels[u] >= 0 && (levels[v] < 0 || levels[v] > levels[u] + 1)) bad.push(`edge ${u} -> ${v} spans levels ${levels[u]} -> ${levels[v]}`);
  }
  return bad;
}

/** Collective: our PageRank, BFS (every direction mode), components and triangles against networkx's. */
export async function checkAgainstNetworkx(G: SparseMatrix, ref: NxRef, sources: number[], label: string): Promise<void> {
  const fail = (what: string) => { throw new Error(`rank ${G.comm.rank}: ${label}: ${what}`); };
  if (ref.n !== G.nrows) fail(`networkx sees ${ref.n} vertices, we have ${G.nrows}`);
  const pr = (await (await graph.pagerank(G, { tol: 1e-13, maxIter: 1000 })).collect()).data;
  let worst = 0;
  for (let v = 0; v < G.nrows; v++) worst = Math.max(worst, Math.abs(pr[v] - ref.pagerank[v]));
  if (!(worst <= 1e-8)) fail(`PageRank differs from networkx by ${worst}`);
  const { rows, cols } = await allEntries(G);
  for (const s of sources) {
    for (const direction of ['auto', 'top-down', 'bottom-up'] as const) {
      const r = await graph.bfs(G, s, { direction });
      const levels = (await r.levels.collect()).data, parents = (await r.parents.collect()).data;
      const want = ref.levels[String(s)];
      const v = want.findIndex((l, i) => l !== levels[i]);
      if (v >= 0) fail(`BFS (${direction}) from ${s}: vertex ${v} at level ${levels[v]}, networkx says ${want[v]}`);
      const bad = validateBfsTree(G.nrows, rows, cols, s, parents, levels);
      if (bad.length) fail(`BFS (${direction}) tree from ${s} is invalid: ${bad.join('; ')}`);
    }
  }
  const labels = (await (await graph.connectedComponents(G)).collect()).data;
  const v = ref.components.findIndex((l, i) => l !== labels[i]);
  if (v >= 0) fail(`component label of vertex ${v} is ${labels[v]}, networkx's smallest member is ${ref.components[v]}`);
  if (ref.triangles !== undefined) {
    const t = await graph.triangleCount(G);
    if (t !== ref.triangles) fail(`${t} triangles, networkx counts ${ref.triangles}`);
  }
}
