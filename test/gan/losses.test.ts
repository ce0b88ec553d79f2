import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { GAN_LOSSES, ganLoss } from '../../src/gan/losses.js';
import { assertClose, throwsInput } from '../helpers.js';

const softplus = (t: number) => Math.log1p(Math.exp(t));
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('GAN losses with domain scaling', () => {
  before(async () => {
    await initEngine();
  });
  const dReal = [1, -2];
  const dFake = [0.5, 3];
  const alpha = 0.5;
  const sr = dReal.map((d) => alpha * d);
  const sf = dFake.map((d) => alpha * d);
  const expected: Record<string, [number, number]> = {
    nonSaturating: [mean(sr.map((s) => softplus(-s))) + mean(sf.map(softplus)), mean(sf.map((s) => softplus(-s)))],
    leastSquares: [0.5 * mean(sr.map((s) => (s - 1) ** 2)) + 0.5 * mean(sf.map((s) => s * s)), 0.5 * mean(sf.map((s) => (s - 1) ** 2))],
    // relu(1 − 0.5) = 0.5, relu(1 + 1) = 2; relu(1 + 0.25) = 1.25, relu(1 + 1.5) = 2.5.
    hinge: [(0.5 + 2) / 2 + (1.25 + 2.5) / 2, -(0.25 + 1.5) / 2],
    // mean s_f − mean s_r = 0.875 − (−0.25).
    wasserstein: [1.125, -0.875],
    sin: [mean(sr.map((s) => Math.sin(-s))) + mean(sf.map(Math.sin)), mean(sf.map((s) => Math.sin(-s)))],
    exp: [mean(sr.map((s) => Math.exp(-s))) + mean(sf.map(Math.exp)), mean(sf.map((s) => Math.exp(-s)))],
  };

  for (const name of GAN_LOSSES) {
    it(`${name}: discriminator and generator losses on hand values with α = 0.5`, () => {
      const loss = ganLoss(name, alpha);
      const r = tf.tensor2d(dReal, [2, 1]);
      const f = tf.tensor2d(dFake, [2, 1]);
      const ld = loss.discriminator(r, f);
      const lg = loss.generator(f);
      assertClose([ld.dataSync()[0]!, lg.dataSync()[0]!], expected[name]!, 1e-6, name);
      tf.dispose([r, f, ld, lg]);
    });
  }

  it('as α → 0 every φ-loss degenerates to a linear one: ∂L_D/∂d_fake ≈ α·φ′(0)/n', () => {
    const slope: Record<string, number> = { nonSaturating: 0.5, wasserstein: 1, sin: 1, exp: 1, hinge: 1 };
    const d = tf.tensor1d([-3, -1, 0.2, 2.5]);
    const r = tf.tensor1d([1, 2, -2, 0.5]);
    for (const [name, phi0] of Object.entries(slope)) {
      for (const [a, tol] of [
        [1e-3, 1e-2],
        [1, Infinity],
      ] as const) {
        const loss = ganLoss(name as (typeof GAN_LOSSES)[number], a);
        const g = tf.grad((x: tf.Tensor) => loss.discriminator(r, x))(d);
        const normalised = Array.from(g.dataSync(), (v) => (v * 4) / a / phi0);
        if (tol !== Infinity) assertClose(normalised, [1, 1, 1, 1], tol, `${name} α=${a}`);
        g.dispose();
      }
    }
    // With α = 1 the non-saturating slope varies with d (it is not linear there).
    const ns = ganLoss('nonSaturating', 1);
    const g = tf.grad((x: tf.Tensor) => ns.discriminator(r, x))(d);
    const v = g.dataSync();
    assert.ok(Math.abs(v[3]! - v[0]!) > 0.1, `slopes ${v[0]} and ${v[3]}`);
    tf.dispose([g, d, r]);
  });

  it('rejects an unknown loss and a non-positive α', () => {
    throwsInput(() => ganLoss('cosine' as never), 'loss', 'cosine', 'wasserstein');
    throwsInput(() => ganLoss('hinge', 0), 'alpha');
  });
});
