/**
 * fewshot-rfs: a tiny run end to end (glyphs, every method, flat tensor count,
 * same seed same numbers, resume after the teacher's stage, the report table beside the paper's numbers) and
 * config errors.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateGlyphs, getExperiment, imageGridPng, initEngine, resolveConfig, runExperiment, tf, RunStore } from '../../src/index.js';
import { throwsInput } from '../helpers.js';

describe('fewshot-rfs', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-fewshot-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs every method on the same episodes, leaks nothing, repeats itself and reports beside the paper', async () => {
    const settings = [
      'classes=[6,1,5]',
      'perClass=20',
      'imageSize=16',
      'width=4',
      'epochs=2',
      'batchSize=30',
      'distillGenerations=1',
      'protoEpisodes=4',
      'ways=3',
      'shots=[1,2]',
      'queries=3',
      'episodes=6',
      'supportAugmentation=2',
    ];
    const before = tf.memory().numTensors;
    const a = await runExperiment('fewshot-rfs', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    for (const key of ['lr', 'lr-aug', 'lr-raw', 'nn', 'nn-raw', 'cosine', 'proto-head', 'distill', 'protonet', 'protonet-lr']) {
      for (const k of [1, 2]) {
        const mean = Number(a.metrics[`${key}_${k}shot_mean`]);
        const ci = Number(a.metrics[`${key}_${k}shot_ci95`]);
        assert.ok(mean >= 0 && mean <= 1 && ci >= 0, `${key} ${k}-shot: ${mean} ± ${ci}`);
        // 3 ways × 3 queries: every episode accuracy is a multiple of 1/9, so the mean over 6 is a multiple of 1/54.
        assert.ok(Math.abs(mean * 54 - Math.round(mean * 54)) < 1e-9, `${key}: ${mean}`);
      }
    }
    assert.equal(store.metrics(a.run.id, 'train_loss/gen0').length, 2);
    assert.equal(store.metrics(a.run.id, 'train_loss/gen1').length, 2);
    const b = await runExperiment('fewshot-rfs', { store, settings, backend: 'wasm', force: true });
    for (const key of ['lr_1shot_mean', 'lr-aug_2shot_mean', 'distill_2shot_ci95', 'protonet_1shot_mean']) assert.equal(b.metrics[key], a.metrics[key], key);

    // Interrupted after the teacher's stage (here: a failure when generation 1 starts), a run resumes there with the same seeds.
    const other = RunStore.open(path.join(dir, 'resume.db'));
    try {
      const failing = { start(label: string) { if (label.startsWith('gen1')) throw new Error('interrupted'); }, update() {}, stop() {}, log() {} };
      await assert.rejects(runExperiment('fewshot-rfs', { store: other, settings, backend: 'wasm', progress: failing }), /interrupted/);
      const phases: string[] = [];
      const recording = { start(label: string) { phases.push(label); }, update() {}, stop() {}, log() {} };
      const resumed = await runExperiment('fewshot-rfs', { store: other, settings, backend: 'wasm', progress: recording });
      assert.ok(!phases.some((p) => p.startsWith('gen0')) && phases.some((p) => p.startsWith('gen1')), `phases after resuming: ${phases.join(' | ')}`);
      assert.equal(resumed.status, 'resumed');
      for (const key of ['lr_1shot_mean', 'lr-aug_2shot_mean', 'nn-raw_2shot_ci95', 'distill_2shot_mean', 'protonet_1shot_mean']) assert.equal(resumed.metrics[key], a.metrics[key], key);
    } finally {
      other.close();
    }

    const html = getExperiment('fewshot-rfs').report(b.run, store);
    assert.match(html, /RFS-simple: LR \+ L2 norm/);
    assert.match(html, /55\.25/, 'Conv-4 RFS-simple 1-shot is not in the table');
    assert.match(html, /55\.88/, 'Conv-4 RFS-distill 1-shot is not in the table');
    assert.doesNotMatch(html, /miniImageNet 2-shot/);
    assert.match(html, /L2 normalisation \(LR with − without\)/);
    // The paired difference is the difference of the means (same episodes).
    for (const k of [1, 2]) {
      const d = Number(b.metrics[`lr_minus_lr-raw_${k}shot_mean`]);
      assert.ok(Math.abs(d - (Number(b.metrics[`lr_${k}shot_mean`]) - Number(b.metrics[`lr-raw_${k}shot_mean`]))) < 1e-12);
    }

    // ResNet-12 (with DropBlock) on the logits (RFS's use_logit); baselines can be switched off.
    const logits = await runExperiment('fewshot-rfs', {
      store,
      settings: [...settings.filter((s) => !/^(distillGenerations|protoEpisodes|supportAugmentation)=/.test(s)), 'distillGenerations=0', 'protoEpisodes=0', 'representation="logits"', 'backbone="resnet12"', 'widths=[2,2,2,3]'],
      backend: 'wasm',
    });
    assert.notEqual(logits.metrics.lr_1shot_mean, undefined);
    assert.equal(logits.metrics.distill_1shot_mean, undefined);
    assert.equal(logits.metrics.protonet_1shot_mean, undefined);
    assert.match(getExperiment('fewshot-rfs').report(logits.run, store), /resnet12 widths 2-2-2-3.*classifiers on the logits/);
  });

  it('reads an image folder (one sub-folder per class, as miniImageNet) and splits its classes', async () => {
    const root = path.join(dir, 'folder');
    const glyphs = generateGlyphs({ classes: 9, perClass: 20, seed: 3, size: 16 });
    for (let i = 0; i < glyphs.labels.length; i++) {
      const cls = path.join(root, `class_${glyphs.labels[i]}`);
      fs.mkdirSync(cls, { recursive: true });
      fs.writeFileSync(path.join(cls, `${i}.png`), imageGridPng(glyphs.images.subarray(i * 256, (i + 1) * 256), { count: 1, height: 16, width: 16, channels: 1, cols: 1, scale: 1, pad: 0 }));
    }
    const settings = ['dataset="folder"', `dataDir=${JSON.stringify(root)}`, 'imageSize=16', 'channels=1', 'classes=[3,1,5]', 'width=4', 'epochs=1', 'batchSize=50', 'distillGenerations=0', 'protoEpisodes=0', 'ways=3', 'shots=[1]', 'queries=4', 'episodes=4'];
    const r = await runExperiment('fewshot-rfs', { store, settings, backend: 'wasm' });
    assert.match(String(r.metrics.data_note), /image folder .*9 classes, 180 images, 16×16/);
    assert.equal(r.metrics.base_images, 60);
    assert.equal(r.metrics.novel_images, 100);
    assert.ok(Number(r.metrics.lr_1shot_mean) >= 0);
  });

  it('rejects configs whose novel classes cannot fill an episode', () => {
    throwsInput(() => resolveConfig(getExperiment('fewshot-rfs'), 'quick', ['perClass=10']), 'perClass');
    throwsInput(() => resolveConfig(getExperiment('fewshot-rfs'), 'quick', ['backbone="vgg"']), 'backbone');
  });
});
