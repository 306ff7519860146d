// Argument checks shared by the graph algorithms: every rank holds the same arguments, so every rank throws.

import { ShapeError } from '../errors.js';
import { SparseMatrix } from '../sparse/index.js';

export function checkGraph(G: unknown, op: string): asserts G is SparseMatrix {
  if (!(G instanceof SparseMatrix)) throw new ShapeError(`G must be a SparseMatrix (da.sparse.fromEdges, readMatrixMarket or rmat), got ${typeof G}`, { op });
  if (G.nrows !== G.ncols) throw new ShapeError(`a graph's adjacency matrix must be square, got ${G.nrows} x ${G.ncols}`, { rank: G.comm.rank, op });
}

export function checkVertex(G: SparseMatrix, v: unknown, op: string, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= G.nrows) {
    throw new ShapeError(`${what} ${String(v)} is not a vertex id in [0, ${G.nrows})`, { rank: G.comm.rank, op });
  }
  return v;
}
