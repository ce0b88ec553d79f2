import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isGzip, parseIdx, readIdx } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-idx-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));


// uint8 images [2, 2, 3]: magic 00 00 08 03, dims 2, 2, 3 as big-endian uint32, then 12 bytes.
const UBYTE3 = Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);

describe('parseIdx', () => {
  it('reads a hand-built uint8 idx3 file', () => {
    const a = parseIdx(UBYTE3);
    assert.equal(a.dtype, 'uint8');
    assert.deepEqual(a.shape, [2, 2, 3]);
    assert.ok(a.data instanceof Uint8Array);
    assert.deepEqual(Array.from(a.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('reads gzipped input transparently', () => {
    const gz = gzipSync(UBYTE3);
    assert.ok(isGzip(gz));
    assert.ok(!isGzip(UBYTE3));
    assert.deepEqual(parseIdx(gz), parseIdx(UBYTE3));
  });

  it('reads big-endian int8, int16, int32, float32 and float64', () => {
    const int8 = parseIdx(Uint8Array.from([0, 0, 0x09, 1, 0, 0, 0, 2, 0xff, 0x7f]));
    assert.deepEqual([int8.dtype, ...int8.data], ['int8', -1, 127]);
    const int16 = parseIdx(Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 2, 0x01, 0x02, 0xff, 0xfe]));
    assert.deepEqual([int16.dtype, ...int16.data], ['int16', 0x0102, -2]);
    const int32 = parseIdx(Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 1, 0x80, 0, 0, 0]));
    assert.deepEqual([int32.dtype, ...int32.data], ['int32', -(2 ** 31)]);
    // 1.5f = 3f c0 00 00; -2.0 (double) = c0 00 00 00 00 00 00 00.
    const f32 = parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0]));
    assert.deepEqual([f32.dtype, ...f32.data], ['float32', 1.5]);
    const f64 = parseIdx(Uint8Array.from([0, 0, 0x0e, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0xc0, 0, 0, 0, 0, 0, 0, 0]));
    assert.deepEqual([f64.dtype, f64.shape, ...f64.data], ['float64', [1, 1], -2]);
  });

  it('reads dimensions larger than 2^16 (uint32 big-endian)', () => {
    const n = 70000; // 0x00011170
    const buf = new Uint8Array(8 + n);
    buf.set([0, 0, 0x08, 1, 0x00, 0x01, 0x11, 0x70]);
    buf[8 + n - 1] = 9;
    const a = parseIdx(buf);
    assert.deepEqual(a.shape, [n]);
    assert.equal(a.data[n - 1], 9);
  });

  it('rejects bad magic, unknown types, truncation, trailing bytes and broken gzip', () => {
    throwsInput(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 0])), 'magic of IDX data', '01 00 08 01');
    throwsInput(() => parseIdx(new Uint8Array(0)), 'magic', 'empty');
    throwsInput(() => parseIdx(Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0])), 'type byte of IDX data', '0x0a', '0x08 (uint8)');
    throwsInput(() => parseIdx(UBYTE3.subarray(0, 10)), 'length of IDX data', 'got 10', 'at least 16 bytes', 'truncated');
    throwsInput(() => parseIdx(UBYTE3.subarray(0, UBYTE3.length - 1)), 'data length of IDX data', 'got 11', 'expected 12 bytes', 'truncated');
    throwsInput(() => parseIdx(Uint8Array.from([...UBYTE3, 0])), 'got 13', 'trailing');
    const gz = gzipSync(UBYTE3);
    throwsInput(() => parseIdx(gz.subarray(0, gz.length - 6)), 'IDX data', 'gzip');
  });

  it('readIdx names the file in errors and reports missing files', () => {
    const file = path.join(tmp, 'cut-idx1-ubyte.gz');
    fs.writeFileSync(file, gzipSync(UBYTE3.subarray(0, 20)));
    throwsInput(() => readIdx(file), `data length of ${file}`, 'truncated');
    throwsInput(() => readIdx(path.join(tmp, 'missing')), 'file', 'missing', 'ENOENT');
    const good = path.join(tmp, 'ok-idx3-ubyte');
    fs.writeFileSync(good, UBYTE3);
    assert.deepEqual(readIdx(good).shape, [2, 2, 3]);
  });
});
