/**
 * Writes seeded glyph classes as PNG class folders, the layout `eccvkit
 * fewshot pretrain`, `metric train` and `embed` read (one sub-folder per class):
 *
 *   node --import tsx scripts/glyph-folders.ts --out my-data [--base 20] [--novel 5] [--per-class 30] [--size 28] [--seed 0]
 *
 * gives my-data/base/glyph-000/…png (classes to pretrain or train on) and
 * my-data/novel/glyph-020/…png (other classes, for episodes and retrieval),
 * plus my-data/support (1 image of each novel class) and my-data/query
 * (the next 3 images of each novel class, no sub-folders) for `fewshot classify --model`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { generateGlyphs, subset, writeImageFolder, type ImageDataset } from '../src/data/index.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    base: { type: 'string', default: '20' },
    novel: { type: 'string', default: '5' },
    'per-class': { type: 'string', default: '30' },
    size: { type: 'string', default: '28' },
    seed: { type: 'string', default: '0' },
  },
});
const int = (name: keyof typeof values, min: number): number => {
  const v = Number(values[name]);
  if (!Number.isInteger(v) || v < min) {
    console.error(`glyph-folders: --${name}: got ${JSON.stringify(values[name])}, expected an integer ≥ ${min}`);
    process.exit(2);
  }
  return v;
};
if (!values.out) {
  console.error('glyph-folders: --out: got nothing, expected the folder to write');
  process.exit(2);
}
const base = int('base', 2);
const novel = int('novel', 2);
const perClass = int('per-class', 5);
const size = int('size', 8);
const seed = int('seed', 0);

const all = generateGlyphs({ classes: base + novel, perClass, seed, size });
all.classNames = all.classNames.map((_, c) => `glyph-${String(c).padStart(3, '0')}`);
const pick = (keep: (label: number, k: number) => boolean): ImageDataset => {
  const idx: number[] = [];
  for (let i = 0; i < all.labels.length; i++) if (keep(all.labels[i] as number, i % perClass)) idx.push(i);
  return subset(all, idx);
};
const out = values.out;
fs.rmSync(out, { recursive: true, force: true });
writeImageFolder(pick((l) => l < base), path.join(out, 'base'));
writeImageFolder(pick((l) => l >= base), path.join(out, 'novel'));
writeImageFolder(pick((l, k) => l >= base && k === 0), path.join(out, 'support'));
// Queries go in one plain folder, named by their true class so a reader can check the answers.
const queryDir = path.join(out, 'query');
const tmp = path.join(out, '.query-tmp');
for (const f of writeImageFolder(pick((l, k) => l >= base && k >= 1 && k <= 3), tmp)) {
  fs.mkdirSync(queryDir, { recursive: true });
  fs.renameSync(f, path.join(queryDir, path.basename(f)));
}
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`${base} base classes and ${novel} novel classes × ${perClass} glyphs (${size}×${size}) → ${out}/{base,novel,support,query}`);
