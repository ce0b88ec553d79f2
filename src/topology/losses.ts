/**
 * Differentiable topological losses on the tfjs bridge:
 * - TopoGAN (Wang et al., ECCV 2020): a batch of generated diagrams is matched to a
 *   pool of real diagrams by optimal transport (eq. 5) and each generated diagram
 *   pays the 1-Wasserstein distance on birth times to its match (eqs. 3–4);
 * - the Betti-number loss of topology-preserving segmentation (Clough et al. 2019):
 *   keep the β* longest bars of a likelihood map and remove the rest.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';
import { diagramTensors } from './bridge.js';
import { cubicalPersistence, type Construction, type HomologyDim, type PersistencePairs } from './cubical.js';
import { maskFiltration, padFrame, type MaskFiltrationOptions } from './distance-transform.js';
import { sortedWasserstein1D, uniformTransport, uniformWasserstein1D, type TransportEntry } from './distances.js';

/** Options of the TopoGAN losses. */
export interface TopoGanLossOptions {
  /** Homology dimension compared; default 1 (cycles: CREMI, ISBI, Maps, Facade). */
  dim?: HomologyDim;
  /** Default `T`. */
  construction?: Construction;
  /**
   * Which coordinate the W₁ of eq. 3 compares, for {@link topoGanMaskLoss} and
   * {@link topoGanBirths}: `birth` (the paper; default for dim 1) or `death` of
   * the finite pairs (the released code's `project_2_dim: 1` for Retina; default
   * for dim 0, since every component of a distance transform's zero set is born
   * at 0 and a birth-only W₁ would always be 0). `death` is for dim 0 only.
   */
  project?: 'birth' | 'death';
}

/** The projection of {@link TopoGanLossOptions.project} for `dim`, checked. */
export function topoGanProjection(options: TopoGanLossOptions = {}): 'birth' | 'death' {
  const dim = options.dim ?? 1;
  check(dim === 0 || dim === 1, 'dim', dim, '0 (components) or 1 (cycles)');
  const project = options.project ?? (dim === 0 ? 'death' : 'birth');
  check(project === 'birth' || project === 'death', 'project', project, "'birth' or 'death'");
  check(project === 'birth' || dim === 0, 'project', project, "'birth' for dim 1 (death matching is implemented for dim 0 only)");
  return project;
}

/** Deaths of the finite pairs of a diagram with their death pixels (essential classes never die). */
function deathsOf(pairs: PersistencePairs): { values: number[]; pixels: number[] } {
  const values: number[] = [];
  const pixels: number[] = [];
  for (let i = 0; i < pairs.size; i++) {
    if ((pairs.deathPixel[i] as number) < 0) continue;
    values.push(pairs.death[i] as number);
    pixels.push(pairs.deathPixel[i] as number);
  }
  return { values, pixels };
}

/** What a TopoGAN loss returns besides the scalar. */
export interface TopoGanMatch {
  /** matched[i] = index in the real pool of the diagram generated sample i was matched to (argmax of its row of the plan). */
  matched: Int32Array;
  /** distances[i] = W₁ on births between sample i and its match. */
  distances: Float64Array;
}

function checkPool(realBirths: ReadonlyArray<ArrayLike<number>>): void {
  check(Array.isArray(realBirths) && realBirths.length >= 1, 'realBirths', realBirths, 'a non-empty list of birth-time lists (the real pool)');
  realBirths.forEach((b, j) => {
    check(b !== null && typeof b === 'object' && typeof b.length === 'number', `realBirths[${j}]`, b, 'a list of numbers');
    for (let k = 0; k < b.length; k++) if (!(Number.isFinite(b[k]))) check(false, `realBirths[${j}][${k}]`, b[k], 'a finite number');
  });
}

/** Births of a diagram, finite pairs first then essential ones (the order the bridge's tensors use). */
function birthsOf(pairs: PersistencePairs): { values: number[]; pixels: number[] } {
  const fin: number[] = [];
  const ess: number[] = [];
  for (let i = 0; i < pairs.size; i++) ((pairs.deathPixel[i] as number) >= 0 ? fin : ess).push(i);
  const order = [...fin, ...ess];
  return { values: order.map((i) => pairs.birth[i] as number), pixels: order.map((i) => pairs.birthPixel[i] as number) };
}

