/**
 * The claims dashboard: every registered experiment has a claims hook; each
 * hook turns hand-made stored results into the verdict its intervals support
 * (and `pipeline check only` for a quick run that resolves nothing); the
 * report opens on the dashboard, before the contents and the sections; the
 * plain-text table is what `reproduce` prints.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildReport, claimRows, claimsOf, claimsTableText, combineVerdict, getExperiment, hasConfigKey, listExperiments, resolveConfig, VERDICTS, type ClaimRow } from '../../src/experiments/index.js';
import { RunStore } from '../../src/store/index.js';
import { chromiumUnavailable, launchChromium } from '../../scripts/headless-chromium.js';

/** A finished run of `experiment` with these final metrics and JSON artifacts (written into the run's folder). */
function storeRun(store: RunStore, experiment: string, o: { preset?: string; config?: Record<string, unknown>; metrics?: Record<string, number | string>; artifacts?: Record<string, unknown> }): number {
  const run = store.createRun({ experiment, preset: o.preset ?? 'full', config: { seed: 0, ...(o.config ?? {}) }, seed: 0, backend: 'cpu' });
  store.setFinalMetrics(run.id, { backend: 'cpu', ...(o.metrics ?? {}) });
  for (const [name, value] of Object.entries(o.artifacts ?? {})) {
    const file = path.join(run.dir, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify(value));
    store.addArtifact(run.id, { name, kind: 'application/json', path: file });
  }
  store.finishRun(run.id, 'finished');
  return run.id;
}

const row = (store: RunStore, name: string): ClaimRow => claimRows(store).find((r) => r.experiment === name) as ClaimRow;

/**
 * The element tree of an HTML page, enough to see what comes first: the
 * children of `<body>` in order, as `tag#id` or `tag.class`.
 */
function bodyChildren(html: string): string[] {
  const body = html.slice(html.indexOf('<body>') + '<body>'.length, html.lastIndexOf('</body>'));
  const out: string[] = [];
  const VOID = new Set(['br', 'img', 'meta', 'hr', 'input', 'link']);
  let depth = 0;
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)([^>]*?)(\/?)>/g)) {
    const [, close, tag, attrs, self] = m as unknown as [string, string, string, string, string];
    const name = tag.toLowerCase();
    if (close) {
      depth--;
      continue;
    }
    if (depth === 0) {
      const id = /\bid="([^"]+)"/.exec(attrs)?.[1];
      const cls = /\bclass="([^"]+)"/.exec(attrs)?.[1];
      out.push(`${name}${id ? `#${id}` : cls ? `.${cls.split(' ')[0]}` : ''}`);
    }
    if (!self && !VOID.has(name)) depth++;
  }
  assert.equal(depth, 0, 'unbalanced tags in <body>');
  return out;
}

