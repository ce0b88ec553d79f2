/**
 * Spectral normalisation (Miyato et al., ICLR 2018) as a tfjs layer wrapper,
 * with an optional Lipschitz bound k (W·k/σ, the `factor` of the SNGAN code),
 * and a power-iteration estimate of a matrix's largest singular value.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;
type Kwargs = Parameters<tf.layers.Layer['call']>[1];

/** Options of {@link SpectralNorm}. */
export interface SpectralNormArgs extends LayerArgs {
  /** The layer whose `kernel` is normalised: dense, conv1d/2d/3d or conv2dTranspose (any layer that reads a weight named `kernel`). */
  layer: tf.layers.Layer;
  /** Lipschitz bound k of the wrapped linear map: the kernel used is k·W/σ(W). Default 1. */
  bound?: number;
  /** Seed of the random-normal initial u (default 0). */
  seed?: number;
}

/** Guard of the normalisation in the power iteration (the reference implementations' eps). */
const POWER_EPS = 1e-12;

function normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.add(tf.norm(x), POWER_EPS));
}

/** A tensor holding `x`'s values with no link to the gradient tape. */
function constantCopy(x: tf.Tensor): tf.Tensor {
  return tf.tensor(x.dataSync(), x.shape, 'float32');
}

/** The kernel viewed as a 2-D matrix [∏ other dims, last dim] (tfjs layout: W of the paper transposed; σ is the same). */
function kernelMatrix(kernel: tf.Tensor): tf.Tensor2D {
  const cols = kernel.shape[kernel.shape.length - 1] as number;
  return tf.reshape(kernel, [-1, cols]);
}

/**
 * Wraps a layer so that its kernel W is replaced by k·W/σ(W) in every call,
 * σ(W) being the largest singular value estimated by power iteration:
 *
 * - a persistent, non-trainable vector u (random-normal, saved with the model)
 *   holds the current estimate of the top right-singular vector of the
 *   reshaped kernel M = reshape(W, [−1, out]);
 * - each call with `training: true` runs one power iteration outside the
 *   gradient (v = M u/‖M u‖, u ← Mᵀv/‖Mᵀv‖) and stores the new u;
 * - σ = vᵀ M u is computed with the gradient flowing through W while u and v
 *   are held constant (stop-gradient), as in PyTorch, TF-GAN and Chainer;
 * - at inference (`training` false or absent, e.g. `predict`) u is not updated.
 *
 * Biases are not normalised. The wrapper is registered with tfjs
 * serialisation, so `model.save` / `tf.loadLayersModel` round-trip it with u.
 */
export class SpectralNorm extends tf.layers.Layer {
  static className = 'SpectralNorm';
  readonly layer: tf.layers.Layer;
  readonly bound: number;
  readonly seed: number;
  private u: tf.LayerVariable | undefined;

  constructor(args: SpectralNormArgs) {
    const { layer, bound, seed, ...base } = args;
    // An input shape given to the wrapped layer belongs to the wrapper, which is what a Sequential model sees first.
    const inner = (layer as unknown as { batchInputShape?: tf.Shape } | undefined)?.batchInputShape;
    super(base.inputShape === undefined && base.batchInputShape === undefined && inner !== undefined ? { ...base, batchInputShape: inner } : base);
    if (!(layer instanceof tf.layers.Layer)) throw new EccvkitInputError('layer', layer, 'a tfjs layer with a kernel (dense, conv2d, conv2dTranspose, …)');
    check(bound === undefined || (Number.isFinite(bound) && bound > 0), 'bound', bound, 'a positive number (the Lipschitz bound k)');
    check(seed === undefined || Number.isInteger(seed), 'seed', seed, 'an integer');
    this.layer = layer;
    this.bound = bound ?? 1;
    this.seed = seed ?? 0;
  }

