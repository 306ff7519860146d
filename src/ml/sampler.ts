// DistributedSampler: each rank's share of a data set per epoch, seeded and shuffled identically on every
// rank (the permutation depends on seed and epoch only, never on the rank count), dealt out in equal shards.
import type { Comm } from '../comm/index.js';
import { fail } from './types.js';

export interface SamplerOptions {
  /** Seed of the shuffle; every rank must pass the same one. Default 0. */
  seed?: number;
  /** Shuffle each epoch (default true); false deals 0..n-1 in order. */
  shuffle?: boolean;
  /**
   * When the data set does not divide by the rank count: false (default) pads every shard to ceil(n/size)
   * with samples from the start of the permutation, so a few samples are seen twice; true drops the tail so
   * each shard has floor(n/size) and a few samples are not seen this epoch.
   */
  dropLast?: boolean;
}

/** mulberry32 step over a 32-bit state: a small, fast generator that is plenty for shuffling indices. */
function nextU32(s: { x: number }): number {
  s.x = (s.x + 0x6d2b79f5) | 0;
  let t = s.x;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** Mixes seed and epoch into a generator state, so neighbouring seeds/epochs give unrelated streams. */
function seedState(seed: number, epoch: number): { x: number } {
  const s = { x: (Math.imul(seed | 0, 0x9e3779b9) ^ Math.imul((seed / 2 ** 32) | 0, 0x85ebca6b)) | 0 };
  nextU32(s);
  s.x = (s.x ^ Math.imul(epoch | 0, 0xc2b2ae35)) | 0;
  nextU32(s);
  return s;
}

/** The permutation of 0..n-1 for (seed, epoch): Fisher-Yates with 53-bit uniform draws. Pure. */
export function permutation(n: number, seed: number, epoch: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const s = seedState(seed, epoch);
  for (let i = n - 1; i > 0; i--) {
    const u = (nextU32(s) * 2 ** 21 + (nextU32(s) >>> 11)) / 2 ** 53; // uniform on [0, 1), 53 bits
    const j = Math.floor(u * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/** Samples per rank for a data set of n over `size` ranks. Pure. */
export function shardLength(n: number, size: number, dropLast: boolean): number {
  return dropLast ? Math.floor(n / size) : Math.ceil(n / size);
}

/**
 * Rank `rank`'s sample indices for one epoch: the epoch's permutation, padded (or cut) to size * shardLength,
 * dealt round-robin (rank r gets positions r, r + size, ...). Round-robin dealing keeps DDP independent of
 * the rank count: the k-th local batch of b samples on every rank together are positions k*b*size up to
 * (k+1)*b*size of the permutation, the same global batch a single rank with batch b*size would see. Pure.
 */
export function shardIndices(
  n: number, size: number, rank: number, opts: { seed?: number; epoch?: number; shuffle?: boolean; dropLast?: boolean } = {},
): Int32Array {
  const { seed = 0, epoch = 0, shuffle = true, dropLast = false } = opts;
  const len = shardLength(n, size, dropLast);
  const order = shuffle ? permutation(n, seed, epoch) : Int32Array.from({ length: n }, (_, i) => i);
  const out = new Int32Array(len);
  for (let k = 0; k < len; k++) out[k] = order[(rank + k * size) % n];
  return out;
}

/**
 * Gives this rank its shard of a data set of `datasetSize` samples per epoch. Not collective and needs no
 * messages: every rank computes the same permutation from (seed, epoch) and takes its own positions. Every
 * rank must construct it with the same size and options.
 */
export class DistributedSampler implements Iterable<number> {
  readonly rank: number;
  readonly size: number;
  readonly datasetSize: number;
  readonly seed: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  /** Samples in this rank's shard: the same on every rank. */
  readonly length: number;
  private epoch = 0;

  constructor(comm: Pick<Comm, 'rank' | 'size'>, datasetSize: number, opts: SamplerOptions = {}) {
    const ctx = { rank: comm.rank, op: 'DistributedSampler' };
    if (!Number.isSafeInteger(datasetSize) || datasetSize <= 0) {
      fail(`datasetSize must be a positive integer, got ${String(datasetSize)}`, ctx);
    }
    const { seed = 0, shuffle = true, dropLast = false } = opts;
    if (!Number.isSafeInteger(seed)) fail(`seed must be an integer, got ${String(seed)}`, ctx);
    if (dropLast && datasetSize < comm.size) {
      fail(`dropLast with ${datasetSize} samples over ${comm.size} ranks leaves every shard empty`, ctx);
    }
    this.rank = comm.rank;
    this.size = comm.size;
    this.datasetSize = datasetSize;
    this.seed = seed;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.length = shardLength(datasetSize, comm.size, dropLast);
  }

  /** Chooses the epoch whose permutation `indices()` and iteration use (call it at the start of each epoch). */
  setEpoch(epoch: number): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      fail(`epoch must be a non-negative integer, got ${String(epoch)}`, { rank: this.rank, op: 'DistributedSampler.setEpoch' });
    }
    this.epoch = epoch;
  }

  /** This rank's sample indices for `epoch` (default: the one set by setEpoch). */
  indices(epoch = this.epoch): Int32Array {
    return shardIndices(this.datasetSize, this.size, this.rank, {
      seed: this.seed, epoch, shuffle: this.shuffle, dropLast: this.dropLast,
    });
  }

  /** This rank's indices cut into local batches of `batchSize`; the last one is shorter when they do not divide. */
  batches(batchSize: number, epoch = this.epoch): Int32Array[] {
    if (!Number.isSafeInteger(batchSize) || batchSize <= 0) {
      fail(`batchSize must be a positive integer, got ${String(batchSize)}`, { rank: this.rank, op: 'DistributedSampler.batches' });
    }
    const all = this.indices(epoch);
    const out: Int32Array[] = [];
    for (let i = 0; i < all.length; i += batchSize) out.push(all.subarray(i, Math.min(all.length, i + batchSize)));
    return out;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.indices()[Symbol.iterator]();
  }
}
