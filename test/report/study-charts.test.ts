/** scatterChartSvg and studyChartsSvg: dots and lines where the data says, log x axes, best so far, bad input. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EccvkitInputError } from '../../src/errors.js';
import { bestSoFar, scatterChartSvg, studyChartsSvg } from '../../src/report/index.js';

describe('scatterChartSvg', () => {
  it('draws one dot per finite point, a line for line series, and decade ticks on a log x axis', () => {
    const svg = scatterChartSvg({ title: 't', xLabel: 'lr', series: [{ name: 'trial', points: [[1e-4, 0.2], [1e-2, 0.5], [NaN, 1], [0, 0.3]] }, { name: 'best', points: [[1e-4, 0.2], [1e-2, 0.5]], line: true }], logX: true });
    assert.equal((svg.match(/class="dot"/g) ?? []).length, 2, 'NaN and x ≤ 0 on a log axis are skipped');
    assert.equal((svg.match(/class="line"/g) ?? []).length, 1);
    for (const tick of ['0.0001', '0.001', '0.01']) assert.ok(svg.includes(`>${tick}</text>`), `tick ${tick}`);
    assert.match(scatterChartSvg({ series: [] }), /no data/);
    assert.throws(() => scatterChartSvg({ series: [{ name: 'x', points: [[1, 2, 3] as unknown as [number, number]] }] }), EccvkitInputError);
  });
});

describe('studyChartsSvg', () => {
  const trials = [
    { number: 0, value: 0.3, params: { margin: 0.5, lr: 0.01 } },
    { number: 1, value: null, params: { margin: 0.9, lr: 0.1 } },
    { number: 2, value: 0.2, params: { margin: 0.1, lr: 0.001 } },
    { number: 3, value: 0.4, params: { margin: 0.2, lr: 0.0001 } },
  ];
  it('keeps the best so far in the study direction, skipping unfinished trials', () => {
    assert.deepEqual(bestSoFar(trials, 'maximize'), [[0, 0.3], [2, 0.3], [3, 0.4]]);
    assert.deepEqual(bestSoFar(trials, 'minimize'), [[0, 0.3], [2, 0.2], [3, 0.2]]);
  });
  it('draws the history, then one chart per parameter (log axes where asked)', () => {
    const charts = studyChartsSvg({ name: 'triplet', direction: 'maximize', trials, params: [{ name: 'margin' }, { name: 'lr', log: true }], valueLabel: 'MAP@R' });
    assert.equal(charts.length, 3);
    assert.match(charts[0] as string, /triplet: optimisation history/);
    assert.equal(((charts[0] as string).match(/class="dot"/g) ?? []).length, 3);
    assert.match(charts[2] as string, /lr \(log scale\)/);
    assert.equal(studyChartsSvg({ name: 's', direction: 'minimize', trials }).length, 3, 'numeric parameters found by default');
    assert.throws(() => studyChartsSvg({ name: 's', direction: 'minimize', trials: 'x' as never }), EccvkitInputError);
  });
});
