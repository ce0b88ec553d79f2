/**
 * Exact persistent homology (dimensions 0 and 1) of 2-D images as cubical
 * complexes, on plain typed arrays. No tfjs here: the bridge in `bridge.ts`
 * turns the critical pixels this module reports into gradients.
 *
 * Algorithm (one sort, two near-linear union-find sweeps):
 * - Pixels are sorted once by value (LSD radix sort on the IEEE-754 bits, so
 *   ties keep row-major order).
 * - Dimension 0: union-find over the pixels in that order, joining each new
 *   pixel to the present neighbours (T: 8-neighbours, V: 4-neighbours). When two
 *   components meet, the younger one (later first pixel; the elder rule) dies at
 *   the current pixel's value. The root of a component is its first pixel, so
 *   the birth pixel is the root itself.
 * - Dimension 1 by Alexander duality (Garin et al., arXiv 2005.04597): a hole of
 *   the sublevel set is a component of the superlevel set that does not reach
 *   the border. The same union-find runs over the pixels in reverse order with
 *   the complementary connectivity (T: 4, V: 8) and one extra node, "outside",
 *   that every border pixel touches and that is older than every pixel (the
 *   −∞ ring of the reference). A component that merges into an older one at
 *   pixel p is a hole born at f(p) (the saddle that closes the loop) that dies at
 *   the value of its own first pixel (its maximum).
 *
 * Ties: the filtration orders pixels by value and breaks ties by row-major flat
 * index (lower first); dimension 1 walks that order backwards. The multiset of
 * (birth, death) values with zero-length pairs left out does not depend on how
 * ties are broken (the sublevel sets, and hence the persistence module, are
 * fixed by the values), which is why it equals GUDHI's and CubicalRipser's
 * diagrams on tied images; tie-breaking only chooses which of several
 * equal-valued pixels is reported as critical.
 */
import { check, EccvkitInputError } from '../errors.js';

/**
 * How pixels become a cubical complex.
 * - `T`: pixels are the top cells (squares); a lower cell takes the minimum of the
 *   squares containing it. Foreground is 8-connected, holes 4-connected. GUDHI's
 *   `CubicalComplex(top_dimensional_cells=…)`, CubicalRipser's `filtration="T"`.
 * - `V`: pixels are the vertices; a higher cell takes the maximum of its vertices.
 *   Foreground is 4-connected, holes 8-connected. CubicalRipser's default.
 */
export type Construction = 'T' | 'V';
export const CONSTRUCTIONS: readonly Construction[] = ['T', 'V'];

/** `sublevel`: sets {f ≤ t} as t grows. `superlevel`: sets {f ≥ t} as t falls (the sublevel filtration of −f, reported in f's own values). */
export type Filtration = 'sublevel' | 'superlevel';
export const FILTRATIONS: readonly Filtration[] = ['sublevel', 'superlevel'];

/** Homology dimensions a 2-D image has. */
export type HomologyDim = 0 | 1;

/** Options of {@link cubicalPersistence}. */
export interface PersistenceOptions {
  /** Default `T` (as GUDHI's `top_dimensional_cells`). */
  construction?: Construction;
  /** Default `sublevel`. */
  filtration?: Filtration;
  /** Dimensions to compute; default both, `[0, 1]`. */
  dims?: readonly HomologyDim[];
}

/**
 * The persistence pairs of one homology dimension, as parallel arrays.
 *
 * `birth[i]` and `death[i]` are image values: `birth[i] = image[birthPixel[i]]`,
 * `death[i] = image[deathPixel[i]]`, pixels as row-major flat indices. The
 * essential class of dimension 0 has `death = +Infinity` (sublevel) or
 * `−Infinity` (superlevel) and `deathPixel = −1`. Zero-length pairs are left
 * out. Pairs are sorted by birth, then death (ascending, in image values).
 */
export interface PersistencePairs {
  dim: HomologyDim;
  size: number;
  birth: Float64Array;
  death: Float64Array;
  birthPixel: Int32Array;
  deathPixel: Int32Array;
}

