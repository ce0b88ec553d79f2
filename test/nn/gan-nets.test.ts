import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { initEngine, tf } from '../../src/engine/index.js';
import { dcganDiscriminator, dcganGenerator } from '../../src/nn/gan-nets.js';
import { estimateSpectralNorm, SpectralNorm } from '../../src/nn/spectral-norm.js';
import { throwsInput } from '../helpers.js';

describe('DCGAN nets', () => {
  before(async () => {
    await initEngine();
  });

  for (const [imageSize, channels] of [
    [28, 1],
    [32, 3],
    [64, 3],
  ] as const) {
    it(`${imageSize}×${imageSize}×${channels}: G maps z to images in [−1, 1] that D scores with one number each`, () => {
      const g = dcganGenerator({ imageSize, channels, latentDim: 8, width: 4, seed: 1 });
      const d = dcganDiscriminator({ imageSize, channels, width: 4, seed: 2 });
      const z = tf.randomNormal([2, 8], 0, 1, 'float32', 3);
      const x = g.predict(z) as tf.Tensor;
      assert.deepEqual(x.shape, [2, imageSize, imageSize, channels]);
      const v = x.dataSync();
      assert.ok(v.every((a) => a >= -1 && a <= 1), 'generator output outside [−1, 1]');
      const s = d.predict(x) as tf.Tensor;
      assert.deepEqual(s.shape, [2, 1]);
      tf.dispose([z, x, s]);
      g.dispose();
      d.dispose();
    });
  }

  it('same seed, same weights; spectral norm wraps every linear layer of D with the bound', () => {
    const a = dcganGenerator({ seed: 5, width: 4, latentDim: 4 });
    const b = dcganGenerator({ seed: 5, width: 4, latentDim: 4 });
    assert.deepEqual(Array.from(a.getWeights()[0]!.dataSync()), Array.from(b.getWeights()[0]!.dataSync()));
    const d = dcganDiscriminator({ width: 4, spectralNormBound: 2 });
    const sn = d.layers.filter((l) => l instanceof SpectralNorm) as SpectralNorm[];
    assert.equal(sn.length, 3);
    const x = tf.zeros([1, 28, 28, 1]);
    for (let i = 0; i < 20; i++) tf.dispose(d.apply(x, { training: true }) as tf.Tensor);
    for (const layer of sn) {
      const k = layer.normalizedKernel(false);
      assert.ok(Math.abs(estimateSpectralNorm(k, 100) - 2) < 1e-2, `σ of ${layer.name}`);
      k.dispose();
    }
    tf.dispose(x);
    [a, b, d].forEach((m) => m.dispose());
  });

  it('rejects unsupported sizes and bounds', () => {
    throwsInput(() => dcganGenerator({ imageSize: 48 as never }), 'imageSize', '28, 32, 64');
    throwsInput(() => dcganDiscriminator({ spectralNormBound: -1 }), 'spectralNormBound');
  });
});
