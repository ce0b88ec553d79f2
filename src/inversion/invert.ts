/**
 * GAN inversion by optimisation (In-Domain GAN Inversion, Zhu et al. 2020,
 * `invert.py` / `StyleGANInverter.invert`): per image, Adam on the code to minimise
 *
 *   L(w) = mean((x − G(w))²) + λ_feat·mean((F(x) − F(G(w)))²) + λ_dom·mean((w − E(G(w)))²)
 *
 * starting from E(x) (or the mean w, or a random code). λ_dom > 0 is the
 * domain-regularised ("in-domain") optimisation: the code must stay a fixed
 * point of E∘G, with gradients through both G and E; λ_dom = 0 is the plain
 * optimisation baseline (Image2StyleGAN when started from the mean w in W+).
 *
 * The loss of a batch is the sum of the images' losses, so every image's
 * code gets the gradient of its own loss only: results do not depend on the
 * batch size or on which images share a batch.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitInputError } from '../errors.js';
import type { StyleGenerator } from '../nn/style-gan.js';
import type { StyleEncoder } from './encoder.js';
import type { PerceptualFeatures } from './perceptual.js';

/** The reference's optimisation defaults (λ_feat rescaled to our F as the encoder's; see ENCODER_DEFAULTS). */
export const INVERSION_DEFAULTS = { iterations: 100, learningRate: 0.01, lambdaFeat: 0.5, lambdaDomain: 2, batchSize: 16 } as const;

/** Where the optimised variable lives: W+ (one w per layer), W (one w for all layers) or Z. */
export type InversionSpace = 'wplus' | 'w' | 'z';

/** Per image loss terms (unweighted) and the weighted total. */
export interface InversionLosses {
  total: Float32Array;
  mse: Float32Array;
  perceptual: Float32Array;
  domain: Float32Array;
}

/** Options of {@link inversionLoss}. */
export interface InversionLossOptions {
  encoder?: StyleEncoder;
  perceptual?: PerceptualFeatures;
  lambdaFeat?: number;
  lambdaDomain?: number;
  /** Weights [n or 1, H, W, 1] in [0, 1]: the pixel and perceptual terms see only mask·image (semantic diffusion). */
  mask?: tf.Tensor4D;
}

/**
 * The per image terms of L at W+ codes `codes` for targets `images` (both
 * tensors; differentiable in `codes`). With a mask the pixel term is the mean
 * over the masked pixels, and F sees mask·G(w) against mask·x.
 */
export function inversionLossTerms(generator: StyleGenerator, images: tf.Tensor4D, codes: tf.Tensor3D, options: InversionLossOptions = {}): { total: tf.Tensor1D; mse: tf.Tensor1D; perceptual: tf.Tensor1D; domain: tf.Tensor1D } {
  const lf = options.lambdaFeat ?? 0;
  const ld = options.lambdaDomain ?? 0;
  return tf.tidy(() => {
    const rec = generator.synthesis.apply(codes, { training: false }) as tf.Tensor4D;
    const n = images.shape[0];
    let mse: tf.Tensor1D;
    let a: tf.Tensor4D = rec;
    let b: tf.Tensor4D = images;
    if (options.mask) {
      const m = options.mask;
      const weight = tf.mul(tf.onesLike(images), m);
      mse = tf.div(tf.sum(tf.mul(tf.squaredDifference(rec, images), weight), [1, 2, 3]), tf.maximum(tf.sum(weight, [1, 2, 3]), 1e-8)) as tf.Tensor1D;
      a = tf.mul(rec, m);
      b = tf.mul(images, m);
    } else mse = tf.mean(tf.squaredDifference(rec, images), [1, 2, 3]) as tf.Tensor1D;
    const perceptual = lf > 0 && options.perceptual ? options.perceptual.distance(a, b) : (tf.zeros([n]) as tf.Tensor1D);
    const domain = ld > 0 && options.encoder ? (tf.mean(tf.squaredDifference(codes, options.encoder.model.apply(rec, { training: false }) as tf.Tensor), [1, 2]) as tf.Tensor1D) : (tf.zeros([n]) as tf.Tensor1D);
    let total: tf.Tensor = mse;
    if (lf > 0 && options.perceptual) total = tf.add(total, tf.mul(lf, perceptual));
    if (ld > 0 && options.encoder) total = tf.add(total, tf.mul(ld, domain));
    return { total: total as tf.Tensor1D, mse, perceptual, domain };
  });
}

/** Progress of {@link invert}: images done of total and the mean loss of the current batch. */
export type InversionProgress = (info: { images: number; total: number; iteration: number; iterations: number; loss: number }) => void;

