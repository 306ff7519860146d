// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11, as in Random123, JAX and cuRAND): the
// value at a global linear index is a pure function of (seed, index), so results never depend on ranks or tiles.

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two uint32 values, exact (16-bit halves keep every partial below 2^53). */
function mulhi(a: number, b: number): number {
  const al = a & 0xffff, ah = a >>> 16, bl = b & 0xffff, bh = b >>> 16;
  const t = al * bl, m1 = ah * bl, m2 = al * bh;
  const carry = ((t >>> 16) + (m1 & 0xffff) + (m2 & 0xffff)) >>> 16;
  return (ah * bh + (m1 >>> 16) + (m2 >>> 16) + carry) >>> 0;
}

/**
 * Philox4x32 with 10 rounds: four uint32 counter words and two key words in, four uint32 words out
 * (written into `out`). Matches the Random123 known-answer vectors.
 */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array,
): Uint32Array {
  for (let r = 0; r < 10; r++) {
    if (r > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, c0), lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2), lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
  return out;
}

/** Which sequence a generator draws from; different streams of one seed are independent. */
export const STREAM_UNIFORM = 0;
export const STREAM_NORMAL = 1;

const TWO32 = 4294967296;
const TWO_M53 = 1 / 9007199254740992;
const TWO_M24 = 1 / 16777216;

/** Checks a seed: a non-negative safe integer, split into the two key words. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, got ${seed}`);
  return [seed % TWO32 >>> 0, Math.floor(seed / TWO32) >>> 0];
}

/** A generator bound to one seed and stream; `uniform(i)` and `normal(i)` are pure functions of i. */
export class CounterRng {
  private readonly k0: number;
  private readonly k1: number;
  private readonly w = new Uint32Array(4);

  constructor(seed: number, private readonly stream = STREAM_UNIFORM) {
    [this.k0, this.k1] = seedKey(seed);
  }

  /** The four raw words at global linear index i (i < 2^53). */
  words(i: number): Uint32Array {
    return philox4x32(i % TWO32 >>> 0, Math.floor(i / TWO32) >>> 0, this.stream, 0, this.k0, this.k1, this.w);
  }

  /** Uniform on [0, 1) with 53 random bits (float64). */
  uniform(i: number): number {
    const w = this.words(i);
    return ((w[0] >>> 5) * 67108864 + (w[1] >>> 6)) * TWO_M53;
  }

  /** Uniform on [0, 1) with 24 random bits, exactly representable as float32 (so never rounds up to 1). */
  uniform24(i: number): number {
    return (this.words(i)[0] >>> 8) * TWO_M24;
  }

  /** Standard normal by Box-Muller on two 53-bit uniforms from the same counter (the cosine branch). */
  normal(i: number): number {
    const w = this.words(i);
    const u1 = ((w[0] >>> 5) * 67108864 + (w[1] >>> 6) + 0.5) * TWO_M53; // in (0, 1): log is finite
    const u2 = ((w[2] >>> 5) * 67108864 + (w[3] >>> 6)) * TWO_M53;
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