/** Result of {@link cubicalPersistence}: the image's shape, the options used and one {@link PersistencePairs} per computed dimension. */
export interface CubicalPersistence {
  height: number;
  width: number;
  construction: Construction;
  filtration: Filtration;
  diagrams: Partial<Record<HomologyDim, PersistencePairs>>;
}

/** Typed arrays (and plain number arrays) the core accepts as image data. */
export type ImageData =
  | Float64Array
  | Float32Array
  | Int32Array
  | Int16Array
  | Int8Array
  | Uint32Array
  | Uint16Array
  | Uint8Array
  | Uint8ClampedArray
  | readonly number[];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = LITTLE_ENDIAN ? 1 : 0;

/**
 * Validates `data` as a finite 2-D image of `shape` and returns its values as a
 * fresh Float64Array (negated when `negate`, with −0 turned into +0 so equal
 * values have equal bits).
 */
export function imageValues(data: unknown, shape: unknown, negate = false, argument = 'image'): { values: Float64Array; height: number; width: number } {
  check(Array.isArray(shape) && shape.length === 2, `${argument} shape`, shape, 'a 2-D shape [height, width]');
  const [height, width] = shape as [unknown, unknown];
  check(Number.isInteger(height) && (height as number) >= 1, `${argument} height`, height, 'an integer ≥ 1 (empty images have no homology)');
  check(Number.isInteger(width) && (width as number) >= 1, `${argument} width`, width, 'an integer ≥ 1 (empty images have no homology)');
  const h = height as number;
  const w = width as number;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    throw new EccvkitInputError(`${argument} dtype`, data.constructor.name, 'float32, float64, int8/16/32, uint8/16/32 or a number array (convert 64-bit integers first)');
  }
  check(ArrayBuffer.isView(data) || Array.isArray(data), argument, data, 'a typed array or an array of numbers');
  const src = data as ArrayLike<unknown>;
  check(src.length === h * w, `${argument} length`, src.length, `height × width = ${h} × ${w} = ${h * w}`);
  const values = new Float64Array(h * w);
  for (let i = 0; i < values.length; i++) {
    const v = src[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new EccvkitInputError(`${argument}[${Math.floor(i / w)}, ${i % w}]`, v, 'a finite number (NaN and ±Infinity have no place in a filtration)');
    }
    values[i] = (negate ? -v : v) + 0;
  }
  return { values, height: h, width: w };
}

/**
 * Sorts pixel indices by value, ties by index (a stable LSD radix sort over the
 * order-preserving unsigned form of the float64 bits, 16 bits per pass; passes
 * whose digit is constant are skipped, so float32 and integer images cost two).
 */