/** Options of {@link invert}. */
export interface InvertOptions {
  /** The domain-guided encoder: the 'encoder' start and the domain term. */
  encoder?: StyleEncoder;
  /** Start: 'encoder' (E(x), the default with an encoder), 'mean' (the mean w; the default without), 'random' (mapping of a random z), or W+ codes [n, layers, wDim]. */
  init?: 'encoder' | 'mean' | 'random' | tf.Tensor3D;
  /** Adam steps per image (default 100; the paper's Table 1 used 1000). */
  iterations?: number;
  /** Adam learning rate (default 0.01). */
  learningRate?: number;
  perceptual?: PerceptualFeatures;
  /** Weight of the perceptual term (default 0.5 with `perceptual`, else 0). */
  lambdaFeat?: number;
  /** Weight of the domain term ‖w − E(G(w))‖² (default 2 with an encoder, else 0). */
  lambdaDomain?: number;
  /** Default 'wplus'. */
  space?: InversionSpace;
  /** Images optimised together (default 16; results do not depend on it). */
  batchSize?: number;
  /** Pixel weights for masked objectives (see {@link inversionLossTerms}). */
  mask?: tf.Tensor4D;
  /** Seed of the 'random' start. */
  seed?: number;
  onProgress?: InversionProgress;
}

/** What {@link invert} returns; the caller owns the tensors. */
export interface InversionResult {
  /** W+ codes [n, layers, wDim] (codes in W or Z are expanded to W+). */
  codes: tf.Tensor3D;
  /** The optimised variables themselves ([n, wDim] in W, [n, latentDim] in Z, as `codes` in W+). */
  latents: tf.Tensor;
  /** G(codes) in [−1, 1]. */
  reconstructions: tf.Tensor4D;
  /** Per image terms at the returned codes. */
  losses: InversionLosses;
  /** Wall-clock seconds per image. */
  secondsPerImage: number;
}

function checkImages(generator: StyleGenerator, images: tf.Tensor, argument: string): asserts images is tf.Tensor4D {
  const s = generator.imageSize;
  const c = generator.channels;
  check(images instanceof tf.Tensor && images.rank === 4 && images.shape[1] === s && images.shape[2] === s && images.shape[3] === c, argument, images, `images of shape [n, ${s}, ${s}, ${c}] (the generator's output)`);
  const [lo, hi] = tf.tidy(() => [tf.min(images).dataSync()[0] as number, tf.max(images).dataSync()[0] as number]);
  if (!(lo! >= -1 - 1e-6 && hi! <= 1 + 1e-6)) throw new EccvkitInputError(argument, `values in [${lo}, ${hi}]`, "the generator's range [−1, 1] (map [0, 1] images with 2x − 1)");
}

/** Validates {@link invert}'s options and resolves their defaults. */
function resolve(generator: StyleGenerator, images: tf.Tensor4D, options: InvertOptions) {
  const { encoder } = options;
  if (encoder) encoder.checkGenerator(generator, 'encoder');
  const space = options.space ?? 'wplus';
  check(space === 'wplus' || space === 'w' || space === 'z', 'space', space, "'wplus', 'w' or 'z'");
  const init = options.init ?? (encoder ? 'encoder' : 'mean');
  if (init instanceof tf.Tensor) {
    generator.checkCodes(init, 'init');
    check(init.shape[0] === images.shape[0], 'init', init, `one code per image (${images.shape[0]})`);
    check(space === 'wplus', 'space', space, "'wplus' when the start is given as W+ codes");
  } else {
    check(['encoder', 'mean', 'random'].includes(init), 'init', init, "'encoder', 'mean', 'random' or W+ codes");
    check(init !== 'encoder' || encoder !== undefined, 'init', init, "an encoder for the 'encoder' start (or init 'mean' / 'random')");
    check(!(init === 'encoder' && space === 'z'), 'init', init, "'mean' or 'random' in Z (an encoder gives W+ codes)");
  }
  const iterations = options.iterations ?? INVERSION_DEFAULTS.iterations;
  check(Number.isInteger(iterations) && iterations >= 0, 'iterations', options.iterations, 'an integer ≥ 0');
  const learningRate = options.learningRate ?? INVERSION_DEFAULTS.learningRate;
  check(Number.isFinite(learningRate) && learningRate > 0, 'learningRate', options.learningRate, 'a positive number');
  const lambdaFeat = options.lambdaFeat ?? (options.perceptual ? INVERSION_DEFAULTS.lambdaFeat : 0);
  check(Number.isFinite(lambdaFeat) && lambdaFeat >= 0, 'lambdaFeat', options.lambdaFeat, 'a number ≥ 0');
  check(lambdaFeat === 0 || options.perceptual !== undefined, 'perceptual', options.perceptual, 'perceptual features when lambdaFeat > 0');
  options.perceptual?.checkImageShape([generator.imageSize, generator.imageSize, generator.channels], 'perceptual');
  const lambdaDomain = options.lambdaDomain ?? (encoder ? INVERSION_DEFAULTS.lambdaDomain : 0);
  check(Number.isFinite(lambdaDomain) && lambdaDomain >= 0, 'lambdaDomain', options.lambdaDomain, 'a number ≥ 0');
  check(lambdaDomain === 0 || encoder !== undefined, 'lambdaDomain', lambdaDomain, '0 without an encoder (the domain term is ‖w − E(G(w))‖²)');
  const batchSize = options.batchSize ?? INVERSION_DEFAULTS.batchSize;
  check(Number.isInteger(batchSize) && batchSize >= 1, 'batchSize', options.batchSize, 'an integer ≥ 1');
  if (options.mask) {
    const m = options.mask;
    check(m instanceof tf.Tensor && m.rank === 4 && (m.shape[0] === 1 || m.shape[0] === images.shape[0]) && m.shape[1] === images.shape[1] && m.shape[2] === images.shape[2] && m.shape[3] === 1, 'mask', m, `weights of shape [1 or ${images.shape[0]}, ${images.shape[1]}, ${images.shape[2]}, 1]`);
  }
  return { encoder, space, init, iterations, learningRate, lambdaFeat, lambdaDomain, batchSize };
}

