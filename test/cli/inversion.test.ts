import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateShapes, npyArray, readNpy, writeNpy } from '../../src/data/index.js';
import { initEngine } from '../../src/engine/index.js';
import { trainFactorPredictor } from '../../src/nn/factor-predictor.js';
import { imageGridPng } from '../../src/report/index.js';
import { runCliAsync, type CliResult } from '../helpers.js';

/** Width and height from a PNG's IHDR chunk. */
function pngSize(file: string): [number, number] {
  const buf = fs.readFileSync(file);
  assert.equal(buf.subarray(1, 4).toString('latin1'), 'PNG', `${file} is not a PNG`);
  return [buf.readUInt32BE(16), buf.readUInt32BE(20)];
}

/** Side of a grid of `n` cells of 32 px with imageGridPng's 2 px padding. */
const side = (n: number) => n * 32 + (n + 1) * 2;

/** Runs CLI calls at most `width` at a time (the machine has 2 cores). */
async function runAll(calls: string[][], width = 3): Promise<CliResult[]> {
  const out: CliResult[] = new Array<CliResult>(calls.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < calls.length) {
        const i = next++;
        out[i] = await runCliAsync(calls[i]!);
      }
    }),
  );
  return out;
}

describe('eccvkit inversion, invert, edit, interpolate', () => {
  let dir: string;
  let gen: string;
  let other: string;
  let enc: string;
  let digits: string;
  let pngs: string;
  let predictor: string;
  const tinyGan = ['gan', 'train', '--arch', 'style', '--steps', '2', '--w-dim', '8', '--width', '4', '--mapping-layers', '1', '--batch-size', '8', '--sample-every', '0', '--checkpoint-every', '0'];
  const tinyEncoder = ['--data', 'shapes', '--data-count', '32', '--batch-size', '8', '--width', '4', '--classifier-epochs', '1'];

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-inversion-cli-'));
    // Bars at different places on 32×32, floats in [0, 1].
    const bars = new Float32Array(16 * 32 * 32);
    for (let i = 0; i < 16; i++) {
      const r = 4 + (i % 8) * 2;
      const c = 4 + ((i * 3) % 8) * 2;
      for (let y = r; y < r + 10; y++) for (let x = c; x < c + 4 + (i % 3); x++) bars[i * 1024 + y * 32 + x] = 1;
    }
    const data = path.join(dir, 'bars.npy');
    writeNpy(data, npyArray(bars, [16, 32, 32]));
    // Four 28×28 uint8 strokes (padded to 32 by invert) and a flat folder of four 32×32 PNGs.
    const strokes = new Uint8Array(4 * 28 * 28);
    for (let i = 0; i < 4; i++) for (let y = 5 + i; y < 21; y++) for (let x = 10; x < 13 + i; x++) strokes[i * 784 + y * 28 + x] = 255;
    digits = path.join(dir, 'digits.npy');
    writeNpy(digits, npyArray(strokes, [4, 28, 28]));
    pngs = path.join(dir, 'pngs');
    fs.mkdirSync(pngs);
    for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(pngs, `img${i}.png`), imageGridPng(bars.slice(i * 1024, (i + 1) * 1024), { count: 1, height: 32, width: 32, channels: 1, pad: 0 }));

    gen = path.join(dir, 'gan');
    other = path.join(dir, 'gan-other');
    const runs = Promise.all([runCliAsync([...tinyGan, '--data', data, '--out', gen]), runCliAsync([...tinyGan, '--data', data, '--out', other, '--seed', '1'])]);
    // A factor predictor of 32×32 grey shapes, for factor:NAME.
    await initEngine();
    const shapes = generateShapes({ count: 32, size: 32 });
    const p = trainFactorPredictor(shapes, { epochs: 1, batchSize: 16, filters: [4, 4, 4], featureUnits: 8 });
    predictor = path.join(dir, 'predictor');
    await p.save(predictor);
    p.dispose();
    for (const r of await runs) assert.equal(r.status, 0, r.stderr);
    enc = path.join(dir, 'enc');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('train-encoder writes config, checkpoint, perceptual classifier and encoder; 2 then 3 steps resumes from 2; changed options are refused', async () => {
    const first = await runCliAsync(['inversion', 'train-encoder', '--generator', gen, '--out', enc, '--steps', '2', ...tinyEncoder, '--json']);
    assert.equal(first.status, 0, first.stderr);
    const r1 = JSON.parse(first.stdout) as { step: number; resumedFrom: number; kind: string; losses: { mse: number; perceptual: number; adversarial: number }; encoder: string; perceptual: string };
    assert.deepEqual([r1.step, r1.resumedFrom, r1.kind], [2, 0, 'domain-guided']);
    assert.ok(r1.losses.mse > 0 && r1.losses.perceptual > 0 && r1.losses.adversarial > 0);
    for (const f of ['config.json', 'checkpoint/step.json', 'checkpoint/encoder/model.json', 'checkpoint/discriminator/model.json', 'perceptual/model.json', 'encoder/model.json', 'encoder/encoder.json']) assert.ok(fs.existsSync(path.join(enc, f)), f);
    const config = JSON.parse(fs.readFileSync(path.join(enc, 'config.json'), 'utf8')) as { perceptualModel: string; perceptualTrained: boolean; generator: string };
    assert.equal(config.perceptualModel, path.resolve(enc, 'perceptual'));
    assert.equal(config.perceptualTrained, true);
    const perceptualWeights = fs.readFileSync(path.join(enc, 'perceptual', 'weights.bin'));

    // The gan train folder and its generator/ folder are the same generator.
    const [resumed, traditional] = await runAll([
      ['inversion', 'train-encoder', '--generator', path.join(gen, 'generator'), '--out', enc, '--steps', '3', ...tinyEncoder, '--json'],
      ['inversion', 'train-encoder', '--generator', gen, '--out', path.join(dir, 'trad'), '--kind', 'traditional', '--steps', '2', '--batch-size', '4', '--width', '4', '--json'],
    ]);
    assert.equal(resumed!.status, 0, resumed!.stderr);
    const r2 = JSON.parse(resumed!.stdout) as { step: number; resumedFrom: number };
    assert.deepEqual([r2.step, r2.resumedFrom], [3, 2]);
    assert.ok(fs.readFileSync(path.join(enc, 'perceptual', 'weights.bin')).equals(perceptualWeights), 'the perceptual classifier is reused on resume');
    assert.equal(traditional!.status, 0, traditional!.stderr);
    const t = JSON.parse(traditional!.stdout) as { kind: string; losses: { code: number }; perceptual: string | null };
    assert.equal(t.kind, 'traditional');
    assert.ok(t.losses.code > 0);
    assert.equal(t.perceptual, null);
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'trad', 'encoder', 'encoder.json'), 'utf8')) as { kind: string }).kind, 'traditional');

    const step = fs.readFileSync(path.join(enc, 'checkpoint', 'step.json'), 'utf8');
    const refused = await runCliAsync(['inversion', 'train-encoder', '--generator', gen, '--out', enc, '--steps', '4', ...tinyEncoder, '--lr', '1e-3']);
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /--out: .*differs in lr: 0\.0001 there, 0\.001 now/);
    assert.equal(fs.readFileSync(path.join(enc, 'checkpoint', 'step.json'), 'utf8'), step);
  });

  it('invert: codes [n, layers, wDim], a reconstruction grid and per image losses; a flat PNG folder without an encoder; --force', async () => {
    const codes = path.join(dir, 'codes.npy');
    const grid = path.join(dir, 'recon.png');
    const plain = path.join(dir, 'plain.npy');
    const plainArgs = ['invert', '--generator', gen, '--images', pngs, '--out', plain, '--iterations', '2', '--space', 'w', '--json'];
    const [a, b] = await runAll([['invert', '--generator', gen, '--encoder', enc, '--images', digits, '--out', codes, '--iterations', '3', '--grid', grid, '--json'], plainArgs]);
    assert.equal(a!.status, 0, a!.stderr);
    const r = JSON.parse(a!.stdout) as { shape: number[]; secondsPerImage: number; init: string; lambdaDomain: number; lambdaFeat: number; images: Array<{ index: number; mse: number; perceptual: number; domain: number; total: number }> };
    assert.deepEqual(r.shape, [4, 8, 8]);
    assert.deepEqual([r.init, r.lambdaDomain, r.lambdaFeat], ['encoder', 2, 0.5]);
    assert.ok(r.secondsPerImage > 0);
    assert.equal(r.images.length, 4);
    for (const img of r.images) {
      assert.ok(img.mse > 0 && img.perceptual > 0 && img.domain > 0, JSON.stringify(img));
      assert.ok(Math.abs(img.total - (img.mse + 0.5 * img.perceptual + 2 * img.domain)) < 1e-4, JSON.stringify(img));
    }
    const arr = readNpy(codes);
    assert.deepEqual([arr.dtype, arr.shape], ['float32', [4, 8, 8]]);
    // Originals then reconstructions: 4 columns, 2 rows.
    assert.deepEqual(pngSize(grid), [side(4), side(2)]);

    assert.equal(b!.status, 0, b!.stderr);
    const p = JSON.parse(b!.stdout) as { init: string; lambdaDomain: number; images: Array<{ domain: number; perceptual: number; mse: number; total: number }> };
    assert.deepEqual([p.init, p.lambdaDomain], ['mean', 0]);
    for (const img of p.images) assert.deepEqual([img.domain, img.perceptual, img.total], [0, 0, img.mse]);
    assert.deepEqual(readNpy(plain).shape, [4, 8, 8]);

    const again = await runCliAsync(plainArgs);
    assert.equal(again.status, 2);
    assert.match(again.stderr, /--out: .*plain\.npy.*--force/);
    const forced = await runCliAsync([...plainArgs, '--force']);
    assert.equal(forced.status, 0, forced.stderr);
  });

  it('boundary by thickness, class and factor; edit and interpolate grids', async () => {
    const codes = path.join(dir, 'codes.npy');
    const b = path.join(dir, 'thick.npy');
    const common = ['inversion', 'boundary', '--generator', gen, '--samples', '64', '--json'];
    const [thick, cls, factor] = await runAll([
      [...common, '--attribute', 'thickness', '--out', b, '--layers', '0-3'],
      [...common, '--attribute', 'class:1', '--classifier', path.join(enc, 'perceptual'), '--out', path.join(dir, 'class.npy')],
      [...common, '--attribute', 'factor:scale', '--predictor', predictor, '--out', path.join(dir, 'scale.npy'), '--layers', '0,2,4'],
    ]);
    for (const r of [thick, cls, factor]) assert.equal(r!.status, 0, r!.stderr);
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'thick.json'), 'utf8')) as { attribute: string; manipulateLayers: number[]; accuracy: number; used: number; samples: number };
    assert.deepEqual([meta.attribute, meta.manipulateLayers, meta.samples], ['thickness', [0, 1, 2, 3], 64]);
    assert.ok(meta.accuracy >= 0.5 && meta.accuracy <= 1);
    assert.ok(meta.used > 0 && meta.used <= 64);
    const arr = readNpy(b);
    assert.deepEqual([arr.dtype, arr.shape], ['float32', [8, 8]]);
    const rows = Array.from({ length: 8 }, (_, l) => Math.hypot(...Array.from((arr.data as Float32Array).subarray(l * 8, (l + 1) * 8))));
    rows.forEach((norm, l) => assert.ok(Math.abs(norm - (l < 4 ? 1 : 0)) < 1e-5, `row ${l} norm ${norm}`));
    assert.deepEqual((JSON.parse(cls!.stdout) as { manipulateLayers: number[] }).manipulateLayers, [0, 1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual((JSON.parse(factor!.stdout) as { manipulateLayers: number[] }).manipulateLayers, [0, 2, 4]);
    assert.deepEqual(readNpy(path.join(dir, 'class.npy')).shape, [8, 8]);

    const edit = path.join(dir, 'edit.png');
    const line = path.join(dir, 'interp.png');
    const [e, i] = await runAll([
      ['edit', '--generator', gen, '--codes', codes, '--boundary', b, '--alphas', '-3,0,3', '--out', edit],
      ['interpolate', '--generator', gen, '--codes', codes, '--pairs', '0:1,2:3', '--steps', '5', '--out', line],
    ]);
    assert.equal(e!.status, 0, e!.stderr);
    assert.match(e!.stdout, /layers 0,1,2,3/);
    assert.deepEqual(pngSize(edit), [side(3), side(4)]);
    assert.equal(i!.status, 0, i!.stderr);
    assert.deepEqual(pngSize(line), [side(5), side(2)]);
  });

  it('bad input fails before any work, naming the argument; nothing is written', async () => {
    const w = (f: string, a: Parameters<typeof npyArray>[0], shape: number[]) => {
      writeNpy(path.join(dir, f), npyArray(a, shape));
      return path.join(dir, f);
    };
    const bright = w('bright.npy', new Float32Array(4 * 32 * 32).fill(2), [4, 32, 32]);
    const odd = w('odd.npy', new Float32Array(4 * 30 * 30), [4, 30, 30]);
    const rgb = w('rgb.npy', new Float32Array(4 * 32 * 32 * 3), [4, 32, 32, 3]);
    const ints = w('ints.npy', new Int32Array(4 * 32 * 32), [4, 32, 32]);
    const badCodes = w('bad-codes.npy', new Float32Array(4 * 7 * 8), [4, 7, 8]);
    const narrow = w('narrow.npy', new Float32Array(8 * 5).fill(1), [8, 5]);
    const codes = path.join(dir, 'codes.npy');
    const b = path.join(dir, 'thick.npy');
    const x = path.join(dir, 'x.npy');
    const xp = path.join(dir, 'x.png');
    const inv = ['invert', '--generator', gen, '--out', x];
    const cases: Array<[string[], RegExp]> = [
      [[...inv, '--images', bright], /--images: .*bright\.npy with float32 values in \[2, 2\].*\[0, 1\]/],
      [[...inv, '--images', ints], /--images: .*int32.*float images in \[0, 1\] or uint8/],
      [[...inv, '--images', odd], /--images: .*odd\.npy with shape \[4, 30, 30\].*\[n, 32, 32, 1\]/],
      [[...inv, '--images', rgb], /--images: .*shape \[4, 32, 32, 3\].*\[n, 32, 32, 1\]/],
      [['invert', '--generator', other, '--encoder', enc, '--images', digits, '--out', x], /--encoder: .*trained for generator .*expected an encoder trained for this generator/],
      [[...inv, '--images', digits, '--iterations', '-1'], /--iterations: got "-1", expected an integer ≥ 0/],
      [[...inv, '--images', digits, '--lambda-domain', '2'], /--lambda-domain: .*without --encoder/],
      [['invert', '--generator', dir, '--images', digits, '--out', x], /--generator: .*gan train --arch style/],
      [['edit', '--generator', gen, '--codes', codes, '--boundary', narrow, '--out', xp], /--boundary: .*narrow\.npy with shape \[8, 5\].*\[8, 8\]/],
      [['edit', '--generator', gen, '--codes', badCodes, '--boundary', b, '--out', xp], /--codes: .*shape \[4, 7, 8\].*\[n, 8, 8\]/],
      [['edit', '--generator', gen, '--codes', codes, '--boundary', b, '--out', xp, '--layers', '5-6'], /--layers: .*non-zero \(0,1,2,3\)/],
      [['interpolate', '--generator', gen, '--codes', codes, '--pairs', '0:9', '--out', xp], /--pairs: got "0:9".*\[0, 3\]/],
      [['interpolate', '--generator', gen, '--codes', badCodes, '--pairs', '0:1', '--out', xp], /--codes: .*\[4, 7, 8\]/],
      [['inversion', 'boundary', '--generator', gen, '--attribute', 'class:1', '--out', x], /--classifier: .*for --attribute class:1/],
      [['inversion', 'boundary', '--generator', gen, '--attribute', 'factor:size', '--predictor', predictor, '--out', x], /--attribute: .*shape, scale, rotation, x, y, brightness/],
      [['inversion', 'boundary', '--generator', gen, '--attribute', 'colour', '--out', x], /--attribute: got "colour"/],
      [['inversion', 'train-encoder', '--generator', gen, '--data', path.join(dir, 'bars.npy'), '--out', path.join(dir, 'unlabelled'), '--steps', '2'], /--data: .*without class labels.*--perceptual-model/],
    ];
    const results = await runAll(cases.map(([args]) => args));
    results.forEach((r, i) => {
      assert.equal(r.status, 2, `case ${i}: ${r.stderr}`);
      assert.match(r.stderr, cases[i]![1], `case ${i}: ${r.stderr}`);
    });
    assert.ok(!fs.existsSync(x) && !fs.existsSync(xp));
    assert.ok(!fs.existsSync(path.join(dir, 'unlabelled', 'checkpoint')));
  });
});
