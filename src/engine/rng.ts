/**
 * Seeded pseudo-random numbers for every random draw in library code.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's small fast counting generator,
 * 128-bit state, period ≥ 2^32, passes PractRand to multiple terabytes), seeded
 * through splitmix32 so that nearby seeds give unrelated streams. Same seed, same
 * numbers, on every platform: only 32-bit integer arithmetic is used.
 */
import { check } from '../errors.js';

/** A seeded random stream. Not cryptographic. */
export interface Rng {
  /** The seed this stream was created from. */
  readonly seed: number;
  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number;
  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Uniform float in [lo, hi). */
  uniform(lo?: number, hi?: number): number;
  /** Standard normal draw (Box–Muller, both values used). */
  normal(mean?: number, std?: number): number;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** A random permutation of 0..n-1 as an Int32Array. */
  permutation(n: number): Int32Array;
  /** `k` distinct integers from [0, n), in random order. */
  sample(n: number, k: number): number[];
  /** A seed in [0, 2^31) for APIs that take a numeric seed (tfjs ops and initializers). */
  seedInt(): number;
  /** An independent child stream; the parent advances by one draw. */
  fork(): Rng;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Creates a seeded generator.
 * @param seed any finite number; integers are used as they are, other values are hashed to 32 bits.
 */
export function createRng(seed: number): Rng {
  check(typeof seed === 'number' && Number.isFinite(seed), 'seed', seed, 'a finite number');
  const seed32 = Number.isInteger(seed) && seed >= 0 && seed < 2 ** 32 ? seed : hashNumber(seed);
  const init = splitmix32(seed32);
  let a = init();
  let b = init();
  let c = init();
  let d = init();
  const nextUint32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) nextUint32();
  let spare: number | null = null;

  const rng: Rng = {
    seed,
    nextUint32,
    next: () => nextUint32() / 4294967296,
    int(n: number): number {
      check(Number.isInteger(n) && n > 0 && n <= 2 ** 32, 'n', n, 'an integer in [1, 2^32]');
      // Rejection sampling keeps the draw unbiased for every n.
      const limit = 4294967296 - (4294967296 % n);
      let x = nextUint32();
      while (x >= limit) x = nextUint32();
      return x % n;
    },
    uniform(lo = 0, hi = 1): number {
      return lo + (hi - lo) * rng.next();
    },
    normal(mean = 0, std = 1): number {
      if (spare !== null) {
        const v = spare;
        spare = null;
        return mean + std * v;
      }
      let u = 0;
      while (u === 0) u = rng.next();
      const v = rng.next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return mean + std * r * Math.cos(2 * Math.PI * v);
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = items[i] as T;
        items[i] = items[j] as T;
        items[j] = t;
      }
      return items;
    },
    permutation(n: number): Int32Array {
      check(Number.isInteger(n) && n >= 0, 'n', n, 'a non-negative integer');
      const p = new Int32Array(n);
      for (let i = 0; i < n; i++) p[i] = i;
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        const t = p[i] as number;
        p[i] = p[j] as number;
        p[j] = t;
      }
      return p;
    },
    sample(n: number, k: number): number[] {
      check(Number.isInteger(k) && k >= 0 && k <= n, 'k', k, `an integer in [0, ${n}]`);
      // Partial Fisher–Yates over a sparse map: O(k) memory for any n.
      const swapped = new Map<number, number>();
      const out: number[] = [];
      for (let i = 0; i < k; i++) {
        const j = i + rng.int(n - i);
        const vj = swapped.get(j) ?? j;
        swapped.set(j, swapped.get(i) ?? i);
        out.push(vj);
      }
      return out;
    },
    seedInt: () => nextUint32() >>> 1,
    fork: () => createRng(nextUint32()),
  };
  return rng;
}

function hashNumber(x: number): number {
  const buf = new DataView(new ArrayBuffer(8));
  buf.setFloat64(0, x);
  let h = 0x811c9dc5;
  for (let i = 0; i < 8; i++) h = Math.imul(h ^ buf.getUint8(i), 0x01000193) >>> 0;
  return h;
}
