// TypeScript face of the addon's `copy2d`: a 2-D block copied between typed arrays of one type at memory speed,
// transposing blocks in cache-sized squares. The exchanges behind DArray data movement copy their runs with it.
import { addon_ } from './index.js';

/** Any typed array: the block copy moves elements by their size, whatever their type. */
type Typed = Exclude<ArrayBufferView, DataView>;

/**
 * dst[dOff + i dRow + j] = src[sOff + i sRow + j sCol] for i < rows, j < cols. `dst` and `src` must be typed
 * arrays of one type, every offset and step a non-negative integer, and the block inside both arrays (the addon
 * checks and throws a RangeError otherwise). The two blocks must not overlap.
 */
export function copy2d(dst: Typed, dOff: number, dRow: number, src: Typed, sOff: number, sRow: number, sCol: number,
  rows: number, cols: number): void {
  addon_().copy2d(dst as Float64Array, dOff, dRow, src as Float64Array, sOff, sRow, sCol, rows, cols);
}
