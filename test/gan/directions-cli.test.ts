import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { npyArray, readNpy, writeNpy } from '../../src/data/index.js';
import { initEngine, tf } from '../../src/engine/index.js';
import { latentTraversal } from '../../src/gan/directions.js';
import { dcganGenerator } from '../../src/nn/gan-nets.js';
import { loadModel, saveModel } from '../../src/nn/io.js';
import { assertClose, runCliAsync, type CliResult } from '../helpers.js';

/** Asserts a bad-input exit: status 2 and one stderr line naming `option`. */
function assertInputError(r: CliResult, option: string, ...fragments: string[]): void {
  assert.equal(r.status, 2, `status ${r.status}: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `more than one line: ${r.stderr}`);
  for (const f of [option, ...fragments]) assert.ok(lines[0]!.includes(f), `${JSON.stringify(lines[0])} lacks ${JSON.stringify(f)}`);
}

describe('eccvkit gan directions / traverse', () => {
  let dir: string;
  let model: string;
  before(async () => {
    await initEngine();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-directions-cli-'));
    model = path.join(dir, 'generator');
    // A tiny DCGAN generator (with batch norm, as `gan train` saves them): 3-d z → 28×28×1.
    const g = dcganGenerator({ latentDim: 3, width: 4, imageSize: 28, seed: 1 });
    await saveModel(g, model);
    g.dispose();
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('directions writes orthonormal rows [directions, latentDim] and the penalty history; traverse draws their grid', async () => {
    const q = path.join(dir, 'Q.npy');
    const q2 = path.join(dir, 'two.npy');
    const [a, b] = await Promise.all([
      runCliAsync(['gan', 'directions', '--model', model, '--steps', '4', '--batch-size', '4', '--out', q, '--json']),
      runCliAsync(['gan', 'directions', '--model', model, '--directions', '2', '--steps', '3', '--batch-size', '2', '--init', 'identity', '--no-orthogonal', '--out', q2]),
    ]);
    assert.equal(a.status, 0, a.stderr);
    assert.equal(b.status, 0, b.stderr);
    const result = JSON.parse(a.stdout) as { out: string; history: string; shape: number[]; penalty: number[] };
    assert.deepEqual(result.shape, [3, 3]);
    assert.equal(result.history, path.join(dir, 'Q.history.json'));
    const arr = readNpy(q);
    assert.equal(arr.dtype, 'float32');
    assert.deepEqual(arr.shape, [3, 3]);
    const Q = tf.tensor2d(arr.data as Float32Array, [3, 3]);
    const gram = tf.matMul(Q, Q, false, true);
    assertClose(gram.dataSync(), [1, 0, 0, 0, 1, 0, 0, 0, 1], 1e-5, 'Q Qᵀ');
    tf.dispose([Q, gram]);
    const history = JSON.parse(fs.readFileSync(result.history, 'utf8')) as { penalty: number[]; directions: number; latentDim: number; orthogonal: boolean; init: string };
    assert.equal(history.penalty.length, 4);
    assert.deepEqual(history.penalty, result.penalty);
    assert.ok(history.penalty.every((p) => Number.isFinite(p) && p >= 0));
    assert.deepEqual([history.directions, history.latentDim, history.orthogonal, history.init], [3, 3, true, 'random']);
    assert.deepEqual(readNpy(q2).shape, [2, 3]);
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'two.history.json'), 'utf8')) as { orthogonal: boolean }).orthogonal, false);
    assert.match(b.stdout, /2 directions \(3-d\)/);

    const grid = path.join(dir, 'grid.png');
    const axesNpy = path.join(dir, 'axes.npy');
    const [t1, t2] = await Promise.all([
      runCliAsync(['gan', 'traverse', '--model', model, '--directions', q2, '--steps', '5', '--scale', '2', '--out', grid]),
      runCliAsync(['gan', 'traverse', '--model', model, '--steps', '3', '--range', '1.5', '--out', axesNpy]),
    ]);
    for (const t of [t1, t2]) assert.equal(t.status, 0, t.stderr);
    assert.match(t1.stdout, /2 directions × 5 steps/);
    assert.match(t2.stdout, /3 latent coordinates × 3 steps/);
    // imageGridPng: a row per direction, a column per step, cols·w·scale + (cols + 1)·2 by rows·h·scale + (rows + 1)·2.
    const png = PNG.sync.read(fs.readFileSync(grid));
    assert.deepEqual([png.width, png.height], [5 * 56 + 6 * 2, 2 * 56 + 3 * 2]);
    // The .npy grid equals the library's traversal of the same model run by predict (inference mode: batch norm on
    // its moving statistics, so each image depends on its own code only, not on the batch it is drawn in).
    const images = readNpy(axesNpy);
    assert.deepEqual(images.shape, [3, 3, 28, 28, 1]);
    const loaded = await loadModel(model);
    const expected = latentTraversal((z) => loaded.predict(z) as tf.Tensor, { latentDim: 3, steps: 3, range: 1.5, seed: 0, batchSize: 1 });
    loaded.dispose();
    assertClose(images.data as Float32Array, expected.images, 1e-4, 'CLI grid vs library');
  });

  it('bad input exits 2 with one line naming the option', async () => {
    const wrong = path.join(dir, 'wrong.npy');
    writeNpy(wrong, npyArray(new Float32Array(10).fill(0.5), [2, 5]));
    const out = path.join(dir, 'never.npy');
    const rs = await Promise.all([
      runCliAsync(['gan', 'directions', '--model', model, '--directions', '4', '--steps', '1', '--out', out]),
      runCliAsync(['gan', 'traverse', '--model', model, '--directions', wrong, '--out', path.join(dir, 'never.png')]),
      runCliAsync(['gan', 'directions', '--model', model, '--steps', '0', '--out', out]),
      runCliAsync(['gan', 'directions', '--model', path.join(dir, 'nothing'), '--out', out]),
      runCliAsync(['gan', 'traverse', '--model', model, '--range', '-1', '--out', path.join(dir, 'never.png')]),
      runCliAsync(['gan', 'directions', '--model', model, '--out', path.join(dir, 'q.txt')]),
    ]);
    assertInputError(rs[0]!, '--directions', 'at most', '3');
    assertInputError(rs[1]!, '--directions', '[2, 5]', '3-d latent space');
    assertInputError(rs[2]!, '--steps', 'an integer ≥ 1');
    assertInputError(rs[3]!, '--model');
    assertInputError(rs[4]!, '--range', 'positive');
    assertInputError(rs[5]!, '--out', '.npy');
    assert.ok(!fs.existsSync(out), 'a failed run wrote its output');
  });
});
