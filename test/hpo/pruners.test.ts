/**
 * Pruners on hand-made learning curves: the median pruner stops the trial
 * whose intermediate values are worst and spares the good ones, respects its
 * start-up trials, warm-up and interval, and flips for maximisation;
 * successive halving keeps the top 1/η at each rung.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStudy, MedianPruner, RandomSampler, SuccessiveHalvingPruner, TrialPruned, type FrozenTrial, type StudyDirection } from '../../src/hpo/index.js';
import { throwsInput } from '../helpers.js';

/** A finished trial with the curve `values` (one per step from 0). */
function done(number: number, values: number[], state: FrozenTrial['state'] = 'COMPLETE'): FrozenTrial {
  return {
    id: number + 1,
    number,
    state,
    value: state === 'COMPLETE' ? (values[values.length - 1] as number) : null,
    params: {},
    distributions: {},
    intermediateValues: values.map((value, step) => ({ step, value })),
    worker: 'w',
    startedAt: null,
    finishedAt: null,
    heartbeatAgeS: null,
    error: null,
    retryOf: null,
    retries: 0,
    userAttrs: {},
    systemAttrs: {},
  };
}

/** Loss curves c / (step + 1). */
const curve = (c: number, steps = 6) => Array.from({ length: steps }, (_, s) => c / (s + 1));

/** The first step at which the pruner stops a trial following `values`, or -1. */
function prunedAt(pruner: { prune: MedianPruner['prune'] }, trials: FrozenTrial[], values: number[], direction: StudyDirection = 'minimize'): number {
  for (let s = 0; s < values.length; s++) {
    const iv = values.slice(0, s + 1).map((value, step) => ({ step, value }));
    if (pruner.prune({ direction, trials, trial: { number: 99, intermediateValues: iv } })) return s;
  }
  return -1;
}

describe('MedianPruner', () => {
  const history = [1, 2, 3, 4, 5].map((c, i) => done(i, curve(c)));

  it('stops the trial whose values are worst, spares one better than the median', () => {
    const p = new MedianPruner();
    assert.equal(prunedAt(p, history, curve(10)), 0);
    assert.equal(prunedAt(p, history, curve(0.5)), -1);
    assert.equal(prunedAt(p, history, curve(3)), -1, 'at the median: not worse, kept');
    // Starts fine, then stalls far above the others: its best so far (1.3) falls behind the median (1.0) at step 2.
    assert.equal(prunedAt(p, history, [2, 1.4, 1.3, 1.3, 1.3, 1.3]), 2);
  });

  it('waits for its start-up trials and warm-up steps, judges once per interval', () => {
    assert.equal(prunedAt(new MedianPruner(), history.slice(0, 4), curve(10)), -1, 'four completed < five start-up trials');
    assert.equal(prunedAt(new MedianPruner({ nStartupTrials: 4 }), history.slice(0, 4), curve(10)), 0);
    assert.equal(prunedAt(new MedianPruner({ nWarmupSteps: 3 }), history, curve(10)), 3);
    // Interval 2 from step 0: judged at steps 0, 2, 4 only; a curve that turns bad at step 1 is stopped at step 2.
    const turn = [0.5, 9, 9, 9, 9, 9];
    assert.equal(prunedAt(new MedianPruner({ intervalSteps: 2 }), history, turn), -1, 'its best (0.5) stays below the median');
    const late = [2.9, 2.9, 2.9, 2.9, 2.9, 2.9];
    assert.equal(prunedAt(new MedianPruner({ intervalSteps: 2 }), history, late), 2, 'above the median from step 1 (1.5), judged at step 2');
    assert.equal(prunedAt(new MedianPruner({ intervalSteps: 1 }), history, late), 1);
    // Pruned and running trials are not part of the median.
    assert.equal(prunedAt(new MedianPruner(), [...history.slice(0, 4), done(5, curve(100), 'PRUNED')], curve(10)), -1);
  });

  it('maximisation: stops the lowest curve', () => {
    const acc = [1, 2, 3, 4, 5].map((c, i) => done(i, curve(c).map((v) => -v)));
    assert.equal(prunedAt(new MedianPruner(), acc, curve(10).map((v) => -v), 'maximize'), 0);
    assert.equal(prunedAt(new MedianPruner(), acc, curve(0.5).map((v) => -v), 'maximize'), -1);
  });

  it('a NaN value is pruned; bad options are refused', () => {
    assert.equal(prunedAt(new MedianPruner(), history, [NaN]), 0);
    throwsInput(() => new MedianPruner({ intervalSteps: 0 }), 'intervalSteps: got 0, expected an integer ≥ 1');
  });

  it('in a study: the objective that asks is stopped on its worst trial (PRUNED), the others complete', async () => {
    const study = await createStudy({ sampler: new RandomSampler(), pruner: new MedianPruner() });
    for (const c of [1, 2, 3, 4, 5, 10, 0.5]) await study.enqueue({ c });
    const r = await study.optimize(
      (t) => {
        const c = t.suggestFloat('c', 0, 100);
        const values = curve(c);
        for (const [step, v] of values.entries()) {
          t.report(v, step);
          if (t.shouldPrune()) throw new TrialPruned();
        }
        return values[values.length - 1] as number;
      },
      { trials: 7 },
    );
    assert.deepEqual(
      r.trials.map((t) => [t.params.c, t.state]),
      [[1, 'COMPLETE'], [2, 'COMPLETE'], [3, 'COMPLETE'], [4, 'COMPLETE'], [5, 'COMPLETE'], [10, 'PRUNED'], [0.5, 'COMPLETE']],
    );
    assert.equal(r.trials[5]!.intermediateValues.length, 1, 'stopped after its first report');
    assert.equal(study.best?.params.c, 0.5);
  });
});

