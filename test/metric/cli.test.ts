/**
 * `eccvkit metric accuracy` and `eccvkit metric loss` end to end on random
 * .npy inputs, against the slow reference implementations (1e-5), and their
 * bad-input exits.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { npyArray, writeNpy } from '../../src/data/index.js';
import { createRng } from '../../src/engine/index.js';
import { assertClose, runCliAsync as eccvkit } from '../helpers.js';
import { bruteForceAccuracy } from './reference-accuracy.js';
import * as ref from './reference-losses.js';

describe('eccvkit metric', () => {
  let dir: string;
  const rng = createRng(21);
  const n = 150;
  const d = 5;
  const x = Float32Array.from({ length: n * d }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, () => rng.int(9));
  labels[3] = 77; // a lone label
  const nq = 40;
  const q = Float32Array.from({ length: nq * d }, () => rng.normal());
  const qLabels = Int32Array.from({ length: nq }, () => rng.int(10)); // label 9 is absent from the reference
  const small = Float32Array.from({ length: 12 * 6 }, () => rng.normal());
  const smallLabels = Int32Array.from([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
  const file = (name: string) => path.join(dir, name);

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-metric-'));
    writeNpy(file('e.npy'), npyArray(x, [n, d]));
    writeNpy(file('l.npy'), npyArray(BigInt64Array.from(labels, (v) => BigInt(v))));
    writeNpy(file('q.npy'), npyArray(q, [nq, d]));
    writeNpy(file('ql.npy'), npyArray(qLabels));
    writeNpy(file('small.npy'), npyArray(small, [12, 6]));
    writeNpy(file('small-labels.npy'), npyArray(smallLabels));
    writeNpy(file('frac.npy'), npyArray(Float64Array.from({ length: n }, (_, i) => i + 0.5)));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('accuracy, leave-one-out and with a query set, equals the sort-everything definitions', async () => {
    const [loo, withQuery] = await Promise.all([
      eccvkit(['metric', 'accuracy', '--embeddings', file('e.npy'), '--labels', file('l.npy'), '--json']),
      eccvkit(['metric', 'accuracy', '--embeddings', file('e.npy'), '--labels', file('l.npy'), '--query', file('q.npy'), '--query-labels', file('ql.npy'), '--json', '--no-nmi']),
    ]);
    assert.equal(loo.status, 0, loo.stderr);
    assert.equal(withQuery.status, 0, withQuery.stderr);
    const a = JSON.parse(loo.stdout) as Record<string, number | null>;
    const b = JSON.parse(withQuery.stdout) as Record<string, number | null>;
    const keys = ['precision_at_1', 'r_precision', 'mean_average_precision_at_r', 'mean_reciprocal_rank'];
    assertClose(keys.map((k) => a[k] as number), bruteForceAccuracy(x, labels, d), 1e-5, 'leave-one-out');
    assertClose(keys.map((k) => b[k] as number), bruteForceAccuracy(q, qLabels, d, x, labels), 1e-5, 'with --query');
    assert.ok(typeof a.NMI === 'number' && a.NMI > 0 && a.NMI < 1, `NMI ${a.NMI}`);
    assert.equal(b.NMI, null);
    assert.equal(a.lone_queries, 1);
    assert.match(loo.stderr, /warning: accuracy: 1 of 150 queries/);
    assert.equal(b.lone_queries, qLabels.filter((l) => l === 9).length);
  });

  it('loss values equal the loop versions of the formulas', async () => {
    const emb = Array.from({ length: 12 }, (_, i) => Array.from(small.subarray(i * 6, i * 6 + 6)));
    const batch = { emb, labels: [...smallLabels] };
    // Four losses through the command (one per reduction kind: pos/neg pairs summed, elements,
    // positive pairs, divisor); every loss is checked against the same loops in losses.test.ts.
    const want: Record<string, number> = {
      contrastive: ref.contrastive(batch),
      multi_similarity: ref.multiSimilarity(batch),
      ntxent: ref.ntxent(batch),
      margin: ref.marginLoss(batch),
    };
    const names = Object.keys(want);
    const results = await Promise.all(names.map((name) => eccvkit(['metric', 'loss', '--loss', name, '--embeddings', file('small.npy'), '--labels', file('small-labels.npy'), '--json'])));
    results.forEach((r, k) => {
      assert.equal(r.status, 0, r.stderr);
      const name = names[k] as string;
      assertClose([(JSON.parse(r.stdout) as { loss: number }).loss], [want[name] as number], 1e-5, name);
    });
  });

  it('bad input: one line naming the problem, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['metric', 'accuracy', '--embeddings', file('e.npy'), '--labels', file('small-labels.npy')], /--labels: got .*, expected 150 labels, one per row of --embeddings/],
      [['metric', 'accuracy', '--embeddings', file('e.npy'), '--labels', file('frac.npy')], /--labels\[0\]: got 0\.5, expected a whole number/],
      [['metric', 'accuracy', '--embeddings', file('e.npy'), '--labels', file('l.npy'), '--query', file('q.npy')], /--query: got .*, expected given together with --query-labels/],
      [['metric', 'loss', '--loss', 'hinge', '--embeddings', file('small.npy'), '--labels', file('small-labels.npy')], /argument 'hinge' is invalid/],
    ];
    const results = await Promise.all(cases.map(([args]) => eccvkit(args)));
    results.forEach((r, k) => {
      assert.equal(r.status, 2, `${cases[k]?.[0].join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, cases[k]?.[1] as RegExp);
    });
  });
});
