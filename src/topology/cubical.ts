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
/** Every {@link Construction}, for option parsing. */
export const CONSTRUCTIONS: readonly Construction[] = ['T', 'V'];

/** `sublevel`: sets {f ≤ t} as t grows. `superlevel`: sets {f ≥ t} as t falls (the sublevel filtration of −f, reported in f's own values). */
export type Filtration = 'sublevel' | 'superlevel';
/** Every {@link Filtration}, for option parsing. */
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
export type PixelArray =
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
 * Sorts pixel indices by value, ties by index: a stable LSD radix sort over the
 * order-preserving unsigned form of the float64 bits, 11 bits per pass, keys
 * moved along with the indices so every pass reads sequentially. Passes whose
 * digit is the same for every pixel are skipped (float32 and small-integer
 * images skip the low word entirely).
 */
export function sortPixels(values: Float64Array): Int32Array {
  const n = values.length;
  const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let hi: Uint32Array = new Uint32Array(n);
  let lo: Uint32Array = new Uint32Array(n);
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
  // Six digits: bits 0–10, 11–21, 22–31 of the low word, then of the high word.
  const SHIFTS = [0, 11, 22];
  const RADIX = 2048;
  const counts = new Int32Array(6 * RADIX);
  for (let i = 0; i < n; i++) {
    const l = lo[i] as number;
    const h = hi[i] as number;
    counts[l & 0x7ff]++;
    counts[RADIX + ((l >>> 11) & 0x7ff)]++;
    counts[2 * RADIX + (l >>> 22)]++;
    counts[3 * RADIX + (h & 0x7ff)]++;
    counts[4 * RADIX + ((h >>> 11) & 0x7ff)]++;
    counts[5 * RADIX + (h >>> 22)]++;
  }
  let idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  let idx2 = new Int32Array(n);
  let hi2: Uint32Array = new Uint32Array(n);
  let lo2: Uint32Array | undefined;
  for (let pass = 0; pass < 6; pass++) {
    const base = pass * RADIX;
    const shift = SHIFTS[pass % 3] as number;
    const lowWord = pass < 3;
    const key = lowWord ? lo : hi;
    if (counts[base + (((key[0] as number) >>> shift) & 0x7ff)] === n) continue; // one digit for all: nothing moves
    let sum = 0;
    for (let d = 0; d < RADIX; d++) {
      const c = counts[base + d] as number;
      counts[base + d] = sum;
      sum += c;
    }
    if (lowWord) {
      lo2 ??= new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const k = lo[i] as number;
        const at = counts[base + ((k >>> shift) & 0x7ff)]++;
        idx2[at] = idx[i] as number;
        lo2[at] = k;
        hi2[at] = hi[i] as number;
      }
      [lo, lo2] = [lo2, lo];
    } else {
      for (let i = 0; i < n; i++) {
        const k = hi[i] as number;
        const at = counts[base + ((k >>> shift) & 0x7ff)]++;
        idx2[at] = idx[i] as number;
        hi2[at] = k;
      }
    }
    [idx, idx2] = [idx2, idx];
    [hi, hi2] = [hi2, hi];
  }
  return idx;
}

