import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { encodeNpy, npyArray, npyToFloat32, npyToInt32Labels, parseNpy, readNpy, writeNpy, type NpyArray } from '../../src/data/index.js';
import { throwsInput } from '../helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eccvkit-npy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The elements of an array as plain numbers or bigints. */
const values = (a: NpyArray): Array<number | bigint> => Array.from(a.data as ArrayLike<number | bigint>);

const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));

/** Assembles a .npy file from a version and a header text (no padding rules applied) and raw data bytes. */
function build(major: number, header: string, data: number[] = []): Uint8Array {
  const len = major === 1 ? [header.length & 0xff, header.length >> 8] : [header.length & 0xff, (header.length >> 8) & 0xff, 0, 0];
  return Uint8Array.from([0x93, ...ascii('NUMPY'), major, 0, ...len, ...ascii(header), ...data]);
}


describe('parseNpy on hand-built files', () => {
  it('reads a version 1.0 int32 [[1, 2, 3], [4, 5, 6]] with 16-byte alignment (NumPy < 1.23)', () => {
    // Spec: magic \x93NUMPY, major 1, minor 0, uint16 LE HEADER_LEN, header, data.
    // The dict text is 59 characters; 10 + 59 + 10 spaces + '\n' = 80 = 5 × 16, so HEADER_LEN = 70 = 0x46.
    const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
    assert.equal(dict.length, 59);
    const prefix = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x46, 0x00];
    const header = ascii(dict + ' '.repeat(10) + '\n');
    const data = [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0];
    const buf = Uint8Array.from([...prefix, ...header, ...data]);
    assert.equal(buf.length, 104);
    const arr = parseNpy(buf);
    assert.equal(arr.dtype, 'int32');
    assert.deepEqual(arr.shape, [2, 3]);
    assert.ok(arr.data instanceof Int32Array);
    assert.deepEqual(Array.from(arr.data), [1, 2, 3, 4, 5, 6]);
  });

  it('reads a version 2.0 float32 [1.5, -2] (uint32 header length)', () => {
    // 12-byte prefix + 57-character dict + 58 spaces + '\n' = 128; HEADER_LEN = 116 = 0x74.
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
    assert.equal(dict.length, 57);
    const prefix = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x02, 0x00, 0x74, 0x00, 0x00, 0x00];
    // 1.5f = 0x3fc00000, -2f = 0xc0000000, little-endian.
    const data = [0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0];
    const arr = parseNpy(Uint8Array.from([...prefix, ...ascii(dict + ' '.repeat(58) + '\n'), ...data]));
    assert.equal(arr.dtype, 'float32');
    assert.deepEqual(arr.shape, [2]);
    assert.deepEqual(values(arr), [1.5, -2]);
  });

  it('reads version 3.0, double quotes, Python 2 long suffixes and any key order', () => {
    // int64 [-1, 2^40]: ff×8, then 0x0000010000000000 little-endian.
    const data = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 0, 0];
    const arr = parseNpy(build(3, '{"shape": (2L,), "fortran_order": False, "descr": "<i8"}\n', data));
    assert.equal(arr.dtype, 'int64');
    assert.deepEqual(values(arr), [-1n, 2n ** 40n]);
  });

  it('reads a float64 scalar, an empty array, uint8 and bool', () => {
    // 2.5 = 0x4004000000000000.
    const scalar = parseNpy(build(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", [0, 0, 0, 0, 0, 0, 4, 0x40]));
    assert.deepEqual(scalar.shape, []);
    assert.deepEqual(values(scalar), [2.5]);
    const empty = parseNpy(build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }\n"));
    assert.deepEqual(empty.shape, [0, 5]);
    assert.equal(empty.data.length, 0);
    const u8 = parseNpy(build(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }\n", [0, 128, 255]));
    assert.equal(u8.dtype, 'uint8');
    assert.deepEqual(values(u8), [0, 128, 255]);
    const b1 = parseNpy(build(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }\n", [1, 0]));
    assert.equal(b1.dtype, 'uint8');
    assert.deepEqual(values(b1), [1, 0]);
  });

  it('accepts fortran_order True when only one axis is longer than 1 (same layout as C)', () => {
    const arr = parseNpy(build(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (1, 3), }\n", [7, 8, 9]));
    assert.deepEqual(values(arr), [7, 8, 9]);
  });

  it('copies the data out of an unaligned Buffer view', () => {
    const file = build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0x80, 0x3f]);
    const big = Buffer.alloc(file.length + 3);
    big.set(file, 3);
    const view = big.subarray(3);
    const arr = parseNpy(view);
    assert.deepEqual(values(arr), [1]);
    big.fill(0);
    assert.deepEqual(values(arr), [1], 'result must not alias the input');
  });
});

describe('encodeNpy', () => {
  it('writes the exact bytes NumPy ≥ 1.23 writes for int32 [[1, 2, 3], [4, 5, 6]]', () => {
    // Dict (59) + 21 − len("2") = 20 growth spaces = 79; + '\n' = 80; pad = 64 − (10 + 80) mod 64 = 38;
    // HEADER_LEN = 118 = 0x76, data starts at 128.
    const dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }";
    const expected = Uint8Array.from([
      0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 0x01, 0x00, 0x76, 0x00,
      ...ascii(dict + ' '.repeat(20) + ' '.repeat(38) + '\n'),
      1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0,
    ]);
    const got = encodeNpy({ data: Int32Array.from([1, 2, 3, 4, 5, 6]), shape: [2, 3], dtype: 'int32' });
    assert.equal(got.length, 152);
    assert.deepEqual(Array.from(got), Array.from(expected));
  });

  it('round-trips every dtype through files', () => {
    const arrays: NpyArray[] = [
      npyArray(Float32Array.from([0.1, -2.5, 3e38, -0]), [2, 2]),
      npyArray(Float64Array.from([Math.PI, -1e-300, Infinity]), [3]),
      npyArray(Int32Array.from([-(2 ** 31), 0, 2 ** 31 - 1, 7, 8, 9]), [1, 2, 3]),
      npyArray(BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n]), [2]),
      npyArray(Uint8Array.from([0, 1, 254, 255]), [4, 1]),
      npyArray(new Float32Array(0), [0, 3]),
      npyArray(Float64Array.from([42]), []),
    ];
    arrays.forEach((arr, k) => {
      const file = path.join(tmp, 'nested', `a${k}.npy`);
      writeNpy(file, arr);
      const back = readNpy(file);
      assert.equal(back.dtype, arr.dtype);
      assert.deepEqual(back.shape, arr.shape);
      assert.equal(back.data.constructor, arr.data.constructor);
      assert.deepEqual(values(back), values(arr));
      assert.equal(readNpy(file).data.byteLength, arr.data.byteLength);
    });
    assert.deepEqual(fs.readdirSync(path.join(tmp, 'nested')).sort(), arrays.map((_, k) => `a${k}.npy`).sort(), 'no temporary files left');
  });

  it('pads every header so the data starts on a 64-byte boundary', () => {
    for (const shape of [[1], [12345678], [3, 4, 5, 6], []]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const bytes = encodeNpy({ data: new Uint8Array(n), shape, dtype: 'uint8' });
      assert.equal((bytes.length - n) % 64, 0, `shape ${shape}`);
      assert.equal(bytes[bytes.length - n - 1], 0x0a, 'header ends with a newline');
    }
  });

  it('rejects inconsistent arrays', () => {
    throwsInput(() => encodeNpy({ data: new Float32Array(5), shape: [2, 3], dtype: 'float32' }), 'arr.data', '6 elements');
    throwsInput(() => encodeNpy({ data: new Float64Array(6), shape: [2, 3], dtype: 'float32' }), 'arr.data', 'Float32Array');
    throwsInput(() => encodeNpy({ data: new Float32Array(1), shape: [1], dtype: 'float16' as 'float32' }), 'arr.dtype', '"float16"');
    throwsInput(() => encodeNpy({ data: new Float32Array(1), shape: [-1], dtype: 'float32' }), 'arr.shape');
  });
});

