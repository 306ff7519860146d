// Exchange plans for moving elements between two tilings (redistribute, transpose, slice, distribute,
// collect): pure functions saying which runs of elements rank s sends to rank d, in an order both derive alone.

import {
  cartesian, localElementCount, localTileIndices, prod, stridesOf, tileCounts, tileOffset, tileOwner, tileShape,
} from './distribution.js';

/** A tiling: block-cyclic over `grid`; `ranks[g]` (if given) is the communicator rank of grid rank g. */
export interface Layout {
  shape: number[];
  blockSize: number[];
  grid: number[];
  ranks?: number[];
}

/** The communicator rank owning a tile of a layout. */
export function layoutOwner(l: Layout, tile: readonly number[]): number {
  const g = tileOwner(tile, l.grid);
  return l.ranks ? l.ranks[g] : g;
}

function gridRankOf(l: Layout, rank: number): number {
  return l.ranks ? l.ranks.indexOf(rank) : rank;
}

/** Tile indices a communicator rank owns in a layout, row-major. */
export function layoutTiles(l: Layout, rank: number): number[][] {
  const g = gridRankOf(l, rank);
  return g < 0 ? [] : localTileIndices(l.shape, l.blockSize, l.grid, g);
}

/** Elements a communicator rank stores in a layout. */
export function layoutLocalCount(l: Layout, rank: number): number {
  const g = gridRankOf(l, rank);
  return g < 0 ? 0 : localElementCount(l.shape, l.blockSize, l.grid, g);
}

/** A layout with the whole array as one tile on `root` (the shape of collect's result and distribute's input). */
export function wholeOnRoot(shape: number[], root: number): Layout {
  return { shape, blockSize: shape.map((n) => Math.max(1, n)), grid: shape.map(() => 1), ranks: [root] };
}

/**
 * Where a destination element comes from: for destination axis d, source axis `axes[d]` at coordinate
 * `start[d] + step[d] * x[d]`; source axes not in `axes` are held at `fixed[axis]` (dropped by a slice).
 */
export interface Mapping {
  axes: number[];
  start: number[];
  step: number[];
  fixed: number[];
}

export function identityMapping(ndim: number): Mapping {
  const axes = Array.from({ length: ndim }, (_, d) => d);
  return { axes, start: axes.map(() => 0), step: axes.map(() => 1), fixed: axes.map(() => 0) };
}

/** Destination axis d is source axis perm[d] (a transpose is perm reversed). */
export function permuteMapping(perm: number[]): Mapping {
  return { axes: [...perm], start: perm.map(() => 0), step: perm.map(() => 1), fixed: perm.map(() => 0) };
}

/** Where a source tile's elements sit in its storage; default: contiguous row-major from 0. */
export interface Geometry {
  offset: number;
  stride: number[];
}
export type GeometryOf = (tile: readonly number[]) => Geometry;

/** A box of destination elements coming from one source tile into one destination tile. */
export interface Box {
  srcTile: number[];
  dstTile: number[];
  lo: number[]; // destination global coordinates, inclusive
  hi: number[]; // exclusive
}

/**
 * A run: `rows` rows of `length` elements. Row q is contiguous in the destination tile from
 * `dstOffset + q * dstRowStride` and read in the source tile from `srcOffset + q * srcRowStride` with
 * `srcStride`. A run spans its box's last two axes, so a 2-D box is one run: its copy is one block copy, and a
 * transposing one can go in cache-sized squares.
 */
export interface Run {
  box: Box;
  srcOffset: number;
  srcStride: number;
  dstOffset: number;
  length: number;
  rows: number;
  srcRowStride: number;
  dstRowStride: number;
}

interface Segment { tile: number; lo: number; hi: number }

/** Splits destination coordinates [lo, hi) of one axis by the source tiles their preimages fall in. */
function splitAxis(lo: number, hi: number, start: number, step: number, bs: number): Segment[] {
  const segs: Segment[] = [];
  let x = lo;
  while (x < hi) {
    const t = Math.floor((start + step * x) / bs);
    const last = Math.floor(((t + 1) * bs - 1 - start) / step); // last x whose source stays in tile t
    const end = Math.min(hi, last + 1);
    segs.push({ tile: t, lo: x, hi: end });
    x = end;
  }
  return segs;
}

/** Every box of one destination tile, with its source tile, in a fixed order (source tiles row-major). */
export function boxesOf(src: Layout, dst: Layout, map: Mapping, dstTile: number[]): Box[] {
  const off = tileOffset(dst.blockSize, dstTile);
  const sh = tileShape(dst.shape, dst.blockSize, dstTile);
  const perAxis = sh.map((n, d) => splitAxis(off[d], off[d] + n, map.start[d], map.step[d], src.blockSize[map.axes[d]]));
  const combos = cartesian(perAxis.map((segs) => segs.map((_, i) => i)));
  const boxes: Box[] = [];
  for (const c of combos) {
    const srcTile = src.shape.map((_, a) => Math.floor(map.fixed[a] / src.blockSize[a]));
    const lo: number[] = [], hi: number[] = [];
    c.forEach((i, d) => {
      const s = perAxis[d][i];
      srcTile[map.axes[d]] = s.tile;
      lo.push(s.lo);
      hi.push(s.hi);
    });
    boxes.push({ srcTile, dstTile, lo, hi });
  }
  return boxes;
}

