/**
 * IDX files, the format of MNIST and Fashion-MNIST (Y. LeCun's description at
 * http://yann.lecun.com/exdb/mnist/): two zero bytes, a type byte, the number of
 * dimensions, each dimension as a big-endian uint32, then the data in C order,
 * big-endian. Gzipped files (starting 1f 8b) are inflated transparently.
 */
import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { EccvkitInputError, check } from '../../errors.js';

/** Element types of IDX files, named after their type byte. */
export type IdxDtype = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/** An IDX array: elements in C order and the dimensions. */
export interface IdxArray {
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
  shape: number[];
  dtype: IdxDtype;
}

const TYPES: Record<number, { dtype: IdxDtype; size: number }> = {
  0x08: { dtype: 'uint8', size: 1 },
  0x09: { dtype: 'int8', size: 1 },
  0x0b: { dtype: 'int16', size: 2 },
  0x0c: { dtype: 'int32', size: 4 },
  0x0d: { dtype: 'float32', size: 4 },
  0x0e: { dtype: 'float64', size: 8 },
};

/** True when `buf` starts with the gzip magic bytes 1f 8b. */
export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/**
 * Parses an IDX file (gzipped or not).
 *
 * Type bytes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
 * 0x0E float64. The returned data is a fresh array in host byte order.
 *
 * @param name how errors refer to the input (a file path); default `"IDX data"`.
 * @throws EccvkitInputError on a corrupt gzip stream, a bad magic number, an
 *   unknown type byte, and data shorter or longer than the dimensions imply.
 */
export function parseIdx(buf: Uint8Array, name = 'IDX data'): IdxArray {
  check(buf instanceof Uint8Array, name, buf, 'the bytes of an IDX file (Uint8Array or Buffer)');
  if (isGzip(buf)) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      throw new EccvkitInputError(name, `a gzip stream that fails to inflate (${(err as Error).message})`, 'a complete gzip file (re-download it; it may be truncated)');
    }
  }
  const hex = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  check(buf.length >= 4 && buf[0] === 0 && buf[1] === 0, `magic of ${name}`, buf.length === 0 ? 'an empty input' : hex, 'an IDX magic number: 00 00, a type byte, the number of dimensions');
  const type = TYPES[buf[2] as number];
  check(type !== undefined, `type byte of ${name}`, `0x${(buf[2] as number).toString(16).padStart(2, '0')}`, 'one of 0x08 (uint8), 0x09 (int8), 0x0b (int16), 0x0c (int32), 0x0d (float32), 0x0e (float64)');
  const ndims = buf[3] as number;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const dataStart = 4 + 4 * ndims;
  check(buf.length >= dataStart, `length of ${name}`, buf.length, `at least ${dataStart} bytes for ${ndims} dimensions (the file is truncated)`);
  const shape: number[] = [];
  for (let d = 0; d < ndims; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const n = shape.reduce((a, b) => a * b, 1);
  const nbytes = n * type.size;
  const have = buf.length - dataStart;
  check(
    have === nbytes,
    `data length of ${name}`,
    have,
    `${nbytes} bytes for shape [${shape.join(', ')}] of ${type.dtype}${have < nbytes ? ' (the file is truncated)' : ' (trailing bytes after the array)'}`,
  );
  let data: IdxArray['data'];
  switch (type.dtype) {
    case 'uint8':
      data = new Uint8Array(buf.subarray(dataStart));
      break;
    case 'int8':
      data = new Int8Array(new Uint8Array(buf.subarray(dataStart)).buffer);
      break;
    case 'int16':
      data = Int16Array.from({ length: n }, (_, k) => view.getInt16(dataStart + 2 * k, false));
      break;
    case 'int32':
      data = Int32Array.from({ length: n }, (_, k) => view.getInt32(dataStart + 4 * k, false));
      break;
    case 'float32':
      data = Float32Array.from({ length: n }, (_, k) => view.getFloat32(dataStart + 4 * k, false));
      break;
    case 'float64':
      data = Float64Array.from({ length: n }, (_, k) => view.getFloat64(dataStart + 8 * k, false));
      break;
  }
  return { data, shape, dtype: type.dtype };
}

/**
 * Reads an IDX file, gzipped or not (see {@link parseIdx}).
 * @param argument how errors name the file's role; default `"file"`.
 * @throws EccvkitInputError when the file is missing or unreadable, or its content is invalid.
 */
export function readIdx(file: string, argument = 'file'): IdxArray {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new EccvkitInputError(argument, file, `a readable IDX file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return parseIdx(buf, file);
}
