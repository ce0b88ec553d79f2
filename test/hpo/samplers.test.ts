/**
 * Samplers: TPE beats random search on Branin, same seed gives the same
 * suggestions, every suggestion lies in its distribution, the grid visits
 * each point once, and bad search spaces are refused with a clear message.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  contains,
  createStudy,
  floatDistribution,
  GridSampler,
  intDistribution,
  makeSampler,
  RandomSampler,
  TPESampler,
  defaultWeights,
  type Sampler,
  type Trial,
} from '../../src/hpo/index.js';
import { throwsInput } from '../helpers.js';

/** Branin-Hoo on [-5, 10] × [0, 15]; global minimum 0.397887. */
function branin(x: number, y: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
}

async function bestBranin(sampler: Sampler, trials: number): Promise<number> {
  const study = await createStudy({ sampler });
  const r = await study.optimize((t) => branin(t.suggestFloat('x', -5, 10), t.suggestFloat('y', 0, 15)), { trials });
  return r.best?.value as number;
}

/** A space with every kind of parameter, and a conditional one. */
function mixed(t: Trial): number {
  const lr = t.suggestFloat('lr', 1e-5, 1e-1, { log: true });
  const layers = t.suggestInt('layers', 1, 8);
  const width = t.suggestInt('width', 16, 512, { log: true });
  const drop = t.suggestFloat('dropout', 0, 0.5, { step: 0.1 });
  const opt = t.suggestCategorical('optimizer', ['sgd', 'adam', 'rmsprop']);
  const momentum = opt === 'sgd' ? t.suggestFloat('momentum', 0.5, 0.99) : 0;
  return (Math.log10(lr) + 3) ** 2 + (layers - 3) ** 2 / 4 + Math.abs(Math.log2(width / 128)) + drop + (opt === 'adam' ? 0 : 0.5) + momentum;
}

