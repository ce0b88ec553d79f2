/**
 * TopoGAN's topology table for two sets of masks (paper §3.3, §4, Table 1): the
 * Betti score per dimension, the unbiased MMD between the sets' diagrams per
 * dimension, and the mean absolute Betti error of each generated mask against
 * the nearest real Betti numbers. Plain typed arrays.
 */
import { createRng } from '../engine/core.js';
import { check } from '../errors.js';
import { cubicalPersistence, type HomologyDim, type PersistencePairs } from './cubical.js';
import { diagramPoints, type DiagramPoints } from './diagram.js';
import { maskFiltration } from './distance-transform.js';
import { wassersteinDistance } from './distances.js';
import { bettiScore, maskBettiNumbers } from './metrics.js';

/** A stack of masks: `count × height × width` values in [0, 1], row-major. */
export interface MaskStack {
  data: ArrayLike<number>;
  count: number;
  height: number;
  width: number;
}

/** Options of {@link topologyScores}. */
export interface TopologyScoreOptions {
  /** Homology dimensions scored; default [0, 1]. */
  dims?: readonly HomologyDim[];
  /** Pixels above it are structure (foreground); default 0.5. */
  threshold?: number;
  /** Kernel width σ of the MMD, k = exp(−W₁/σ²) (as `unbiasedMmd`); default: the median heuristic, σ² = the median of the non-zero W₁ between the real diagrams drawn (1 when all are 0). */
  sigma?: number;
  /**
   * Masks drawn from each set (seeded) for the MMD; default 64. Its cost grows as
   * the square: each W₁ is an exact assignment (about 2 ms for the ~30-point
   * diagrams of a 64×64 membrane mask), 64 → about 8,000 of them per dimension.
   */
  mmdSamples?: number;
  /** Seed of that draw; default 0. */
  seed?: number;
  /**
   * Largest diagram the MMD takes; default Infinity. When a drawn diagram of a
   * dimension has more points, that dimension's MMD (and σ) is NaN instead of
   * computed: the noise masks of an untrained generator have hundreds of pairs,
   * and each W₁ is an assignment cubic in the points (minutes per pair).
   */
  maxPoints?: number;
}

/** What {@link topologyScores} returns; records keyed by dimension. */
export interface TopologyScores {
  /** χ² distance between the histograms of βₖ (0: equal histograms). */
  bettiScore: Record<string, number>;
  /** Unbiased MMD² between the sets' dimension-k diagrams (TopoGAN filtration, essential classes dropped). */
  mmd: Record<string, number>;
  /** σ used by the MMD, per dimension. */
  sigma: Record<string, number>;
  /** Mean over generated masks of min over real masks of Σₖ |βₖ − β′ₖ| over the scored dims. */
  bettiError: number;
  /** [β₀, β₁] of each mask. */
  betti: { real: Array<[number, number]>; fake: Array<[number, number]> };
}

function checkStack(s: MaskStack, argument: string): void {
  check(s !== null && typeof s === 'object' && Number.isInteger(s.count) && s.count >= 1 && Number.isInteger(s.height) && s.height >= 1 && Number.isInteger(s.width) && s.width >= 1, argument, s, 'a mask stack { data, count, height, width }');
  check(s.data.length === s.count * s.height * s.width, `${argument}.data`, s.data, `${s.count} × ${s.height} × ${s.width} values`);
  for (let i = 0; i < s.data.length; i++) {
    const v = s.data[i] as number;
    if (!(v >= 0 && v <= 1)) check(false, `${argument}.data[${i}]`, v, 'a mask value in [0, 1]');
  }
}

/** TopoGAN diagrams (structure = {value > threshold} as the zero set, a frame, the distance transform) of one mask. */
function maskDiagrams(s: MaskStack, i: number, threshold: number, dims: readonly HomologyDim[]): DiagramPoints[] {
  const per = s.height * s.width;
  const flipped = new Float64Array(per);
  for (let p = 0; p < per; p++) flipped[p] = (s.data[i * per + p] as number) > threshold ? 0 : 1;
  const f = maskFiltration(flipped, [s.height, s.width], { threshold: 0.5 });
  const r = cubicalPersistence(f.values, [f.height, f.width], { dims: [...dims] });
  const out: DiagramPoints[] = [];
  for (const d of dims) out[d] = diagramPoints(r.diagrams[d] as PersistencePairs).filter((p) => Number.isFinite(p[1]));
  return out;
}

