/**
 * TopoGAN's generator term (Wang et al., ECCV 2020, eqs. 2–5): λ_topo·L_topo,
 * where the diagrams of the real masks are computed once, each step draws a
 * random subset of them (`pd_subset_rate`), the batch of generated diagrams is
 * matched to that subset by optimal transport with uniform marginals (eq. 5),
 * and each generated diagram pays the W₁ on birth times (eq. 3; deaths for
 * dim 0) to its match, with the gradient sent to the pixels near each critical
 * cell ({@link topoGanMaskLoss}).
 */
import { createRng } from '../engine/core.js';
import { tf } from '../engine/core.js';
import { check } from '../errors.js';
import type { HomologyDim } from './cubical.js';
import { topoGanBirths, topoGanMaskLoss, topoGanProjection, type TopoGanMatch } from './losses.js';

/** Options of {@link TopoGanTerm}. */
export interface TopoGanTermOptions {
  /** λ_topo, the term's weight in the generator's loss; default 1. */
  weight?: number;
  /** Homology dimension: 1 (cycles: membranes, roads; default) or 0 (components: vessels). */
  dim?: HomologyDim;
  /** Coordinate compared: default `birth` for dim 1, `death` for dim 0 (see `TopoGanLossOptions.project`). */
  project?: 'birth' | 'death';
  /** Fraction of the real diagrams drawn each step (`pd_subset_rate`: 0.1 CREMI, 0.5 ISBI); default 0.1; at least one diagram is drawn. */
  subsetRate?: number;
  /**
   * Which value is the structure whose holes are counted: `high` (default:
   * eccvkit's masks, membranes/vessels/roads = 1, generator output +1) or `low`
   * (TopoGAN's CREMI convention, dark membranes). The filtration's zero set
   * (TopoGAN §3.1) is the structure, with a frame of structure around the image.
   */
  structure?: 'high' | 'low';
  /** Seed of the subset draws (the draw of step t depends on (seed, t) only); default 0. */
  seed?: number;
  /** Frame width padded around each mask; default 1. */
  frame?: number;
}

/** What {@link TopoGanTerm.loss} returns. */
export interface TopoGanStep extends TopoGanMatch {
  /** λ_topo·L_topo, differentiable with respect to the generated images. The caller owns it. */
  loss: tf.Scalar;
  /** L_topo (unweighted), as a number. */
  value: number;
  /** Indices into the real pool of the diagrams drawn this step; `matched` indexes the real masks (not the subset). */
  subset: Int32Array;
  /** Milliseconds spent off the tensor path (reading the batch, persistence, transport, the pixel gradient). */
  persistenceMs: number;
}

/** A 32-bit bijective mix (murmur3's finaliser). */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * TopoGAN's topological term for a generator of masks. Construct it once from
 * the real masks (values in [0, 1], `[N, H, W]` or `[N, H, W, 1]`); call
 * {@link TopoGanTerm.loss} on each generated batch (tanh outputs in [−1, 1],
 * `[n, H, W]` or `[n, H, W, 1]`) and add the returned scalar to the generator's loss.
 */
export class TopoGanTerm {
  readonly weight: number;
  readonly dim: HomologyDim;
  readonly project: 'birth' | 'death';
  readonly subsetRate: number;
  readonly structure: 'high' | 'low';
  readonly seed: number;
  readonly frame: number;
  readonly height: number;
  readonly width: number;
  /** The real pool: per real mask, the births (or deaths) of its diagram. */
  readonly pool: number[][];
  /** Diagrams drawn per step. */
  readonly subsetSize: number;