/** Does pixel a come before pixel b in the filtration order (value, then row-major index)? */
function precedes(values: Float64Array, a: number, b: number): boolean {
  const va = values[a] as number;
  const vb = values[b] as number;
  return va < vb || (va === vb && a < b);
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

/** Raw pairs as pixel indices, in the order the sweep found them; grows by doubling (smooth images have few pairs). */
class RawPairs {
  birthPixel = new Int32Array(1024);
  deathPixel = new Int32Array(1024);
  size = 0;
  push(birth: number, death: number): void {
    if (this.size === this.birthPixel.length) {
      const b = new Int32Array(2 * this.size);
      const d = new Int32Array(2 * this.size);
      b.set(this.birthPixel);
      d.set(this.deathPixel);
      this.birthPixel = b;
      this.deathPixel = d;
    }
    this.birthPixel[this.size] = birth;
    this.deathPixel[this.size] = death;
    this.size++;
  }
}

/**
 * Dimension 0: union-find over pixels in `order`, with `eight` selecting
 * 8-connectivity. The union-find lives in pixel space, so that the presence
 * test and the first hop of every neighbour read the cache lines around the
 * current pixel (the sweep visits pixels in value order, i.e. all over memory,
 * and is bound by cache misses). The root of a component is its elder pixel
 * (first in the order), i.e. its birth. Returns the regular pairs as pixels (birth =
 * younger root, death = the pixel that joined them).
 */
function sweepComponents(values: Float64Array, height: number, width: number, order: Int32Array, eight: boolean): RawPairs {
  const n = values.length;
  const parent = new Int32Array(n).fill(-1);
  const pairs = new RawPairs();
  const dr = eight ? [-1, -1, -1, 0, 0, 1, 1, 1] : [-1, 0, 0, 1];
  const dc = eight ? [-1, 0, 1, -1, 1, -1, 0, 1] : [0, -1, 1, 0];
  const offsets = dr.map((r, j) => r * width + (dc[j] as number));
  const k = dr.length;
  for (let i = 0; i < n; i++) {
    const p = order[i] as number;
    parent[p] = p;
    let root = p;
    const r = (p / width) | 0;
    const c = p - r * width;
    const interior = r > 0 && c > 0 && r < height - 1 && c < width - 1;
    for (let j = 0; j < k; j++) {
      let q: number;
      if (interior) {
        q = p + (offsets[j] as number);
      } else {
        const rr = r + (dr[j] as number);
        const cc = c + (dc[j] as number);
        if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
        q = rr * width + cc;
      }
      if ((parent[q] as number) < 0) continue; // not in the sublevel set yet
      const rq = find(parent, q);
      if (rq === root) continue;
      // While p is still its own root it is the youngest pixel present; otherwise the elder root comes first in
      // the order, which (the sort being stable) is the smaller (value, index).
      let younger: number;
      let elder: number;
      if (root === p || precedes(values, rq, root)) {
        younger = root;
        elder = rq;
      } else {
        younger = rq;
        elder = root;
      }
      // p joining its first neighbour is a zero-length pair; skipping it also spares a random read of values[p].
      if (younger !== p && (values[younger] as number) < (values[p] as number)) pairs.push(younger, p);
      parent[younger] = elder;
      root = elder;
    }
  }
  return pairs;
}

/**
 * Dimension 1 by duality: the same union-find over pixels in reverse order
 * with the complementary connectivity, plus an "outside" node (index n, older
 * than every pixel) that every border pixel touches. The elder of two roots is
 * the one entered first (the larger (value, index)). A younger component meeting an older one
 * at pixel p gives the hole (f(p), f(younger root)).
 */
function sweepHoles(values: Float64Array, height: number, width: number, order: Int32Array, eight: boolean): RawPairs {
  const n = values.length;
  const outside = n;
  const parent = new Int32Array(n + 1).fill(-1);
  parent[outside] = outside;
  const pairs = new RawPairs();
  const dr = eight ? [-1, -1, -1, 0, 0, 1, 1, 1] : [-1, 0, 0, 1];
  const dc = eight ? [-1, 0, 1, -1, 1, -1, 0, 1] : [0, -1, 1, 0];
  const offsets = dr.map((r, j) => r * width + (dc[j] as number));
  const k = dr.length;
  for (let i = n - 1; i >= 0; i--) {
    const p = order[i] as number;
    parent[p] = p;
    let root = p;
    const r = (p / width) | 0;
    const c = p - r * width;
    const interior = r > 0 && c > 0 && r < height - 1 && c < width - 1;
    for (let j = 0; j <= k; j++) {
      let q: number;
      if (j === k) {
        if (interior) break;
        q = outside;
      } else if (interior) {
        q = p + (offsets[j] as number);
      } else {
        const rr = r + (dr[j] as number);
        const cc = c + (dc[j] as number);
        if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
        q = rr * width + cc;
      }
      if ((parent[q] as number) < 0) continue; // not in the superlevel set yet
      const rq = find(parent, q);
      if (rq === root) continue;
      let younger: number;
      let elder: number;
      if (root === p || rq === outside || (root !== outside && precedes(values, root, rq))) {
        younger = root;
        elder = rq;
      } else {
        younger = rq;
        elder = root;
      }
      if (younger !== p && (values[p] as number) < (values[younger] as number)) pairs.push(p, younger);
      parent[younger] = elder;
      root = elder;
    }
  }
  return pairs;
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
 * Complexity: O(n) for the radix sort plus union-find with path halving (O(n log n) worst case,
 * near-linear on images); memory about 40 bytes per pixel in typed arrays, no per-pixel objects.
 */
export function cubicalPersistence(data: PixelArray, shape: readonly number[], options: PersistenceOptions = {}): CubicalPersistence {
  const construction = options.construction ?? 'T';
  const filtration = options.filtration ?? 'sublevel';
  const dims = options.dims ?? [0, 1];
  check(CONSTRUCTIONS.includes(construction), 'construction', construction, "'T' or 'V'");
  check(FILTRATIONS.includes(filtration), 'filtration', filtration, "'sublevel' or 'superlevel'");
  check(Array.isArray(dims) && dims.length > 0 && dims.every((d) => d === 0 || d === 1), 'dims', dims, 'a non-empty list of 0 and 1');
  const negated = filtration === 'superlevel';
  const { values, height, width } = imageValues(data, shape, negated);
  const original = negated ? values.map((v) => -v + 0) : values;
  const order = sortPixels(values);
  const diagrams: Partial<Record<HomologyDim, PersistencePairs>> = {};
  // T: foreground 8-connected, holes 4-connected; V: the other way round.
  if (dims.includes(0)) {
    const raw = sweepComponents(values, height, width, order, construction === 'T');
    diagrams[0] = finishPairs(0, raw, order[0] as number, original, negated);
  }
  if (dims.includes(1)) {
    const raw = sweepHoles(values, height, width, order, construction === 'V');
    diagrams[1] = finishPairs(1, raw, -1, original, negated);
  }
  return { height, width, construction, filtration, diagrams };
}