/** Batch-to-pool matching (eq. 5): OT with uniform marginals on the W₁-on-births cost, then argmax per row. */
function matchToPool(fakeBirths: number[][], realBirths: ReadonlyArray<ArrayLike<number>>): TopoGanMatch & { plans: TransportEntry[][] } {
  const n = fakeBirths.length;
  const m = realBirths.length;
  const cost = new Float64Array(n * m);
  // n·m distances a step (64 × 200 for the paper's batch and pool): each list is sorted once, not once per pair.
  const fake = fakeBirths.map((v) => Float64Array.from(v).sort());
  const real = realBirths.map((v) => Float64Array.from(v).sort());
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) cost[i * m + j] = sortedWasserstein1D(fake[i] as Float64Array, real[j] as Float64Array);
  const { plan } = uniformTransport(cost, n, m);
  const matched = new Int32Array(n);
  const distances = new Float64Array(n);
  const plans: TransportEntry[][] = [];
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < m; j++) if ((plan[i * m + j] as number) > (plan[i * m + best] as number)) best = j;
    matched[i] = best;
    const w = uniformWasserstein1D(fakeBirths[i] as number[], realBirths[best] as ArrayLike<number>);
    distances[i] = w.distance;
    plans.push(w.plan);
  }
  return { matched, distances, plans };
}

/**
 * The pixel of `height × width` nearest to (r, c) among those `accept` takes,
 * the first in raster order among equally near ones (as a scan of the whole
 * image finds it), or −1. Searches boxes around (r, c), from radius `radius`
 * up: a box of radius ρ holds every pixel within distance ρ, so once the best
 * in a box is that near, no pixel outside can be nearer or tie.
 */
export function nearestPixel(r: number, c: number, height: number, width: number, accept: (q: number) => boolean, radius: number): number {
  let rho = Math.max(1, Math.ceil(radius));
  for (;;) {
    let best = -1;
    let bestD = Infinity;
    const r0 = Math.max(0, r - rho);
    const r1 = Math.min(height - 1, r + rho);
    const c0 = Math.max(0, c - rho);
    const c1 = Math.min(width - 1, c + rho);
    for (let qr = r0; qr <= r1; qr++)
      for (let qc = c0; qc <= c1; qc++) {
        const q = qr * width + qc;
        if (!accept(q)) continue;
        const d = (qr - r) ** 2 + (qc - c) ** 2;
        if (d < bestD) [best, bestD] = [q, d];
      }
    const whole = r0 === 0 && c0 === 0 && r1 === height - 1 && c1 === width - 1;
    if (whole || bestD <= rho * rho) return best;
    rho = Number.isFinite(bestD) ? Math.ceil(Math.sqrt(bestD)) : 2 * rho;
  }
}

/**
 * TopoGAN's topological loss on filtration tensors: L = Σᵢ W₁(dgmᵢ, π*(dgmᵢ)).
 *
 * - `filtrations` `[n, height, width]`: one filtration per generated sample (e.g. the
 *   distance transform of its mask, {@link maskFiltration}); sublevel persistence
 *   of dimension `dim` is taken.
 * - `realBirths`: the pool of real diagrams, as their birth times.
 * - W₁ on births is the 1-D Wasserstein distance between uniform measures on the
 *   birth times (the released code's `wasserstein_1d`); π* maps each generated
 *   diagram to the argmax of its row of the uniform-marginal OT plan (eq. 5).
 * The loss's gradient reaches each birth pixel: ∂L/∂bₓ = Σⱼ γₓⱼ sign(bₓ − b′ⱼ), and
 * nothing reaches deaths (paper §3.2).
 */
