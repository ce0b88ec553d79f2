/**
 * TopoGAN on the GanTrainer and `gan train`: WGAN-GP with the topological term
 * on generated membranes, a flat tensor count, and bad input.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { generateMasks } from '../../src/data/index.js';
import { tf } from '../../src/engine/index.js';
import { ganLoss } from '../../src/gan/losses.js';
import { GanTrainer, trainGan } from '../../src/gan/train.js';
import { dcganDiscriminator, dcganGenerator } from '../../src/nn/gan-nets.js';
import { TopoGanTerm } from '../../src/topology/index.js';
import { onBackend, runCli, throwsInput } from '../helpers.js';

describe('TopoGAN training', () => {
  it('GanTrainer adds λ_topo·L_topo to G and reports it with the persistence share; tensors stay flat', async () => {
    await onBackend('cpu', async () => {
      const ds = generateMasks({ kind: 'membranes', count: 8, seed: 0 });
      const real = tf.tidy(() => tf.sub(tf.mul(tf.tensor4d(ds.images, [8, 64, 64, 1]), 2), 1) as tf.Tensor4D);
      const generator = dcganGenerator({ imageSize: 64, latentDim: 4, width: 2, seed: 1 });
      const discriminator = dcganDiscriminator({ imageSize: 64, width: 2, seed: 2 });
      const topology = new TopoGanTerm(ds.images, [8, 64, 64, 1], { weight: 0.5, subsetRate: 0.5 });
      const trainer = new GanTrainer({ generator, discriminator, real, loss: ganLoss('wasserstein'), regulariser: { kind: 'gradientPenalty' }, criticSteps: 1, batchSize: 2, topology, seed: 3 });
      const logs: Array<Record<string, number>> = [];
      trainer.trainStep(); // creates the optimizers' slots
      const before = tf.memory().numTensors;
      const last = await trainGan(trainer, { steps: 3, logEvery: 2, onLog: (_s, v) => logs.push(v) });
      assert.equal(tf.memory().numTensors, before);
      assert.ok(Number.isFinite(last.topo) && (last.topo as number) >= 0);
      assert.ok((last.topoMs as number) >= 0);
      const log = logs[0] as Record<string, number>;
      assert.ok(log.topo !== undefined && log.topo_share !== undefined && log.topo_share >= 0 && log.topo_share <= 1, JSON.stringify(log));
      const small = new TopoGanTerm(generateMasks({ count: 2, size: 32 }).images, [2, 32, 32]);
      throwsInput(() => new GanTrainer({ generator, discriminator, real, loss: ganLoss('wasserstein'), batchSize: 2, topology: small }), 'topology', '32×32', '[64, 64, 1]');
      trainer.dispose();
      tf.dispose([real]);
      generator.dispose();
      discriminator.dispose();
    });
  });

  it('gan train --data membranes --topo-weight runs WGAN-GP + TopoGAN; a bad --topo-dim or --topo-subset exits 2', () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-topogan-'));
    try {
      const base = ['gan', 'train', '--data-count', '8', '--batch-size', '2', '--width', '2', '--latent-dim', '4', '--sample-every', '0', '--checkpoint-every', '0', '--backend', 'cpu'];
      let r = runCli([...base, '--out', path.join(out, 'a'), '--data', 'membranes', '--steps', '1', '--loss', 'wasserstein', '--regulariser', 'gp', '--critic-steps', '2', '--topo-weight', '1', '--topo-dim', '1', '--topo-subset', '0.5', '--json']);
      assert.equal(r.status, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { step: number; losses: { topo: number } };
      assert.equal(result.step, 1);
      assert.ok(result.losses.topo >= 0);
      const config = JSON.parse(fs.readFileSync(path.join(out, 'a', 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual([config.topoWeight, config.topoDim, config.topoSubset], [1, 1, 0.5]);
      r = runCli([...base, '--out', path.join(out, 'b'), '--data', 'membranes', '--topo-weight', '1', '--topo-dim', '2']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--topo-dim: got "2", expected 0 \(components\) or 1 \(cycles\)/);
      r = runCli([...base, '--out', path.join(out, 'c'), '--data', 'roads', '--image-size', '32', '--topo-weight', '1', '--topo-subset', '0']);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--topo-subset/);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
