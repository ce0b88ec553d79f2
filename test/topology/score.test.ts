/**
 * TopoGAN's topology table: Betti score, unbiased MMD of diagrams and Betti
 * error (library and `eccvkit topo score|masks`), with bad input.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readMaskStack } from '../../src/cli/topo.js';
import { generateMasks, readNpy, writeNpy } from '../../src/data/index.js';
import { cubicalPersistence, diagramPoints, maskFiltration, topologyScores, unbiasedMmd, type MaskStack } from '../../src/topology/index.js';
import { runCli, throwsInput } from '../helpers.js';

const stack = (kind: 'membranes' | 'roads', count: number, seed: number): MaskStack => ({ data: generateMasks({ kind, count, seed }).images, count, height: 64, width: 64 });

describe('topology scores', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-topo-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a set against itself: Betti score 0, Betti error 0; roads against membranes score above 0', () => {
    const a = stack('membranes', 12, 0);
    const self = topologyScores(a, a, { mmdSamples: 8 });
    assert.deepEqual(self.bettiScore, { 0: 0, 1: 0 });
    assert.equal(self.bettiError, 0);
    assert.deepEqual(self.betti.real, self.betti.fake);
    const roads = topologyScores(a, stack('roads', 12, 1), { mmdSamples: 8 });
    assert.ok((roads.bettiScore[1] as number) > 0 && roads.bettiError > 0);
  });

  it('maxPoints: a diagram larger than it leaves that dimension\'s MMD undefined (NaN), the Betti numbers still scored', () => {
    const a = stack('membranes', 4, 4);
    const capped = topologyScores(a, a, { mmdSamples: 4, maxPoints: 1 });
    assert.ok(Number.isNaN(capped.mmd[1]) && Number.isNaN(capped.sigma[1]));
    assert.deepEqual(capped.bettiScore, { 0: 0, 1: 0 });
    assert.ok(Number.isFinite(topologyScores(a, a, { mmdSamples: 4, maxPoints: 1000 }).mmd[1]));
    throwsInput(() => topologyScores(a, a, { maxPoints: 0 }), /maxPoints/);
  });

  it('the MMD equals unbiasedMmd on the TopoGAN diagrams with the same σ', () => {
    const a = stack('membranes', 4, 2);
    const b = stack('roads', 4, 3);
    const r = topologyScores(a, b, { dims: [1], sigma: 3 });
    const diagrams = (s: MaskStack) =>
      Array.from({ length: s.count }, (_, i) => {
        const m = Float64Array.from({ length: 4096 }, (_, p) => ((s.data[i * 4096 + p] as number) > 0.5 ? 0 : 1));
        const f = maskFiltration(m, [64, 64], { threshold: 0.5 });
        return diagramPoints(cubicalPersistence(f.values, [f.height, f.width], { dims: [1] }).diagrams[1]!);
      });
    const expected = unbiasedMmd(diagrams(a), diagrams(b), { sigma: 3 });
    assert.ok(Math.abs((r.mmd[1] as number) - expected) < 1e-12, `${r.mmd[1]} vs ${expected}`);
    assert.equal(r.sigma[1], 3);
    assert.deepEqual(Object.keys(r.bettiScore), ['1']);
  });

  it('bad input names the argument, the value and what was expected', () => {
    const a = stack('membranes', 3, 0);
    throwsInput(() => topologyScores(a, { data: new Float32Array(2 * 32 * 32), count: 2, height: 32, width: 32 }), 'fake', '32×32', '64×64 masks');
    throwsInput(() => topologyScores(a, { ...a, data: Float32Array.from(a.data as Float32Array, () => 1.5) }), 'fake.data[0]', '[0, 1]');
    throwsInput(() => topologyScores(a, a, { dims: [2 as 0] }), 'dims');
    throwsInput(() => topologyScores(a, a, { threshold: -1 }), 'threshold');
    throwsInput(() => topologyScores({ ...a, count: 1, data: (a.data as Float32Array).subarray(0, 4096) }, a), 'masks', 'at least two');
    writeNpy(path.join(dir, 'rgb.npy'), { data: new Float32Array(2 * 4 * 4 * 3), shape: [2, 4, 4, 3], dtype: 'float32' });
    writeNpy(path.join(dir, 'flat.npy'), { data: new Float32Array(16), shape: [16], dtype: 'float32' });
    writeNpy(path.join(dir, 'neg.npy'), { data: Float32Array.from([0, -0.5, 1, 1]), shape: [1, 2, 2], dtype: 'float32' });
    writeNpy(path.join(dir, 'u8.npy'), { data: Uint8Array.from([0, 255, 128, 255]), shape: [1, 2, 2], dtype: 'uint8' });
    throwsInput(() => readMaskStack(path.join(dir, 'rgb.npy'), '--real', 0.5), '--real', '[2, 4, 4, 3]', 'one 2-D mask per item');
    throwsInput(() => readMaskStack(path.join(dir, 'flat.npy'), '--fake', 0.5), '--fake', '[16]');
    throwsInput(() => readMaskStack(path.join(dir, 'neg.npy'), '--fake', 0.5), '--fake', '-0.5', '[0, 1] (or uint8');
    assert.deepEqual(Array.from(readMaskStack(path.join(dir, 'u8.npy'), '--real', 0.5).data).map((v) => Math.round(v * 255)), [0, 255, 128, 255]);
  });

  it('eccvkit topo masks writes masks and Betti numbers; topo score of a set against itself is 0; mismatched sizes exit 2', () => {
    const out = path.join(dir, 'm.npy');
    let r = runCli(['topo', 'masks', '--kind', 'roads', '--count', '6', '--seed', '4', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    const masks = readNpy(out);
    assert.deepEqual(masks.shape, [6, 64, 64]);
    assert.deepEqual([...readNpy(out.replace('.npy', '.betti.npy')).data], [...generateMasks({ kind: 'roads', count: 6, seed: 4 }).betti]);
    r = runCli(['topo', 'score', '--real', out, '--fake', out, '--dims', '0,1', '--threshold', '0.5', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const score = JSON.parse(r.stdout) as { betti_score: Record<string, number>; mmd: Record<string, number>; betti_error: number; betti: { real: number[][]; fake: number[][] } };
    assert.deepEqual(score.betti_score, { 0: 0, 1: 0 });
    assert.equal(score.betti_error, 0);
    assert.equal(score.betti.real.length, 6);
    assert.ok(Number.isFinite(score.mmd['1']));
    writeNpy(path.join(dir, 'small.npy'), { data: new Float32Array(2 * 32 * 32), shape: [2, 32, 32], dtype: 'float32' });
    r = runCli(['topo', 'score', '--real', out, '--fake', path.join(dir, 'small.npy')]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--fake: got .*32×32 masks.*expected 64×64 masks, like --real/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});
