/**
 * Every experiment's training step, at toy sizes, on the native backend: the
 * kernels it runs as tfjs's stock cpu kernels must be on the short allow-list
 * in src/engine/node/kernel-profile.ts (metadata, fills, and small tensors), and no
 * native kernel may hand a call to its cpu kernel. A step that starts running
 * a slow cpu kernel (as the gather gradient did: 337 ms of a triplet step)
 * fails here with the kernel's name, whatever the machine's speed.
 *
 * Skipped where the addon is not built, unless ECCVKIT_REQUIRE_NATIVE=1.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuKernelViolations, initEngine, profileCpuKernels, tf } from '../../src/engine/index.js';
import { mnistConvNet } from '../../src/experiments/mnist-baseline.js';
import { dcganDiscriminator, dcganGenerator, GanTrainer, ganLoss } from '../../src/gan/index.js';
import { EncoderTrainer, invert, PerceptualFeatures, StyleEncoder } from '../../src/inversion/index.js';
import { LOSS_NAMES, makeLoss, makeMiner, MINER_NAMES } from '../../src/metric/registry.js';
import { WeightLoss } from '../../src/metric/weight-losses.js';
import { resnet12 } from '../../src/nn/backbones.js';
import { trainImageClassifier } from '../../src/nn/small-convnet.js';
import { styleGenerator } from '../../src/nn/style-gan.js';
import { GcAdam, GcMomentum } from '../../src/optim/optimizers.js';
import { TopoGanTerm } from '../../src/topology/topogan.js';

let nativeReason: string | undefined;
try {
  await initEngine({ backend: 'native' });
} catch (err) {
  nativeReason = err instanceof Error ? err.message : String(err);
}
const skip = nativeReason !== undefined && process.env.ECCVKIT_REQUIRE_NATIVE !== '1' ? `native backend unavailable: ${nativeReason}` : false;

const uniform = (shape: number[], seed: number, lo = -1): tf.Tensor => tf.randomUniform(shape, lo, 1, 'float32', seed);
const labels = (n: number, classes: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i % classes);
/** minimize's loss, when it returned one. */
const disposeLoss = (loss: tf.Scalar | null): void => void loss?.dispose();
const oneHot = (n: number, classes: number): tf.Tensor => tf.tidy(() => tf.oneHot(tf.tensor1d(labels(n, classes), 'int32'), classes).toFloat());

/** Builds a step and what to dispose after; the step runs twice (optimizer slots, first-call set-up) before the profiled one. */
type Workload = () => { step: () => void; dispose: () => void };

async function assertOnlyCheapCpuKernels(name: string, make: Workload): Promise<void> {
  // Kernels only: tensor ownership is tested elsewhere. (Building and training a ResNet-12 once leaves one
  // tensor, and the encoder + inversion workload three, after every dispose: noted, not yet traced.)
  await initEngine({ backend: 'native' });
  const { step, dispose } = make();
  try {
    step();
    step();
    const profile = await profileCpuKernels(step);
    const bad = cpuKernelViolations(profile);
    const list = bad.map((k) => `${k.kernel} (${k.why}, ${k.calls} calls, ${k.ms.toFixed(1)} ms${k.maxOutputSize ? `, up to ${k.maxOutputSize} elements` : ''})`).join('; ');
    assert.equal(bad.length, 0, `${name}: cpu kernels outside the allow-list: ${list}`);
  } finally {
    dispose();
  }
}

function classifierStep(optimizer: () => tf.Optimizer): ReturnType<Workload> {
  const model = mnistConvNet({ filters: [4, 8], hidden: 16 }, 1);
  const opt = optimizer();
  const x = uniform([8, 28, 28, 1], 1, 0);
  const y = oneHot(8, 10);
  return {
    step: () => disposeLoss(opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor) as tf.Scalar, true)),
    dispose: () => {
      tf.dispose([x, y]);
      model.dispose();
      opt.dispose();
    },
  };
}

