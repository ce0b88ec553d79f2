/**
 * The playground in Debian's Chromium: each page loads with a clean console,
 * responds to synthetic mouse strokes and dropped files (a drawn ring gives
 * β₀ = β₁ = 1; dropped embeddings give Node's metrics), says what it expected
 * when given the wrong thing, saves a screenshot in test-artifacts/, and
 * fetches nothing outside 127.0.0.1. `eccvkit playground` serves the same files.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { chromiumUnavailable, launchChromium } from '../../scripts/headless-chromium.js';
// @ts-expect-error: a plain .mjs build script without types
import { buildPlayground } from '../../scripts/build-browser.mjs';
import { serveFolder } from '../../src/node/static-server.js';
import { accuracy, createRng, encodeNpy, initEngine, tf } from '../../src/index.js';
import { runCli } from '../helpers.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const artifacts = path.join(root, 'test-artifacts');

describe('playground in Chromium', () => {
  let why: string | undefined;
  let dir: string;
  let url: string;
  let close: () => void = () => {};
  let browser: Browser | undefined;
  const problems: string[] = [];
  const foreign: string[] = [];

  before(async () => {
    why = await chromiumUnavailable();
    if (why) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-playground-'));
    await buildPlayground({ outdir: dir, minify: false });
    const served = await serveFolder(dir);
    url = served.url;
    close = () => served.server.close();
    browser = await launchChromium();
    fs.mkdirSync(artifacts, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open(name: string): Promise<Page> {
    const page = await browser!.newPage({ viewport: { width: 1100, height: 760 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${name}: console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${name}: uncaught: ${e.message}`));
    page.on('request', (r) => {
      if (!r.url().startsWith(url) && !r.url().startsWith('data:')) foreign.push(r.url());
    });
    await page.goto(`${url}${name}`);
    const end = Date.now() + 30_000;
    while (!/backend: /.test((await page.textContent('#engine')) ?? '') && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    return page;
  }

  /** Waits (up to 10 s) for the page's message line to match `re`. */
  async function waitMessage(page: Page, re: RegExp): Promise<void> {
    const end = Date.now() + 10_000;
    let text = '';
    while (Date.now() < end) {
      text = (await page.textContent('#message')) ?? '';
      if (re.test(text)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`message ${JSON.stringify(text)} does not match ${re}`);
  }

  function skipWithout(t: { skip(m: string): void }): boolean {
    if (!why) return false;
    // CI installs Chromium and sets ECCVKIT_REQUIRE_BROWSER=1, which makes its absence a failure.
    assert.notEqual(process.env.ECCVKIT_REQUIRE_BROWSER, '1', `ECCVKIT_REQUIRE_BROWSER=1 but ${why}`);
    t.skip(why);
    return true;
  }

  it('the index page names the backend it started', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('index.html');
    assert.match((await page.textContent('#engine')) ?? '', /backend: (webgpu|webgl|wasm|cpu)/);
    await page.screenshot({ path: path.join(artifacts, 'playground-index.png'), fullPage: true });
    await page.close();
  });

  it('topology: a ring drawn with the mouse has β₀ = β₁ = 1; its sublevel set at 0.5 has two components; an empty canvas and a non-image say what they expected', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('topology.html');
    await waitMessage(page, /canvas is empty/);
    const box = (await page.locator('#grid').boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const r = box.width * 0.3;
    await page.mouse.move(cx + r, cy);
    await page.mouse.down();
    for (let a = 0; a <= 360; a += 6) await page.mouse.move(cx + r * Math.cos((a * Math.PI) / 180), cy + r * Math.sin((a * Math.PI) / 180), { steps: 2 });
    await page.mouse.up();
    await page.waitForSelector('#b0');
    assert.equal(await page.textContent('#b0'), '1');
    assert.equal(await page.textContent('#b1'), '1');
    await page.screenshot({ path: path.join(artifacts, 'playground-topology.png'), fullPage: true });
    await page.check('input[name="filtration"][value="sublevel"]');
    assert.equal(await page.textContent('#b0'), '2', 'inside and outside of the ring');
    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not an image') });
    await waitMessage(page, /expected an image/);
    await page.click('#clear');
    await waitMessage(page, /canvas is empty/);
    await page.close();
  });

  it('few-shot: two drawn symbols (a bar and a ring, two examples each) classify a drawn ring as the ring; an empty query and one symbol say what they expected', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('fewshot.html');
    const stroke = async (sel: string, points: Array<[number, number]>) => {
      const box = (await page.locator(sel).boundingBox())!;
      const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
      await page.mouse.move(...at(points[0]!));
      await page.mouse.down();
      for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 3 });
      await page.mouse.up();
    };
    const ring = (cx: number, cy: number, r: number) => Array.from({ length: 41 }, (_, i) => [cx + r * Math.cos((i / 40) * 2 * Math.PI), cy + r * Math.sin((i / 40) * 2 * Math.PI)] as [number, number]);
    const bar = (x: number) => [[x, 0.2], [x, 0.8]] as Array<[number, number]>;
    await page.waitForSelector('#classify:not([disabled])');
    await page.click('#classify');
    await waitMessage(page, /query canvas is empty/);
    for (const x of [0.45, 0.55]) {
      await stroke('#example', bar(x));
      await page.click('#add-example');
    }
    await stroke('#query', ring(0.5, 0.5, 0.28));
    await page.click('#classify');
    await waitMessage(page, /at least 2 symbols \(you have examples of 1\)/);
    await page.click('button[data-class="1"]');
    for (const [cx, r] of [[0.5, 0.3], [0.47, 0.25]] as const) {
      await stroke('#example', ring(cx, 0.5, r));
      await page.click('#add-example');
    }
    await page.click('#classify');
    await page.waitForSelector('#predicted');
    assert.equal(await page.textContent('#predicted'), 'symbol 2');
    const p2 = Number(await page.textContent('[data-prob="2"]'));
    const p1 = Number(await page.textContent('[data-prob="1"]'));
    assert.ok(p2 > p1 && Math.abs(p1 + p2 - 1) < 1e-3, `probabilities ${p1}, ${p2}`);
    await page.screenshot({ path: path.join(artifacts, 'playground-fewshot.png'), fullPage: true });
    await page.close();
  });

  it('training: epochs on wasm draw the loss, lower it, show the step time and a test accuracy well above chance, and keep the tensor count flat', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('training.html?backend=wasm');
    await waitMessage(page, /2000 training digits and 400 test digits loaded/);
    await page.click('#train');
    await page.waitForSelector('#accuracy', { timeout: 120_000 });
    const first = Number(await page.textContent('#accuracy'));
    const tensors = Number(await page.textContent('#tensors'));
    assert.match((await page.textContent('#status')) ?? '', /epoch 1, step 31\/31, \d+ ms a step/);
    await page.click('#train');
    await page.waitForFunction(() => /after 2 epochs/.test((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }).document.getElementById('result')?.textContent ?? ''), undefined, { timeout: 120_000 });
    const second = Number(await page.textContent('#accuracy'));
    // 31 Adam steps of batch 64 per epoch (chance is 0.1).
    assert.ok(first > 0.2 && second > first, `test accuracy ${first} after one epoch, ${second} after two`);
    assert.equal(Number(await page.textContent('#tensors')), tensors, 'tensors alive after the second epoch');
    const points = ((await page.getAttribute('#loss-line', 'points')) ?? '').split(' ').map((p) => Number(p.split(',')[1]));
    assert.equal(points.length, 62);
    // SVG y grows downward: a falling loss has larger y at the end.
    assert.ok(points.slice(-5).reduce((a, b) => a + b) > points.slice(0, 5).reduce((a, b) => a + b), 'the loss fell over the epoch');
    await page.screenshot({ path: path.join(artifacts, 'playground-training.png'), fullPage: true });
    await page.close();
  });

  it('GAN: a direction slider changes the sample; a drawn digit inverts to a code whose image is closer than the best random start; an empty drawing says so', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('gan.html?backend=wasm');
    await page.waitForSelector('#invert:not([disabled])');
    const sum0 = await page.getAttribute('#sample', 'data-sum');
    await page.fill('#d1', '2.5');
    await page.dispatchEvent('#d1', 'input');
    assert.notEqual(await page.getAttribute('#sample', 'data-sum'), sum0, 'moving direction 1 changed the image');
    await page.click('#invert');
    await waitMessage(page, /drawing canvas is empty/);
    const box = (await page.locator('#draw').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 12 });
    await page.mouse.up();
    await page.click('#invert');
    await page.waitForSelector('#mse', { timeout: 120_000 });
    const mse = Number(await page.textContent('#mse'));
    const mse0 = Number(await page.textContent('#mse0'));
    assert.ok(mse < mse0, `inversion error ${mse}, best random start ${mse0}`);
    await page.screenshot({ path: path.join(artifacts, 'playground-gan.png'), fullPage: true });
    await page.close();
  });

  it('GAN, in-domain: a drawn digit goes through the shipped encoder, then domain-regularised optimisation lowers its error; the edit sliders change the inverted image; an empty drawing says so', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('gan.html?backend=wasm');
    await page.waitForSelector('#invert-id:not([disabled])', { timeout: 120_000 });
    await page.click('#invert-id');
    await waitMessage(page, /drawing canvas is empty/);
    const box = (await page.locator('#draw').boundingBox())!;
    // A 7: a bar across the top and a stroke down to the lower left.
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height * 0.2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.75, box.y + box.height * 0.2, { steps: 8 });
    await page.mouse.move(box.x + box.width * 0.4, box.y + box.height * 0.85, { steps: 12 });
    await page.mouse.up();
    await page.click('#invert-id');
    await page.waitForSelector('#mse-id', { timeout: 180_000 });
    const encoderMse = Number(await page.textContent('#mse-encoder'));
    const inDomainMse = Number(await page.textContent('#mse-id'));
    assert.ok(Number.isFinite(encoderMse) && inDomainMse < encoderMse, `in-domain MSE ${inDomainMse}, encoder's ${encoderMse}`);
    const before = await page.getAttribute('#id-edited', 'data-sum');
    assert.equal(before, await page.getAttribute('#id-inverted', 'data-sum'), 'with the sliders at 0 the edit is the inversion');
    await page.fill('#edit-thickness', '2');
    await page.dispatchEvent('#edit-thickness', 'input');
    const thicker = await page.getAttribute('#id-edited', 'data-sum');
    assert.notEqual(thicker, before, 'the thickness slider changed the edited image');
    await page.fill('#edit-slant', '-2');
    await page.dispatchEvent('#edit-slant', 'input');
    assert.notEqual(await page.getAttribute('#id-edited', 'data-sum'), thicker, 'the slant slider changed it again');
    await page.screenshot({ path: path.join(artifacts, 'playground-gan-in-domain.png'), fullPage: true });
    await page.close();
  });

  it("metric learning: dropped .npy embeddings and labels give Node's P@1, R-precision and MAP@R to 1e-6; a wrong file or shape says what it expected", async (t) => {
    if (skipWithout(t)) return;
    await initEngine();
    const rng = createRng(4);
    const n = 60;
    const emb = Float32Array.from({ length: n * 6 }, (_, i) => rng.normal() + (Math.floor(i / 6) % 5) * 0.8);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 5);
    const x = tf.tensor2d(emb, [n, 6]);
    const want = accuracy(x, labels);
    x.dispose();
    const page = await open('metric.html');
    await page.setInputFiles('#embeddings', { name: 'emb.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy({ data: emb, shape: [n, 6], dtype: 'float32' })) });
    await waitMessage(page, /Waiting for the labels/);
    await page.setInputFiles('#labels', { name: 'labels.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy({ data: labels, shape: [n], dtype: 'int32' })) });
    await page.waitForSelector('#metrics');
    for (const [k, v] of [['P@1', want.precision_at_1], ['R-precision', want.r_precision], ['MAP@R', want.mean_average_precision_at_r]] as const) {
      const got = Number(await page.textContent(`td[data-metric="${k}"]`));
      assert.ok(Math.abs(got - v) <= 1e-6, `${k}: page ${got}, Node ${v}`);
    }
    await page.screenshot({ path: path.join(artifacts, 'playground-metric.png'), fullPage: true });
    await page.setInputFiles('#labels', { name: 'short.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy({ data: labels.slice(0, 10), shape: [10], dtype: 'int32' })) });
    await waitMessage(page, /expected 60 labels/);
    await page.setInputFiles('#embeddings', { name: 'emb.csv', mimeType: 'text/csv', buffer: Buffer.from('1,2,3') });
    await waitMessage(page, /expected a NumPy \.npy file/);
    await page.setInputFiles('#embeddings', { name: 'flat.npy', mimeType: 'application/octet-stream', buffer: Buffer.from(encodeNpy({ data: emb, shape: [n * 6], dtype: 'float32' })) });
    await waitMessage(page, /expected a 2-D array/);
    await page.close();
  });

  it('a backend the browser lacks falls back visibly', async (t) => {
    if (skipWithout(t)) return;
    const page = await open('topology.html?backend=webgpu');
    // Headless Chromium here has no WebGPU adapter: the page says so and uses the next backend.
    const engine = (await page.textContent('#engine')) ?? '';
    if (!engine.includes('backend: webgpu')) assert.match(engine, /webgpu is not available here \(.+\); using (webgl|wasm|cpu)/);
    await page.close();
  });

  it('no page logged an error or fetched anything outside 127.0.0.1', (t) => {
    if (skipWithout(t)) return;
    assert.deepEqual(problems, []);
    assert.deepEqual(foreign, []);
  });
});

describe('eccvkit playground (CLI)', () => {
  it("refuses a bad port and a folder without the playground, naming them", () => {
    const bad = runCli(['playground', '--port', 'eighty']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--port: got "eighty", expected an integer from 0 to 65535/);
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-noplay-'));
    const missing = runCli(['playground', '--dir', empty]);
    fs.rmSync(empty, { recursive: true, force: true });
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--dir: .*expected a folder holding the playground/);
  });
});
