// A 2-D tile view of a right-hand side: a matrix DArray as it is, a 1-D DArray (a vector) as an n x 1 matrix
// whose tile (i, 0) is the vector's tile i. The solvers address both the same way.
import type { DArray } from '../darray/darray.js';
import { tileCounts, tileOwner, tileShape } from '../darray/distribution.js';
import type { FloatArray } from '../kernels/index.js';
import { ownTile } from './context.js';

export interface MatView {
  readonly rows: number;
  readonly cols: number;
  /** Tile counts along rows and columns. */
  readonly mt: number;
  readonly nt: number;
  owner(i: number, c: number): number;
  tile(i: number, c: number): FloatArray;
  rowsOf(i: number): number;
  colsOf(c: number): number;
  /** (i, c) of every tile this rank owns. */
  local(): [number, number][];
}

export function matView(B: DArray): MatView {
  const vec = B.shape.length === 1;
  const shape = vec ? [B.shape[0], 1] : B.shape;
  const bs = vec ? [B.blockSize[0], 1] : B.blockSize;
  const [mt, nt] = tileCounts(shape, bs);
  const idx = (i: number, c: number) => (vec ? [i] : [i, c]);
  return {
    rows: shape[0],
    cols: shape[1],
    mt,
    nt,
    owner: (i, c) => tileOwner(idx(i, c), B.grid),
    tile: (i, c) => ownTile(B, idx(i, c), 'solve'),
    rowsOf: (i) => tileShape(shape, bs, [i, 0])[0],
    colsOf: (c) => tileShape(shape, bs, [0, c])[1],
    local: () => B.localTiles().map((t) => (vec ? [t.index[0], 0] : [t.index[0], t.index[1]]) as [number, number]),
  };
}
