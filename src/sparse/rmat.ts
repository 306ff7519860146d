// R-MAT / Kronecker edge generator with Graph500's parameters (a=0.57, b=0.19, c=0.19, d=0.05). Edge k is a
// pure function of (seed, k): a counter-based hash, so the graph never depends on how many ranks generate it.

export interface RmatParams {
  /** log2 of the number of vertices (1..30). */
  scale: number;
  /** Edges generated per vertex (Graph500: 16). */
  edgeFactor: number;
  /** Non-negative integer seed. */
  seed: number;
  /** Quadrant probabilities; d = 1 - a - b - c. */
  a?: number;
  b?: number;
  c?: number;
}

/** lowbias32 (Chris Wellons' hash-prospector): a bijective 32-bit mixer with low avalanche bias. */
export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Seed-dependent bijection of [0, 2^scale): Graph500 scrambles vertex ids so degree is not tied to id. */
export class VertexScramble {
  private readonly m1: number;
  private readonly m2: number;
  private readonly a1: number;
  private readonly a2: number;
  private readonly mask: number;
  private readonly shift: number;

  constructor(readonly scale: number, seed: number) {
    const s = seedWords(seed);
    this.mask = scale >= 32 ? 0xffffffff : (2 ** scale - 1);
    this.shift = Math.max(1, scale >> 1);
    // Odd multipliers are invertible modulo 2^scale; xor-shift-right is invertible too.
    this.m1 = (mix32(s[0] ^ 0x1b873593) | 1) >>> 0;
    this.m2 = (mix32(s[1] ^ 0xcc9e2d51) | 1) >>> 0;
    this.a1 = mix32(s[0] ^ s[1] ^ 0x85ebca6b);
    this.a2 = mix32(s[1] + 0xc2b2ae35);
  }

  apply(v: number): number {
    const { mask, shift } = this;
    v = ((Math.imul(v, this.m1) + this.a1) >>> 0) & mask;
    v ^= v >>> shift;
    v = ((Math.imul(v, this.m2) + this.a2) >>> 0) & mask;
    v ^= v >>> shift;
    return v >>> 0;
  }
}

function seedWords(seed: number): [number, number] {
  return [mix32((seed % 2 ** 32) ^ 0x9e3779b9), mix32(Math.floor(seed / 2 ** 32) ^ 0x7f4a7c15)];
}

/** Checks R-MAT parameters; returns an error message or undefined. */
export function checkRmat(p: RmatParams): string | undefined {
  if (!Number.isSafeInteger(p.scale) || p.scale < 1 || p.scale > 30) return `scale must be an integer in 1..30, got ${p.scale}`;
  if (!Number.isSafeInteger(p.edgeFactor) || p.edgeFactor < 1) return `edgeFactor must be a positive integer, got ${p.edgeFactor}`;
  if (!Number.isSafeInteger(p.seed) || p.seed < 0) return `seed must be a non-negative integer, got ${p.seed}`;
  const a = p.a ?? 0.57, b = p.b ?? 0.19, c = p.c ?? 0.19;
  if (![a, b, c].every((x) => x >= 0 && x <= 1) || a + b + c > 1) return `probabilities a=${a}, b=${b}, c=${c} must lie in [0, 1] with a + b + c <= 1`;
  return undefined;
}

/** Total number of generated edges (before symmetrising and removing duplicates and self loops). */
export function rmatEdgeCount(p: RmatParams): number {
  return p.edgeFactor * 2 ** p.scale;
}

/**
 * Edges [start, end) of the R-MAT graph: src[k - start] -> dst[k - start]. Each level of the recursion draws
 * 16 bits of one hash word (two levels per word), quantising the probabilities to 1/65536.
 */
export function rmatEdges(p: RmatParams, start: number, end: number): { src: Int32Array; dst: Int32Array } {
  const n = end - start;
  const src = new Int32Array(n), dst = new Int32Array(n);
  const a = p.a ?? 0.57, b = p.b ?? 0.19, c = p.c ?? 0.19;
  const ta = Math.round(a * 65536), tb = Math.round((a + b) * 65536), tc = Math.round((a + b + c) * 65536);
  const [s0, s1] = seedWords(p.seed);
  const scale = p.scale;
  const words = (scale + 1) >> 1;
  const salt = new Uint32Array(words);
  for (let w = 0; w < words; w++) salt[w] = mix32(Math.imul(w + 1, 0x9e3779b9) ^ s1);
  const perm = new VertexScramble(scale, p.seed);
  for (let k = 0; k < n; k++) {
    const e = start + k;
    const base = mix32(mix32(s0 ^ (e >>> 0)) ^ Math.floor(e / 4294967296));
    let u = 0, v = 0;
    for (let w = 0; w < words; w++) {
      const h = mix32(mix32(base ^ salt[w]) + w);
      for (let half = 0; half < 2; half++) {
        const level = 2 * w + half;
        if (level >= scale) break;
        const r = half === 0 ? h & 0xffff : h >>> 16;
        const bit = 1 << (scale - 1 - level);
        if (r >= tc) { u |= bit; v |= bit; } else if (r >= tb) { u |= bit; } else if (r >= ta) { v |= bit; }
      }
    }
    src[k] = perm.apply(u);
    dst[k] = perm.apply(v);
  }
  return { src, dst };
}
