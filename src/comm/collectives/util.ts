// Shared pieces of the collective algorithms: ordered non-blocking sends, tuning thresholds, typed-array
// chunking and checks on what arrives.

import { CommError, type ErrorContext } from '../../errors.js';
import type { Channel } from '../channel.js';
import { describe, isTypedArray, type TypedArray } from '../reduce-ops.js';

/**
 * Size thresholds (bytes) that pick an algorithm, and the pipeline segment size. Every rank must see the same
 * values; tests lower them to drive the large-message algorithms with small arrays.
 */
export const tuning = {
  /** allreduce of a typed array at least this large: pipelined ring; smaller: recursive doubling. */
  allreduceRingBytes: 256 * 1024,
  /** reduce of a typed array at least this large: ring reduce-scatter + gather; smaller: binomial tree. */
  reduceRingBytes: 256 * 1024,
  /** bcast of a typed array at least this large (3+ ranks): pipelined chain; smaller: binomial tree. */
  bcastChainBytes: 256 * 1024,
  /** allreduce of a large typed array on 2 ranks: one whole-array exchange (pairAllreduce) instead of the ring. */
  pairAllreduce: true,
  /** Pipeline segment: one message of a ring/chain step; the reduction of one overlaps the next's transfer. */
  segmentBytes: 4 * 1024 * 1024,
  /** allreduce, reduce and bcast of a typed array at least this large among ranks of one host: shared memory. */
  shmBytes: 256 * 1024,
  /** allgather steps whose typed-array payload is below this travel as one packed message. */
  packBytes: 64 * 1024,
};

export const mod = (a: number, p: number): number => ((a % p) + p) % p;

/** Every rank of the channel but this one, in rank order. */
export function peersOf(ch: Channel): number[] {
  return Array.from({ length: ch.size }, (_, q) => q).filter((q) => q !== ch.rank);
}

export function context(ch: Channel, op: string): ErrorContext {
  return { rank: ch.rank, op };
}

/**
 * Sends without waiting, so that a pipeline keeps several segments in flight (the transport completes a
 * large send only when the receiver has it); `flush` waits for all of them and rethrows the first failure.
 * Channel sends go out in call order. A buffer handed to `post` is never modified afterwards by the
 * algorithms, and `flush` runs before a collective returns, so the caller may reuse the result at once.
 */
export class Outbox {
  private readonly pending: Promise<void>[] = [];
  private failure: { error: unknown } | undefined;

  constructor(private readonly ch: Channel) {}

  post(data: unknown, dest: number): void {
    let sent: Promise<void>;
    try {
      sent = this.ch.send(data, dest);
    } catch (error) {
      sent = Promise.reject(error);
    }
    // Record the first failure; flush rethrows it (no unhandled rejection meanwhile).
    this.pending.push(sent.catch((error: unknown) => { this.failure ??= { error }; }));
  }

  async flush(): Promise<void> {
    await Promise.all(this.pending);
    if (this.failure) throw this.failure.error;
  }
}

/** Element range [lo, hi) of chunk c when n elements are cut into p near-equal chunks. */
export function chunk(n: number, p: number, c: number): [number, number] {
  return [Math.floor((c * n) / p), Math.floor(((c + 1) * n) / p)];
}

/** Splits [lo, hi) into pipeline segments; an empty range has none (nothing is sent for it). */
export function segments(lo: number, hi: number, bytesPerElement: number, segmentBytes = tuning.segmentBytes): [number, number][] {
  const step = Math.max(1, Math.floor(segmentBytes / bytesPerElement));
  const out: [number, number][] = [];
  for (let a = lo; a < hi; a += step) out.push([a, Math.min(hi, a + step)]);
  return out;
}

type TypedCtor = new (n: number) => TypedArray;
const CTORS: Record<string, TypedCtor> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

export function ctorOf(x: TypedArray): TypedCtor {
  return x.constructor as TypedCtor;
}

export function ctorByName(name: unknown, ctx: ErrorContext): TypedCtor {
  const c = typeof name === 'string' ? CTORS[name] : undefined;
  if (!c) throw new CommError(`received an unknown typed array type ${String(name)}`, ctx);
  return c;
}

/** `into` when it is an array of `ctor` with `length` elements (where a broadcast may land), else undefined. */
export function intoIf(into: TypedArray | undefined, ctor: unknown, length: number): TypedArray | undefined {
  return into && into.constructor === ctor && into.length === length ? into : undefined;
}

/** The received message must be a typed array of the same type as `like` and `length` elements. */
export function expectTyped(got: unknown, ctor: TypedCtor, length: number, ctx: ErrorContext, peer: number): TypedArray {
  if (isTypedArray(got) && got.constructor === ctor && got.length === length) return got;
  throw new CommError(
    `expected ${ctor.name}(${length}) from rank ${peer}, got ${describe(got)}: every rank must pass the same type and length`,
    { ...ctx, peer },
  );
}

export function checkRoot(ch: Channel, root: unknown, ctx: ErrorContext): number {
  if (typeof root !== 'number' || !Number.isInteger(root) || root < 0 || root >= ch.size) {
    throw new CommError(`root ${String(root)} is not a rank of this communicator (size ${ch.size})`, ctx);
  }
  return root;
}

/** A fresh copy of a typed array, any other value as is: what a one-rank reduction returns. */
export function own<T>(value: T): T {
  return (isTypedArray(value) ? value.slice() : value) as T;
}
