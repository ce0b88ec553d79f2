/**
 * `eccvkit ph` end to end: JSON diagrams of a hand-worked ring from .npy and
 * .png, critical pixels, the summary, and bad input (one line, exit 2).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { readImageFile } from '../../src/cli/topology.js';
import { writeNpy } from '../../src/data/index.js';
import { cubicalPersistence } from '../../src/topology/index.js';
import { throwsInput, runCli as eccvkit } from '../helpers.js';

const RING = [
  [9, 9, 9, 9, 9],
  [9, 1, 1, 1, 9],
  [9, 1, 5, 1, 9],
  [9, 1, 1, 1, 9],
  [9, 9, 9, 9, 9],
];

describe('eccvkit ph', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-ph-'));
    writeNpy(path.join(dir, 'ring.npy'), { data: Float32Array.from(RING.flat()), shape: [5, 5], dtype: 'float32' });
    writeNpy(path.join(dir, 'ring64.npy'), { data: BigInt64Array.from(RING.flat().map(BigInt)), shape: [5, 5], dtype: 'int64' });
    writeNpy(path.join(dir, 'cube.npy'), { data: new Float32Array(8), shape: [2, 2, 2], dtype: 'float32' });
    writeNpy(path.join(dir, 'nan.npy'), { data: Float32Array.from([0, NaN, 1, 2]), shape: [2, 2], dtype: 'float32' });
    const png = new PNG({ width: 5, height: 5 });
    RING.flat().forEach((v, i) => png.data.set([v * 20, v * 20, v * 20, 255], 4 * i));
    fs.writeFileSync(path.join(dir, 'ring.png'), PNG.sync.write(png));
    fs.writeFileSync(path.join(dir, 'text.npy'), 'not an array');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('prints the diagrams as JSON, with critical pixels, for .npy and .png', () => {
    for (const [file, scale] of [
      ['ring.npy', 1],
      ['ring.png', 20],
    ] as const) {
      const r = eccvkit(['ph', path.join(dir, file), '--json', '--critical']);
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { diagrams: Record<string, Array<[number, number | null]>>; critical: Record<string, unknown> };
      assert.deepEqual(out.diagrams, { 0: [[1 * scale, null]], 1: [[1 * scale, 5 * scale]] }, file);
      assert.deepEqual(out.critical, { 0: [[[1, 1], null]], 1: [[[3, 2], [2, 2]]] }, file);
    }
    const sup = JSON.parse(eccvkit(['ph', path.join(dir, 'ring.npy'), '--json', '--filtration', 'superlevel', '--construction', 'V', '--dims', '0']).stdout) as { diagrams: unknown };
    assert.deepEqual(sup.diagrams, { 0: [[5, 1], [9, null]] });
  });

  it('reads int64 .npy (the NumPy default integer type) exactly', () => {
    const img = readImageFile(path.join(dir, 'ring64.npy'));
    assert.deepEqual(img.shape, [5, 5]);
    assert.deepEqual([...(img.data as Float64Array)], RING.flat());
  });

  it('reads colour PNGs as rounded BT.601 luma and gray PNGs as their level', () => {
    const png = new PNG({ width: 2, height: 1 });
    png.data.set([255, 0, 0, 255, 10, 10, 10, 255]);
    const file = path.join(dir, 'colour.png');
    fs.writeFileSync(file, PNG.sync.write(png));
    const img = readImageFile(file);
    assert.deepEqual(img.shape, [1, 2]);
    assert.deepEqual([...(img.data as Uint8Array)], [Math.round(0.299 * 255), 10]);
  });

  it('prints a readable summary without --json', () => {
    const r = eccvkit(['ph', path.join(dir, 'ring.npy')]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /dimension 0: 1 pairs \(1 essential\)/);
    assert.match(r.stdout, /\[1, 5\)\s+persistence 4/);
  });

  it('bad input: one line naming the problem, exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['ph', path.join(dir, 'cube.npy')], /IMAGE: got ".*cube.npy with shape \[2, 2, 2\]", expected a 2-D array/],
      [['ph', path.join(dir, 'ring.npy'), '--dims', '0,2'], /--dims: got "0,2"/],
      [['ph', path.join(dir, 'ring.npy'), '--construction', 'X'], /argument 'X' is invalid/],
    ];
    // Read errors without a process each: the file layer alone.
    throwsInput(() => readImageFile(path.join(dir, 'missing.npy')), 'IMAGE', 'missing.npy', 'a readable .npy or .png file (ENOENT)');
    throwsInput(() => readImageFile(path.join(dir, 'text.npy')), 'IMAGE', 'a .npy array or a PNG image');
    const nan = readImageFile(path.join(dir, 'nan.npy'));
    throwsInput(() => cubicalPersistence(nan.data, nan.shape), 'image[0, 1]', 'got NaN, expected a finite number');
    for (const [args, pattern] of cases) {
      const r = eccvkit(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0] as string, pattern);
    }
  });
});
