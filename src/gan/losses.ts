/**
 * GAN losses on the discriminator's raw output d, with the domain scaling of
 * Qin et al., "How does Lipschitz regularization influence GAN training?"
 * (ECCV 2020): every loss sees α·d instead of d. With a small α (or a small
 * Lipschitz constant of D) the loss only sees an interval around 0, where any
 * smooth loss is nearly linear, so the losses behave alike.
 *
 * Most losses here are of the form
 *   L_D = E_real φ(−α·d) + E_fake φ(α·d),   L_G = E_fake φ(−α·d)
 * for a scalar function φ (non-saturating: softplus; Wasserstein: identity;
 * sin; exp). Least squares and hinge have their usual forms.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';

/** The GAN losses eccvkit provides. */
export const GAN_LOSSES = ['nonSaturating', 'leastSquares', 'hinge', 'wasserstein', 'sin', 'exp'] as const;
export type GanLossName = (typeof GAN_LOSSES)[number];

/** Discriminator and generator losses of one GAN objective, both scalars averaged over the batch. */
export interface GanLoss {
  name: GanLossName;
  /** The domain scale α (the loss sees α·d). */
  alpha: number;
  /** Loss the discriminator minimises, from its raw outputs on real and generated samples. */
  discriminator(dReal: tf.Tensor, dFake: tf.Tensor): tf.Scalar;
  /** Loss the generator minimises, from the discriminator's raw outputs on generated samples. */
  generator(dFake: tf.Tensor): tf.Scalar;
}

/** φ of the losses written as φ(−α·d_real) + φ(α·d_fake). */
const PHI: Partial<Record<GanLossName, (t: tf.Tensor) => tf.Tensor>> = {
  // softplus(t) = log(1 + eᵗ): −log σ(−t); the non-saturating loss of Goodfellow et al. (2014).
  nonSaturating: (t) => tf.softplus(t),
  wasserstein: (t) => t,
  sin: (t) => tf.sin(t),
  exp: (t) => tf.exp(t),
};

/**
 * The GAN loss `name` with domain scale `alpha` (default 1):
 *
 * | name | L_D (s = α·d) | L_G |
 * |---|---|---|
 * | nonSaturating | softplus(−s_r) + softplus(s_f) | softplus(−s_f) |
 * | leastSquares | ½(s_r − 1)² + ½ s_f² | ½(s_f − 1)² (Mao et al. 2017, a=0, b=c=1) |
 * | hinge | relu(1 − s_r) + relu(1 + s_f) | −s_f |
 * | wasserstein | s_f − s_r | −s_f |
 * | sin | sin(−s_r) + sin(s_f) | sin(−s_f) |
 * | exp | exp(−s_r) + exp(s_f) | exp(−s_f) |
 *
 * each averaged over the batch.
 */
export function ganLoss(name: GanLossName, alpha = 1): GanLoss {
  check((GAN_LOSSES as readonly string[]).includes(name), 'loss', name, `one of ${GAN_LOSSES.join(', ')}`);
  check(Number.isFinite(alpha) && alpha > 0, 'alpha', alpha, 'a positive domain scale');
  const phi = PHI[name];
  const scaled = (d: tf.Tensor) => tf.mul(d, alpha);
  if (phi !== undefined) {
    return {
      name,
      alpha,
      discriminator: (dReal, dFake) => tf.tidy(() => tf.add(tf.mean(phi(tf.neg(scaled(dReal)))), tf.mean(phi(scaled(dFake)))) as tf.Scalar),
      generator: (dFake) => tf.tidy(() => tf.mean(phi(tf.neg(scaled(dFake)))) as tf.Scalar),
    };
  }
  if (name === 'leastSquares') {
    return {
      name,
      alpha,
      discriminator: (dReal, dFake) =>
        tf.tidy(() => tf.mul(0.5, tf.add(tf.mean(tf.square(tf.sub(scaled(dReal), 1))), tf.mean(tf.square(scaled(dFake))))) as tf.Scalar),
      generator: (dFake) => tf.tidy(() => tf.mul(0.5, tf.mean(tf.square(tf.sub(scaled(dFake), 1)))) as tf.Scalar),
    };
  }
  return {
    name,
    alpha,
    discriminator: (dReal, dFake) => tf.tidy(() => tf.add(tf.mean(tf.relu(tf.sub(1, scaled(dReal)))), tf.mean(tf.relu(tf.add(1, scaled(dFake))))) as tf.Scalar),
    generator: (dFake) => tf.tidy(() => tf.neg(tf.mean(scaled(dFake))) as tf.Scalar),
  };
}
