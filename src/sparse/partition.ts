// Row and column partition of a distributed sparse matrix: contiguous blocks of ceil(n / p) indices per rank,
// the same tiling as a 1-D DArray with blockSize [ceil(n / p)] and grid [p], so vectors line up with rows.

/** Rows (or columns) per rank: the 1-D DArray block size that lines up with this partition (at least 1). */
export function blockOf(n: number, p: number): number {
  return Math.max(1, Math.ceil(n / p));
}

/** The half-open index range [start, end) that `rank` owns out of n split in blocks of `block`. */
export function rangeOf(n: number, block: number, rank: number): [number, number] {
  return [Math.min(rank * block, n), Math.min((rank + 1) * block, n)];
}

/** The rank owning index i. */
export function ownerOf(i: number, block: number): number {
  return Math.floor(i / block);
}

/** The DArray layout options of a vector partitioned like this: pass to da.zeros/empty/redistribute. */
export function vectorLayout(n: number, p: number): { blockSize: number[]; grid: number[] } {
  return { blockSize: [blockOf(n, p)], grid: [p] };
}
