import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { npyArray, writeNpy } from '../../src/data/index.js';
import { dci } from '../../src/gan/disentanglement.js';
import { assertClose, runCliAsync } from '../helpers.js';
import { MIG_CASES } from './mig-fixture.js';


// Made by test/gan/fixtures/make_mig_fixture.py with NumPy 1.24.2 and scikit-learn 1.2.1.
const [MIXED] = MIG_CASES;

interface CliOutput {
  mig: number;
  migPerFactor: number[];
  entropy: number[];
  mi: number[][];
  dci: { disentanglement: number; completeness: number; informativeness: number; informativenessPerFactor: number[]; importance: number[][] };
  samples: number;
  codes: number;
  factors: number;
  discrete: number[];
  bins: number;
}

describe('eccvkit gan disentanglement', () => {
  let dir: string;
  let latents: string;
  let factors: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-disentanglement-cli-'));
    const c = MIXED!;
    latents = path.join(dir, 'z.npy');
    factors = path.join(dir, 'f.npy');
    writeNpy(latents, npyArray(Float64Array.from(c.codes.flat()), [c.codes.length, c.codes[0]!.length]));
    writeNpy(factors, npyArray(Float64Array.from(c.factors.flat()), [c.factors.length, c.factors[0]!.length]));
    // 399 rows of factors, one column holding 0.5 where a label is expected, and a [N] factor vector.
    writeNpy(path.join(dir, 'short.npy'), npyArray(Float64Array.from(c.factors.slice(1).flat()), [c.factors.length - 1, c.factors[0]!.length]));
    writeNpy(path.join(dir, 'vector.npy'), npyArray(Float64Array.from(c.factors.map((row) => row[1]!))));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('--json: MIG as scikit-learn computes it (the fixture), DCI as the library; a text table for a [N] factor file', async () => {
    const c = MIXED!;
    const [json, text] = await Promise.all([
      runCliAsync(['gan', 'disentanglement', '--latents', latents, '--factors', factors, '--discrete', c.discrete.join(','), '--json']),
      runCliAsync(['gan', 'disentanglement', '--latents', latents, '--factors', path.join(dir, 'vector.npy')]),
    ]);
    assert.equal(json.status, 0, json.stderr);
    const out = JSON.parse(json.stdout) as CliOutput;
    assertClose([out.mig], [c.mig], 1e-6, 'mig');
    assertClose(out.mi.flat(), c.mi.flat(), 1e-6, 'mi');
    assertClose(out.entropy, c.entropy, 1e-6, 'entropy');
    assertClose(out.migPerFactor, c.perFactor, 1e-6, 'perFactor');
    assert.deepEqual([out.samples, out.codes, out.factors, out.bins], [400, 4, 5, 20]);
    assert.deepEqual(out.discrete, c.discrete);
    const lib = dci(c.codes, c.factors, { discrete: c.discrete });
    assertClose([out.dci.disentanglement, out.dci.completeness, out.dci.informativeness], [lib.disentanglement, lib.completeness, lib.informativeness], 1e-12, 'dci');
    assertClose(out.dci.importance.flat(), lib.importance.flat(), 1e-12, 'importance');

    // Factor 1 alone, as a [N] vector: MIG is its gap in the fixture.
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^MIG ${c.perFactor[1]!.toFixed(4)}$`, 'm'));
    assert.match(text.stdout, /^DCI .*disentanglement \d\.\d{4}, completeness \d\.\d{4}, informativeness \d\.\d{4}$/m);
    assert.match(text.stdout, /^z3 /m);
  });

  it('bad input exits 2 with one line naming the option', async () => {
    const cases: [string[], RegExp][] = [
      [['--factors', path.join(dir, 'short.npy')], /--factors: .*short\.npy with 399 rows.*expected 400 rows, one per row of --latents/],
      [['--factors', factors, '--discrete', '1'], /--factors column 1: got "?-?\d.* at row \d+"?, expected whole-number class labels/],
      [['--factors', factors, '--discrete', '0,9'], /--discrete: got "0,9"/],
      [['--factors', factors, '--bins', '1'], /--bins: got "1", expected an integer ≥ 2/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCliAsync(['gan', 'disentanglement', '--latents', latents, ...args, '--json'])));
    results.forEach((r, i) => {
      assert.equal(r.status, 2, `case ${i}: status ${r.status}, ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `case ${i}: one line, got ${r.stderr}`);
      assert.match(r.stderr, cases[i]![1], `case ${i}: ${r.stderr}`);
      assert.equal(r.stdout, '');
    });
  });
});
