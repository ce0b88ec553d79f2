/**
 * hessian-penalty: presets, the verdicts computed from paired intervals on
 * hand-made results, and a tiny two-seed run end to end (flat tensor count, same
 * seed same numbers, a resume from inside an arm, traversal grids in the report).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getExperiment, hessianPenaltyFindings, intervalDirection, resolveConfig, runExperiment, type ArmResult, type DirectionResult, type HessianPenaltyConfig } from '../../src/experiments/index.js';
import { EccvkitInputError } from '../../src/errors.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { RunStore } from '../../src/store/index.js';
import { interruptingProgress, recordingProgress } from '../helpers.js';

const names = ['shape', 'scale', 'rotation', 'x', 'y', 'brightness'];
const effects = (top: number[], purity: number) => ({ effect: top.map((t) => names.map((_, k) => (k === t ? purity : (1 - purity) / 5))), top, purity: top.map(() => purity) });

function arm(a: ArmResult['arm'], seed: number, mig: number, fd: number, diagonal: number): ArmResult {
  return {
    arm: a,
    seed,
    steps: 10,
    seconds: 1,
    diverged: false,
    fd,
    ppl: 1,
    mig,
    migPerFactor: [],
    dciDisentanglement: mig,
    dciCompleteness: mig,
    dciInformativeness: 0.5,
    diagonalFraction: diagonal,
    diagonalStrength: 1,
    activeness: [1, 1, 1, 1, 1, 1],
    axes: effects([0, 1, 2, 3, 4, 5], 0.5),
    traversal: '',
  };
}

const direction = (method: DirectionResult['method'], seed: number, purity: number): DirectionResult => ({
  seed,
  method,
  effects: effects([1, 3, 4, 4, 2, 5], purity),
  coverage: 5,
  meanPurity: purity,
  finalPenalty: 0,
  traversal: '',
});

describe('hessian-penalty', () => {
  it('registers with presets that validate; the full preset has every arm and three seeds', () => {
    const e = getExperiment('hessian-penalty');
    const quick = resolveConfig(e, 'quick') as unknown as HessianPenaltyConfig;
    assert.ok(quick.steps <= 50 && quick.seeds.length === 1);
    const full = resolveConfig(e, 'full') as unknown as HessianPenaltyConfig;
    assert.deepEqual(full.seeds, [0, 1, 2]);
    assert.equal(full.hessianWeight, 0.01, 'a tenth of the paper’s λ: 0.1 flattens this DCGAN (see the schema)');
    assert.equal(full.latentDim, 0, 'the latent size defaults to the number of factors');
    assert.throws(() => resolveConfig(e, 'quick', ['variant="dsprites"']), EccvkitInputError);
  });

  it('intervalDirection reads the sign of a whole interval', () => {
    assert.equal(intervalDirection({ mean: 0.3, halfWidth: 0.2 }), 'up');
    assert.equal(intervalDirection({ mean: -0.3, halfWidth: 0.2 }), 'down');
    assert.equal(intervalDirection({ mean: 0.1, halfWidth: 0.2 }), 'unclear');
    assert.equal(intervalDirection({ mean: 0.1, halfWidth: NaN }), 'unclear');
  });

  it('verdicts come from paired intervals over seeds', () => {
    const arms = [0, 1, 2].flatMap((s) => [
      arm('baseline', s, 0.1 + 0.01 * s, 10 + s, 0.5),
      // MIG +0.2 ± 0.01 on every seed, FD +5 ± 1: a clear rise and a clear cost.
      arm('hpScratch', s, 0.3 + 0.01 * s + 0.005 * (s - 1), 15 + s + (s - 1) * 0.5, 0.7),
      // Fine-tuned: MIG differences 0.2, −0.21, 0.04 (mean 0.01, no clear sign), FD +1.
      arm('hpFineTune', s, 0.1 + [0.2, -0.2, 0.06][s]!, 11 + s, 0.5 + [0.1, -0.1, 0][s]!),
      arm('infoGan', s, 0.1 + 0.01 * s, 10 + s, 0.5),
    ]);
    const dirs = [0, 1, 2].flatMap((s) => [direction('discovered', s, 0.6 + 0.01 * s), direction('random', s, 0.3), direction('axes', s, 0.4 + 0.02 * s)]);
    const { verdicts, details } = hessianPenaltyFindings({ arms, directions: dirs }, names);
    const text = verdicts.join('\n');
    assert.match(text, /HP from scratch vs baseline: raises MIG \(Δ 0\.200 ± [0-9.]+\), raises the Hessian's diagonal fraction \(Δ 0\.200 ± 0\.000\), raises DCI disentanglement/);
    assert.match(text, /HP from scratch vs baseline: .*FD worse \(Δ 5\.00 ± [0-9.]+\)/);
    assert.match(text, /HP fine-tuned vs baseline: no clear change in MIG \(Δ 0\.010 ± [0-9.]+\)/);
    assert.match(text, /InfoGAN vs baseline: no clear change in MIG \(Δ 0\.000 ± 0\.000\)/);
    assert.match(text, /scratch − fine-tuned FD = 4\.00 ± [0-9.]+, so fine-tuning costs less, as the paper says/);
    assert.match(text, /discovered − random 0\.310 ± 0\.025 \(purer\), discovered − axes 0\.190 ± [0-9.]+ \(purer\)/);
    assert.ok(details.some((d) => d.startsWith('Seed 0, discovered directions move: scale (60%), x (60%), y (60%), y (60%), rotation (60%), brightness (60%); 5 of 6 factors covered.')), details.join('\n'));
    assert.ok(!text.includes('Only'), 'three seeds give intervals');
    assert.match(hessianPenaltyFindings({ arms: arms.filter((a) => a.seed === 0), directions: [] }, names).verdicts[0]!, /Only 1 seed: no interval/);
  });
});

describe('hessian-penalty run', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-hp-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains every arm for two seeds, leaks nothing, repeats itself, resumes inside an arm and shows traversals', async () => {
    const settings = [
      'seeds=[0,1]',
      'trainImages=64',
      'steps=4',
      'batchSize=8',
      'width=2',
      'predictorImages=200',
      'predictorTestImages=50',
      'predictorEpochs=1',
      'evalSamples=60',
      'fdSamples=30',
      'pplSamples=10',
      'activenessSamples=3',
      'diagonalSamples=1',
      'effectSamples=2',
      'traversalSteps=3',
      'directionSteps=3',
      'directionBatch=4',
      'checkpointEvery=2',
    ];
    const before = tf.memory().numTensors;
    const a = await runExperiment('hessian-penalty', { store, settings, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    for (const armName of ['baseline', 'hpScratch', 'hpFineTune', 'infoGan']) {
      const fd = Number(a.metrics[`fd:${armName}`]);
      assert.ok(Number.isFinite(fd) && fd > 0, `${armName}: FD ${fd}`);
      assert.ok(Number.isFinite(Number(a.metrics[`fd:${armName}_ci95`])), `${armName}: two seeds give an interval`);
      assert.ok(store.artifacts(a.run.id).some((x) => x.name === `traversal:${armName}/seed1` && fs.existsSync(x.path)), `${armName}: no traversal grid`);
    }
    // The Hessian penalty is logged for the penalised arms only, and only from the fine-tuning step on.
    assert.equal(store.metrics(a.run.id, 'hessian:baseline/seed0').length, 0);
    assert.ok(store.metrics(a.run.id, 'hessian:hpScratch/seed0').every((m) => m.value > 0));
    assert.ok(Number.isFinite(Number(a.metrics['direction_purity:discovered'])));
    assert.ok(Number(a.metrics['predictor_accuracy:shape']) >= 0);
    assert.match(String(a.metrics.findings), /HP from scratch vs baseline: /);

    const b = await runExperiment('hessian-penalty', { store, settings, backend: 'wasm', force: true });
    for (const key of ['fd:baseline', 'fd:hpFineTune', 'mig:hpScratch', 'direction_purity:discovered']) assert.equal(b.metrics[key], a.metrics[key], key);

    // Stopped at step 3 of seed 0's HP-from-scratch arm (after its step-2 checkpoint), the run resumes inside that arm.
    const other = RunStore.open(path.join(dir, 'resume.db'));
    try {
      const failing = interruptingProgress('HP from scratch, seed 0', 3);
      await assert.rejects(runExperiment('hessian-penalty', { store: other, settings, backend: 'wasm', progress: failing }), /interrupted/);
      const { progress: recording, labels } = recordingProgress();
      const resumed = await runExperiment('hessian-penalty', { store: other, settings, backend: 'wasm', progress: recording });
      assert.equal(resumed.status, 'resumed');
      assert.ok(!labels.some((l) => l.startsWith('baseline, seed 0') || l.startsWith('factor predictor')), `labels after resuming: ${labels.join(' | ')}`);
      for (const key of ['fd:baseline', 'fd:hpScratch', 'mig:hpFineTune', 'direction_purity:random']) assert.equal(resumed.metrics[key], a.metrics[key], key);
    } finally {
      other.close();
    }

    const html = getExperiment('hessian-penalty').report(b.run, store);
    assert.equal((html.match(/<img alt="traversal /g) ?? []).length, 4);
    assert.equal((html.match(/<img alt="directions /g) ?? []).length, 3);
    assert.match(html, /Factor predictor on held-out labelled shapes/);
    assert.match(html, /<li [^>]*>z0 → (shape|scale|rotation|x|y|brightness) \(\d+% of its effect\)<\/li>/);
    assert.match(html, /verdicts from paired 95% intervals/);
  });
});