/**
 * Inverts `images` (NHWC in [−1, 1], the generator's shape) into the
 * generator's W+ space by Adam on each image's code; see the module comment
 * for the loss. Validates every option before any work.
 */
export function invert(generator: StyleGenerator, images: tf.Tensor4D, options: InvertOptions = {}): InversionResult {
  checkImages(generator, images, 'images');
  const o = resolve(generator, images, options);
  const n = images.shape[0];
  const rng = createRng(options.seed ?? 0);
  const start = performance.now();
  const latentParts: tf.Tensor[] = [];
  const toWPlus = (v: tf.Tensor): tf.Tensor3D =>
    o.space === 'wplus' ? (v as tf.Tensor3D) : o.space === 'w' ? generator.broadcast(v as tf.Tensor2D) : generator.broadcast(generator.mapping.apply(v, { training: false }) as tf.Tensor2D);
  for (let from = 0; from < n; from += o.batchSize) {
    const size = Math.min(o.batchSize, n - from);
    const x = tf.slice(images, [from, 0, 0, 0], [size, -1, -1, -1]);
    const mask = options.mask && options.mask.shape[0] > 1 ? tf.slice(options.mask, [from, 0, 0, 0], [size, -1, -1, -1]) : options.mask;
    const initial = tf.tidy(() => {
      if (o.init instanceof tf.Tensor) return tf.slice(o.init, [from, 0, 0], [size, -1, -1]);
      if (o.init === 'encoder') {
        const e = o.encoder!.encode(x);
        return o.space === 'w' ? tf.mean(e, 1) : e;
      }
      if (o.space === 'z') return o.init === 'mean' ? tf.zeros([size, generator.latentDim]) : tf.randomNormal([size, generator.latentDim], 0, 1, 'float32', rng.seedInt());
      const w = o.init === 'mean' ? tf.tile(tf.expandDims(generator.meanW(), 0), [size, 1]) : (generator.mapping.predict(tf.randomNormal([size, generator.latentDim], 0, 1, 'float32', rng.seedInt())) as tf.Tensor2D);
      return o.space === 'w' ? w : generator.broadcast(w as tf.Tensor2D);
    });
    const variable = tf.variable(initial, true);
    initial.dispose();
    const opt = tf.train.adam(o.learningRate);
    try {
      for (let it = 0; it < o.iterations; it++) {
        const loss = tf.tidy(() =>
          opt.minimize(
            () => tf.sum(inversionLossTerms(generator, x, toWPlus(variable), { encoder: o.encoder, perceptual: options.perceptual, lambdaFeat: o.lambdaFeat, lambdaDomain: o.lambdaDomain, ...(mask ? { mask } : {}) }).total) as tf.Scalar,
            true,
            [variable],
          )!,
        );
        if (options.onProgress && (it === o.iterations - 1 || it % 10 === 0)) options.onProgress({ images: from, total: n, iteration: it + 1, iterations: o.iterations, loss: (loss.dataSync()[0] as number) / size });
        loss.dispose();
      }
      latentParts.push(tf.clone(variable));
    } finally {
      opt.dispose();
      variable.dispose();
      x.dispose();
      if (mask && mask !== options.mask) mask.dispose();
    }
  }
  const latents = latentParts.length === 1 ? latentParts[0]! : tf.concat(latentParts, 0);
  if (latentParts.length > 1) tf.dispose(latentParts);
  const seconds = (performance.now() - start) / 1000;
  const codes = tf.tidy(() => (o.space === 'wplus' ? tf.clone(latents as tf.Tensor3D) : toWPlus(latents)));
  const { reconstructions, losses } = evaluateCodes(generator, images, codes, { encoder: o.encoder, perceptual: options.perceptual, lambdaFeat: o.lambdaFeat, lambdaDomain: o.lambdaDomain, ...(options.mask ? { mask: options.mask } : {}) }, o.batchSize);
  options.onProgress?.({ images: n, total: n, iteration: o.iterations, iterations: o.iterations, loss: losses.total.reduce((s, v) => s + v, 0) / n });
  return { codes, latents, reconstructions, losses, secondsPerImage: seconds / n };
}

