import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { checkImageDataset, decodeImage, loadImageFolder, resizeImage } from '../../src/data/index.js';
import { assertClose, throwsInput } from '../helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-imgs-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));


/** A PNG whose pixels are given as [r, g, b] triples, row-major. */
function png(width: number, height: number, rgb: number[][]): Buffer {
  const img = new PNG({ width, height });
  rgb.forEach(([r, g, b], p) => img.data.set([r!, g!, b!, 255], 4 * p));
  return PNG.sync.write(img);
}

function write(file: string, data: Uint8Array | string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, data);
  return file;
}

const RED = [255, 0, 0];
const WHITE = [255, 255, 255];
const BLACK = [0, 0, 0];

describe('resizeImage', () => {
  const img = (h: number, w: number, values: number[]) => ({ data: Float32Array.from(values), shape: [h, w, 1] as [number, number, number] });

  it('bilinear upsampling with half-pixel centres: [0, 1] → [0, 0.25, 0.75, 1]', () => {
    // Output x maps to source (x + 0.5)/2 − 0.5 = −0.25, 0.25, 0.75, 1.25 (clamped to [0, 1]).
    assertClose(resizeImage(img(1, 2, [0, 1]), [1, 4]).data, [0, 0.25, 0.75, 1], 1e-6);
  });

  it('halving is bilinear (the mean of each 2×2 block)', () => {
    const out = resizeImage(img(2, 4, [0, 2, 4, 6, 8, 10, 12, 14]), [1, 2]);
    assertClose(out.data, [(0 + 2 + 8 + 10) / 4, (4 + 6 + 12 + 14) / 4], 1e-6);
  });

  it('shrinking by more than 2× averages areas, also at fractional scales', () => {
    const v = Array.from({ length: 16 }, (_, i) => i);
    assertClose(resizeImage(img(4, 4, v), [1, 1]).data, [7.5], 1e-6);
    // 5 → 2 (scale 2.5): out0 = (0 + 1 + 0.5·2)/2.5 = 0.8, out1 = (0.5·2 + 3 + 4)/2.5 = 3.2.
    assertClose(resizeImage(img(1, 5, [0, 1, 2, 3, 4]), [1, 2]).data, [0.8, 3.2], 1e-6);
  });

  it('keeps channels separate and rejects bad sizes', () => {
    const rgb = { data: Float32Array.from([1, 0, 0, 0, 0, 1]), shape: [1, 2, 3] as [number, number, number] };
    const out = resizeImage(rgb, [1, 1]);
    assert.deepEqual(out.shape, [1, 1, 3]);
    assertClose(out.data, [0.5, 0, 0.5], 1e-6);
    throwsInput(() => resizeImage(rgb, [0, 2]), 'size', '[h, w] with positive integers');
  });
});

describe('decodeImage', () => {
  it('decodes PNG to RGB and to gray (0.299 R + 0.587 G + 0.114 B)', () => {
    const buf = png(2, 1, [RED, [0, 0, 255]]);
    assertClose(decodeImage(buf, 3).data, [1, 0, 0, 0, 0, 1], 1e-7);
    assertClose(decodeImage(buf, 1).data, [0.299, 0.114], 1e-6);
    assert.deepEqual(decodeImage(buf, 1).shape, [1, 2, 1]);
  });

  it('decodes JPEG (lossy: within 3/255 on a flat colour)', () => {
    const rgba = new Uint8Array(8 * 8 * 4);
    for (let p = 0; p < 64; p++) rgba.set([200, 100, 50, 255], 4 * p);
    const buf = jpeg.encode({ width: 8, height: 8, data: rgba }, 100).data;
    const out = decodeImage(buf, 3);
    assert.deepEqual(out.shape, [8, 8, 3]);
    const expected = Array.from({ length: 64 }, () => [200 / 255, 100 / 255, 50 / 255]).flat();
    assertClose(out.data, expected, 3 / 255);
  });

  it('rejects non-images and corrupt images', () => {
    throwsInput(() => decodeImage(Buffer.from('hello'), 3, 'x.png'), 'x.png', 'neither PNG nor JPEG');
    const cut = png(4, 4, new Array(16).fill(RED)).subarray(0, 40);
    throwsInput(() => decodeImage(cut, 3, 'cut.png'), 'cut.png', 'unreadable PNG');
  });
});

