/**
 * `eccvkit fewshot classify` and `eccvkit fewshot evaluate` end to end: the
 * classify predictions against scikit-learn's on the fixture episodes, the
 * evaluate numbers against the library call, and bad-input exits.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { npyArray, writeNpy } from '../../src/data/index.js';
import { createRng } from '../../src/engine/index.js';
import { classifyEpisode, evaluateEpisodes } from '../../src/fewshot/index.js';
import { SKLEARN_CASES, type SklearnCase } from './sklearn-fixture.js';
import { assertClose, runCliAsync as eccvkit } from '../helpers.js';

const cases = SKLEARN_CASES.filter((c) => c.normalize)
  // Each process start costs seconds; the library test covers every case, the CLI one 1-shot and one 5-shot episode (150 queries).
  .slice(0, 2);

const matrix = (rows: number[][]) => npyArray(Float64Array.from(rows.flat()), [rows.length, (rows[0] as number[]).length]);

describe('eccvkit fewshot', { concurrency: true }, () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-fewshot-cli-'));
    cases.forEach((c, i) => {
      writeNpy(path.join(dir, `s${i}.npy`), matrix(c.support));
      writeNpy(path.join(dir, `l${i}.npy`), npyArray(Int32Array.from(c.supportLabels)));
      writeNpy(path.join(dir, `q${i}.npy`), matrix(c.query));
    });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("classify --json gives scikit-learn's predictions (C=1, lbfgs, multinomial, L2-normalised) on ≥ 99% of queries over random fixture episodes", async () => {
    let agree = 0;
    let total = 0;
    const runs = await Promise.all(
      cases.map(async (_, k) => {
        const r = await eccvkit(['fewshot', 'classify', '--support', path.join(dir, `s${k}.npy`), '--support-labels', path.join(dir, `l${k}.npy`), '--query', path.join(dir, `q${k}.npy`), '--json']);
        assert.equal(r.status, 0, r.stderr);
        return { k, out: JSON.parse(r.stdout) as { predictions: number[]; probabilities: number[][] } };
      }),
    );
    for (const { k, out } of runs) {
      const c = cases[k] as SklearnCase;
      assert.equal(out.probabilities.length, c.query.length);
      out.probabilities.forEach((p, q) => assertClose(p, c.tightProbabilities[q] as number[], 1e-4, `${c.name} query ${q}`));
      for (let q = 0; q < c.predictions.length; q++, total++) if (out.predictions[q] === c.predictions[q]) agree++;
    }
    assert.ok(total >= 150 && agree / total >= 0.99, `agreement ${agree}/${total}`);
  });

  it('classify: nn prints predictions without probabilities; --C reaches the solver; bad input exits 2 naming the option', async () => {
    writeNpy(path.join(dir, 'bad-labels.npy'), npyArray(Int32Array.from([0, 2, 3, 4, 5])));
    writeNpy(path.join(dir, 'wide.npy'), npyArray(new Float64Array(3 * 25), [3, 25]));
    const [nn, bad, wide, sharp] = await Promise.all([
      eccvkit(['fewshot', 'classify', '--support', path.join(dir, 's0.npy'), '--support-labels', path.join(dir, 'l0.npy'), '--query', path.join(dir, 'q0.npy'), '--classifier', 'nn', '--json']),
      eccvkit(['fewshot', 'classify', '--support', path.join(dir, 's0.npy'), '--support-labels', path.join(dir, 'bad-labels.npy'), '--query', path.join(dir, 'q0.npy')]),
      eccvkit(['fewshot', 'classify', '--support', path.join(dir, 's0.npy'), '--support-labels', path.join(dir, 'l0.npy'), '--query', path.join(dir, 'wide.npy')]),
      eccvkit(['fewshot', 'classify', '--support', path.join(dir, 's0.npy'), '--support-labels', path.join(dir, 'l0.npy'), '--query', path.join(dir, 'q0.npy'), '--C', '100', '--json']),
    ]);
    // --C reaches the solver: the probabilities equal the library's with C = 100.
    const lib = classifyEpisode((cases[0] as SklearnCase).support, (cases[0] as SklearnCase).supportLabels, (cases[0] as SklearnCase).query, { C: 100 });
    (JSON.parse(sharp.stdout) as { probabilities: number[][] }).probabilities.forEach((p, q) => assertClose(p, lib.probabilities?.[q] as Float64Array, 1e-6, `C=100 query ${q}`));
    assert.equal(nn.status, 0, nn.stderr);
    const out = JSON.parse(nn.stdout) as Record<string, unknown>;
    assert.equal((out.predictions as number[]).length, 75);
    assert.ok(!('probabilities' in out));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--support-labels.*no example of class 1/);
    assert.equal(wide.status, 2);
    assert.match(wide.stderr, /--query.*width 25.*width 24/);
  });

  it('evaluate --json equals the library call; a class too small for shots + queries exits 2', async () => {
    const rng = createRng(8);
    const classes = 8;
    const per = 12;
    const d = 6;
    const means = Array.from({ length: classes * d }, () => rng.normal());
    const feats = Float32Array.from({ length: classes * per * d }, (_, k) => (means[Math.floor(k / (per * d)) * d + (k % d)] as number) + rng.normal());
    const labels = Int32Array.from({ length: classes * per }, (_, i) => Math.floor(i / per));
    writeNpy(path.join(dir, 'f.npy'), npyArray(feats, [classes * per, d]));
    writeNpy(path.join(dir, 'y.npy'), npyArray(labels));
    const [r, tooFew] = await Promise.all([
      eccvkit(['fewshot', 'evaluate', '--features', path.join(dir, 'f.npy'), '--labels', path.join(dir, 'y.npy'), '--queries', '6', '--episodes', '20', '--classifiers', 'lr,proto', '--json']),
      eccvkit(['fewshot', 'evaluate', '--features', path.join(dir, 'f.npy'), '--labels', path.join(dir, 'y.npy'), '--queries', '15']),
    ]);
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: Array<{ shots: number; classifier: string; mean: number; ci95: number }> };
    assert.deepEqual(out.results.map((x) => `${x.shots}${x.classifier}`), ['1lr', '1proto', '5lr', '5proto']);
    const lib = evaluateEpisodes({ data: feats, rows: classes * per, cols: d }, labels, { shots: 5, queries: 6, episodes: 20, methods: [{ name: 'lr', classifier: 'lr' }, { name: 'proto', classifier: 'proto' }] });
    assertClose([out.results[2]?.mean as number, out.results[2]?.ci95 as number], [lib.lr?.mean as number, lib.lr?.ci95 as number], 1e-7, '5-shot lr');
    assert.equal(tooFew.status, 2);
    assert.match(tooFew.stderr, /class 0 with 12 images.*shots \+ queries = 16/);
  });
});
