/**
 * The reference net (mnist-baseline's conv net, 32/64 filters, a 128-unit
 * hidden layer, batch 128, Adam) trained one step at a time in headless
 * Chromium (Debian's `chromium`, playwright-core) on webgl (SwiftShader: the
 * machine has no GPU), wasm and cpu, beside Node's native and wasm in the same
 * invocation; also the browser bundle's size. Ratios are to Node's native.
 *
 * Options: --steps N (default 5; cpu runs 2), --json.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromiumUnavailable, launchChromium } from '../scripts/headless-chromium.js';
// @ts-expect-error: a plain .mjs build script without types
import { buildBrowserBundle } from '../scripts/build-browser.mjs';
import { serveFolder } from '../src/node/static-server.js';
import { createRng, initEngine, tf, type BackendName } from '../src/index.js';
import { referenceNet } from './engine.js';
import { arg, median } from './util.js';

const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module">
import * as ek from './eccvkit.js';
window.bench = async (backend, steps) => {
  const info = await ek.initEngine({ backend });
  const { tf } = ek;
  const rng = ek.createRng(7);
  const xs = tf.tensor4d(Float32Array.from({ length: 128 * 784 }, () => rng.uniform()), [128, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 128 }, () => Math.floor(rng.uniform() * 10)), 'int32'), 10).toFloat();
  const model = ek.smallConvNet({ filters: [32, 64], dense: [{ units: 128, activation: 'relu' }, { units: 10 }] }, 1);
  const optimizer = tf.train.adam(1e-3);
  const step = async () => { const l = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs)), true); await l.data(); l.dispose(); };
  await step();
  const times = [];
  for (let i = 0; i < steps; i++) { const t = performance.now(); await step(); times.push(performance.now() - t); }
  tf.dispose([xs, ys]); model.dispose(); optimizer.dispose();
  return { backend: info.backend, times };
};
window.ready = true;
</script>`;

async function nodeStepMs(backend: BackendName, steps: number): Promise<number> {
  await initEngine({ backend });
  const rng = createRng(7);
  const xs = tf.tensor4d(Float32Array.from({ length: 128 * 784 }, () => rng.uniform()), [128, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(Int32Array.from({ length: 128 }, () => Math.floor(rng.uniform() * 10)), 'int32'), 10).toFloat();
  const model = referenceNet(1);
  const optimizer = tf.train.adam(1e-3);
  const step = async (): Promise<void> => {
    const l = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs) as tf.Tensor) as tf.Scalar, true);
    await l?.data();
    l?.dispose();
  };
  await step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t = performance.now();
    await step();
    times.push(performance.now() - t);
  }
  tf.dispose([xs, ys]);
  model.dispose();
  optimizer.dispose();
  return median(times);
}

export async function main(argv: string[]): Promise<void> {
  const steps = Number(arg(argv, 'steps', '5'));
  const json = argv.includes('--json');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-bench-browser-'));
  const rows: Record<string, number | string> = {};
  try {
    await buildBrowserBundle({ outdir: dir });
    const bundleMb = fs.statSync(path.join(dir, 'eccvkit.js')).size / 1024 / 1024;
    const wasmMb = fs.readdirSync(dir).filter((f) => f.endsWith('.wasm')).reduce((s, f) => s + fs.statSync(path.join(dir, f)).size, 0) / 1024 / 1024;
    for (const b of ['native', 'wasm'] as const) {
      try {
        rows[`node ${b}`] = await nodeStepMs(b, steps);
      } catch (err) {
        rows[`node ${b}`] = `not run (${(err as Error).message})`;
      }
    }
    const why = await chromiumUnavailable();
    if (why) {
      for (const b of ['webgl', 'wasm', 'cpu']) rows[`chromium ${b}`] = `not run (${why})`;
    } else {
      fs.writeFileSync(path.join(dir, 'index.html'), PAGE);
      const { server, url } = await serveFolder(dir);
      const browser = await launchChromium();
      try {
        const page = await browser.newPage();
        await page.goto(`${url}index.html`);
        await page.waitForFunction(() => (globalThis as unknown as { ready?: boolean }).ready === true);
        for (const b of ['webgl', 'wasm', 'cpu']) {
          try {
            const got = (await page.evaluate(([bb, s]) => (globalThis as unknown as { bench: (b: string, s: number) => Promise<unknown> }).bench(bb as string, s as number), [b, b === 'cpu' ? 2 : steps] as const)) as { times: number[] };
            rows[`chromium ${b}`] = median(got.times);
          } catch (err) {
            rows[`chromium ${b}`] = `not run (${(err as Error).message.split('\n')[0]})`;
          }
        }
      } finally {
        await browser.close();
        server.close();
      }
    }
    if (json) {
      console.log(JSON.stringify({ stepMs: rows, bundleMb, wasmMb }));
      return;
    }
    const base = typeof rows['node native'] === 'number' ? (rows['node native'] as number) : undefined;
    console.log(`reference net train step (conv32-pool-conv64-pool-dense128-dense10, batch 128, Adam), median ms; ratios to Node native`);
    for (const [k, v] of Object.entries(rows)) console.log(`  ${k.padEnd(16)} ${typeof v === 'number' ? `${v.toFixed(0).padStart(7)} ms${base ? `  ${(v / base).toFixed(2)}×` : ''}` : v}`);
    console.log(`  browser bundle: eccvkit.js ${bundleMb.toFixed(2)} MB (minified, TensorFlow.js inside) + wasm binaries ${wasmMb.toFixed(2)} MB`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