describe('loadImageFolder', () => {
  it('maps sorted class folders to labels, skips non-images, reads PNG and JPEG', () => {
    const root = path.join(tmp, 'ok');
    write(path.join(root, 'b_dog', 'd1.png'), png(2, 2, [WHITE, WHITE, WHITE, WHITE]));
    write(path.join(root, 'b_dog', 'sub', 'd2.PNG'), png(2, 2, [BLACK, BLACK, BLACK, BLACK]));
    write(path.join(root, 'b_dog', 'notes.txt'), 'not an image');
    write(path.join(root, 'a_cat', 'c1.png'), png(2, 2, [RED, BLACK, BLACK, RED]));
    const rgba = new Uint8Array(2 * 2 * 4).fill(255);
    write(path.join(root, 'a_cat', 'c2.jpg'), jpeg.encode({ width: 2, height: 2, data: rgba }, 100).data);
    write(path.join(root, 'README.md'), '# root files are ignored');
    write(path.join(root, '.cache', 'x.png'), png(1, 1, [RED]));
    const ds = loadImageFolder(root, { channels: 1 });
    checkImageDataset(ds);
    assert.equal(ds.name, 'ok');
    assert.deepEqual(ds.classNames, ['a_cat', 'b_dog']);
    assert.equal(ds.numClasses, 2);
    assert.deepEqual(Array.from(ds.labels), [0, 0, 1, 1]);
    assert.deepEqual(
      ds.files.map((f) => path.relative(root, f)),
      ['a_cat/c1.png', 'a_cat/c2.jpg', 'b_dog/d1.png', 'b_dog/sub/d2.PNG'],
    );
    assert.deepEqual(ds.shape, [2, 2, 1]);
    assertClose(ds.images.subarray(0, 4), [0.299, 0, 0, 0.299], 1e-6);
    assertClose(ds.images.subarray(4, 8), [1, 1, 1, 1], 3 / 255);
    assertClose(ds.images.subarray(8, 16), [1, 1, 1, 1, 0, 0, 0, 0], 1e-6);

    const only = loadImageFolder(root, { extensions: ['.png'], channels: 3, name: 'pngs' });
    assert.equal(only.name, 'pngs');
    assert.equal(only.labels.length, 3);
    assert.deepEqual(only.shape, [2, 2, 3]);
  });

  it('resizes to size, or names the odd file when sizes differ', () => {
    const root = path.join(tmp, 'sizes');
    write(path.join(root, 'x', 'a.png'), png(2, 2, [WHITE, BLACK, WHITE, BLACK]));
    const odd = write(path.join(root, 'y', 'b.png'), png(4, 1, [WHITE, WHITE, BLACK, BLACK]));
    throwsInput(() => loadImageFolder(root), 'image file', odd, '(1×4)', '2×2', 'size: [h, w]');
    const ds = loadImageFolder(root, { size: [1, 2], channels: 1 });
    assert.deepEqual(ds.shape, [1, 2, 1]);
    // a: 2×2 [[1, 0], [1, 0]] → 1×2: rows averaged → [1, 0]. b: 1×4 [1, 1, 0, 0] → 1×2 (halving) → [1, 0].
    assertClose(ds.images, [1, 0, 1, 0], 1e-6);
  });

  it('reports empty folders, empty classes, unreadable files and bad options', () => {
    throwsInput(() => loadImageFolder(path.join(tmp, 'absent')), 'root', 'absent', 'existing folder');
    const flat = path.join(tmp, 'flat');
    write(path.join(flat, 'a.png'), png(1, 1, [RED]));
    throwsInput(() => loadImageFolder(flat), 'root', 'found no sub-folders');
    const emptyClass = path.join(tmp, 'emptyclass');
    write(path.join(emptyClass, 'a', 'a.png'), png(1, 1, [RED]));
    write(path.join(emptyClass, 'b', 'readme.txt'), 'no images here');
    throwsInput(() => loadImageFolder(emptyClass), 'class folder', path.join(emptyClass, 'b'), 'at least one image');
    const broken = path.join(tmp, 'broken');
    write(path.join(broken, 'a', 'a.png'), png(1, 1, [RED]));
    const bad = write(path.join(broken, 'a', 'b.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]));
    throwsInput(() => loadImageFolder(broken), bad, 'unreadable JPEG');
    throwsInput(() => loadImageFolder(broken, { channels: 2 as 1 }), 'channels', '1 or 3');
    throwsInput(() => loadImageFolder(broken, { size: [28, 0] }), 'size');
    throwsInput(() => loadImageFolder(broken, { extensions: ['png'] }), 'extensions');
  });
});
