/**
 * lipschitz-domain-scaling: presets, the spread and findings rules on hand-made
 * cells, and a tiny grid end to end (flat tensor count, same seed same numbers,
 * a resume from inside a cell, sample grids in the report).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { domainScalingFindings, fdSpread, getExperiment, resolveConfig, runExperiment, type DomainScalingCell } from '../../src/experiments/index.js';
import { EccvkitInputError } from '../../src/errors.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { RunStore } from '../../src/store/index.js';

const cell = (loss: DomainScalingCell['loss'], regulariser: DomainScalingCell['regulariser'], alpha: number, fd: number, diverged = false): DomainScalingCell => ({
  loss,
  regulariser,
  alpha,
  fd,
  kid: 0,
  diverged,
  steps: 1,
  seconds: 0,
  grid: '',
});

describe('lipschitz-domain-scaling', () => {
  it('registers with presets that validate; the quick preset is a small grid', () => {
    const e = getExperiment('lipschitz-domain-scaling');
    const quick = resolveConfig(e, 'quick') as unknown as { losses: string[]; regularisers: string[]; alphas: number[]; steps: number };
    // The quick grid is the full run's clearest contrast: a loose bound at the largest and smallest α.
    assert.ok(quick.losses.length * quick.regularisers.length * quick.alphas.length <= 6 && quick.steps <= 300);
    assert.deepEqual([quick.regularisers, [Math.max(...quick.alphas), Math.min(...quick.alphas)]], [['snLarge'], [1, 0.01]]);
    const full = resolveConfig(e, 'full') as unknown as { losses: string[]; regularisers: string[] };
    assert.deepEqual(full.regularisers, ['none', 'sn1', 'snLarge']);
    assert.equal(full.losses.length, 6);
    assert.throws(() => resolveConfig(e, 'quick', ['losses=["cosine"]']), EccvkitInputError);
  });

  it('fdSpread is max/min FD over a row, ∞ when a loss diverged', () => {
    assert.equal(fdSpread([cell('hinge', 'none', 1, 2), cell('exp', 'none', 1, 8)]), 4);
    assert.equal(fdSpread([cell('hinge', 'none', 1, 2), cell('exp', 'none', 1, NaN, true)]), Infinity);
  });

  it('findings name the most and least alike settings, how the spread moves with α and the bound, the linear limit and divergence', () => {
    const lines = domainScalingFindings(
      [
        cell('nonSaturating', 'none', 1, 10),
        cell('exp', 'none', 1, 40),
        cell('wasserstein', 'none', 1, 20),
        cell('nonSaturating', 'none', 0.01, 10),
        cell('exp', 'none', 0.01, 12),
        cell('wasserstein', 'none', 0.01, 8),
        cell('nonSaturating', 'sn1', 1, 10),
        cell('exp', 'sn1', 1, 11),
        cell('wasserstein', 'sn1', 1, 9),
        cell('nonSaturating', 'snLarge', 1, 5),
        cell('exp', 'snLarge', 1, NaN, true),
      ],
      8,
    );
    const text = lines.join('\n');
    assert.match(lines[0]!, /most alike under SN k = 1, α = 1 \(max\/min FD across losses 1\.22\)/);
    assert.match(lines[0]!, /least alike under SN k = 8, α = 1 \(∞ \(a loss diverged\)\)/);
    assert.ok(lines.includes('With no regulariser, the spread shrinks from 4.00 at α = 1 to 1.50 at α = 0.01.'), text);
    assert.ok(lines.includes('So the losses become more alike as α shrinks under 1 of 1 regularisers, as the paper claims.'), text);
    assert.match(text, /At α = 1, the spread is 1\.22 with SN k = 1 against ∞ \(a loss diverged\) with SN k = 8 and 4\.00 with no regulariser: a smaller Lipschitz bound makes the losses more alike here\./);
    // 10/8 and 12/8.
    assert.ok(lines.includes("With no regulariser, α = 0.01, the other losses' FD is 1.25–1.50× the Wasserstein loss's (8.00), the linear loss they degenerate to."), text);
    assert.ok(
      lines.includes("Noise yardstick: under Adam, α only rescales the Wasserstein loss's gradients, so its cells with no regulariser (α = 1, 0.01) differ only by seed (and Adam's ε); their FDs 20.00, 8.00 (max/min 2.50) show how far one seed can move a cell."),
      text,
    );
    assert.ok(!/yardstick.*SN k = 1/.test(text), 'a yardstick from one Wasserstein cell');
    assert.ok(lines.includes('The best cell is nonSaturating with SN k = 8, α = 1 (FD 5.00).'), text);
    assert.ok(lines.includes('Diverged (a non-finite loss or sample): exp with SN k = 8, α = 1.'), text);
    assert.deepEqual(domainScalingFindings([cell('hinge', 'none', 1, 3)]), ['Only one loss per setting: nothing to compare.']);

    // One seed per cell: 1.05 → 1.00 is within the 25% tolerance, so no trend and no claim.
    const flat = domainScalingFindings([
      cell('hinge', 'none', 1, 105),
      cell('exp', 'none', 1, 100),
      cell('hinge', 'none', 0.01, 100),
      cell('exp', 'none', 0.01, 100),
      cell('hinge', 'sn1', 1, 100),
      cell('exp', 'sn1', 1, 101),
    ]);
    assert.ok(flat.includes('With no regulariser, the spread stays about the same from 1.05 at α = 1 to 1.00 at α = 0.01.'), flat.join('\n'));
    assert.match(flat.join('\n'), /do not become clearly more alike as α shrinks under any of the 1 regularisers \(a change of spread under 25% counts as none/);
    assert.match(flat.join('\n'), /a smaller Lipschitz bound makes the losses neither clearly more nor less alike here/);
  });
});

describe('lipschitz-domain-scaling run', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-lds-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains every cell, leaks nothing, repeats itself, resumes inside a cell and shows grids', async () => {
    const settings = [
      'losses=["hinge","exp"]',
      'regularisers=["none","sn1"]',
      'alphas=[1]',
      'steps=4',
      'width=2',
      'latentDim=4',
      'batchSize=8',
      'evalSamples=30',
      'classifierEpochs=1',
      'sampleEvery=2',
      'checkpointEvery=2',
    ];
    const before = tf.memory().numTensors;
    const a = await runExperiment('lipschitz-domain-scaling', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    assert.equal(a.metrics.cells, 4);
    const keys = ['hinge/none/1', 'exp/none/1', 'hinge/sn1/1', 'exp/sn1/1'];
    for (const key of keys) {
      const fd = Number(a.metrics[`fd:${key}`]);
      assert.ok(Number.isFinite(fd) && fd > 0, `${key}: FD ${fd}`);
      // One logged loss per step, and a mid-run grid at step 2.
      assert.equal(store.metrics(a.run.id, `d_loss:${key}`).length, 4, key);
      assert.ok(store.artifacts(a.run.id).some((x) => x.name === `samples:${key}:step2` && fs.existsSync(x.path)), `${key}: no step-2 grid`);
    }
    assert.ok(Number(a.metrics.classifier_accuracy) > 0.5, `feature classifier accuracy ${a.metrics.classifier_accuracy}`);
    assert.match(String(a.metrics.findings), /^Losses are most alike under (no regulariser|SN k = 1), α = 1/);

    const b = await runExperiment('lipschitz-domain-scaling', { store, settings, backend: 'wasm', force: true });
    for (const key of keys) assert.equal(b.metrics[`fd:${key}`], a.metrics[`fd:${key}`], key);

    // Stopped at step 3 of the second cell (after its step-2 checkpoint), the run resumes inside that cell.
    const other = RunStore.open(path.join(dir, 'resume.db'));
    try {
      const failing = {
        label: '',
        start(label: string) { this.label = label; },
        update(done: number) { if (this.label.startsWith('exp/none/1') && done === 3) throw new Error('interrupted'); },
        stop() {},
        log() {},
      };
      await assert.rejects(runExperiment('lipschitz-domain-scaling', { store: other, settings, backend: 'wasm', progress: failing }), /interrupted/);
      const labels: string[] = [];
      const recording = { start(label: string) { labels.push(label); }, update() {}, stop() {}, log() {} };
      const resumed = await runExperiment('lipschitz-domain-scaling', { store: other, settings, backend: 'wasm', progress: recording });
      assert.equal(resumed.status, 'resumed');
      assert.ok(!labels.some((l) => l.startsWith('hinge/none/1')) && !labels.some((l) => l.startsWith('feature classifier')), `labels after resuming: ${labels.join(' | ')}`);
      for (const key of keys) assert.equal(resumed.metrics[`fd:${key}`], a.metrics[`fd:${key}`], key);
    } finally {
      other.close();
    }

    const html = getExperiment('lipschitz-domain-scaling').report(b.run, store);
    assert.equal((html.match(/<img alt="samples /g) ?? []).length, 4);
    assert.match(html, /data:image\/png;base64,/);
    assert.match(html, /FD max\/min/);
    assert.match(html, /Findings:/);
  });

  it('a diverged cell stops early, is stored and reported as diverged, and the run finishes', async () => {
    // exp of 1e30·d overflows on the first step; hinge stays finite at the same scale.
    const settings = ['losses=["exp","hinge"]', 'regularisers=["none"]', 'alphas=[1e30]', 'steps=4', 'width=2', 'latentDim=4', 'batchSize=8', 'evalSamples=30', 'classifierEpochs=1', 'sampleEvery=0', 'checkpointEvery=2'];
    const r = await runExperiment('lipschitz-domain-scaling', { store, settings, backend: 'wasm' });
    assert.equal(r.status, 'finished');
    assert.equal(r.metrics['fd:exp/none/1e+30'], 'diverged');
    const cellsFile = store.artifacts(r.run.id).find((a) => a.name === 'cells')!.path;
    const cells = JSON.parse(fs.readFileSync(cellsFile, 'utf8')) as Array<{ loss: string; fd: number | null; diverged: boolean; steps: number }>;
    const exp = cells.find((c) => c.loss === 'exp')!;
    assert.deepEqual([exp.fd, exp.diverged, exp.steps], [null, true, 1]);
    assert.equal(cells.find((c) => c.loss === 'hinge')!.steps, 4);
    const html = getExperiment('lipschitz-domain-scaling').report(r.run, store);
    assert.match(html, /Diverged \(a non-finite loss or sample\): exp with no regulariser, α = 1e\+30\./);
    assert.match(html, /— \/ — \(diverged\)/);
  });
});