export function sortPixels(values: Float64Array): Int32Array {
  const n = values.length;
  const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let h = bits[2 * i + HI] as number;
    let l = bits[2 * i + LO] as number;
    if (h & 0x80000000) {
      h = ~h >>> 0;
      l = ~l >>> 0;
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    hi[i] = h;
    lo[i] = l;
  }
  let src = new Int32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Int32Array(n);
  const count = new Int32Array(65536);
  const passes: Array<[Uint32Array, number]> = [
    [lo, 0],
    [lo, 16],
    [hi, 0],
    [hi, 16],
  ];
  for (const [key, shift] of passes) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[((key[i] as number) >>> shift) & 0xffff]++;
    const first = ((key[0] as number) >>> shift) & 0xffff;
    if (count[first] === n) continue; // every key has this digit: the pass would not move anything
    let sum = 0;
    for (let d = 0; d < 65536; d++) {
      const c = count[d] as number;
      count[d] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const p = src[i] as number;
      const d = ((key[p] as number) >>> shift) & 0xffff;
      dst[count[d]++] = p;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

function find(parent: Int32Array, x: number): number {
  while (true) {
    const p = parent[x] as number;
    if (p === x) return x;
    const g = parent[p] as number;
    parent[x] = g; // path halving
    x = g;
  }
}

/** Raw pairs as pixel indices, in the order the sweep found them. */
interface RawPairs {
  birthPixel: Int32Array;
  deathPixel: Int32Array;
  size: number;
}

/**
 * Dimension 0: union-find over pixels in `order`. `eight` selects 8-connectivity.
 * Returns the regular pairs (birth pixel = younger root, death pixel = the pixel
 * that joined them) and, separately, the essential class's pixel `order[0]`.
 */
function sweepComponents(values: Float64Array, height: number, width: number, order: Int32Array, rank: Int32Array, eight: boolean): RawPairs {
  const n = values.length;
  const parent = new Int32Array(n).fill(-1);
  const birthPixel = new Int32Array(Math.max(0, n - 1));
  const deathPixel = new Int32Array(Math.max(0, n - 1));
  let size = 0;
  const dr = eight ? [-1, -1, -1, 0, 0, 1, 1, 1] : [-1, 0, 0, 1];
  const dc = eight ? [-1, 0, 1, -1, 1, -1, 0, 1] : [0, -1, 1, 0];
  const k = dr.length;
  for (let i = 0; i < n; i++) {
    const p = order[i] as number;
    parent[p] = p;
    let root = p;
    const r = (p / width) | 0;
    const c = p - r * width;
    const fp = values[p] as number;
    for (let j = 0; j < k; j++) {
      const rr = r + (dr[j] as number);
      const cc = c + (dc[j] as number);
      if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
      const q = rr * width + cc;
      if ((parent[q] as number) < 0) continue; // not in the sublevel set yet
      const rq = find(parent, q);
      if (rq === root) continue;
      let younger: number;
      let elder: number;
      if ((rank[rq] as number) < (rank[root] as number)) {
        younger = root;
        elder = rq;
      } else {
        younger = rq;
        elder = root;
      }
      if ((values[younger] as number) < fp) {
        birthPixel[size] = younger;
        deathPixel[size] = p;
        size++;
      }
      parent[younger] = elder;
      root = elder;
    }
  }
  return { birthPixel, deathPixel, size };
}

/**
 * Dimension 1 by duality: union-find over pixels in reverse `order` with the
 * complementary connectivity and an "outside" node (index n) older than all
 * pixels that every border pixel touches. A younger component meeting an older
 * one at pixel p gives the hole (f(p), f(younger root)).
 */
function sweepHoles(values: Float64Array, height: number, width: number, order: Int32Array, rank: Int32Array, eight: boolean): RawPairs {
  const n = values.length;
  const outside = n;
  const parent = new Int32Array(n + 1).fill(-1);
  parent[outside] = outside;
  const rankX = new Int32Array(n + 1);
  rankX.set(rank);
  rankX[outside] = n; // older than every pixel in the reversed order
  const birthPixel = new Int32Array(n);
  const deathPixel = new Int32Array(n);
  let size = 0;
  const dr = eight ? [-1, -1, -1, 0, 0, 1, 1, 1] : [-1, 0, 0, 1];
  const dc = eight ? [-1, 0, 1, -1, 1, -1, 0, 1] : [0, -1, 1, 0];
  const k = dr.length;
  for (let i = n - 1; i >= 0; i--) {
    const p = order[i] as number;
    parent[p] = p;
    let root = p;
    const r = (p / width) | 0;
    const c = p - r * width;
    const fp = values[p] as number;
    const border = r === 0 || c === 0 || r === height - 1 || c === width - 1;
    for (let j = 0; j <= k; j++) {
      let q: number;
      if (j === k) {
        if (!border) break;
        q = outside;
      } else {
        const rr = r + (dr[j] as number);
        const cc = c + (dc[j] as number);
        if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
        q = rr * width + cc;
        if ((parent[q] as number) < 0) continue; // not in the superlevel set yet
      }
      const rq = find(parent, q);
      if (rq === root) continue;
      let younger: number;
      let elder: number;
      if ((rankX[rq] as number) > (rankX[root] as number)) {
        younger = root;
        elder = rq;
      } else {
        younger = rq;
        elder = root;
      }
      if (fp < (values[younger] as number)) {
        birthPixel[size] = p;
        deathPixel[size] = younger;
        size++;
      }
      parent[younger] = elder;
      root = elder;
    }
  }
  return { birthPixel, deathPixel, size };
}

/** Turns raw pixel pairs into sorted {@link PersistencePairs} with values from the original image. */
function finishPairs(dim: HomologyDim, raw: RawPairs, essential: number, image: Float64Array, negated: boolean): PersistencePairs {
  const total = raw.size + (essential >= 0 ? 1 : 0);
  const bp = new Int32Array(total);
  const dp = new Int32Array(total);
  bp.set(raw.birthPixel.subarray(0, raw.size));
  dp.set(raw.deathPixel.subarray(0, raw.size));
  if (essential >= 0) {
    bp[raw.size] = essential;
    dp[raw.size] = -1;
  }
  const infinite = negated ? -Infinity : Infinity;
  const b = new Float64Array(total);
  const d = new Float64Array(total);
  for (let i = 0; i < total; i++) {
    b[i] = image[bp[i] as number] as number;
    const q = dp[i] as number;
    d[i] = q < 0 ? infinite : (image[q] as number);
  }
  const idx = new Uint32Array(total);
  for (let i = 0; i < total; i++) idx[i] = i;
  idx.sort((x, y) => (b[x] as number) - (b[y] as number) || compareDeath(d[x] as number, d[y] as number) || (bp[x] as number) - (bp[y] as number) || (dp[x] as number) - (dp[y] as number));
  const out: PersistencePairs = { dim, size: total, birth: new Float64Array(total), death: new Float64Array(total), birthPixel: new Int32Array(total), deathPixel: new Int32Array(total) };
  for (let i = 0; i < total; i++) {
    const j = idx[i] as number;
    out.birth[i] = b[j] as number;
    out.death[i] = d[j] as number;
    out.birthPixel[i] = bp[j] as number;
    out.deathPixel[i] = dp[j] as number;
  }
  return out;
}

function compareDeath(a: number, b: number): number {
  return a === b ? 0 : a < b ? -1 : 1; // Infinity − Infinity is NaN, so compare rather than subtract
}

/**
 * Persistent homology (dimensions 0 and 1) of a 2-D image as a cubical complex.
 *
 * @param data the pixel values, row-major (C order), `height × width` of them; finite numbers.
 * @param shape `[height, width]`, both ≥ 1.
 * @param options construction (`T` default, or `V`), filtration (`sublevel` default, or
 *   `superlevel`) and dims (`[0, 1]` default).
 * @returns one {@link PersistencePairs} per requested dimension. Dimension 0 holds
 *   exactly one essential class (born at the global minimum, or maximum for superlevel),
 *   dimension 1 none. Zero-length pairs are left out.
 *
 * Complexity: O(n) for the sort plus O(n α(n))-like union-find; memory O(n) in typed arrays.
 */
export function cubicalPersistence(data: ImageData, shape: readonly number[], options: PersistenceOptions = {}): CubicalPersistence {
  const construction = options.construction ?? 'T';
  const filtration = options.filtration ?? 'sublevel';
  const dims = options.dims ?? [0, 1];
  check(CONSTRUCTIONS.includes(construction), 'construction', construction, "'T' or 'V'");
  check(FILTRATIONS.includes(filtration), 'filtration', filtration, "'sublevel' or 'superlevel'");
  check(Array.isArray(dims) && dims.length > 0 && dims.every((d) => d === 0 || d === 1), 'dims', dims, 'a non-empty list of 0 and 1');
  const negated = filtration === 'superlevel';
  const { values, height, width } = imageValues(data, [...shape], negated);
  const original = negated ? values.map((v) => -v + 0) : values;
  const order = sortPixels(values);
  const rank = new Int32Array(values.length);
  for (let i = 0; i < order.length; i++) rank[order[i] as number] = i;
  const diagrams: Partial<Record<HomologyDim, PersistencePairs>> = {};
  // T: foreground 8-connected, holes 4-connected; V: the other way round.
  if (dims.includes(0)) {
    const raw = sweepComponents(values, height, width, order, rank, construction === 'T');
    diagrams[0] = finishPairs(0, raw, order[0] as number, original, negated);
  }
  if (dims.includes(1)) {
    const raw = sweepHoles(values, height, width, order, rank, construction === 'V');
    diagrams[1] = finishPairs(1, raw, -1, original, negated);
  }
  return { height, width, construction, filtration, diagrams };
}