function median(v: number[]): number {
  if (v.length === 0) return 0;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/**
 * Betti score, unbiased MMD of diagrams and Betti error between real and
 * generated masks of the same size (TopoGAN Table 1). A set against itself has
 * Betti score 0 and Betti error 0.
 */
export function topologyScores(real: MaskStack, fake: MaskStack, options: TopologyScoreOptions = {}): TopologyScores {
  checkStack(real, 'real');
  checkStack(fake, 'fake');
  check(fake.height === real.height && fake.width === real.width, 'fake', `masks of ${fake.height}×${fake.width}`, `${real.height}×${real.width} masks, like the real ones`);
  const dims = options.dims ?? [0, 1];
  check(Array.isArray(dims) && dims.length > 0 && dims.every((d) => d === 0 || d === 1), 'dims', dims, 'a non-empty list of 0 and 1');
  const threshold = options.threshold ?? 0.5;
  check(Number.isFinite(threshold) && threshold >= 0 && threshold <= 1, 'threshold', threshold, 'a number in [0, 1]');
  const samples = options.mmdSamples ?? 64;
  check(Number.isInteger(samples) && samples >= 2, 'mmdSamples', samples, 'an integer ≥ 2');
  const maxPoints = options.maxPoints ?? Infinity;
  check(maxPoints === Infinity || (Number.isInteger(maxPoints) && maxPoints >= 1), 'maxPoints', options.maxPoints, 'an integer ≥ 1 (or Infinity)');
  if (options.sigma !== undefined) check(Number.isFinite(options.sigma) && options.sigma > 0, 'sigma', options.sigma, 'a number > 0');
  check(real.count >= 2 && fake.count >= 2, 'masks', [real.count, fake.count], 'at least two real and two generated masks (the unbiased MMD needs pairs)');
  const shape = [real.height, real.width];
  const per = real.height * real.width;
  const bettiOf = (s: MaskStack) => Array.from({ length: s.count }, (_, i) => maskBettiNumbers(Float64Array.from({ length: per }, (_, p) => s.data[i * per + p] as number), shape, { threshold }));
  const rb = bettiOf(real);
  const fb = bettiOf(fake);
  const bettiScoreOut: Record<string, number> = {};
  for (const d of dims) bettiScoreOut[d] = bettiScore(rb.map((b) => b[d]), fb.map((b) => b[d]));
  let err = 0;
  for (const f of fb) {
    let best = Infinity;
    for (const r of rb) best = Math.min(best, dims.reduce((s, d) => s + Math.abs(f[d] - r[d]), 0));
    err += best;
  }
  const rng = createRng(options.seed ?? 0);
  const pick = (n: number) => (n <= samples ? Array.from({ length: n }, (_, i) => i) : rng.sample(n, samples).sort((a, b) => a - b));
  const rd = pick(real.count).map((i) => maskDiagrams(real, i, threshold, dims));
  const fd = pick(fake.count).map((i) => maskDiagrams(fake, i, threshold, dims));
  const mmd: Record<string, number> = {};
  const sigma: Record<string, number> = {};
  for (const d of dims) {
    // Each W₁ is an assignment problem: compute the three distance matrices once, for the σ heuristic and the MMD.
    const x = rd.map((g) => g[d] as DiagramPoints);
    const y = fd.map((g) => g[d] as DiagramPoints);
    if ([...x, ...y].some((g) => g.length > maxPoints)) {
      [mmd[d], sigma[d]] = [NaN, NaN];
      continue;
    }
    const within = (v: DiagramPoints[]) => {
      const out: number[] = [];
      for (let i = 0; i < v.length; i++) for (let j = i + 1; j < v.length; j++) out.push(wassersteinDistance(v[i] as DiagramPoints, v[j] as DiagramPoints));
      return out;
    };
    const wxx = within(x);
    const wyy = within(y);
    const wxy: number[] = [];
    for (const a of x) for (const b of y) wxy.push(wassersteinDistance(a, b));
    const positive = wxx.filter((v) => v > 0);
    const s = options.sigma ?? Math.sqrt(positive.length > 0 ? median(positive) : 1);
    sigma[d] = s;
    const k = (w: number) => Math.exp(-w / (s * s));
    const sum = (v: number[]) => v.reduce((acc, w) => acc + k(w), 0);
    const m = x.length;
    const n = y.length;
    // MMD²ᵤ as unbiasedMmd: each unordered pair counts twice in Σ_{i≠j}.
    mmd[d] = (2 * sum(wxx)) / (m * (m - 1)) + (2 * sum(wyy)) / (n * (n - 1)) - (2 * sum(wxy)) / (m * n);
  }
  return { bettiScore: bettiScoreOut, mmd, sigma, bettiError: err / fb.length, betti: { real: rb, fake: fb } };
}