describe('samplers', () => {
  it('TPE finds a lower Branin value than random search after 50 trials, on average over 10 seeds', async () => {
    let tpe = 0;
    let random = 0;
    for (let seed = 0; seed < 10; seed++) {
      tpe += (await bestBranin(new TPESampler({ seed }), 50)) / 10;
      random += (await bestBranin(new RandomSampler({ seed }), 50)) / 10;
    }
    assert.ok(tpe < random, `TPE mean best ${tpe} should be below random's ${random}`);
    assert.ok(tpe < 1, `TPE mean best ${tpe} should be near the minimum 0.398`);
  });

  it('the univariate TPE also beats random search on Branin', async () => {
    let tpe = 0;
    let random = 0;
    for (let seed = 0; seed < 10; seed++) {
      tpe += (await bestBranin(new TPESampler({ seed, multivariate: false }), 50)) / 10;
      random += (await bestBranin(new RandomSampler({ seed }), 50)) / 10;
    }
    assert.ok(tpe < random, `univariate TPE ${tpe} vs random ${random}`);
  });

  it('TPE on a mixed categorical/continuous space: categorical kernels smoothed by priorWeight / kernels, as Optuna does', async () => {
    // bench/hpo.ts's mixed function. With priorWeight / choices smoothing (the old divergence) the
    // mean best over these 10 seeds was 0.103; with Optuna's rule it is 0.044 (Optuna 3.1: 0.023).
    const shift: Record<string, number> = { relu: 0, gelu: 0.3, tanh: 1 };
    const centre: Record<string, number> = { relu: 0.2, gelu: -0.4, tanh: 0.6 };
    const f = (t: Trial) => {
      const act = t.suggestCategorical('activation', ['relu', 'gelu', 'tanh']) as string;
      const x = t.suggestFloat('x', -1, 1);
      const lr = t.suggestFloat('lr', 1e-5, 1, { log: true });
      const n = t.suggestInt('layers', 1, 10);
      return (x - (centre[act] as number)) ** 2 + (Math.log10(lr) + 3) ** 2 / 4 + Math.abs(n - 4) / 6 + (shift[act] as number);
    };
    let mean = 0;
    for (let seed = 0; seed < 10; seed++) {
      const study = await createStudy({ sampler: new TPESampler({ seed }) });
      mean += ((await study.optimize(f, { trials: 50 })).best?.value as number) / 10;
    }
    assert.ok(mean < 0.07, `TPE mean best ${mean} on the mixed space should be below 0.07`);
  });

  for (const name of ['tpe', 'random'] as const) {
    it(`${name}: same seed, same suggestions; another seed, others; every value in its distribution`, async () => {
      const run = async (seed: number) => {
        const study = await createStudy({ sampler: makeSampler(name, seed) });
        const r = await study.optimize(mixed, { trials: 25 });
        for (const t of r.trials) for (const [k, v] of Object.entries(t.params)) assert.ok(contains(t.distributions[k]!, v), `${k}=${v} outside ${JSON.stringify(t.distributions[k])}`);
        return r.trials.map((t) => t.params);
      };
      const a = await run(7);
      assert.deepEqual(await run(7), a);
      assert.notDeepEqual(await run(8), a);
      assert.ok(a.some((p) => 'momentum' in p) && a.some((p) => !('momentum' in p)), 'the conditional parameter appears in some trials only');
    });
  }

  it('TPE spreads parallel workers: a running trial counts as a bad result (constant liar)', async () => {
    // Two handles on one storage, as two workers: trials started and not told.
    const study = await createStudy({ sampler: new TPESampler({ seed: 3, nStartupTrials: 5 }) });
    await study.optimize((t) => (t.suggestFloat('x', 0, 1) - 0.3) ** 2, { trials: 20 });
    const a = await study.ask();
    const xa = a.suggestFloat('x', 0, 1);
    await a.flush();
    const b = await study.ask();
    const xb = b.suggestFloat('x', 0, 1);
    assert.notEqual(xa, xb);
    await study.tell(a, (xa - 0.3) ** 2);
    await study.tell(b, (xb - 0.3) ** 2);
  });

  it('default weights: 1 for the last 25 trials, a ramp from 1/n before (Optuna)', () => {
    assert.deepEqual(defaultWeights(3), [1, 1, 1]);
    const w = defaultWeights(30);
    assert.equal(w.length, 30);
    assert.ok(Math.abs((w[0] as number) - 1 / 30) < 1e-12);
    assert.deepEqual(w.slice(5), new Array(25).fill(1));
    for (let i = 1; i < 5; i++) assert.ok((w[i] as number) > (w[i - 1] as number));
  });

  it('the grid visits every point once, in a seeded order, then the study stops', async () => {
    const space = { a: [1, 2, 3], b: ['x', 'y'] };
    const run = async (seed: number) => {
      const study = await createStudy({ sampler: new GridSampler(space, { seed }) });
      const r = await study.optimize((t) => (t.suggestInt('a', 1, 3) as number) + (t.suggestCategorical('b', ['x', 'y']) === 'x' ? 0 : 10), { trials: 100 });
      return r.trials.map((t) => `${t.params.a}${t.params.b}`);
    };
    const order = await run(0);
    assert.equal(order.length, 6);
    assert.deepEqual([...order].sort(), ['1x', '1y', '2x', '2y', '3x', '3y']);
    assert.deepEqual(await run(0), order);
    const study = await createStudy({ sampler: new GridSampler(space) });
    const t = await study.ask();
    throwsInput(() => t.suggestFloat('c', 0, 1), 'parameter "c"', 'a parameter of the grid (a, b)');
    throwsInput(() => t.suggestInt('a', 5, 9), 'parameter "a"', 'a distribution containing the grid value');
  });

  it('bad search spaces: a log range including 0, a name suggested twice with different ranges, an unknown sampler', async () => {
    throwsInput(() => floatDistribution('lr', 0, 1, { log: true }), 'suggestFloat("lr") range: got [0, 1]', 'low > 0 for a log range');
    throwsInput(() => intDistribution('n', 0, 10, { log: true }), 'suggestInt("n") range: got [0, 10]', 'low ≥ 1 for a log range');
    throwsInput(() => floatDistribution('x', 2, 1), 'suggestFloat("x") range: got [2, 1], expected low ≤ high');
    throwsInput(() => floatDistribution('x', 0.1, 1, { log: true, step: 0.1 }), 'log or step, not both');
    throwsInput(() => intDistribution('n', 0.5, 3), 'suggestInt("n") low: got 0.5, expected an integer');
    throwsInput(() => makeSampler('bayes'), 'sampler: got "bayes", expected one of tpe, random');
    const study = await createStudy({ sampler: 'random' });
    const t = await study.ask();
    assert.equal(t.suggestFloat('x', 0, 1), t.suggestFloat('x', 0, 1), 'the same name and range returns the same value');
    throwsInput(() => t.suggestFloat('x', 0, 2), 'parameter "x": got "float [0, 2]"', 'float [0, 1], the distribution it was first suggested with in trial 0');
    throwsInput(() => t.suggestCategorical('c', []), 'suggestCategorical("c") choices: got [], expected a non-empty array');
    throwsInput(() => t.suggestCategorical('c', ['a', 'a']), 'distinct choices');
    await study.tell(t, 1);
    await assert.rejects(createStudy({ sampler: 'grid' as never }), /sampler: got "grid", expected one of tpe, random/);
  });

  it('steps and log scales: values on the grid, log-uniform draws cover the decades evenly', async () => {
    const study = await createStudy({ sampler: new RandomSampler({ seed: 1 }) });
    const decades = [0, 0, 0, 0];
    for (let i = 0; i < 200; i++) {
      const t = await study.ask();
      const lr = t.suggestFloat('lr', 1e-4, 1, { log: true });
      const d = t.suggestFloat('d', 0, 1, { step: 0.25 });
      assert.ok([0, 0.25, 0.5, 0.75, 1].includes(d), `d=${d}`);
      decades[Math.min(3, Math.floor(-Math.log10(lr)))]! += 1;
      await study.tell(t, lr);
    }
    for (const n of decades) assert.ok(n > 32 && n < 68, `decade counts ${decades}`);
  });
});
