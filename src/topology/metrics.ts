/**
 * Topology metrics for sets of generated masks (TopoGAN §3.3 and Table 1):
 * the Betti score and the unbiased MMD between sets of diagrams.
 */
import { check } from '../errors.js';
import { cubicalPersistence, imageValues, type Construction, type PixelArray } from './cubical.js';
import { bettiNumber, checkDiagram, diagramPoints, type DiagramPoints } from './diagram.js';
import { wassersteinDistance } from './distances.js';

/** Options of {@link maskBettiNumbers}. */
export interface MaskBettiOptions {
  /** Pixels above it are foreground; default 0.5 (masks in [0, 1]). */
  threshold?: number;
  /** Default `T` (foreground 8-connected, holes 4-connected). */
  construction?: Construction;
}

/** Betti numbers [β₀, β₁] of the foreground {value > threshold} of a mask: components and enclosed holes. */
export function maskBettiNumbers(data: PixelArray, shape: readonly number[], options: MaskBettiOptions = {}): [number, number] {
  const threshold = options.threshold ?? 0.5;
  check(Number.isFinite(threshold), 'threshold', threshold, 'a finite number');
  const { values } = imageValues(data, shape, false, 'mask');
  const indicator = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) indicator[i] = (values[i] as number) > threshold ? 0 : 1; // foreground enters the filtration first
  if (!indicator.includes(0)) return [0, 0];
  const r = cubicalPersistence(indicator, shape, { construction: options.construction ?? 'T' });
  return [bettiNumber(diagramPoints(r.diagrams[0]!), 0), bettiNumber(diagramPoints(r.diagrams[1]!), 0)];
}

/**
 * Betti score: the χ² distance ½ Σₖ (pₖ − qₖ)² / (pₖ + qₖ) between the normalised
 * histograms p and q of the Betti numbers of two sets of masks (TopoGAN §4; terms
 * with pₖ + qₖ = 0 are skipped). 0 for equal histograms, at most 1.
 */
export function bettiScore(real: ArrayLike<number>, generated: ArrayLike<number>): number {
  for (const [name, v] of [
    ['real', real],
    ['generated', generated],
  ] as const) {
    check(v.length >= 1, name, v, 'a non-empty list of Betti numbers');
    for (let i = 0; i < v.length; i++) if (!(Number.isInteger(v[i]) && (v[i] as number) >= 0)) check(false, `${name}[${i}]`, v[i], 'an integer ≥ 0');
  }
  const hist = (v: ArrayLike<number>) => {
    const h = new Map<number, number>();
    for (let i = 0; i < v.length; i++) h.set(v[i] as number, (h.get(v[i] as number) ?? 0) + 1 / v.length);
    return h;
  };
  const p = hist(real);
  const q = hist(generated);
  let score = 0;
  for (const k of new Set([...p.keys(), ...q.keys()])) {
    const a = p.get(k) ?? 0;
    const b = q.get(k) ?? 0;
    if (a + b > 0) score += (a - b) ** 2 / (a + b);
  }
  return score / 2;
}

/**
 * Unbiased estimate of the squared MMD between two sets of diagrams (TopoGAN
 * §3.3), with the kernel k(X, Y) = exp(−W₁(X, Y)/σ²) on the 1-Wasserstein
 * diagram distance ({@link wassersteinDistance}, order 1, L∞ ground metric):
 * MMD²ᵤ = Σ_{i≠j} k(xᵢ,xⱼ)/(m(m−1)) + Σ_{i≠j} k(yᵢ,yⱼ)/(n(n−1)) − 2 Σ k(xᵢ,yⱼ)/(mn).
 * Can be slightly negative (it is unbiased). Essential classes are dropped first
 * when `dropEssential` (default true), since their counts may differ.
 */
export function unbiasedMmd(x: readonly DiagramPoints[], y: readonly DiagramPoints[], options: { sigma?: number; dropEssential?: boolean } = {}): number {
  const sigma = options.sigma ?? 1;
  check(Number.isFinite(sigma) && sigma > 0, 'sigma', sigma, 'a finite number > 0');
  check(Array.isArray(x) && x.length >= 2, 'x', x, 'at least two diagrams');
  check(Array.isArray(y) && y.length >= 2, 'y', y, 'at least two diagrams');
  const clean = (d: DiagramPoints, name: string) => {
    const pts = checkDiagram(d, name);
    return options.dropEssential === false ? pts : pts.filter((p) => Number.isFinite(p[1]));
  };
  const xs = x.map((d, i) => clean(d, `x[${i}]`));
  const ys = y.map((d, i) => clean(d, `y[${i}]`));
  const k = (a: DiagramPoints, b: DiagramPoints) => Math.exp(-wassersteinDistance(a, b) / (sigma * sigma));
  const m = xs.length;
  const n = ys.length;
  let sxx = 0;
  for (let i = 0; i < m; i++) for (let j = i + 1; j < m; j++) sxx += 2 * k(xs[i]!, xs[j]!);
  let syy = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) syy += 2 * k(ys[i]!, ys[j]!);
  let sxy = 0;
  for (const a of xs) for (const b of ys) sxy += k(a, b);
  return sxx / (m * (m - 1)) + syy / (n * (n - 1)) - (2 * sxy) / (m * n);
}
