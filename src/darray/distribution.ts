// Block-cyclic distribution math: pure functions of (shape, blockSize, grid, rank) that say which rank owns
// which tile and how large each tile is. DArray, the exchange plans, linalg and the tests all share these.

/** Product of a list of extents (1 for the empty list, so a 0-d array has one element and one tile). */
export function prod(xs: readonly number[]): number {
  let p = 1;
  for (const x of xs) p *= x;
  return p;
}

/** Number of tiles along each dimension; edge tiles may be smaller than blockSize. */
export function tileCounts(shape: readonly number[], blockSize: readonly number[]): number[] {
  return shape.map((n, d) => Math.ceil(n / blockSize[d]));
}

/** Global index of the first element of a tile. */
export function tileOffset(blockSize: readonly number[], tileIndex: readonly number[]): number[] {
  return tileIndex.map((t, d) => t * blockSize[d]);
}

/** Extent of a tile along each dimension; edge tiles are smaller. */
export function tileShape(shape: readonly number[], blockSize: readonly number[], tileIndex: readonly number[]): number[] {
  return tileIndex.map((t, d) => Math.min(blockSize[d], shape[d] - t * blockSize[d]));
}

/** Row-major strides of a contiguous array of this shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** Coordinates of a rank in the process grid; grid coordinates are numbered row-major. */
export function gridCoords(rank: number, grid: readonly number[]): number[] {
  const c = new Array<number>(grid.length);
  let r = rank;
  for (let d = grid.length - 1; d >= 0; d--) {
    c[d] = r % grid[d];
    r = Math.floor(r / grid[d]);
  }
  return c;
}

/** Rank at the given grid coordinates (row-major): for a 2-D grid [pr, pc], (p, q) is rank p * pc + q. */
export function gridRank(coords: readonly number[], grid: readonly number[]): number {
  let r = 0;
  for (let d = 0; d < grid.length; d++) r = r * grid[d] + coords[d];
  return r;
}

/** The rank owning a tile: tiles are dealt cyclically over the grid in every dimension. */
export function tileOwner(tileIndex: readonly number[], grid: readonly number[]): number {
  let r = 0;
  for (let d = 0; d < grid.length; d++) r = r * grid[d] + (tileIndex[d] % grid[d]);
  return r;
}

/**
 * A near-square process grid of `ndim` dimensions using all `size` ranks, extents ascending
 * (2 ranks: [1, 2]; 4: [2, 2]; 6: [2, 3]; 12: [3, 4]; primes give [1, p]).
 */
export function defaultGrid(size: number, ndim: number): number[] {
  const grid = new Array<number>(ndim).fill(1);
  if (ndim === 0) return grid;
  const primes: number[] = [];
  let n = size;
  for (let p = 2; p * p <= n; p++) while (n % p === 0) { primes.push(p); n /= p; }
  if (n > 1) primes.push(n);
  // Largest factors first, each onto the currently smallest dimension, give the most balanced split.
  primes.sort((a, b) => b - a);
  for (const p of primes) {
    let best = ndim - 1;
    for (let d = ndim - 1; d >= 0; d--) if (grid[d] < grid[best]) best = d;
    grid[best] *= p;
  }
  return grid.sort((a, b) => a - b);
}

/**
 * Largest default tile edge per number of dimensions. 2-D tiles are up to 512 x 512 (2 MiB of float64): the tile
 * kernels of linalg lose to per-kernel costs below that (on 2 ranks at n = 4096, SUMMA ran 1.12x as fast on
 * 512 tiles as on 256, Cholesky 1.1-1.5x), and larger tiles leave Cholesky too few tile columns to overlap.
 */
export const DEFAULT_BLOCK_CAP: Record<number, number> = { 1: 65536, 2: 512, 3: 64 };

