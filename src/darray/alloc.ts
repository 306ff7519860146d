// Allocation of a DArray's tiles from a checked layout: every owned tile a zero-filled contiguous typed array,
// kept in the tile store (src/darray/store), which spills tiles past the memory limit.

import type { Comm } from '../comm/index.js';
import { DArray } from './darray.js';
import { localTileIndices, prod, tileKey, tileShape } from './distribution.js';
import { TileMap } from './store/tile-map.js';
import type { ResolvedLayout } from './validate.js';

/** A new DArray with zero-filled tiles on the ranks that own them. Local: no messages. */
export function allocateDArray(comm: Comm, l: ResolvedLayout): DArray {
  const tiles = new TileMap(comm.rank);
  // Tiles are made on first use (zero-filled), so an array larger than the memory limit can be created.
  for (const t of localTileIndices(l.shape, l.blockSize, l.grid, comm.rank)) {
    tiles.addLazy(tileKey(t), l.dtype, prod(tileShape(l.shape, l.blockSize, t)));
  }
  return new DArray(comm, l.shape, l.dtype, l.blockSize, l.grid, tiles);
}

/** Calls fn for every row (run along the last axis) of a tile: its offset in the tile, the global index
 *  of its first element (a scratch array, do not keep) and its length. A 0-d tile has one row of length 1. */
export function forEachRow(
  shape: readonly number[], tileShapeArr: readonly number[], offset: readonly number[],
  fn: (local: number, global: number[], globalLinear: number, length: number) => void,
): void {
  const nd = shape.length;
  if (nd === 0) { fn(0, [], 0, 1); return; }
  if (tileShapeArr.some((n) => n === 0)) return;
  const last = nd - 1, len = tileShapeArr[last];
  const gstr = new Array<number>(nd);
  let acc = 1;
  for (let d = last; d >= 0; d--) { gstr[d] = acc; acc *= shape[d]; }
  const g = [...offset];
  let local = 0;
  for (;;) {
    let lin = 0;
    for (let d = 0; d < nd; d++) lin += g[d] * gstr[d];
    fn(local, g, lin, len);
    local += len;
    let d = last - 1;
    while (d >= 0 && ++g[d] >= offset[d] + tileShapeArr[d]) { g[d] = offset[d]; d--; }
    if (d < 0) return;
  }
}
