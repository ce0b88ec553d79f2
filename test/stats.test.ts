import assert from 'node:assert/strict';
import { test } from 'node:test';
import { meanConfidenceInterval, studentTCdf, studentTQuantile } from '../src/stats.js';
import { assertClose, throwsInput } from './helpers.js';

test('Student t quantiles equal SciPy\'s t.ppf (values printed by scipy 1.10 stats.t.ppf)', () => {
  const scipy975: Array<[number, number]> = [
    [1, 12.706204736432095],
    [2, 4.302652729911275],
    [5, 2.5705818366147395],
    [10, 2.2281388519649385],
    [30, 2.0422724563012373],
    [599, 1.963932248945269],
  ];
  for (const [df, t] of scipy975) assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-9, `df ${df}: ${studentTQuantile(0.975, df)} vs ${t}`);
  assert.ok(Math.abs(studentTQuantile(0.995, 7) - 3.4994832973505026) < 1e-9);
  assert.ok(Math.abs(studentTCdf(1.5, 3.5) - 0.8910909064923275) < 1e-12);
  assert.ok(Math.abs(studentTQuantile(0.025, 10) + 2.2281388519649385) < 1e-9);
  // df = 1 is Cauchy: quantile tan(π(p − ½)); df = 2 has the closed form (2p−1)·√(2 / (4p(1−p))).
  assert.ok(Math.abs(studentTQuantile(0.9, 1) - Math.tan(Math.PI * 0.4)) < 1e-9);
  assert.ok(Math.abs(studentTQuantile(0.8, 2) - 0.6 * Math.sqrt(2 / (4 * 0.8 * 0.2))) < 1e-9);
  // A printed textbook t table, column t(0.975), to its three decimals.
  for (const [df, t] of [[1, 12.706], [2, 4.303], [4, 2.776], [9, 2.262], [10, 2.228], [30, 2.042]] as const) {
    assert.ok(Math.abs(studentTQuantile(0.975, df) - t) < 1e-3, `df ${df}`);
  }
  throwsInput(() => studentTQuantile(0.975, 0), 'df', 'a positive number');
});

test('mean confidence interval: hand-computed on [0.2, 0.4, 0.6]', () => {
  // mean 0.4, s = 0.2, half = t(0.975, 2)·0.2/√3.
  const ci = meanConfidenceInterval([0.2, 0.4, 0.6]);
  assertClose([ci.mean, ci.std, ci.halfWidth], [0.4, 0.2, (4.302652729911275 * 0.2) / Math.sqrt(3)], 1e-9, 'ci');
  throwsInput(() => meanConfidenceInterval([1]), 'values', 'at least two');
  // 1..5: mean 3, s = √2.5, half-width t(0.975, 4)·s/√5.
  const five = meanConfidenceInterval([1, 2, 3, 4, 5]);
  assertClose([five.mean, five.std, five.halfWidth], [3, Math.sqrt(2.5), (2.7764451051977987 * Math.sqrt(2.5)) / Math.sqrt(5)], 1e-9, '1..5');
});