describe('parseNpy errors', () => {
  const ok = (descr: string, fortran = 'False', shape = '(2,)'): string => `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;

  it('bad magic, and a hint for .npz archives', () => {
    throwsInput(() => parseNpy(Uint8Array.from(ascii('NUMPY\x01\x00\x00\x00\x00'))), 'magic of .npy data', '4e 55 4d 50', '\\x93NUMPY');
    throwsInput(() => parseNpy(Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0, 0, 0, 0])), '.npz');
    throwsInput(() => parseNpy(new Uint8Array(0)), 'empty');
  });

  it('unknown version', () => {
    const buf = build(1, ok('<f4'), new Array(8).fill(0));
    buf[6] = 4;
    throwsInput(() => parseNpy(buf), 'version', '"4.0"', '1.0, 2.0 or 3.0');
  });

  it('a header longer than the file', () => {
    const buf = build(1, ok('<f4'));
    throwsInput(() => parseNpy(buf.subarray(0, 40)), 'length of .npy data', 'truncated');
  });

  it('malformed headers', () => {
    throwsInput(() => parseNpy(build(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,}\n")), 'header of .npy data', 'Python dict literal');
    throwsInput(() => parseNpy(build(1, "{'descr': '<f4', 'shape': (2,), }\n")), 'header', 'descr, fortran_order and shape');
    throwsInput(() => parseNpy(build(1, "['<f4']\n")), 'header');
    throwsInput(() => parseNpy(build(1, ok('<f4', 'False', '(2, -1)'))), 'shape of .npy data', 'non-negative integers');
    throwsInput(() => parseNpy(build(1, ok('<f4', "'no'"))), 'fortran_order', 'True or False');
  });

  it('Fortran order', () => {
    throwsInput(() => parseNpy(build(1, ok('<f4', 'True', '(2, 2)'), new Array(16).fill(0))), 'fortran_order', 'C order', 'ascontiguousarray');
  });

  it('object, big-endian, unsupported and structured dtypes', () => {
    throwsInput(() => parseNpy(build(1, ok('|O'), new Array(16).fill(0))), 'dtype of .npy data', '"|O"', 'object arrays');
    throwsInput(() => parseNpy(build(1, ok('>f4'), new Array(8).fill(0))), '">f4"', 'big-endian', "astype('<f4')");
    throwsInput(() => parseNpy(build(1, ok('<f2'), new Array(4).fill(0))), '"<f2"', "'<f4', '<f8', '<i4', '<i8', '|u1'");
    throwsInput(() => parseNpy(build(1, ok('<U3'), new Array(24).fill(0))), '"<U3"');
    throwsInput(() => parseNpy(build(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n", [0, 0, 0, 0])), 'structured');
  });

  it('truncated and overlong data', () => {
    const full = build(1, ok('<f8', 'False', '(2, 3)'), new Array(48).fill(0));
    throwsInput(() => parseNpy(full.subarray(0, full.length - 1)), 'data length of .npy data', 'got 47,', 'expected 48 bytes', 'truncated');
    throwsInput(() => parseNpy(Uint8Array.from([...full, 0])), 'got 49,', 'trailing');
  });

  it('names the file in errors from readNpy, and reports missing files', () => {
    const file = path.join(tmp, 'cut.npy');
    fs.writeFileSync(file, build(1, ok('<f4'), [0, 0, 0]));
    throwsInput(() => readNpy(file), `data length of ${file}`, 'truncated');
    throwsInput(() => readNpy(path.join(tmp, 'none.npy'), '--labels'), '--labels', 'none.npy', 'ENOENT');
  });
});

describe('npyToFloat32 and npyToInt32Labels', () => {
  it('converts every dtype to float32', () => {
    assert.deepEqual(Array.from(npyToFloat32(npyArray(BigInt64Array.from([3n, -4n])))), [3, -4]);
    assert.deepEqual(Array.from(npyToFloat32(npyArray(Uint8Array.from([255])))), [255]);
    assert.deepEqual(Array.from(npyToFloat32(npyArray(Float64Array.from([0.5])))), [0.5]);
  });

  it('turns int64 labels (NumPy default) into int32', () => {
    const labels = npyToInt32Labels(npyArray(BigInt64Array.from([0n, 9n, 2n ** 31n - 1n]), [3, 1]));
    assert.ok(labels instanceof Int32Array);
    assert.deepEqual(Array.from(labels), [0, 9, 2 ** 31 - 1]);
    assert.deepEqual(Array.from(npyToInt32Labels(npyArray(Float32Array.from([1, 2])))), [1, 2]);
  });

  it('rejects out-of-range, fractional and matrix labels', () => {
    throwsInput(() => npyToInt32Labels(npyArray(BigInt64Array.from([1n, 2n ** 31n]))), 'labels[1]', '2147483648', 'int32 range');
    throwsInput(() => npyToInt32Labels(npyArray(Float64Array.from([0.5])), '--labels'), '--labels[0]', '0.5');
    throwsInput(() => npyToInt32Labels(npyArray(Int32Array.from([1, 2, 3, 4]), [2, 2])), 'shape of labels', '[2, 2]');
  });
});

// The first Python that has NumPy: the one on PATH, else Debian's (python3-numpy), which CI installs.
const python = ['python3', '/usr/bin/python3'].find((exe) => spawnSync(exe, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0);
const numpyMissing = python === undefined ? 'no python3 with numpy (apt-get install python3-numpy)' : false;

describe('agreement with NumPy', () => {
  it('np.save writes the bytes encodeNpy writes, and np.load reads what writeNpy wrote', { skip: numpyMissing }, () => {
    const cases: Array<{ arr: NpyArray; py: string }> = [
      { arr: npyArray(Float32Array.from([1.5, -2, 0.25, 8]), [2, 2]), py: "np.array([[1.5,-2],[0.25,8]],dtype='<f4')" },
      { arr: npyArray(Float64Array.from([Math.PI]), []), py: 'np.float64(np.pi)' },
      { arr: npyArray(Int32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3]), py: "np.arange(1,7,dtype='<i4').reshape(1,2,3)" },
      { arr: npyArray(BigInt64Array.from([-5n, 2n ** 40n])), py: "np.array([-5, 2**40],dtype='<i8')" },
      { arr: npyArray(new Uint8Array(12345), [12345]), py: "np.zeros(12345,dtype='|u1')" },
    ];
    const script = [
      'import numpy as np, sys',
      `d = sys.argv[1]`,
      ...cases.flatMap((c, k) => [`np.save(d + '/np${k}.npy', ${c.py})`, `assert np.array_equal(np.load(d + '/ts${k}.npy'), ${c.py})`]),
      'print("ok")',
    ].join('\n');
    cases.forEach((c, k) => writeNpy(path.join(tmp, `ts${k}.npy`), c.arr));
    const res = spawnSync(python as string, ['-c', script, tmp], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout.trim(), 'ok');
    cases.forEach((c, k) => {
      const theirs = fs.readFileSync(path.join(tmp, `np${k}.npy`));
      assert.deepEqual(Buffer.from(encodeNpy(c.arr)), theirs, `case ${k}: ${c.py}`);
    });
  });
});