function ganStep(options: Partial<ConstructorParameters<typeof GanTrainer>[0]> & { imageSize?: 28 | 32 | 64 }, real?: tf.Tensor4D): ReturnType<Workload> {
  const imageSize = options.imageSize ?? 28;
  const data = real ?? (uniform([16, imageSize, imageSize, 1], 3) as tf.Tensor4D);
  const trainer = new GanTrainer({
    loss: ganLoss('nonSaturating'),
    real: data,
    batchSize: 8,
    ...options,
    // Built only when not given: a model built and then overridden would never be disposed.
    generator: options.generator ?? dcganGenerator({ imageSize, width: 4, latentDim: 8, seed: 0 }),
    discriminator: options.discriminator ?? dcganDiscriminator({ imageSize, width: 4, seed: 1 }),
  });
  return {
    step: () => void trainer.trainStep(),
    dispose: () => {
      trainer.dispose();
      trainer.generator.dispose();
      trainer.discriminator.dispose();
      data.dispose();
    },
  };
}

const STYLE = { imageSize: 32, channels: 1, wDim: 16, mappingLayers: 2, width: 4, seed: 0 } as const;

const WORKLOADS: Array<[string, Workload]> = [
  ['mnist-baseline: conv net, Adam', () => classifierStep(() => tf.train.adam(1e-3))],
  ['gc-ablation: SGD momentum with GC', () => classifierStep(() => new GcMomentum({ learningRate: 0.01, momentum: 0.9 }))],
  ['gc-ablation: Adam with GC', () => classifierStep(() => new GcAdam({ learningRate: 1e-3 }))],
  [
    'fewshot-rfs: ResNet-12, SGD momentum, training mode (DropBlock)',
    () => {
      const model = resnet12({ inputShape: [16, 16, 3], classes: 5, widths: [4, 4, 8, 8], dropBlockSize: 2, seed: 0 });
      const opt = tf.train.momentum(0.05, 0.9);
      const x = uniform([4, 16, 16, 3], 2);
      const y = oneHot(4, 5);
      return {
        step: () => disposeLoss(opt.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)),
        dispose: () => {
          tf.dispose([x, y]);
          model.dispose();
          opt.dispose();
        },
      };
    },
  ],
  ['lipschitz: spectral-norm DCGAN', () => ganStep({ discriminator: dcganDiscriminator({ width: 4, spectralNormBound: 1, seed: 1 }) })],
  ['lipschitz: WGAN-GP, 64×64', () => ganStep({ imageSize: 64, generator: dcganGenerator({ imageSize: 64, width: 4, latentDim: 8, seed: 0 }), discriminator: dcganDiscriminator({ imageSize: 64, width: 4, seed: 1 }), loss: ganLoss('wasserstein'), regulariser: { kind: 'gradientPenalty' }, criticSteps: 2 })],
  ['hessian-penalty: GAN with the Hessian penalty', () => ganStep({ hessianPenalty: { weight: 0.1 } })],
  [
    'topogan: GAN with the topological loss',
    () => {
      const masks = Float32Array.from({ length: 16 * 28 * 28 }, (_, i) => ((i % 28) % 9 < 2 || Math.floor(i / 28) % 9 < 2 ? 1 : 0));
      const real = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(masks, [16, 28, 28, 1]), 2), 1)) as tf.Tensor4D;
      return ganStep({ topology: new TopoGanTerm(masks, [16, 28, 28], { weight: 1, subsetRate: 0.25 }) }, real);
    },
  ],
  [
    'idinvert: style GAN, R1',
    () => {
      const g = styleGenerator(STYLE);
      const data = uniform([16, 32, 32, 1], 4) as tf.Tensor4D;
      const trainer = new GanTrainer({ generator: g.generator, discriminator: dcganDiscriminator({ imageSize: 32, width: 4, seed: 1 }), loss: ganLoss('nonSaturating'), regulariser: { kind: 'r1', weight: 5 }, real: data, batchSize: 8 });
      return {
        step: () => void trainer.trainStep(),
        dispose: () => {
          trainer.dispose();
          trainer.discriminator.dispose();
          g.dispose();
          data.dispose();
        },
      };
    },
  ],
  [
    'idinvert: domain-guided encoder step, then in-domain inversion',
    () => {
      const g = styleGenerator(STYLE);
      const x01 = uniform([16, 32, 32, 1], 5, 0) as tf.Tensor4D;
      const classifier = trainImageClassifier(x01, labels(16, 4), { epochs: 1, filters: [4, 8], hidden: 8, batchSize: 8 });
      const real = tf.tidy(() => tf.sub(tf.mul(x01, 2), 1)) as tf.Tensor4D;
      const encoder = StyleEncoder.create(g, 'domainGuided', { width: 4 });
      const perceptual = new PerceptualFeatures({ model: classifier });
      const trainer = new EncoderTrainer({ generator: g, encoder, real, perceptual, batchSize: 8 });
      const images = real.slice([0, 0, 0, 0], [4, 32, 32, 1]);
      return {
        step: () => {
          trainer.trainStep();
          const r = invert(g, images, { encoder, perceptual, iterations: 2, lambdaDomain: 2 });
          tf.dispose([r.codes, r.reconstructions]);
        },
        dispose: () => {
          trainer.dispose();
          tf.dispose([x01, real, images]);
          encoder.dispose();
          classifier.dispose();
          g.dispose();
        },
      };
    },
  ],
  ...LOSS_NAMES.map((name): [string, Workload] => [
    `metric-reality-check: ${name} loss, Adam on a 16 × 8 batch${name === 'triplet' ? ' (triplet-margin miner)' : name === 'multi_similarity' ? ' (multi-similarity miner)' : ''}`,
    () => {
      const loss = makeLoss(name, { numClasses: 4, embeddingSize: 8, seed: 1 });
      const miner = name === 'triplet' ? makeMiner('triplet_margin') : name === 'multi_similarity' ? makeMiner('multi_similarity') : undefined;
      const init = uniform([16, 8], 6);
      const e = tf.variable(init);
      init.dispose();
      const y = labels(16, 4);
      const opt = tf.train.adam(1e-3);
      const vars = [e, ...(loss instanceof WeightLoss ? [loss.weights] : [])];
      return {
        step: () => disposeLoss(opt.minimize(() => loss.compute(e as unknown as tf.Tensor2D, y, miner?.mine(e as unknown as tf.Tensor2D, y)), true, vars)),
        dispose: () => {
          e.dispose();
          loss.dispose();
          opt.dispose();
        },
      };
    },
  ]),
  ...MINER_NAMES.map((name): [string, Workload] => [
    `metric-reality-check: contrastive loss with the ${name} miner`,
    () => {
      const loss = makeLoss('contrastive');
      const miner = makeMiner(name);
      const init = uniform([16, 8], 7);
      const e = tf.variable(init);
      init.dispose();
      const y = labels(16, 4);
      const opt = tf.train.adam(1e-3);
      return {
        step: () => disposeLoss(opt.minimize(() => loss.compute(e as unknown as tf.Tensor2D, y, miner.mine(e as unknown as tf.Tensor2D, y)), true, [e])),
        dispose: () => {
          e.dispose();
          loss.dispose();
          opt.dispose();
        },
      };
    },
  ]),
];

describe('training steps run no slow cpu kernels on native', { skip }, () => {
  for (const [name, make] of WORKLOADS) it(name, () => assertOnlyCheapCpuKernels(name, make));

  it('catches a step that runs a cpu kernel outside the allow-list', async () => {
    // Cumprod has no native kernel and is not on the list; Cumsum is listed for small outputs only.
    await assert.rejects(
      assertOnlyCheapCpuKernels('cumprod', () => {
        const x = uniform([8, 8], 8);
        return { step: () => tf.dispose(tf.cumprod(x, 1)), dispose: () => x.dispose() };
      }),
      /cumprod: cpu kernels outside the allow-list: Cumprod \(uncovered, 1 calls/,
    );
    await assert.rejects(
      assertOnlyCheapCpuKernels('large cumsum', () => {
        const x = uniform([512, 256], 9);
        return { step: () => tf.dispose(tf.cumsum(x, 1)), dispose: () => x.dispose() };
      }),
      /large cumsum: cpu kernels outside the allow-list: Cumsum \(uncovered, 1 calls, [0-9.]+ ms, up to 131072 elements\)/,
    );
  });
});
