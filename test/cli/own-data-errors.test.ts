/**
 * The bad inputs `fewshot pretrain`, `metric train` and `embed` refuse, each
 * with exit 2 and a message naming the argument, the value and what was
 * expected, and nothing overwritten; `--on-bad-image skip` goes on.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generateGlyphs, subset, writeImageFolder, type ImageDataset } from '../../src/data/index.js';
import { runCliAsync as eccvkit } from '../helpers.js';

/** Glyph classes `from`…`from + classes − 1` as a dataset with folder-safe class names. */
function glyphs(classes: number, perClass: number, size: number, from = 0): ImageDataset {
  const all = generateGlyphs({ classes: from + classes, perClass, seed: 5, size });
  const idx = Array.from({ length: classes * perClass }, (_, i) => from * perClass + i);
  const ds = subset(all, idx);
  ds.classNames = all.classNames.map((_, c) => `g${String(c).padStart(2, '0')}`);
  return ds;
}

const json = <T>(r: { status: number; stdout: string; stderr: string }): T => {
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as T;
};

describe('training on your own images: bad input', () => {
  let dir: string;
  let base: string;
  let novel: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-own-data-bad-'));
    base = path.join(dir, 'base');
    novel = path.join(dir, 'novel');
    writeImageFolder(glyphs(8, 10, 28), base);
    writeImageFolder(glyphs(5, 8, 28, 8), novel);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('bad input: one class, too few images, mixed sizes, non-image files, a foreign model folder, a missing layer, an --out with other options: exit 2, named, nothing overwritten', async () => {
    const one = path.join(dir, 'one');
    writeImageFolder(glyphs(1, 4, 28), one);
    const few = path.join(dir, 'few');
    writeImageFolder(glyphs(3, 4, 28), few);
    fs.rmSync(path.join(few, 'g01', 'g01-0001.png'));
    fs.rmSync(path.join(few, 'g01', 'g01-0002.png'));
    fs.rmSync(path.join(few, 'g01', 'g01-0003.png'));
    const mixed = path.join(dir, 'mixed');
    writeImageFolder(glyphs(2, 3, 28), mixed);
    writeImageFolder(glyphs(2, 1, 32), path.join(dir, 'mixed-extra'));
    fs.copyFileSync(path.join(dir, 'mixed-extra', 'g00', 'g00-0000.png'), path.join(mixed, 'g00', 'zz.png'));
    const junk = path.join(dir, 'junk');
    writeImageFolder(glyphs(2, 4, 28), junk);
    fs.writeFileSync(path.join(junk, 'g00', 'notes.txt'), 'not an image');
    fs.writeFileSync(path.join(junk, 'g01', 'broken.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    const foreign = path.join(dir, 'foreign');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'model.json'), '{"format":"layers-model","modelTopology":{}}');
    fs.writeFileSync(path.join(foreign, 'eccvkit.json'), '{"format":"something-else"}');
    const graph = path.join(dir, 'graph');
    fs.mkdirSync(graph);
    fs.writeFileSync(path.join(graph, 'model.json'), '{"format":"graph-model"}');
    const taken = path.join(dir, 'taken');
    fs.mkdirSync(taken);
    fs.writeFileSync(path.join(taken, 'mine.txt'), 'keep me');
    const model = path.join(dir, 'pt-bad');
    const ownArgs = ['fewshot', 'pretrain', '--data', base, '--out', model, '--epochs', '1', '--width', '4'];
    json(await eccvkit([...ownArgs, '--json']));
    const beforeWeights = fs.readFileSync(path.join(model, 'weights.bin'));
    const out = (name: string) => path.join(dir, `bad-${name}`);
    const cases: Array<[string[], string[]]> = [
      [['fewshot', 'pretrain', '--data', one, '--out', out('one')], ['--data', '1 class', 'at least two classes']],
      [['metric', 'train', '--data', few, '--out', out('few'), '--loss', 'triplet'], ['--data', "class 'g01' with 1 image", 'at least 4 images']],
      [['fewshot', 'pretrain', '--data', mixed, '--out', out('mixed')], ['zz.png (32×32)', '--image-size']],
      [['fewshot', 'pretrain', '--data', junk, '--out', out('junk')], ['image files', '2 of 10 files', 'notes.txt', 'broken.png', '--on-bad-image skip']],
      [['embed', '--model', foreign, '--images', novel, '--out', out('f.npy')], ['--model', 'something-else', 'an eccvkit model folder']],
      [['embed', '--model', graph, '--images', novel, '--out', out('g.npy')], ['--model', 'graph-model', 'layers model']],
      [['embed', '--model', dir, '--images', novel, '--out', out('d.npy')], ['--model', 'model.json']],
      [['embed', '--model', model, '--images', novel, '--out', out('l.npy'), '--layer', 'nope'], ['--layer', 'nope', 'block1_conv', 'features', 'logits']],
      [[...ownArgs, '--epochs', '5'], ['--out', 'epochs: 1 there, 5 now']],
      [['fewshot', 'pretrain', '--data', base, '--out', taken], ['--out', 'nothing was overwritten']],
      [['metric', 'train', '--data', base, '--out', out('set'), '--loss', 'triplet', '--set', 'bogus=1'], ['loss triplet option', 'bogus', 'margin']],
    ];
    const results = await Promise.all(cases.map(([args]) => eccvkit(args)));
    results.forEach((r, k) => {
      const [args, fragments] = cases[k] as [string[], string[]];
      assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, stderr ${r.stderr}`);
      for (const f of fragments) assert.ok(r.stderr.includes(f), `${args.join(' ')}: stderr ${JSON.stringify(r.stderr)} lacks ${JSON.stringify(f)}`);
    });
    assert.ok(fs.readFileSync(path.join(model, 'weights.bin')).equals(beforeWeights), 'a refused run changed the model');
    assert.deepEqual(fs.readdirSync(taken), ['mine.txt']);
    for (const name of ['one', 'few', 'mixed', 'junk', 'set']) assert.ok(!fs.existsSync(out(name)), `bad-${name} was created`);
    // skip leaves the bad files out and says so.
    const skipped = await eccvkit(['fewshot', 'pretrain', '--data', junk, '--out', out('skip'), '--epochs', '1', '--width', '4', '--on-bad-image', 'skip', '--json']);
    assert.equal(skipped.status, 0, skipped.stderr);
    assert.ok(skipped.stderr.includes('skipped 2 bad file(s)'), skipped.stderr);
  });
});