  private kernelVariable(): tf.LayerVariable {
    const kernel = this.layer.trainableWeights.concat(this.layer.nonTrainableWeights).find((w) => /(^|\/)kernel(_\d+)?$/.test(w.originalName));
    if (kernel === undefined) {
      throw new EccvkitInputError('layer', this.layer.getClassName(), 'a layer with a weight named "kernel" (dense, conv1d, conv2d, conv3d, conv2dTranspose)');
    }
    return kernel;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    if (!this.layer.built) {
      this.layer.build(inputShape);
      this.layer.built = true;
    }
    const kernel = this.kernelVariable();
    const out = kernel.shape[kernel.shape.length - 1] as number;
    this.u = this.addWeight('sn_u', [out], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: createRng(this.seed).seedInt() }), undefined, false);
    this.built = true;
  }

  // The wrapped layer's weights are the wrapper's (tfjs's Wrapper does the same); `trainable = false`
  // on the wrapper freezes them, as it does for a plain layer. The base constructor reads these before `layer` is set.
  override get trainableWeights(): tf.LayerVariable[] {
    return this.layer === undefined || !this.trainable ? [] : this.layer.trainableWeights;
  }

  override get nonTrainableWeights(): tf.LayerVariable[] {
    const own = super.nonTrainableWeights;
    if (this.layer === undefined) return own;
    return (this.trainable ? this.layer.nonTrainableWeights : this.layer.trainableWeights.concat(this.layer.nonTrainableWeights)).concat(own);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return this.layer.computeOutputShape(inputShape);
  }

  /** k·W/σ(W), updating u first when `training`. */
  normalizedKernel(training: boolean): tf.Tensor {
    const u = this.u;
    if (u === undefined) throw new Error(`SpectralNorm ${this.name} used before build`);
    const kernel = this.kernelVariable().read();
    return tf.tidy(() => {
      const m = kernelMatrix(kernel);
      // One power iteration whose results are copied into fresh tensors: tfjs
      // has no stop-gradient op, and a copy has no path back to W, so σ's
      // gradient treats u and v as constants. The copies are vectors (one
      // entry per input or output unit), so the read-back is cheap.
      const [uNew, v] = tf.tidy(() => {
        const uOld = tf.reshape(u.read(), [-1, 1]);
        const vNext = normalize(tf.matMul(m, uOld));
        const uNext = training ? normalize(tf.matMul(m, vNext, true, false)) : uOld;
        return [constantCopy(uNext), constantCopy(vNext)];
      });
      if (training) u.write(tf.reshape(uNew, [-1]));
      const sigma = tf.sum(tf.mul(v, tf.matMul(m, uNew)));
      return tf.mul(kernel, tf.div(this.bound, sigma));
    });
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    return tf.tidy(() => {
      const training = kwargs?.training === true;
      const kernelVar = this.kernelVariable();
      const normalized = this.normalizedKernel(training);
      // The wrapped layer reads its kernel through LayerVariable.read(); for the
      // duration of this call that read returns k·W/σ, so its own op, padding,
      // strides and activation apply unchanged and gradients reach W through σ.
      const original = kernelVar.read.bind(kernelVar);
      kernelVar.read = () => normalized as tf.Variable;
      try {
        return this.layer.call(inputs, kwargs);
      } finally {
        kernelVar.read = original;
      }
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      bound: this.bound,
      seed: this.seed,
      layer: { className: this.layer.getClassName(), config: this.layer.getConfig() },
    };
  }

  static override fromConfig<T extends tf.serialization.Serializable>(cls: tf.serialization.SerializableConstructor<T>, config: tf.serialization.ConfigDict): T {
    const inner = config.layer as { className: string; config: tf.serialization.ConfigDict };
    const entry = tf.serialization.SerializationMap.getMap().classNameMap[inner.className];
    if (entry === undefined) throw new EccvkitInputError('layer.className', inner.className, 'a registered tfjs layer class');
    const [innerCls, innerFromConfig] = entry;
    const layer = innerFromConfig(innerCls, inner.config) as unknown as tf.layers.Layer;
    const rest = { ...config };
    delete rest.layer;
    return new cls({ ...rest, layer } as unknown as tf.serialization.ConfigDict);
  }
}
tf.serialization.registerClass(SpectralNorm);

/** Wraps `layer` in {@link SpectralNorm} (bound k = 1 unless given). */
export function spectralNorm(layer: tf.layers.Layer, options: Omit<SpectralNormArgs, 'layer'> = {}): SpectralNorm {
  return new SpectralNorm({ ...options, layer });
}

/**
 * The largest singular value of `weight` (reshaped to [−1, last dim] when not
 * 2-D) by `iterations` power iterations from a seeded random start. The
 * estimate increases monotonically towards σ₁; its error shrinks like
 * (σ₂/σ₁)^(2·iterations).
 */
export function estimateSpectralNorm(weight: tf.Tensor, iterations = 50, seed = 0): number {
  check(weight instanceof tf.Tensor && weight.rank >= 1, 'weight', weight, 'a tensor of rank ≥ 1');
  check(Number.isInteger(iterations) && iterations >= 1, 'iterations', iterations, 'an integer ≥ 1');
  const sigma = tf.tidy(() => {
    const m = kernelMatrix(weight.rank === 1 ? tf.reshape(weight, [1, -1]) : weight);
    let u = normalize(tf.randomNormal([m.shape[1], 1], 0, 1, 'float32', createRng(seed).seedInt()));
    let v = normalize(tf.matMul(m, u));
    for (let i = 1; i < iterations; i++) {
      u = normalize(tf.matMul(m, v, true, false));
      v = normalize(tf.matMul(m, u));
    }
    return tf.norm(tf.matMul(m, u));
  });
  const value = sigma.dataSync()[0] as number;
  sigma.dispose();
  return value;
}
