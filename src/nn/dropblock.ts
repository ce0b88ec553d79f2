/**
 * DropBlock (Ghiasi, Lin & Le, NeurIPS 2018) as RFS's ResNet-12 uses it in
 * stages 3–4: in training, zero square blocks of each feature map instead of
 * single units, then rescale by numel / kept. RFS's schedule ramps the drop
 * rate linearly: keep = max(1 − dropRate · step / rampSteps, 1 − dropRate),
 * with rampSteps = 20·2000 and `step` the layer's training calls so far;
 * γ = (1 − keep) / b² · (h·w) / ((h − b + 1)(w − b + 1)) is the probability of
 * a block's top-left corner. Inference passes inputs through unchanged.
 */
import { createRng, tf, type Rng } from '../engine/core.js';
import { check } from '../errors.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Record<string, unknown> | undefined;

/** Options of {@link DropBlock}. */
export interface DropBlockArgs extends LayerArgs {
  /** Side of the dropped squares; default 5 (RFS on 84-pixel images; 2 on 32-pixel ones). Clamped to the feature map. */
  blockSize?: number;
  /** Final drop rate; default 0.1 (RFS). */
  dropRate?: number;
  /** Training calls over which the rate ramps from 0 to `dropRate`; default 40000 (RFS: 20 · 2000). */
  rampSteps?: number;
  /** Seed of the block masks. */
  seed?: number;
}

/** A tfjs layer (NHWC) that drops blocks in training; see the module comment. Round-trips through `model.save()`; the ramp restarts at 0 after loading. */
export class DropBlock extends tf.layers.Layer {
  static className = 'DropBlock';
  readonly blockSize: number;
  readonly dropRate: number;
  readonly rampSteps: number;
  readonly seed: number;
  /** Training calls so far (RFS: the block's `num_batches_tracked`). */
  step = 0;
  private readonly rng: Rng;

  constructor(args: DropBlockArgs = {}) {
    super(args);
    const { blockSize = 5, dropRate = 0.1, rampSteps = 40000, seed = 0 } = args;
    check(Number.isInteger(blockSize) && blockSize >= 1, 'blockSize', blockSize, 'a positive integer');
    check(typeof dropRate === 'number' && dropRate >= 0 && dropRate < 1, 'dropRate', dropRate, 'a number in [0, 1)');
    check(typeof rampSteps === 'number' && rampSteps >= 0, 'rampSteps', rampSteps, 'a non-negative number');
    check(Number.isInteger(seed) && seed >= 0, 'seed', seed, 'a non-negative integer');
    this.blockSize = blockSize;
    this.dropRate = dropRate;
    this.rampSteps = rampSteps;
    this.seed = seed;
    this.rng = createRng(seed);
  }

  /** The keep rate at training call `step` under RFS's linear ramp. */
  keepRate(step = this.step): number {
    if (this.rampSteps === 0) return 1 - this.dropRate;
    return Math.max(1 - (this.dropRate / this.rampSteps) * step, 1 - this.dropRate);
  }

  /**
   * Advances the ramp and the mask stream as `calls` training calls would,
   * without computing anything: a resumed training run continues the same
   * masks and keep rate as an uninterrupted one.
   */
  fastForward(calls: number): void {
    check(Number.isInteger(calls) && calls >= 0, 'calls', calls, 'a non-negative integer');
    if (this.dropRate === 0) return;
    for (let i = 0; i < calls; i++) {
      const keep = this.keepRate();
      this.step++;
      if (keep < 1) this.rng.seedInt();
    }
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    if (kwargs?.training !== true || this.dropRate === 0) return tf.clone(x);
    const keep = this.keepRate();
    this.step++;
    if (keep >= 1) return tf.clone(x);
    const [n, h, w, c] = x.shape;
    const b = Math.min(this.blockSize, h, w);
    const gamma = ((1 - keep) / (b * b)) * ((h * w) / ((h - b + 1) * (w - b + 1)));
    const seed = this.rng.seedInt();
    return tf.tidy(() => {
      const corners = tf.cast(tf.less(tf.randomUniform([n, h - b + 1, w - b + 1, c], 0, 1, 'float32', seed), gamma), 'float32') as tf.Tensor4D;
      // Each corner marks the b×b block below and to its right: pad b − 1 on every side, then a b×b max.
      const blocks = b > 1 ? tf.maxPool(tf.pad(corners, [[0, 0], [b - 1, b - 1], [b - 1, b - 1], [0, 0]]), b, 1, 'valid') : corners;
      const keepMask = tf.sub(1, blocks);
      const kept = tf.sum(keepMask);
      const scale = tf.div(tf.scalar(keepMask.size), tf.maximum(kept, 1));
      return tf.mul(tf.mul(x, keepMask), scale);
    });
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), blockSize: this.blockSize, dropRate: this.dropRate, rampSteps: this.rampSteps, seed: this.seed };
  }
}

tf.serialization.registerClass(DropBlock);
