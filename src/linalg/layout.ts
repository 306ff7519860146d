// Layout checks and conversions for operands: the tiled algorithms need matching tile edges and grids, and
// bring operands with another tiling or grid to the one they need through DArray.redistribute.
import type { DArray } from '../darray/darray.js';

/** True when A already has this blockSize and grid. */
export function sameLayout(A: DArray, blockSize: readonly number[], grid: readonly number[]): boolean {
  return A.blockSize.every((b, d) => b === blockSize[d]) && A.grid.length === grid.length &&
    A.grid.every((g, d) => g === grid[d]);
}

/** A copy of A with the given blockSize and grid (collective). */
export function toLayout(A: DArray, blockSize: readonly number[], grid: readonly number[]): Promise<DArray> {
  return A.redistribute({ blockSize: [...blockSize], grid: [...grid] });
}