export function topoGanLoss(filtrations: tf.Tensor, realBirths: ReadonlyArray<ArrayLike<number>>, options: TopoGanLossOptions = {}): TopoGanMatch & { loss: tf.Scalar } {
  check(filtrations instanceof tf.Tensor && filtrations.rank === 3, 'filtrations', filtrations, 'a rank-3 tensor [n, height, width]');
  checkPool(realBirths);
  const dim = options.dim ?? 1;
  const [n, height, width] = filtrations.shape as [number, number, number];
  const size = height * width;
  const all = filtrations.dataSync() as Float32Array;
  const values: number[][] = [];
  const pixels: number[][] = [];
  for (let i = 0; i < n; i++) {
    const opts = { construction: options.construction ?? 'T', dims: [dim] } as const;
    const b = birthsOf(cubicalPersistence(all.subarray(i * size, (i + 1) * size), [height, width], opts).diagrams[dim] as PersistencePairs);
    values.push(b.values);
    pixels.push(b.pixels.map((p) => p + i * size)); // flat indices into the whole batch
  }
  const match = matchToPool(values, realBirths);
  // Each birth is gathered from its pixel, so the gradient lands there (no unstack: its gradient needs every slice).
  const loss = tf.tidy(() => {
    const flat = tf.reshape(filtrations, [n * size]);
    const terms = match.plans.map((plan, i) => {
      if (plan.length === 0) return tf.scalar(0);
      const target = realBirths[match.matched[i] as number] as ArrayLike<number>;
      const moved = tf.gather(flat, tf.tensor1d(plan.map((e) => (pixels[i] as number[])[e.i] as number), 'int32'));
      const to = tf.tensor1d(plan.map((e) => target[e.j] as number));
      return tf.sum(tf.mul(tf.tensor1d(plan.map((e) => e.mass)), tf.abs(tf.sub(moved, to))));
    });
    return tf.addN(terms) as tf.Scalar;
  });
  return { loss, matched: match.matched, distances: match.distances };
}

/**
 * Births of the TopoGAN diagram of a grey-level mask (binarise, frame, distance
 * transform, sublevel PH): use it to precompute the real pool. With `project:
 * 'death'` (the default for dim 0), the deaths of its finite pairs instead.
 */
export function topoGanBirths(data: ArrayLike<number>, shape: readonly number[], options: MaskFiltrationOptions & TopoGanLossOptions = {}): number[] {
  const project = topoGanProjection(options);
  const f = maskFiltration(data as Float64Array, shape, options);
  const dim = options.dim ?? 1;
  const pairs = cubicalPersistence(f.values, [f.height, f.width], { construction: options.construction ?? 'T', dims: [dim] }).diagrams[dim] as PersistencePairs;
  return (project === 'birth' ? birthsOf(pairs) : deathsOf(pairs)).values;
}

/** 8-connected component labels of the zero pixels of `mask` (−1 elsewhere). */
function zeroLabels(mask: Float64Array, height: number, width: number): Int32Array {
  const labels = new Int32Array(mask.length).fill(-1);
  const stack: number[] = [];
  let next = 0;
  for (let p = 0; p < mask.length; p++) {
    if (mask[p] !== 0 || (labels[p] as number) >= 0) continue;
    labels[p] = next;
    stack.push(p);
    while (stack.length > 0) {
      const q = stack.pop() as number;
      const r = Math.floor(q / width);
      const c = q - r * width;
      for (let dr = -1; dr <= 1; dr++)
        for (let dc = -1; dc <= 1; dc++) {
          const rr = r + dr;
          const cc = c + dc;
          if (rr < 0 || cc < 0 || rr >= height || cc >= width) continue;
          const k = rr * width + cc;
          if (mask[k] === 0 && (labels[k] as number) < 0) {
            labels[k] = next;
            stack.push(k);
          }
        }
    }
    next++;
  }
  return labels;
}

/** Pixels of the digital segment from `a` to `b` (Bresenham), `a` included, `b` excluded. */
function segment(a: [number, number], b: [number, number]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let [r, c] = a;
  const dr = Math.abs(b[0] - r);
  const dc = Math.abs(b[1] - c);
  const sr = r < b[0] ? 1 : -1;
  const sc = c < b[1] ? 1 : -1;
  let err = dc - dr;
  while (r !== b[0] || c !== b[1]) {
    out.push([r, c]);
    const e2 = 2 * err;
    if (e2 > -dr) {
      err -= dr;
      c += sc;
    }
    if (e2 < dc) {
      err += dc;
      r += sr;
    }
  }
  return out;
}

