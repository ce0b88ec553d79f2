/**
 * idinvert: presets, verdicts from paired intervals on hand-made results, and a
 * tiny two-seed run end to end (flat tensor count, same seed same numbers, a
 * resume from inside an encoder's training, the report's grids).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getExperiment, idInvertFindings, resolveConfig, runExperiment, type IdInvertConfig, type MethodResult } from '../../src/experiments/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { RunStore } from '../../src/store/index.js';
import { interruptingProgress, recordingProgress } from '../helpers.js';

function result(method: MethodResult['method'], seed: number, mse: number, gap: number, midFd: number): MethodResult {
  return {
    method,
    seed,
    mse,
    perceptual: mse,
    fd: 10,
    secondsPerImage: 0.1,
    reencodeGap: gap,
    classConsistency: 0.9,
    interpolationFd: midFd,
    interpolationClassKept: 0.8,
    editGain: { thickness: 1, slant: 0.1 },
    editClassDrift: { thickness: 0.1, slant: 0.1 },
    editFd: { thickness: 20, slant: 20 },
  };
}

describe('idinvert', () => {
  it('registers with presets that validate; the full preset has three seeds and the reference λ_dom', () => {
    const e = getExperiment('idinvert');
    const quick = resolveConfig(e, 'quick') as unknown as IdInvertConfig;
    assert.ok(quick.ganSteps <= 10 && quick.seeds.length === 1);
    const full = resolveConfig(e, 'full') as unknown as IdInvertConfig;
    assert.deepEqual(full.seeds, [0, 1, 2]);
    assert.equal(full.lambdaDomain, 2);
    assert.equal(full.iterations, 100);
  });

  it('verdicts come from paired intervals over seeds', () => {
    const results = [0, 1, 2].flatMap((s) => [
      result('encoder', s, 0.1 + 0.01 * s, 0.01, 30),
      // In-domain: lower MSE than the encoder by 0.05 ± small, higher than plain optimisation by 0.005, a smaller gap, midpoints clearly better.
      result('inDomain', s, 0.05 + 0.01 * s + 0.001 * (s - 1), 0.002, 20 + s),
      result('optimEncoder', s, 0.045 + 0.01 * s, 0.02 + 0.001 * s, 26 + s),
      result('optimMean', s, 0.06, 0.03, 40),
      result('traditional', s, 0.3, 0.01, 50),
    ]);
    const text = idInvertFindings(results).join('\n');
    assert.match(text, /Reconstruction MSE: in-domain inversion .* − domain-guided encoder = -0\.0500 ± [0-9.]+ \(in-domain inversion .* is better\)/);
    assert.match(text, /Reconstruction MSE: in-domain inversion .* − optimisation from encoder = 0\.0050 ± [0-9.]+ \(in-domain inversion .* is worse\)/);
    assert.match(text, /Re-encode gap .*: in-domain inversion .* − optimisation from encoder = -0\.0190 ± [0-9.]+ \(in-domain .* is better\)/);
    assert.match(text, /FD of interpolation midpoints: in-domain inversion .* − optimisation from encoder = -6\.00 ± 0\.00 \(in-domain .* is better\)/);
    assert.match(text, /Class kept by the reconstruction: .* = 0\.000 ± 0\.000 \(no clear difference\)/);
    assert.ok(!text.includes('Only'));
    assert.match(idInvertFindings(results.filter((r) => r.seed === 0))[0]!, /Only 1 seed: no interval/);
  });
});

describe('idinvert run', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-idinvert-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('inverts with every method for two seeds, leaks nothing, repeats itself, resumes inside an encoder and shows its grids', async () => {
    const settings = ['seeds=[0,1]', 'encoderSteps=4', 'checkpointEvery=2'];
    const before = tf.memory().numTensors;
    const a = await runExperiment('idinvert', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    for (const m of ['traditional', 'encoder', 'optimMean', 'optimEncoder', 'inDomain']) {
      for (const key of ['mse', 'fd', 'interpolationFd', 'reencodeGap']) assert.ok(Number.isFinite(Number(a.metrics[`${key}:${m}`])), `${key}:${m}`);
      assert.ok(Number.isFinite(Number(a.metrics[`mse:${m}_ci95`])), `${m}: two seeds give an interval`);
    }
    assert.ok(Number(a.metrics.classifier_accuracy) > 0.1);
    assert.match(String(a.metrics.findings), /Reconstruction MSE: /);

    const b = await runExperiment('idinvert', { store, settings, backend: 'wasm', force: true });
    for (const key of ['mse:inDomain', 'fd:encoder', 'interpolationFd:optimMean', 'reencodeGap:traditional']) assert.equal(b.metrics[key], a.metrics[key], key);

    // Stopped at step 3 of seed 1's domain-guided encoder (after its step-2 checkpoint), the run resumes there.
    const other = RunStore.open(path.join(dir, 'resume.db'));
    try {
      const failing = interruptingProgress('domain-guided encoder, seed 1', 3);
      await assert.rejects(runExperiment('idinvert', { store: other, settings, backend: 'wasm', progress: failing }), /interrupted/);
      const { progress: recording, labels } = recordingProgress();
      const resumed = await runExperiment('idinvert', { store: other, settings, backend: 'wasm', progress: recording });
      assert.equal(resumed.status, 'resumed');
      assert.ok(!labels.some((l) => l === 'style GAN' || l.startsWith('classifier') || l.includes('seed 0')), `labels after resuming: ${labels.join(' | ')}`);
      for (const key of ['mse:inDomain', 'fd:optimEncoder', 'reencodeGap:encoder']) assert.equal(resumed.metrics[key], a.metrics[key], key);
    } finally {
      other.close();
    }

    const html = getExperiment('idinvert').report(b.run, store);
    for (const grid of ['reconstructions', 'interpolation-inDomain', 'edit-thickness', 'edit-slant', 'diffusion', 'style-mix', 'gan-samples']) assert.match(html, new RegExp(`<img alt="${grid}"`), grid);
    assert.match(html, /verdicts from paired 95% intervals/);
    assert.match(html, /not LPIPS/);
  });
});