  constructor(realMasks: ArrayLike<number>, shape: readonly number[], options: TopoGanTermOptions = {}) {
    check(Array.isArray(shape) && (shape.length === 3 || (shape.length === 4 && shape[3] === 1)) && shape.every((d) => Number.isInteger(d) && d >= 1), 'shape', shape, '[N, H, W] or [N, H, W, 1] with positive integers');
    const [n, h, w] = shape as [number, number, number];
    check(realMasks !== null && typeof realMasks === 'object' && realMasks.length === n * h * w, 'realMasks', realMasks, `${n} × ${h} × ${w} values (shape [${shape.join(', ')}])`);
    this.weight = options.weight ?? 1;
    check(Number.isFinite(this.weight) && this.weight >= 0, 'weight', options.weight, 'a number ≥ 0 (λ_topo)');
    this.dim = options.dim ?? 1;
    check(this.dim === 0 || this.dim === 1, 'dim', options.dim, '0 (components) or 1 (cycles)');
    this.project = topoGanProjection({ dim: this.dim, ...(options.project === undefined ? {} : { project: options.project }) });
    this.subsetRate = options.subsetRate ?? 0.1;
    check(Number.isFinite(this.subsetRate) && this.subsetRate > 0 && this.subsetRate <= 1, 'subsetRate', options.subsetRate, 'a fraction in (0, 1] (pd_subset_rate)');
    this.structure = options.structure ?? 'high';
    check(this.structure === 'high' || this.structure === 'low', 'structure', options.structure, "'high' or 'low'");
    this.seed = options.seed ?? 0;
    check(Number.isFinite(this.seed), 'seed', options.seed, 'a finite number');
    this.frame = options.frame ?? 1;
    check(Number.isInteger(this.frame) && this.frame >= 0, 'frame', options.frame, 'an integer ≥ 0');
    [this.height, this.width] = [h, w];
    const per = h * w;
    const flip = this.structure === 'high' ? -1 : 1;
    const pool: number[][] = [];
    const img = new Float64Array(per);
    let nonEmpty = 0;
    for (let i = 0; i < n; i++) {
      for (let p = 0; p < per; p++) {
        const v = realMasks[i * per + p] as number;
        if (!(v >= 0 && v <= 1)) check(false, `realMasks[${i * per + p}]`, v, 'a mask value in [0, 1]');
        img[p] = flip * (2 * v - 1);
      }
      const values = topoGanBirths(img, [h, w], { dim: this.dim, project: this.project, threshold: 0, frame: this.frame });
      if (values.length > 0) nonEmpty++;
      pool.push(values);
    }
    check(
      nonEmpty > 0,
      'realMasks',
      `${n} masks whose dimension-${this.dim} diagrams${this.project === 'death' ? ' (finite pairs)' : ''} are all empty`,
      `masks with ${this.dim === 1 ? 'cycles' : 'more than one component'} in dimension ${this.dim} (the topological loss would be zero); try the other --topo-dim`,
    );
    this.pool = pool;
    this.subsetSize = Math.max(1, Math.round(this.subsetRate * n));
  }

  /** The real diagrams drawn at step `step`: `subsetSize` distinct indices, from a stream seeded by (seed, step). */
  subsetAt(step: number): Int32Array {
    check(Number.isInteger(step) && step >= 0, 'step', step, 'an integer ≥ 0');
    const key = createRng(this.seed).nextUint32();
    const rng = createRng(fmix32((key + Math.imul(step, 0x9e3779b1)) >>> 0));
    return Int32Array.from(rng.sample(this.pool.length, this.subsetSize)).sort();
  }

  /**
   * λ_topo·L_topo of a generated batch against the real diagrams drawn at `step`
   * ({@link subsetAt}). The generated masks are binarised at 0 (tanh outputs).
   */
  loss(generated: tf.Tensor, step: number): TopoGanStep {
    check(
      generated instanceof tf.Tensor && (generated.rank === 3 || (generated.rank === 4 && generated.shape[3] === 1)) && generated.shape[1] === this.height && generated.shape[2] === this.width,
      'generated',
      generated,
      `a tensor [n, ${this.height}, ${this.width}] or [n, ${this.height}, ${this.width}, 1] (the real masks' size)`,
    );
    const subset = this.subsetAt(step);
    const pool = Array.from(subset, (j) => this.pool[j] as number[]);
    const t0 = performance.now();
    let persistenceMs = 0;
    let match: TopoGanMatch | undefined;
    const loss = tf.tidy(() => {
      const n = generated.shape[0] as number;
      const x = tf.reshape(generated, [n, this.height, this.width]);
      const oriented = this.structure === 'high' ? tf.neg(x) : x;
      const r = topoGanMaskLoss(oriented, pool, { dim: this.dim, project: this.project, threshold: 0, frame: this.frame });
      persistenceMs = performance.now() - t0;
      match = r;
      return tf.mul(r.loss, this.weight) as tf.Scalar;
    });
    const m = match as unknown as TopoGanMatch;
    return { loss, value: m.distances.reduce((a, b) => a + b, 0), matched: Int32Array.from(m.matched, (k) => subset[k] as number), distances: m.distances, subset, persistenceMs };
  }
}