describe('claims dashboard', () => {
  let dir: string;
  let store: RunStore;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-claims-'));
    store = RunStore.open(path.join(dir, 'eccvkit.db'));
  });
  after(() => {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every registered experiment has a claims hook with a one-line headline', () => {
    for (const e of listExperiments()) {
      const hook = claimsOf(e.name);
      assert.ok(hook, `${e.name} has no claims hook: register one in src/experiments/claims/${e.name}.ts`);
      assert.ok(hook.headline.length > 0 && hook.headline.length <= 130 && !hook.headline.includes('\n'), `${e.name}: headline is not one line`);
      assert.ok(hook.paperFigure(undefined).length > 0);
    }
  });

  it('an empty store gives one not-run row per experiment', () => {
    const rows = claimRows(store);
    assert.deepEqual(rows.map((r) => r.experiment), listExperiments().map((e) => e.name));
    for (const r of rows) {
      assert.equal(r.verdict, 'not run');
      assert.equal(r.run, null);
    }
  });

  it('combineVerdict: all parts, some, none; no signal is a pipeline check', () => {
    assert.equal(combineVerdict([true, true]), 'reproduced');
    assert.equal(combineVerdict([true, false]), 'partly');
    assert.equal(combineVerdict([false, false]), 'not reproduced');
    assert.equal(combineVerdict([true, true], false), 'pipeline check only');
  });

  it('mnist-baseline: the Wilson interval against the 95% target', () => {
    storeRun(store, 'mnist-baseline', { preset: 'quick', metrics: { test_accuracy: 0.9665, test_size: 2000 } });
    const r = row(store, 'mnist-baseline');
    assert.equal(r.verdict, 'reproduced');
    assert.match(r.measured, /96\.65%/);
    assert.equal(r.preset, 'quick');
    assert.equal(r.backend, 'cpu');
  });

  it('gc-ablation: both helped → reproduced; a quick run whose intervals include 0 → pipeline check only', () => {
    const metrics = (sgd: [number, number, string], adam: [number, number, string]) => ({
      seeds: 3,
      train_size: 1024,
      sgdm_gc_diff_mean: sgd[0],
      sgdm_gc_diff_ci95: sgd[1],
      sgdm_gc_effect: sgd[2],
      adam_gc_diff_mean: adam[0],
      adam_gc_diff_ci95: adam[1],
      adam_gc_effect: adam[2],
    });
    storeRun(store, 'gc-ablation', { preset: 'quick', metrics: metrics([-0.006, 0.0114, 'none'], [-0.0097, 0.0366, 'none']) });
    assert.equal(row(store, 'gc-ablation').verdict, 'pipeline check only');
    storeRun(store, 'gc-ablation', { metrics: metrics([0.01, 0.004, 'helped'], [0.012, 0.005, 'helped']) });
    const r = row(store, 'gc-ablation');
    assert.equal(r.verdict, 'reproduced');
    assert.match(r.measured, /SGD-M \+1\.00 ± 0\.40/);
    storeRun(store, 'gc-ablation', { metrics: metrics([0.01, 0.004, 'helped'], [0.001, 0.005, 'none']) });
    assert.equal(row(store, 'gc-ablation').verdict, 'partly');
  });

  it('metric-reality-check: classic within the paper spread → reproduced; far behind → not reproduced; wide quick intervals → pipeline check', () => {
    const m = (c: [number, number], a: [number, number]) => ({
      contrastive_mean_average_precision_at_r: c[0],
      contrastive_mean_average_precision_at_r_ci95: c[1],
      contrastive_precision_at_1: 0.7,
      arcface_mean_average_precision_at_r: a[0],
      arcface_mean_average_precision_at_r_ci95: a[1],
      arcface_precision_at_1: 0.72,
    });
    const config = { losses: ['contrastive', 'arcface'], seeds: 3 };
    storeRun(store, 'metric-reality-check', { config, metrics: m([0.4, 0.005], [0.41, 0.005]) });
    assert.equal(row(store, 'metric-reality-check').verdict, 'reproduced');
    storeRun(store, 'metric-reality-check', { config, metrics: m([0.3, 0.005], [0.42, 0.005]) });
    assert.equal(row(store, 'metric-reality-check').verdict, 'not reproduced');
    storeRun(store, 'metric-reality-check', { preset: 'quick', config, metrics: m([0.39, 0.06], [0.41, 0.05]) });
    assert.equal(row(store, 'metric-reality-check').verdict, 'pipeline check only');
    // The protocol's runs: intervals over reproductions of searched parameters, and the concatenated embeddings.
    const concat = { contrastive_concat_mean_average_precision_at_r: 0.45, contrastive_concat_mean_average_precision_at_r_ci95: 0.004, arcface_concat_mean_average_precision_at_r: 0.46, arcface_concat_mean_average_precision_at_r_ci95: 0.004 };
    storeRun(store, 'metric-reality-check', { config: { losses: ['contrastive', 'arcface'], trials: 50, reproductions: 4 }, metrics: { ...m([0.4, 0.005], [0.41, 0.005]), ...concat } });
    const p = row(store, 'metric-reality-check');
    assert.equal(p.verdict, 'reproduced');
    assert.ok(p.findings.some((f) => /over 4 reproductions, each loss tuned by 50 search trials/.test(f)), p.findings.join(' | '));
    assert.ok(p.findings.some((f) => /Concatenated embeddings: best arcface 46\.0 ± 0\.4, best classic contrastive 45\.0 ± 0\.4/.test(f)), p.findings.join(' | '));
  });

  it('lipschitz-domain-scaling: alike-everywhere quick cells are a pipeline check; a shrinking spread and SN k = 1 reproduce', () => {
    const cell = (loss: string, regulariser: string, alpha: number, fd: number) => ({ loss, regulariser, alpha, fd, kid: 0.1, diverged: false, steps: 40, seconds: 1, grid: '' });
    const grid = (fds: Record<string, [number, number]>) =>
      Object.entries(fds).flatMap(([key, [a, b]]) => {
        const [reg, alpha] = key.split('@') as [string, string];
        return [cell('nonSaturating', reg, Number(alpha), a), cell('exp', reg, Number(alpha), b)];
      });
    // Sections are rendered from a store of this experiment's runs only, with the quick preset's whole config.
    const own = RunStore.open(path.join(dir, 'lipschitz', 'eccvkit.db'));
    const config = resolveConfig(getExperiment('lipschitz-domain-scaling'), 'quick') as unknown as Record<string, unknown>;
    const both = (o: Parameters<typeof storeRun>[2]) => {
      storeRun(store, 'lipschitz-domain-scaling', o);
      storeRun(own, 'lipschitz-domain-scaling', { ...o, config });
    };
    const section = () => {
      const html = buildReport(own);
      const start = html.indexOf('<section id="lipschitz-domain-scaling">');
      return html.slice(start, html.indexOf('</section>', start));
    };
    const fullPreset = getExperiment('lipschitz-domain-scaling').fullPreset;
    both({ preset: 'quick', artifacts: { cells: grid({ 'none@1': [181, 182], 'none@0.01': [181.5, 181], 'sn1@1': [180.5, 181], 'sn1@0.01': [181, 182] }) } });
    assert.equal(row(store, 'lipschitz-domain-scaling').verdict, 'pipeline check only');
    // A pipeline check says so in its section, with what the full preset trains and shows.
    assert.match(section(), /This quick run checks the pipeline, not the claim/);
    assert.ok(section().includes(fullPreset.slice(0, 40)), 'the full preset is described');
    // The quick preset's grid: a loose bound at α = 1 (exp overflows, least squares stays noise) against α = 0.01.
    const loose = [
      { ...cell('nonSaturating', 'snLarge', 1, 88), diverged: false },
      { ...cell('leastSquares', 'snLarge', 1, 161), diverged: false },
      { ...cell('exp', 'snLarge', 1, NaN), diverged: true },
      ...[cell('nonSaturating', 'snLarge', 0.01, 45), cell('leastSquares', 'snLarge', 0.01, 54), cell('exp', 'snLarge', 0.01, 49)],
    ].map((c) => ({ ...c, fd: Number.isFinite(c.fd) ? c.fd : null }));
    both({ preset: 'quick', artifacts: { cells: loose } });
    const q = row(store, 'lipschitz-domain-scaling');
    assert.equal(q.verdict, 'reproduced', q.why);
    assert.match(q.why, /only the α part is tested/);
    assert.doesNotMatch(section(), /checks the pipeline, not the claim/);
    own.close();
    storeRun(store, 'lipschitz-domain-scaling', { artifacts: { cells: grid({ 'none@1': [20, 60], 'none@0.01': [20, 22], 'sn1@1': [20, 23], 'sn1@0.01': [20, 21] }) } });
    const r = row(store, 'lipschitz-domain-scaling');
    assert.equal(r.verdict, 'reproduced', r.why);
    assert.match(r.measured, /no reg 3\.00→1\.10/);
  });

  it('fewshot-rfs: RFS-simple level with ProtoNet and distillation above it → reproduced', () => {
    const metrics = { lr_5shot_mean: 0.8, lr_5shot_ci95: 0.01, lr_minus_protonet_5shot_mean: 0.01, lr_minus_protonet_5shot_ci95: 0.02, distill_minus_lr_5shot_mean: 0.02, distill_minus_lr_5shot_ci95: 0.01 };
    storeRun(store, 'fewshot-rfs', { config: { shots: [5], backbone: 'conv4', episodes: 600 }, metrics });
    const r = row(store, 'fewshot-rfs');
    assert.equal(r.verdict, 'reproduced', r.why);
    assert.match(r.paper, /Conv-4/);
    storeRun(store, 'fewshot-rfs', { config: { shots: [5], backbone: 'conv4', episodes: 600 }, metrics: { ...metrics, lr_minus_protonet_5shot_mean: -0.05 } });
    assert.equal(row(store, 'fewshot-rfs').verdict, 'partly');
  });

  it('hessian-penalty and idinvert: one seed is a pipeline check; paired gains over seeds reproduce', () => {
    const arm = (a: string, seed: number, mig: number, diag: number, fd: number) => ({ arm: a, seed, mig, diagonalFraction: diag, fd });
    storeRun(store, 'hessian-penalty', { preset: 'quick', artifacts: { results: { done: { arms: [arm('baseline', 0, 0.1, 0.2, 50), arm('hpFineTune', 0, 0.2, 0.3, 55)], directions: [] } } } });
    assert.equal(row(store, 'hessian-penalty').verdict, 'pipeline check only');
    const arms = [0, 1, 2].flatMap((s) => [arm('baseline', s, 0.1 + s * 0.01, 0.2, 50), arm('hpFineTune', s, 0.2 + s * 0.012, 0.35 + s * 0.01, 52), arm('hpScratch', s, 0.19, 0.33 + s * 0.01, 60 + s)]);
    storeRun(store, 'hessian-penalty', { artifacts: { results: { done: { arms, directions: [] } } } });
    assert.equal(row(store, 'hessian-penalty').verdict, 'reproduced', row(store, 'hessian-penalty').why);

    const res = (method: string, seed: number, mse: number, gap: number, mid: number) => ({ method, seed, mse, reencodeGap: gap, interpolationFd: mid });
    storeRun(store, 'idinvert', { preset: 'quick', artifacts: { results: { results: [res('inDomain', 0, 0.1, 0.1, 10), res('optimEncoder', 0, 0.1, 0.2, 12), res('encoder', 0, 0.2, 0.1, 11)] } } });
    assert.equal(row(store, 'idinvert').verdict, 'pipeline check only');
    const results = [0, 1, 2].flatMap((s) => [res('inDomain', s, 0.05 + s * 0.001, 0.1, 10 + s * 0.1), res('optimEncoder', s, 0.04, 0.3 + s * 0.01, 14 + s * 0.2), res('optimMean', s, 0.04, 0.5, 16), res('encoder', s, 0.09 + s * 0.002, 0.05, 12)]);
    storeRun(store, 'idinvert', { artifacts: { results: { results } } });
    assert.equal(row(store, 'idinvert').verdict, 'reproduced', row(store, 'idinvert').why);
    // Midpoints better than from the mean w but worse than optimisation from the encoder: only part of the claim.
    const mixed = [0, 1, 2].flatMap((s) => [res('inDomain', s, 0.01 + s * 0.001, 0.002, 25 + s * 0.1), res('optimEncoder', s, 0.004, 0.018 + s * 0.001, 21.5 + s * 0.2), res('optimMean', s, 0.07, 0.28, 54 + s), res('encoder', s, 0.03 + s * 0.002, 0.002, 26)]);
    storeRun(store, 'idinvert', { artifacts: { results: { results: mixed } } });
    assert.equal(row(store, 'idinvert').verdict, 'partly', row(store, 'idinvert').why);
    assert.match(row(store, 'idinvert').why, /less realistic than optimisation from the encoder/);
  });

  it('damaged stored results give a row that says so instead of failing the report', () => {
    storeRun(store, 'hessian-penalty', { artifacts: {} });
    const r = row(store, 'hessian-penalty');
    assert.equal(r.verdict, 'pipeline check only');
    assert.match(r.why, /could not be read \(results\.json is missing\)/);
  });

  it('the report opens on the dashboard: header, then the claims, then the contents and the sections', () => {
    // A store of its own whose runs have full configs, since each section renders from its run's config.
    const reportStore = RunStore.open(path.join(dir, 'report.db'));
    try {
      const config = (name: string) => resolveConfig(getExperiment(name), 'quick') as unknown as Record<string, unknown>;
      storeRun(reportStore, 'mnist-baseline', { preset: 'quick', config: config('mnist-baseline'), metrics: { test_accuracy: 0.97, test_size: 2000, test_loss: 0.1, train_size: 8000, steps: 625, train_seconds: 30, ms_per_step: 48 } });
      storeRun(reportStore, 'gc-ablation', { preset: 'quick', config: config('gc-ablation'), metrics: { seeds: 3, sgdm_gc_diff_mean: 0.01, sgdm_gc_diff_ci95: 0.004, sgdm_gc_effect: 'helped', adam_gc_diff_mean: 0, adam_gc_diff_ci95: 0.01, adam_gc_effect: 'none', verdict: 'x' } });
      const html = buildReport(reportStore, '2026-01-01T00:00:00Z');
      const top = bodyChildren(html);
      assert.deepEqual(top.slice(0, 4), ['header', 'section#claims', 'nav.toc', 'main']);
      const start = html.indexOf('<section id="claims"');
      const claims = html.slice(start, html.indexOf('</section>', start));
      for (const e of listExperiments()) assert.match(claims, new RegExp(`<tr data-experiment="${e.name}"><td><a href="#${e.name}">`), `dashboard lacks ${e.name}`);
      assert.match(claims, /<tr data-experiment="mnist-baseline">.*badge-reproduced/);
      assert.match(claims, /<tr data-experiment="idinvert">.*badge-not-run/);
      // Each section carries its verdict and links back.
      assert.match(html, /<section id="gc-ablation">[\s\S]*?class="verdict-line"><span class="badge badge-partly">partly<\/span>[\s\S]*?href="#claims"/);
    } finally {
      reportStore.close();
    }
  });

  it('in headless Chromium the report opens on the dashboard: its table is on the first screen, styled, and every row links to its section', async (t) => {
    const why = await chromiumUnavailable();
    if (why !== undefined) {
      // CI installs Chromium and sets ECCVKIT_REQUIRE_BROWSER=1, which makes its absence a failure.
      assert.notEqual(process.env.ECCVKIT_REQUIRE_BROWSER, '1', `ECCVKIT_REQUIRE_BROWSER=1 but ${why}`);
      t.skip(why);
      return;
    }
    const reportStore = RunStore.open(path.join(dir, 'browser.db'));
    const file = path.join(dir, 'browser-report.html');
    try {
      const config = (name: string) => resolveConfig(getExperiment(name), 'quick') as unknown as Record<string, unknown>;
      storeRun(reportStore, 'mnist-baseline', { preset: 'quick', config: config('mnist-baseline'), metrics: { test_accuracy: 0.97, test_size: 2000, test_loss: 0.1, train_size: 8000, steps: 625, train_seconds: 30, ms_per_step: 48 } });
      fs.writeFileSync(file, buildReport(reportStore, '2026-01-01T00:00:00Z'));
    } finally {
      reportStore.close();
    }
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`file://${file}`);
      // Page code as text: it runs in the browser, and this project's types have no DOM.
      const seen = (await page.evaluate(`(() => {
        const table = document.querySelector('section#claims table.dashboard');
        const rows = [...document.querySelectorAll('section#claims tr[data-experiment]')];
        const badge = document.querySelector('tr[data-experiment="mnist-baseline"] .badge');
        return {
          tableTop: table ? table.getBoundingClientRect().top : Infinity,
          firstRowBottom: rows.length ? rows[0].getBoundingClientRect().bottom : Infinity,
          rows: rows.map((r) => r.getAttribute('data-experiment')),
          unlinked: rows.map((r) => r.querySelector('a')?.getAttribute('href') ?? '').filter((href) => !href.startsWith('#') || document.getElementById(href.slice(1)) === null),
          badge: badge ? { text: badge.textContent, background: getComputedStyle(badge).backgroundColor } : null,
          height: window.innerHeight,
        };
      })()`)) as { tableTop: number; firstRowBottom: number; rows: string[]; unlinked: string[]; badge: { text: string; background: string } | null; height: number };
      assert.ok(seen.tableTop < seen.height && seen.firstRowBottom <= seen.height, `dashboard below the first screen: ${JSON.stringify(seen)}`);
      assert.deepEqual(seen.rows, listExperiments().map((e) => e.name));
      assert.deepEqual(seen.unlinked, []);
      assert.equal(seen.badge?.text, 'reproduced');
      assert.notEqual(seen.badge?.background, 'rgba(0, 0, 0, 0)', 'the verdict badge has no style');
    } finally {
      await browser.close();
    }
  });

  it('reproduce --storage hands the URL to the experiments whose cells are units, and only to them', () => {
    const withUnits = listExperiments().filter((e) => hasConfigKey(e, 'storage')).map((e) => e.name);
    assert.deepEqual(withUnits.sort(), ['gc-ablation', 'lipschitz-domain-scaling', 'metric-reality-check', 'topogan']);
    assert.equal(hasConfigKey(getExperiment('mnist-baseline'), 'storage'), false);
  });

  it('the plain-text table has a header and one line per experiment with its verdict', () => {
    const rows = claimRows(store);
    const lines = claimsTableText(rows).split('\n');
    assert.match(lines[0] as string, /^experiment\s+verdict\s+ours \(95% CI\)\s+paper\s+run\s+claim$/);
    assert.equal(lines.length, rows.length + 2);
    rows.forEach((r, i) => {
      assert.ok((lines[i + 2] as string).startsWith(r.experiment));
      assert.ok(VERDICTS.includes(r.verdict));
      assert.ok((lines[i + 2] as string).includes(r.verdict));
    });
  });
});
