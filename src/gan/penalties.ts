/**
 * Lipschitz regularisers of the critic that need second-order gradients
 * (WGAN-GP, R1) and weight clipping. A penalty's value depends on ∇ₓD, and its
 * gradient with respect to D's weights differentiates that gradient again; the
 * engine registers the second-order gradients tfjs lacks on every backend.
 */
import { createRng, tf } from '../engine/core.js';
import { check, EccvkitError } from '../errors.js';

/** λ of WGAN-GP (Gulrajani et al. 2017, `gan_mnist.py`). */
export const WGAN_GP_LAMBDA = 10;
/** γ of R1 in StyleGAN / idinvert, used as (γ/2)·E‖∇D‖². */
export const R1_GAMMA = 10;
/** Clip value c of the original WGAN (Arjovsky et al. 2017). */
export const WGAN_CLIP = 0.01;

/** A critic as a function of images; a `LayersModel` is wrapped as `(x) => model.apply(x, { training: true })`. */
export type Critic = (x: tf.Tensor) => tf.Tensor;

/** ‖g_i‖₂ per sample of a batch-first gradient; the ε keeps the norm's gradient finite at 0. */
function perSampleNorm(g: tf.Tensor): tf.Tensor1D {
  const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
  return tf.sqrt(tf.add(tf.sum(tf.square(g), axes), 1e-12)) as tf.Tensor1D;
}

/** ∇ₓ Σ_i D(x)_i: per-sample input gradients of a critic whose outputs are independent per sample. */
export function criticInputGradient(critic: Critic, x: tf.Tensor): tf.Tensor {
  return tf.grad((xi: tf.Tensor) => tf.sum(critic(xi)))(x);
}

function checkPair(real: tf.Tensor, fake: tf.Tensor): void {
  check(real instanceof tf.Tensor && real.rank >= 2, 'real', real, 'a batch-first tensor of rank ≥ 2');
  check(fake instanceof tf.Tensor && fake.shape.join() === real.shape.join(), 'fake', fake, `a tensor of the real batch's shape [${real.shape.join(', ')}]`);
}

/**
 * The WGAN-GP penalty (Gulrajani et al. 2017): x̂ = x_r + u·(x_f − x_r) with
 * u ~ U[0, 1] per sample (drawn from `seed`), and
 * GP = mean_i (‖∇D(x̂_i)‖₂ − center)². Multiply by λ ({@link WGAN_GP_LAMBDA} = 10)
 * and add to the critic loss. `center` = 0 gives the zero-centred variant.
 */
export function gradientPenalty(critic: Critic, real: tf.Tensor, fake: tf.Tensor, options: { seed?: number; center?: number } = {}): tf.Scalar {
  checkPair(real, fake);
  const center = options.center ?? 1;
  check(Number.isFinite(center) && center >= 0, 'center', center, 'a number ≥ 0');
  const rng = createRng(options.seed ?? 0);
  const n = real.shape[0] as number;
  const u = Float32Array.from({ length: n }, () => rng.uniform());
  return tf.tidy(() => {
    const mix = tf.tensor(u, [n, ...real.shape.slice(1).map(() => 1)]);
    const xHat = tf.add(real, tf.mul(mix, tf.sub(fake, real)));
    const norms = perSampleNorm(criticInputGradient(critic, xHat));
    return tf.mean(tf.square(tf.sub(norms, center))) as tf.Scalar;
  });
}

/**
 * The R1 penalty (Mescheder et al. 2018) on real samples: mean_i ‖∇D(x_i)‖².
 * GAN_stability multiplies this by `reg_param`; StyleGAN and idinvert by γ/2
 * with γ = {@link R1_GAMMA} = 10.
 */
export function r1Penalty(critic: Critic, real: tf.Tensor): tf.Scalar {
  check(real instanceof tf.Tensor && real.rank >= 2, 'real', real, 'a batch-first tensor of rank ≥ 2');
  return tf.tidy(() => {
    const g = criticInputGradient(critic, real);
    const axes = Array.from({ length: g.rank - 1 }, (_, i) => i + 1);
    return tf.mean(tf.sum(tf.square(g), axes)) as tf.Scalar;
  });
}

/**
 * Weight clipping of the original WGAN: every trainable weight of `model` is
 * clipped to [−c, c] in place (default c = {@link WGAN_CLIP} = 0.01). Call it
 * after each critic update.
 */
export function clipWeights(model: tf.LayersModel, clip = WGAN_CLIP): void {
  check(Number.isFinite(clip) && clip > 0, 'clip', clip, 'a positive clip value');
  for (const w of model.trainableWeights) {
    const clipped = tf.tidy(() => tf.clipByValue(w.read(), -clip, clip));
    w.write(clipped);
    clipped.dispose();
  }
}

/**
 * Checks that the running backend differentiates a gradient correctly, before
 * a training run that uses a gradient penalty starts. The probe is
 * ∂/∂w (∂/∂x (w·x²))² = 8·w·x² at w = 1, x = 1: 8, through the same tape
 * machinery a penalty uses. Throws an {@link EccvkitError} naming the backend.
 */
export function assertSecondOrderGradients(): void {
  const value = tf.tidy(() => {
    const w = tf.scalar(1);
    const x = tf.scalar(1);
    const outer = tf.grad((wi: tf.Tensor) => tf.square(tf.grad((xi: tf.Tensor) => tf.mul(wi, tf.square(xi)))(x)));
    return outer(w);
  });
  const got = value.dataSync()[0] as number;
  value.dispose();
  if (!(Math.abs(got - 8) < 1e-4)) {
    throw new EccvkitError(`backend ${tf.getBackend()}: second-order gradients are wrong (probe gave ${got}, expected 8); gradient penalties cannot run here — pick another backend with ECCVKIT_BACKEND`);
  }
}