/**
 * Default blockSize: per dimension the extent cut into a multiple of the grid's extent of equal tiles, as few
 * as keep a tile within 65536 (1-D), 512 (2-D), 64 (3-D) or 16 (more dimensions), and at least 1. Small arrays
 * thus still spread over the grid, large ones get tiles of 64K-256K elements (big enough for BLAS), and the grid's
 * rows and columns get as many tiles (rounding can leave an array shorter than about the square of its tile
 * count with fewer): a 1500 x 1500 array on a 2 x 2 grid gets 4 x 4 tiles of 375, where capping ceil(1500 / 2)
 * at 512 would deal 3 x 3 tiles as 4, 2, 2 and 1. A square matrix gets square tiles (Cholesky and solve need
 * them), in a tile count that both grid extents divide.
 */
export function defaultBlockSize(shape: readonly number[], grid: readonly number[]): number[] {
  const cap = DEFAULT_BLOCK_CAP[shape.length] ?? 16;
  // The fewest tiles, in a multiple of `unit`, that keep a tile of an n-long axis within the cap.
  const edge = (n: number, unit: number) => Math.max(1, Math.ceil(n / (unit * Math.max(1, Math.ceil(n / (unit * cap))))));
  if (shape.length === 2 && shape[0] === shape[1]) {
    const t = edge(shape[0], lcm(grid[0], grid[1]));
    return [t, t];
  }
  return shape.map((n, d) => edge(n, grid[d]));
}

function lcm(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** Tile indices of every tile in the array, row-major. */
export function allTileIndices(shape: readonly number[], blockSize: readonly number[]): number[][] {
  return cartesian(tileCounts(shape, blockSize).map((c) => range(0, c, 1)));
}

/** Tile indices owned by `rank`, row-major; ranks at or beyond prod(grid) own none. */
export function localTileIndices(
  shape: readonly number[], blockSize: readonly number[], grid: readonly number[], rank: number,
): number[][] {
  if (rank < 0 || rank >= prod(grid)) return [];
  const counts = tileCounts(shape, blockSize);
  const c = gridCoords(rank, grid);
  return cartesian(counts.map((n, d) => range(c[d], n, grid[d])));
}

/** Number of elements `rank` stores: per dimension the sum of its tiles' extents, multiplied. */
export function localElementCount(
  shape: readonly number[], blockSize: readonly number[], grid: readonly number[], rank: number,
): number {
  if (rank < 0 || rank >= prod(grid)) return 0;
  const counts = tileCounts(shape, blockSize);
  const c = gridCoords(rank, grid);
  let total = 1;
  for (let d = 0; d < shape.length; d++) {
    let ext = 0;
    for (let t = c[d]; t < counts[d]; t += grid[d]) ext += Math.min(blockSize[d], shape[d] - t * blockSize[d]);
    total *= ext;
  }
  return total;
}

/** Where a global element lives: its tile, the owning rank and the position inside the row-major tile. */
export function locate(
  shape: readonly number[], blockSize: readonly number[], grid: readonly number[], index: readonly number[],
): { tile: number[]; rank: number; offset: number } {
  const tile = index.map((i, d) => Math.floor(i / blockSize[d]));
  const ts = tileShape(shape, blockSize, tile);
  let offset = 0;
  for (let d = 0; d < index.length; d++) offset = offset * ts[d] + (index[d] - tile[d] * blockSize[d]);
  return { tile, rank: tileOwner(tile, grid), offset };
}

/** A string key for a tile index, for maps keyed by tile. */
export function tileKey(index: readonly number[]): string {
  return index.join(',');
}

function range(start: number, stop: number, step: number): number[] {
  const r: number[] = [];
  for (let i = start; i < stop; i += step) r.push(i);
  return r;
}

/** All combinations of one value per list, row-major (last list fastest); one empty tuple for no lists. */
export function cartesian(lists: readonly number[][]): number[][] {
  let out: number[][] = [[]];
  for (const l of lists) {
    const next: number[][] = [];
    for (const prefix of out) for (const v of l) next.push([...prefix, v]);
    out = next;
  }
  return out;
}