/** counts[s][d]: how many elements rank s sends to rank d, for ranks 0..size-1. */
export function pairCounts(src: Layout, dst: Layout, map: Mapping, size: number): number[][] {
  const counts = Array.from({ length: size }, () => new Array<number>(size).fill(0));
  for (const t of cartesian(tileCounts(dst.shape, dst.blockSize).map((n) => Array.from({ length: n }, (_, i) => i)))) {
    const d = layoutOwner(dst, t);
    for (const b of boxesOf(src, dst, map, t)) {
      counts[layoutOwner(src, b.srcTile)][d] += prod(b.hi.map((h, k) => h - b.lo[k]));
    }
  }
  return counts;
}

/** The largest number of elements any rank stores in either layout (sizes the exchange rounds). */
export function maxLocalCount(src: Layout, dst: Layout, size: number): number {
  let m = 0;
  for (let r = 0; r < size; r++) m = Math.max(m, layoutLocalCount(src, r), layoutLocalCount(dst, r));
  return m;
}

/**
 * The runs rank `s` sends to rank `d`, in the order both sides agree on: destination tiles of d row-major,
 * then their boxes from tiles of s, then the runs of each box row-major. `srcGeom` is needed only by the sender.
 */
export function* pairRuns(
  src: Layout, dst: Layout, map: Mapping, s: number, d: number, srcGeom?: GeometryOf,
): Generator<Run> {
  for (const t of layoutTiles(dst, d)) {
    const doff = tileOffset(dst.blockSize, t);
    const dstr = stridesOf(tileShape(dst.shape, dst.blockSize, t));
    for (const box of boxesOf(src, dst, map, t)) {
      if (layoutOwner(src, box.srcTile) !== s) continue;
      const soff = tileOffset(src.blockSize, box.srcTile);
      const g = srcGeom ? srcGeom(box.srcTile) : { offset: 0, stride: stridesOf(tileShape(src.shape, src.blockSize, box.srcTile)) };
      yield* boxRuns(box, map, doff, dstr, soff, g);
    }
  }
}

function* boxRuns(box: Box, map: Mapping, doff: number[], dstr: number[], soff: number[], g: Geometry): Generator<Run> {
  const nd = box.lo.length;
  if (box.hi.some((h, k) => h <= box.lo[k])) return;
  if (nd === 0) {
    let so = g.offset;
    for (let a = 0; a < soff.length; a++) so += (map.fixed[a] - soff[a]) * g.stride[a];
    yield { box, srcOffset: so, srcStride: 0, dstOffset: 0, length: 1, rows: 1, srcRowStride: 0, dstRowStride: 0 };
    return;
  }
  // Source offset of the fixed (dropped) axes, then per destination axis its contribution.
  let base = g.offset;
  const mapped = new Set(map.axes);
  for (let a = 0; a < soff.length; a++) if (!mapped.has(a)) base += (map.fixed[a] - soff[a]) * g.stride[a];
  const sstep = map.axes.map((a, d) => map.step[d] * g.stride[a]);
  const sAt = (d: number, x: number) => (map.start[d] + map.step[d] * x - soff[map.axes[d]]) * g.stride[map.axes[d]];
  const last = nd - 1;
  const length = box.hi[last] - box.lo[last];
  // Rows run along the second last axis (a 1-D box is one row); the axes before it are walked row-major.
  const rowAxis = last - 1;
  const rows = rowAxis >= 0 ? box.hi[rowAxis] - box.lo[rowAxis] : 1;
  const srcRowStride = rowAxis >= 0 ? sstep[rowAxis] : 0;
  const dstRowStride = rowAxis >= 0 ? dstr[rowAxis] : 0;
  const x = box.lo.slice(0, Math.max(0, rowAxis));
  for (;;) {
    let so = base + sAt(last, box.lo[last]);
    let dof = box.lo[last] - doff[last];
    if (rowAxis >= 0) {
      so += sAt(rowAxis, box.lo[rowAxis]);
      dof += (box.lo[rowAxis] - doff[rowAxis]) * dstr[rowAxis];
    }
    for (let d = 0; d < rowAxis; d++) {
      so += sAt(d, x[d]);
      dof += (x[d] - doff[d]) * dstr[d];
    }
    yield { box, srcOffset: so, srcStride: sstep[last], dstOffset: dof, length, rows, srcRowStride, dstRowStride };
    let d = rowAxis - 1;
    while (d >= 0 && ++x[d] >= box.hi[d]) { x[d] = box.lo[d]; d--; }
    if (d < 0) return;
  }
}
