/**
 * topogan: presets, verdicts from paired intervals on hand-made cells, the
 * claims hook, and tiny runs end to end (the quick preset, a flat tensor count,
 * a resume from inside seed 1's TopoGAN arm to the same numbers, the report's
 * table, grids and histograms).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bettiBins, claimRows, getExperiment, releaseTopoGanUnitData, resolveConfig, runExperiment, topoGanCellUnit, topoGanFindings, type TopoGanCell, type TopoGanConfig } from '../../src/experiments/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { RunStore } from '../../src/store/index.js';
import { interruptingProgress, recordingProgress } from '../helpers.js';

function cell(dataset: TopoGanCell['dataset'], arm: TopoGanCell['arm'], seed: number, betti: number, mmd: number, fd: number): TopoGanCell {
  const dim = dataset === 'membranes' ? 1 : 0;
  return {
    dataset,
    arm,
    seed,
    steps: 10,
    seconds: 1,
    diverged: false,
    topo: NaN,
    topoShare: NaN,
    fd,
    mmd: { [dim]: mmd, [1 - dim]: 0.5 },
    bettiScore: { [dim]: betti, [1 - dim]: 0.5 },
    bettiError: 1,
    histogram: [1, 2, 3],
    gridBetti: [],
    grid: '',
  };
}

describe('topogan', () => {
  it('registers with presets that validate; the full preset is the paper’s recipe on both data sets with three seeds', () => {
    const e = getExperiment('topogan');
    const quick = resolveConfig(e, 'quick') as unknown as TopoGanConfig;
    assert.ok(quick.steps <= 5 && quick.seeds.length === 1);
    const full = resolveConfig(e, 'full') as unknown as TopoGanConfig;
    assert.deepEqual(full.seeds, [0, 1, 2]);
    assert.deepEqual(full.datasets, ['membranes', 'vessels']);
    assert.deepEqual(full.arms, ['wganGp', 'wganSn', 'topoGan']);
    assert.equal(full.criticSteps, 5);
    assert.equal(full.gpWeight, 10);
    assert.equal(full.learningRate, 2e-4);
  });

  it('bins Betti numbers into equal-frequency classes', () => {
    assert.deepEqual(bettiBins([0, 0, 1, 1, 2, 2, 3, 3], 4), [1, 2, 3]);
    assert.deepEqual(bettiBins([1, 1, 1, 1, 1, 5], 4), []);
    assert.deepEqual(bettiBins([2, 2, 2, 3, 9, 9], 2), [3]);
  });

  it('verdicts come from paired intervals over seeds, per data set', () => {
    const cells = [0, 1, 2].flatMap((s) => [
      cell('membranes', 'wganGp', s, 0.3 + 0.01 * s, 0.2, 5),
      cell('membranes', 'wganSn', s, 0.2, 0.3, 6),
      cell('membranes', 'topoGan', s, 0.05 + 0.01 * s + 0.001 * (s - 1), 0.1 + 0.001 * s, 5 + 0.1 * (s - 1)),
      cell('vessels', 'wganGp', s, 0.5, 1, 10),
      cell('vessels', 'topoGan', s, 0.5 + 0.01 * (s - 1), 1.5 + 0.01 * s, 9 + 0.01 * s),
    ]);
    const text = topoGanFindings(cells).verdicts.join('\n');
    assert.match(text, /membranes \(dim 1\), TopoGAN − WGAN-GP: Betti score -0\.2500 ± [0-9.]+ \(lower, as the paper\), MMD -0\.0990 ± [0-9.]+ \(lower, as the paper\), FD 0\.000 ± [0-9.]+ \(not clearly different\)/);
    assert.match(text, /vessels \(dim 0\), TopoGAN − WGAN-GP: Betti score 0\.0000 ± [0-9.]+ \(no clear difference\), MMD 0\.5100 ± [0-9.]+ \(higher, unlike the paper\), FD -0\.990 ± [0-9.]+ \(better\)/);
    assert.ok(!text.includes('Only'));
    assert.match(topoGanFindings(cells.filter((c) => c.seed === 0)).verdicts[0]!, /Only 1 seed: no interval/);
  });

  it('claims hook: lower Betti score and MMD at no FD cost on both data sets reproduce; one data set is partly; equal FD alone is not reproduced', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-topogan-claims-'));
    const store = RunStore.open(path.join(dir, 'eccvkit.db'));
    try {
      let runs = 0;
      const put = (cells: TopoGanCell[], preset = 'full') => {
        const run = store.createRun({ experiment: 'topogan', preset, config: { seed: 0, n: ++runs }, seed: 0, backend: 'cpu' });
        const file = path.join(run.dir, 'results.json');
        fs.writeFileSync(file, JSON.stringify({ real: [], cells }));
        store.addArtifact(run.id, { name: 'results', kind: 'application/json', path: file });
        store.setFinalMetrics(run.id, { backend: 'cpu' });
        store.finishRun(run.id, 'finished');
      };
      const good = (d: TopoGanCell['dataset'], better: boolean) => [0, 1, 2].flatMap((s) => [cell(d, 'wganGp', s, 0.3 + 0.01 * s, 0.2 + 0.01 * s, 5), cell(d, 'topoGan', s, (better ? 0.1 : 0.3) + 0.01 * s + 0.001 * s * s, (better ? 0.1 : 0.2) + 0.01 * s + 0.001 * s * s, 5)]);
      put([...good('membranes', true), ...good('vessels', true)]);
      let row = claimRows(store).find((r) => r.experiment === 'topogan')!;
      assert.equal(row.verdict, 'reproduced', row.why);
      assert.match(row.measured, /TopoGAN − WGAN-GP Betti score: membranes −0\.198 ± 0\.005, vessels −0\.198/);
      put([...good('membranes', true), ...good('vessels', false)]);
      row = claimRows(store).find((r) => r.experiment === 'topogan')!;
      assert.equal(row.verdict, 'partly', row.why);
      // No topology measure falls anywhere: an unchanged FD is not half of the effect (the full run of 2026-12-04).
      put([...good('membranes', false), ...good('vessels', false)]);
      row = claimRows(store).find((r) => r.experiment === 'topogan')!;
      assert.equal(row.verdict, 'not reproduced', row.why);
      put(good('membranes', true).filter((c) => c.seed === 0), 'quick');
      row = claimRows(store).find((r) => r.experiment === 'topogan')!;
      assert.equal(row.verdict, 'pipeline check only');
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('topogan run', () => {
  let dir: string;
  let store: RunStore;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-topogan-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
    await initEngine({ backend: 'wasm' });
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the quick preset trains and scores every arm on both data sets, leaks nothing and shows its table, grids and histograms', async () => {
    const before = tf.memory().numTensors;
    const a = await runExperiment('topogan', { store, backend: 'wasm' });
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by a run');
    assert.equal(a.status, 'finished');
    for (const d of ['membranes', 'vessels'])
      for (const arm of ['wganGp', 'wganSn', 'topoGan']) {
        assert.ok(Number.isFinite(Number(a.metrics[`fd:${d}/${arm}`])), `fd:${d}/${arm}`);
        assert.ok(Number.isFinite(Number(a.metrics[`betti_score:${d}/${arm}`])), `betti_score:${d}/${arm}`);
        // The downstream check: a U-Net per training set, Dice on held-out real pairs in [0, 1].
        for (const set of ['real', arm, `real+${arm}`]) {
          const dice = Number(a.metrics[`dice:${d}/${set}`]);
          assert.ok(dice >= 0 && dice <= 1, `dice:${d}/${set} = ${dice}`);
        }
      }
    assert.match(String(a.metrics.findings), /Only 1 seed/);
    const html = getExperiment('topogan').report(a.run, store);
    for (const grid of ['samples-membranes-real', 'samples-membranes-topoGan', 'samples-vessels-wganSn']) assert.match(html, new RegExp(`<img alt="${grid}"`), grid);
    assert.match(html, /Table 1 at our scale/);
    assert.match(html, /CREMI \(paper\)/);
    assert.match(html, /0\.015 ± 0\.001/, 'the paper’s TopoGAN Betti score on CREMI');
    assert.match(html, /Table 2 at our scale/);
    assert.match(html, /0\.902 ± 0\.006/, 'the paper’s TopoGAN + real Dice on CREMI');
    assert.match(html, /histogram of β1/);
    assert.match(html, /histogram of β0/);
    assert.match(html, /\(\d+, \d+\)<\/span>/, 'each sample’s Betti numbers');
    assert.equal(claimRows(store).find((r) => r.experiment === 'topogan')!.verdict, 'pipeline check only');
  });

  it('a cell unit stopped after its first checkpoint resumes from the checkpoint it saved to the same weights and loss points', async () => {
    const { storage: _s, ...config } = resolveConfig(getExperiment('topogan'), 'quick', ['steps=4', 'checkpointEvery=2']) as unknown as TopoGanConfig;
    const args = { config, dataset: 'membranes', arm: 'topoGan', seed: 0, backend: 'wasm' } as unknown as Parameters<typeof topoGanCellUnit>[0];
    const before = tf.memory().numTensors;
    const whole = await topoGanCellUnit(args);
    const saved: unknown[] = [];
    const stopping = { log: () => {}, checkpoint: undefined, saveCheckpoint: async (state: unknown) => {
      saved.push(state);
      throw new Error('worker gone');
    } };
    await assert.rejects(topoGanCellUnit(args, stopping as never), /worker gone/);
    assert.equal(saved.length, 1);
    const logs: string[] = [];
    const resumed = await topoGanCellUnit(args, { log: (m) => logs.push(m), checkpoint: saved[0] as never, saveCheckpoint: async () => {} });
    assert.ok(logs.some((m) => /resuming at step 2/.test(m)), logs.join(' | '));
    assert.equal(resumed.generator['weights.bin'], whole.generator['weights.bin']);
    // Every logged number but persistence's share of the step time, which is a timing.
    const values = (log: typeof whole.log) => log.map(([step, v]) => [step, Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'topo_share'))]);
    assert.deepEqual(values(resumed.log), values(whole.log));
    assert.equal(resumed.meta.steps, 4);
    releaseTopoGanUnitData();
    assert.equal(tf.memory().numTensors, before, 'tensors left behind by the units');
  });

  it('two seeds give intervals; stopped inside seed 1’s TopoGAN arm, the run resumes there to the same numbers', async () => {
    const settings = ['seeds=[0,1]', 'datasets=["membranes"]', 'steps=4', 'checkpointEvery=2'];
    const a = await runExperiment('topogan', { store, settings, backend: 'wasm' });
    for (const arm of ['wganGp', 'wganSn', 'topoGan']) assert.ok(Number.isFinite(Number(a.metrics[`fd:membranes/${arm}_ci95`])), `${arm}: two seeds give an interval`);
    assert.ok(Number.isFinite(Number(a.metrics['dice:membranes/real+topoGan_ci95'])), 'two seeds give a Dice interval');
    const other = RunStore.open(path.join(dir, 'resume.db'));
    try {
      const failing = interruptingProgress('TopoGAN, membranes, seed 1', 3);
      await assert.rejects(runExperiment('topogan', { store: other, settings, backend: 'wasm', progress: failing }), /interrupted/);
      const { progress: recording, labels, logs } = recordingProgress();
      const resumed = await runExperiment('topogan', { store: other, settings, backend: 'wasm', progress: recording });
      assert.equal(resumed.status, 'resumed');
      assert.deepEqual(labels, ['TopoGAN, membranes, seed 1 (6/6)'], `labels after resuming: ${labels.join(' | ')}`);
      assert.ok(logs.some((m) => /membranes-topoGan-seed1: resuming at step 2/.test(m)), logs.join(' | '));
      for (const key of ['fd:membranes/topoGan', 'betti_score:membranes/topoGan', 'betti_error:membranes/topoGan', 'fd:membranes/wganSn', 'fd_real_floor:membranes', 'dice:membranes/real', 'dice:membranes/topoGan']) assert.equal(resumed.metrics[key], a.metrics[key], key);
    } finally {
      other.close();
    }
  });
});