/** G(codes) and the per image loss terms at `codes`, in batches. */
export function evaluateCodes(generator: StyleGenerator, images: tf.Tensor4D, codes: tf.Tensor3D, options: InversionLossOptions = {}, batchSize = 64): { reconstructions: tf.Tensor4D; losses: InversionLosses } {
  const n = images.shape[0];
  const losses: InversionLosses = { total: new Float32Array(n), mse: new Float32Array(n), perceptual: new Float32Array(n), domain: new Float32Array(n) };
  const parts: tf.Tensor4D[] = [];
  for (let from = 0; from < n; from += batchSize) {
    const size = Math.min(batchSize, n - from);
    tf.tidy(() => {
      const x = tf.slice(images, [from, 0, 0, 0], [size, -1, -1, -1]);
      const c = tf.slice(codes, [from, 0, 0], [size, -1, -1]);
      const mask = options.mask && options.mask.shape[0] > 1 ? tf.slice(options.mask, [from, 0, 0, 0], [size, -1, -1, -1]) : options.mask;
      const terms = inversionLossTerms(generator, x, c, { ...options, ...(mask ? { mask } : {}) });
      for (const key of ['total', 'mse', 'perceptual', 'domain'] as const) losses[key].set(terms[key].dataSync() as Float32Array, from);
      parts.push(tf.keep(generator.synthesize(c)));
    });
  }
  const reconstructions = parts.length === 1 ? parts[0]! : (tf.concat(parts, 0) as tf.Tensor4D);
  if (parts.length > 1) tf.dispose(parts);
  return { reconstructions, losses };
}

/** Options of {@link diffuse}. */
export interface DiffuseOptions {
  encoder: StyleEncoder;
  perceptual?: PerceptualFeatures;
  lambdaFeat?: number;
  iterations?: number;
  learningRate?: number;
  onProgress?: InversionProgress;
}

/**
 * Semantic diffusion (`diffuse.py`): paste `target` into `context` where
 * `mask` is 1, start from E(composite) and optimise only the masked pixel and
 * perceptual losses, with no domain term, so G fills the rest of the image in
 * a way consistent with the pasted part. `mask` is [H, W, 1] or [n, H, W, 1]
 * in [0, 1]. Returns the codes and images; the caller owns them.
 */
export function diffuse(generator: StyleGenerator, target: tf.Tensor4D, context: tf.Tensor4D, mask: tf.Tensor, options: DiffuseOptions): { codes: tf.Tensor3D; images: tf.Tensor4D; composite: tf.Tensor4D } {
  checkImages(generator, target, 'target');
  checkImages(generator, context, 'context');
  check(context.shape[0] === target.shape[0] || context.shape[0] === 1, 'context', context, `1 or ${target.shape[0]} images (one per target)`);
  check(mask instanceof tf.Tensor && (mask.rank === 3 || mask.rank === 4), 'mask', mask, 'a [H, W, 1] or [n, H, W, 1] mask in [0, 1]');
  check(options.encoder !== undefined, 'encoder', options.encoder, 'the domain-guided encoder (diffusion starts from E(composite))');
  const m = (mask.rank === 3 ? tf.expandDims(mask, 0) : tf.clone(mask)) as tf.Tensor4D;
  const composite = tf.tidy(() => tf.add(tf.mul(target, m), tf.mul(context, tf.sub(1, m))) as tf.Tensor4D);
  try {
    const init = options.encoder.encode(composite);
    try {
      const result = invert(generator, composite, {
        encoder: options.encoder,
        init,
        lambdaDomain: 0,
        mask: m,
        ...(options.perceptual ? { perceptual: options.perceptual } : {}),
        ...(options.lambdaFeat === undefined ? {} : { lambdaFeat: options.lambdaFeat }),
        ...(options.iterations === undefined ? {} : { iterations: options.iterations }),
        ...(options.learningRate === undefined ? {} : { learningRate: options.learningRate }),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      result.latents.dispose();
      return { codes: result.codes, images: result.reconstructions, composite };
    } finally {
      init.dispose();
    }
  } catch (err) {
    composite.dispose();
    throw err;
  } finally {
    m.dispose();
  }
}