/**
 * TopoGAN's loss on generated grey-level masks `[n, height, width]` (e.g. tanh
 * outputs), with the paper's pixel-moving gradient.
 *
 * Value: Σᵢ W₁ on births between the dimension-`dim` diagram of sample i's
 * {@link maskFiltration} (binarise at `threshold`, default 0; zero frame; distance
 * transform) and its matched real diagram, exactly as {@link topoGanLoss}.
 *
 * Gradient: the distance transform of a thresholded mask is piecewise constant in
 * the generator's output, so (paper §3.2) the birth gradient gₓ = Σⱼ γₓⱼ sign(bₓ − b′ⱼ)
 * of each point is sent to pixels near its saddle s (paper: "change a few pixels
 * near r", r the background pixel nearest to s). gₓ > 0: to the digital segment
 * [s, r), so a descent step lowers them toward the background, which closes the
 * gap and lowers the birth. gₓ < 0: to r itself (s for a true hole), so a descent
 * step raises it to foreground and the birth grows. Frame pixels get nothing.
 * With `project: 'death'` (dim 0: background components that merge at a saddle
 * of the distance transform) the same rule acts on each death pixel, and a
 * lowering push also bridges it to the nearest pixel of the other component.
 * This is a surrogate, not a derivative.
 */
export function topoGanMaskLoss(generated: tf.Tensor, realBirths: ReadonlyArray<ArrayLike<number>>, options: MaskFiltrationOptions & TopoGanLossOptions = {}): TopoGanMatch & { loss: tf.Scalar } {
  check(generated instanceof tf.Tensor && generated.rank === 3, 'generated', generated, 'a rank-3 tensor [n, height, width]');
  checkPool(realBirths);
  const [n, height, width] = generated.shape as [number, number, number];
  const dim = options.dim ?? 1;
  const project = topoGanProjection(options);
  const frame = options.frame ?? 1;
  const all = generated.dataSync();
  const births: number[][] = [];
  const saddles: number[][] = [];
  const masks: Float64Array[] = [];
  const fields: Float64Array[] = [];
  const paddedWidth = width + 2 * frame;
  const paddedHeight = height + 2 * frame;
  for (let i = 0; i < n; i++) {
    const img = all.subarray(i * height * width, (i + 1) * height * width) as Float32Array;
    const f = maskFiltration(img, [height, width], options);
    const pairs = cubicalPersistence(f.values, [f.height, f.width], { construction: options.construction ?? 'T', dims: [dim] }).diagrams[dim] as PersistencePairs;
    const b = project === 'birth' ? birthsOf(pairs) : deathsOf(pairs);
    births.push(b.values);
    saddles.push(b.pixels);
    masks.push(padFrame(f.mask, height, width, frame, 0).data);
    fields.push(f.values);
  }
  const match = matchToPool(births, realBirths);
  const grad = new Float32Array(n * height * width);
  for (let i = 0; i < n; i++) {
    const target = realBirths[match.matched[i] as number] as ArrayLike<number>;
    const mask = masks[i] as Float64Array;
    const labels = project === 'death' ? zeroLabels(mask, height + 2 * frame, paddedWidth) : undefined;
    for (const e of match.plans[i] as TransportEntry[]) {
      const g = e.mass * Math.sign(((births[i] as number[])[e.i] as number) - (target[e.j] as number));
      if (g === 0) continue;
      const s = (saddles[i] as number[])[e.i] as number;
      const sr = Math.floor(s / paddedWidth);
      const sc = s - sr * paddedWidth;
      // The nearest background pixel lies at the distance transform's value at s (+1 against rounding).
      const best = nearestPixel(sr, sc, paddedHeight, paddedWidth, (q) => mask[q] === 0, ((fields[i] as Float64Array)[s] as number) + 1);
      if (best < 0) continue;
      const br = Math.floor(best / paddedWidth);
      const bc = best - br * paddedWidth;
      // g > 0 (lower the birth): turn the pixels from the saddle to the background into background.
      // g < 0 (raise it): turn the nearest background pixel (the saddle itself for a true hole) into foreground.
      const pixels = g > 0 ? segment([sr, sc], [br, bc]) : [[br, bc] as [number, number]];
      if (labels && g > 0) {
        // A death of dim 0 is where two background components meet: bridge s to the nearest pixel of the other one too.
        const own = labels[best];
        const other = nearestPixel(sr, sc, paddedHeight, paddedWidth, (q) => mask[q] === 0 && labels[q] !== own, 4);
        if (other >= 0) pixels.push(...segment([sr, sc], [Math.floor(other / paddedWidth), other % paddedWidth]).slice(1));
      }
      for (const [r, c] of pixels) {
        const rr = r - frame;
        const cc = c - frame;
        if (rr < 0 || rr >= height || cc < 0 || cc >= width) continue;
        grad[i * height * width + rr * width + cc] += g;
      }
    }
  }
  const total = match.distances.reduce((a, b) => a + b, 0);
  const op = tf.customGrad((...inputs: Array<tf.Tensor | unknown>) => {
    const x = inputs[0] as tf.Tensor;
    return { value: tf.scalar(total), gradFunc: (dy: tf.Scalar) => tf.mul(dy, tf.tensor(grad, x.shape)) };
  });
  return { loss: op(generated) as tf.Scalar, matched: match.matched, distances: match.distances };
}

