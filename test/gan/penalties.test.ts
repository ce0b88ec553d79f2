import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { createRng, tf, type BackendName } from '../../src/engine/index.js';
import { assertSecondOrderGradients, clipWeights, gradientPenalty, r1Penalty } from '../../src/gan/penalties.js';
import { spectralNorm } from '../../src/nn/spectral-norm.js';
import { assertClose, availableBackends, onBackend, randomValues, throwsInput } from '../helpers.js';

/** A critic D(x) = act(x·w + b) on flat inputs of size 6, with a fixed w. */
function denseCritic(w: number[], activation: 'linear' | 'tanh'): tf.LayersModel {
  const model = tf.sequential({ layers: [tf.layers.dense({ units: 1, inputShape: [6], activation, biasInitializer: tf.initializers.constant({ value: 0.1 }) })] });
  const kernel = tf.tensor2d(w, [6, 1]);
  model.layers[0]!.trainableWeights[0]!.write(kernel);
  kernel.dispose();
  return model;
}

const W = [0.3, -0.5, 0.2, 0.8, -0.1, 0.4];
const normW = Math.hypot(...W);

describe('gradient penalties (second order) on every backend', () => {
  let backends: BackendName[] = [];
  before(async () => {
    backends = await availableBackends();
  });

  it('a linear critic has ‖∇D‖ = ‖w‖ everywhere: GP = (‖w‖ − 1)², R1 = ‖w‖², with the analytic weight gradients', async () => {
    for (const backend of backends) {
      const out = await onBackend(backend, () => {
        const model = denseCritic(W, 'linear');
        const critic = (x: tf.Tensor) => model.apply(x, { training: true }) as tf.Tensor;
        const real = tf.tensor2d(randomValues(24, 1), [4, 6]);
        const fake = tf.tensor2d(randomValues(24, 2), [4, 6]);
        const kernel = model.trainableWeights[0]!.read() as tf.Variable;
        const gp = tf.variableGrads(() => gradientPenalty(critic, real, fake, { seed: 3 }), [kernel]);
        const r1 = tf.variableGrads(() => r1Penalty(critic, real), [kernel]);
        const res = {
          gp: gp.value.dataSync()[0]!,
          gpGrad: Array.from(Object.values(gp.grads)[0]!.dataSync()),
          r1: r1.value.dataSync()[0]!,
          r1Grad: Array.from(Object.values(r1.grads)[0]!.dataSync()),
        };
        tf.dispose([real, fake, gp.value, r1.value, ...Object.values(gp.grads), ...Object.values(r1.grads)]);
        model.dispose();
        return res;
      });
      assertClose([out.gp], [(normW - 1) ** 2], 1e-5, `${backend} GP`);
      assertClose(out.gpGrad, W.map((w) => (2 * (normW - 1) * w) / normW), 1e-5, `${backend} ∂GP/∂w`);
      assertClose([out.r1], [normW ** 2], 1e-5, `${backend} R1`);
      assertClose(out.r1Grad, W.map((w) => 2 * w), 1e-5, `${backend} ∂R1/∂w`);
    }
  });

  it('a tanh critic: R1 = mean (1 − t²)²‖w‖² and its weight gradient in closed form', async () => {
    const xs = randomValues(18, 5);
    const rows = [0, 1, 2].map((i) => Array.from(xs.slice(6 * i, 6 * i + 6)));
    let expR1 = 0;
    const expGrad = new Array<number>(6).fill(0);
    for (const x of rows) {
      const t = Math.tanh(x.reduce((s, xi, j) => s + xi * W[j]!, 0.1));
      const s = 1 - t * t;
      expR1 += (s * s * normW ** 2) / 3;
      for (let j = 0; j < 6; j++) expGrad[j]! += (-4 * t * s * s * normW ** 2 * x[j]! + 2 * s * s * W[j]!) / 3;
    }
    for (const backend of backends) {
      const out = await onBackend(backend, () => {
        const model = denseCritic(W, 'tanh');
        const real = tf.tensor2d(xs, [3, 6]);
        const kernel = model.trainableWeights[0]!.read() as tf.Variable;
        const r1 = tf.variableGrads(() => r1Penalty((x) => model.apply(x) as tf.Tensor, real), [kernel]);
        const res = { r1: r1.value.dataSync()[0]!, grad: Array.from(Object.values(r1.grads)[0]!.dataSync()) };
        tf.dispose([real, r1.value, ...Object.values(r1.grads)]);
        model.dispose();
        return res;
      });
      assertClose([out.r1], [expR1], 1e-5, `${backend} R1`);
      assertClose(out.grad, expGrad, 1e-4, `${backend} ∂R1/∂w`);
    }
  });

  it('WGAN-GP through a spectrally normalised conv critic with leakyReLU agrees across backends', async () => {
    const results: number[][] = [];
    for (const backend of backends) {
      results.push(
        await onBackend(backend, () => {
          const rng = createRng(8);
          const init = () => tf.initializers.glorotUniform({ seed: rng.seedInt() });
          const model = tf.sequential({
            layers: [
              spectralNorm(tf.layers.conv2d({ inputShape: [6, 6, 1], filters: 3, kernelSize: 3, strides: 2, padding: 'same', kernelInitializer: init() })),
              tf.layers.leakyReLU({ alpha: 0.2 }),
              tf.layers.flatten(),
              spectralNorm(tf.layers.dense({ units: 1, kernelInitializer: init() })),
            ],
          });
          const real = tf.tensor4d(randomValues(72, 11), [2, 6, 6, 1]);
          const fake = tf.tensor4d(randomValues(72, 12), [2, 6, 6, 1]);
          const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
          // The output bias has no gradient: a constant offset does not change ∇ₓD.
          const { value, grads } = tf.variableGrads(() => gradientPenalty((x) => model.apply(x) as tf.Tensor, real, fake, { seed: 1 }), vars);
          const flat = [value.dataSync()[0]!, ...vars.flatMap((v) => (grads[v.name] ? Array.from(grads[v.name]!.dataSync()) : []))];
          tf.dispose([real, fake, value, ...Object.values(grads)]);
          model.dispose();
          return flat;
        }),
      );
    }
    for (const r of results) assert.ok(r.every(Number.isFinite), 'non-finite penalty or gradient');
    for (let i = 1; i < results.length; i++) assertClose(results[i]!, results[0]!, 1e-4, `${backends[i]} vs ${backends[0]}`);
    assert.ok(Math.abs(results[0]![1]!) > 0, 'the penalty has a weight gradient');
  });

  it('assertSecondOrderGradients passes on every backend', async () => {
    for (const backend of backends) await onBackend(backend, () => assertSecondOrderGradients());
  });

  it('clipWeights clips every trainable weight into [−c, c]', async () => {
    await onBackend(backends[0]!, () => {
      const model = denseCritic([0.3, -0.005, 0.002, 0.8, -0.1, 0.004], 'linear');
      clipWeights(model, 0.01);
      assertClose(model.trainableWeights[0]!.read().dataSync(), [0.01, -0.005, 0.002, 0.01, -0.01, 0.004], 1e-7);
      assertClose(model.trainableWeights[1]!.read().dataSync(), [0.01], 1e-7, 'bias');
      throwsInput(() => clipWeights(model, -1), 'clip');
      model.dispose();
    });
  });

  it('rejects mismatched real and fake batches', async () => {
    await onBackend(backends[0]!, () => {
      const a = tf.zeros([2, 6]);
      const b = tf.zeros([3, 6]);
      throwsInput(() => gradientPenalty((x) => x, a, b), 'fake', '[2, 6]');
      tf.dispose([a, b]);
    });
  });
});
