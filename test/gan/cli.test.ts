import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { npyArray, readNpy, writeNpy } from '../../src/data/index.js';
import { createRng } from '../../src/engine/index.js';
import { runCliAsync } from '../helpers.js';

const tiny = ['--width', '4', '--latent-dim', '8', '--batch-size', '8', '--sample-every', '0', '--checkpoint-every', '0'];

describe('eccvkit gan', () => {
  let dir: string;
  let data: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-gan-cli-'));
    // Bright squares at random places on a dark field, as uint8.
    const rng = createRng(3);
    const images = new Uint8Array(32 * 28 * 28);
    for (let n = 0; n < 32; n++) {
      const r = rng.int(20);
      const c = rng.int(20);
      for (let y = r; y < r + 8; y++) for (let x = c; x < c + 8; x++) images[n * 784 + y * 28 + x] = 255;
    }
    data = path.join(dir, 'squares.npy');
    writeNpy(data, npyArray(images, [32, 28, 28]));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('train to 8 steps in one go equals 4 steps, then a resume to 8; sample reads what train saved', async () => {
    const straight = path.join(dir, 'straight');
    const split = path.join(dir, 'split');
    const [a, b] = await Promise.all([
      runCliAsync(['gan', 'train', '--out', straight, '--data', data, '--steps', '8', ...tiny, '--json']),
      runCliAsync(['gan', 'train', '--out', split, '--data', data, '--steps', '4', ...tiny]),
    ]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const resumed = await runCliAsync(['gan', 'train', '--out', split, '--data', data, '--steps', '8', ...tiny, '--json']);
    assert.equal(resumed.status, 0, resumed.stderr);
    const result = JSON.parse(resumed.stdout) as { step: number; resumedFrom: number; samples: string };
    assert.equal(result.step, 8);
    assert.equal(result.resumedFrom, 4);
    assert.ok(fs.existsSync(result.samples));
    for (const part of ['generator/weights.bin', 'checkpoint/discriminator/weights.bin', 'checkpoint/generator/weights.bin']) {
      assert.ok(fs.readFileSync(path.join(straight, part)).equals(fs.readFileSync(path.join(split, part))), `${part} differs after resume`);
    }
    const npy = path.join(dir, 'samples.npy');
    const png = path.join(dir, 'samples.png');
    const [s1, s2] = await Promise.all([
      runCliAsync(['gan', 'sample', '--model', straight, '--out', npy, '--count', '5', '--seed', '1']),
      runCliAsync(['gan', 'sample', '--model', path.join(straight, 'generator'), '--out', png, '--count', '4']),
    ]);
    assert.equal(s1.status, 0, s1.stderr);
    assert.equal(s2.status, 0, s2.stderr);
    const arr = readNpy(npy);
    assert.deepEqual(arr.shape, [5, 28, 28, 1]);
    assert.ok(Array.from(arr.data as Float32Array).every((v) => v >= 0 && v <= 1));
    assert.deepEqual([...fs.readFileSync(png).subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  });

  it('a resume with other options is refused, naming the folder and what differs; the checkpoint is kept', async () => {
    const out = path.join(dir, 'refuse');
    const first = await runCliAsync(['gan', 'train', '--out', out, '--data', data, '--steps', '2', ...tiny]);
    assert.equal(first.status, 0, first.stderr);
    const before = fs.readFileSync(path.join(out, 'checkpoint', 'step.json'), 'utf8');
    const r = await runCliAsync(['gan', 'train', '--out', out, '--data', data, '--steps', '4', ...tiny, '--loss', 'exp']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--out/);
    assert.match(r.stderr, /loss: "hinge" there, "exp" now/);
    assert.equal(fs.readFileSync(path.join(out, 'checkpoint', 'step.json'), 'utf8'), before);
  });

  it('bad input fails before training with the argument named; a diverged run fails and writes no checkpoint', async () => {
    const wide = path.join(dir, 'wide.npy');
    writeNpy(wide, npyArray(new Float32Array(4 * 28 * 28).fill(2), [4, 28, 28]));
    const odd = path.join(dir, 'odd.npy');
    writeNpy(odd, npyArray(new Float32Array(4 * 30 * 30), [4, 30, 30]));
    const cases: Array<[string[], RegExp]> = [
      [['gan', 'train', '--out', path.join(dir, 'x1'), '--data', wide], /--data.*\[2, 2\].*\[0, 1\]/s],
      [['gan', 'train', '--out', path.join(dir, 'x2'), '--data', odd], /--data.*30×30/s],
      [['gan', 'train', '--out', path.join(dir, 'x3'), '--data', data, '--image-size', '30'], /--image-size.*30/s],
      [['gan', 'train', '--out', path.join(dir, 'x4'), '--data', data, '--alpha', '0'], /--alpha.*positive/s],
      [['gan', 'train', '--out', path.join(dir, 'x5'), '--data', data, '--batch-size', '64'], /batchSize.*64/s],
      [['gan', 'sample', '--model', dir, '--out', path.join(dir, 's.jpg')], /--out.*\.png or \.npy/s],
      [['gan', 'score', '--real', data, '--fake', data], /--real.*2-D/s],
      // exp of 1e30·d overflows on the first step.
      [['gan', 'train', '--out', path.join(dir, 'x6'), '--data', data, '--loss', 'exp', '--alpha', '1e30', '--regulariser', 'none', '--steps', '4', ...tiny], /training diverged at step 1 .*no checkpoint was written.*--alpha/s],
    ];
    const results = await Promise.all(cases.map(([args]) => runCliAsync(args)));
    results.forEach((r, i) => {
      assert.notEqual(r.status, 0, `case ${i} should fail`);
      assert.match(r.stderr, cases[i]![1], `case ${i}: ${r.stderr}`);
    });
    assert.ok(!fs.existsSync(path.join(dir, 'x1', 'checkpoint')));
    assert.ok(!fs.existsSync(path.join(dir, 'x6', 'checkpoint')));
  });

  it('score: a set against itself has FD ≈ 0 and precision = recall = 1; a shift c in d dimensions gives FD = d·c²', async () => {
    const rng = createRng(5);
    const rows = 400;
    const d = 6;
    const real = new Float32Array(rows * d);
    for (let i = 0; i < real.length; i++) real[i] = rng.normal();
    const shifted = real.map((v) => v + 0.5);
    const a = path.join(dir, 'real.npy');
    const b = path.join(dir, 'shifted.npy');
    writeNpy(a, npyArray(real, [rows, d]));
    writeNpy(b, npyArray(shifted, [rows, d]));
    const [same, moved] = await Promise.all([
      runCliAsync(['gan', 'score', '--real', a, '--fake', a, '--kid-subsets', '5', '--json']),
      runCliAsync(['gan', 'score', '--real', a, '--fake', b, '--kid-subsets', '5', '--json']),
    ]);
    assert.equal(same.status, 0, same.stderr);
    assert.equal(moved.status, 0, moved.stderr);
    const s = JSON.parse(same.stdout) as { fd: number; kid: number; precision: number; recall: number; dims: number };
    const m = JSON.parse(moved.stdout) as { fd: number; kid: number };
    assert.ok(Math.abs(s.fd) < 1e-6, `FD with itself ${s.fd}`);
    assert.equal(s.precision, 1);
    assert.equal(s.recall, 1);
    assert.equal(s.dims, d);
    // Same covariance, mean moved by 0.5 in each of 6 dimensions: 6 · 0.25.
    assert.ok(Math.abs(m.fd - 1.5) < 1e-4, `FD after the shift ${m.fd}`);
    assert.ok(m.kid > s.kid);
  });
  it('shapes data with the Hessian penalty and InfoGAN; the penalty can be switched on at a resume (fine-tuning), not before the checkpoint', async () => {
    const small = ['--data', 'shapes', '--data-count', '64', '--width', '4', '--batch-size', '8', '--sample-every', '0', '--checkpoint-every', '0'];
    const hp = path.join(dir, 'hp');
    const info = path.join(dir, 'info');
    const base = path.join(dir, 'base');
    const [a, b, c] = await Promise.all([
      runCliAsync(['gan', 'train', '--out', hp, ...small, '--steps', '2', '--hessian-weight', '0.1', '--hessian-subset', '4', '--json']),
      runCliAsync(['gan', 'train', '--out', info, ...small, '--steps', '2', '--infogan-weight', '1', '--infogan-codes', '3', '--json']),
      runCliAsync(['gan', 'train', '--out', base, ...small, '--steps', '2']),
    ]);
    for (const r of [a, b, c]) assert.equal(r.status, 0, r.stderr);
    const hpConfig = JSON.parse(fs.readFileSync(path.join(hp, 'config.json'), 'utf8')) as Record<string, unknown>;
    // Shapes have 6 factors, so 6 latent codes by default; 32×32 grey.
    assert.deepEqual([hpConfig.latentDim, hpConfig.imageSize, hpConfig.channels, hpConfig.hessianWeight, hpConfig.hessianSubset], [6, 32, 1, 0.1, 4]);
    assert.ok((JSON.parse(a.stdout) as { losses: { generator: number } }).losses.generator !== null);
    assert.ok(fs.existsSync(path.join(info, 'checkpoint', 'q', 'model.json')), "InfoGAN's Q head is checkpointed");

    const early = await runCliAsync(['gan', 'train', '--out', base, ...small, '--steps', '4', '--hessian-weight', '0.1', '--hessian-from', '1']);
    assert.equal(early.status, 2);
    assert.match(early.stderr, /differs in hessianWeight: 0 there, 0\.1 now/);
    const fine = await runCliAsync(['gan', 'train', '--out', base, ...small, '--steps', '4', '--hessian-weight', '0.1', '--hessian-from', '2', '--hessian-ramp', '2', '--json']);
    assert.equal(fine.status, 0, fine.stderr);
    assert.match(fine.stderr, /fine-tuning: the Hessian penalty \(λ = 0\.1\) applies from step 2/);
    assert.equal((JSON.parse(fine.stdout) as { resumedFrom: number }).resumedFrom, 2);
    assert.equal((JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8')) as { hessianFrom: number }).hessianFrom, 2);

    const [subset, codes] = await Promise.all([
      runCliAsync(['gan', 'train', '--out', path.join(dir, 'bad1'), ...small, '--hessian-weight', '1', '--hessian-subset', '9']),
      runCliAsync(['gan', 'train', '--out', path.join(dir, 'bad2'), ...small, '--infogan-weight', '1', '--infogan-codes', '7']),
    ]);
    assert.equal(subset.status, 2);
    assert.match(subset.stderr, /--hessian-subset: got "9", expected at most the batch size 8/);
    assert.equal(codes.status, 2);
    assert.match(codes.stderr, /--infogan-codes: got "7", expected at most the latent size 6/);
  });
});