/** Options of {@link bettiLoss}. */
export interface BettiLossOptions {
  /** Default `T`. */
  construction?: Construction;
  /** Where essential bars of the superlevel filtration are cut (the bottom of the likelihood range); default 0. */
  floor?: number;
}

/**
 * Betti-number loss of Clough et al. (2019, "A topological loss function for deep-
 * learning based image segmentation using persistent homology"), on the
 * superlevel filtration of a likelihood map `[height, width]` in [0, 1]:
 * for each dimension k with a target β*ₖ, the bars sorted by length ℓ = birth − death
 * give Lₖ = Σ_{l ≤ β*ₖ} (1 − ℓₗ²) + Σ_{l > β*ₖ} ℓₗ²: the β*ₖ longest bars are pushed to
 * full length, every other bar to zero. Essential bars are cut at `floor`; a bar
 * the map lacks counts as length 0.
 * Gradients reach the birth and death pixels of each bar.
 */
export function bettiLoss(likelihood: tf.Tensor, target: Partial<Record<HomologyDim, number>>, options: BettiLossOptions = {}): tf.Scalar {
  check(likelihood instanceof tf.Tensor && likelihood.rank === 2, 'likelihood', likelihood, 'a rank-2 tensor [height, width]');
  const dims = Object.keys(target).map(Number) as HomologyDim[];
  check(dims.length > 0 && dims.every((d) => (d === 0 || d === 1) && Number.isInteger(target[d]) && (target[d] as number) >= 0), 'target', target, 'Betti numbers by dimension, e.g. {0: 1, 1: 2} (integers ≥ 0)');
  const floor = options.floor ?? 0;
  check(Number.isFinite(floor), 'floor', floor, 'a finite number');
  return tf.tidy(() => {
    const terms: tf.Scalar[] = [];
    for (const k of dims) {
      const t = diagramTensors(likelihood, k, { construction: options.construction ?? 'T', filtration: 'superlevel' });
      const lengths = tf.concat([tf.sub(t.birth, t.death), tf.sub(t.essentialBirth, floor)]) as tf.Tensor1D;
      const values = lengths.dataSync();
      const order = Array.from(values.keys()).sort((a, b) => (values[b] as number) - (values[a] as number) || a - b);
      const keep = order.slice(0, target[k] as number);
      const drop = order.slice(target[k] as number);
      if (keep.length > 0) terms.push(tf.sum(tf.sub(1, tf.square(tf.gather(lengths, tf.tensor1d(keep, 'int32'))))));
      if (drop.length > 0) terms.push(tf.sum(tf.square(tf.gather(lengths, tf.tensor1d(drop, 'int32')))));
      // Bars the map lacks count as length 0: each adds 1 − 0² (no gradient can create them).
      if (keep.length < (target[k] as number)) terms.push(tf.scalar((target[k] as number) - keep.length));
    }
    return (terms.length > 0 ? tf.addN(terms) : tf.scalar(0)) as tf.Scalar;
  });
}