describe('SuccessiveHalvingPruner', () => {
  it('keeps the top 1/η of the trials at each rung', () => {
    const p = new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 2 });
    // Rungs at steps 1, 2, 4. Three others reached step 1 with 1, 2, 3.
    const others = [done(0, [5, 1, 1]), done(1, [5, 2, 2]), done(2, [5, 3, 3])];
    assert.equal(prunedAt(p, others, [5, 2.5, 0.1]), 1, 'at rung 0: 2.5 is not in the best 2 of {1, 2, 2.5, 3}');
    assert.equal(prunedAt(p, others, [5, 1.5, 0.1, 0.1, 0.1]), -1, 'promoted at rung 0, alone (best) at rungs 1 and 2');
    assert.equal(prunedAt(p, [], [9, 9, 9, 9, 9]), -1, 'the first trial at a rung is promoted');
  });

  it('auto min resource: none before a completed trial, then 1/100 of its steps', () => {
    const p = new SuccessiveHalvingPruner();
    assert.equal(prunedAt(p, [done(0, [1, 1, 1], 'RUNNING')], [9, 9, 9, 9, 9]), -1);
    const long = done(0, Array.from({ length: 400 }, () => 1));
    // minResource = floor(399 / 100) = 3, rungs at 3, 12, …; with η = 4 and two competitors only the best is promoted.
    assert.equal(prunedAt(p, [long], Array.from({ length: 5 }, () => 2)), 3);
    assert.equal(prunedAt(p, [long], Array.from({ length: 5 }, () => 0.5)), -1);
  });

  it('maximisation and bad options', () => {
    const p = new SuccessiveHalvingPruner({ minResource: 1, reductionFactor: 2 });
    const others = [done(0, [0, 1]), done(1, [0, 2]), done(2, [0, 3])];
    assert.equal(prunedAt(p, others, [0, 1.5], 'maximize'), 1);
    assert.equal(prunedAt(p, others, [0, 2.5], 'maximize'), -1);
    throwsInput(() => new SuccessiveHalvingPruner({ reductionFactor: 1 }), 'reductionFactor: got 1, expected a number ≥ 2');
  });
});
