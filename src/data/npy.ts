/**
 * NumPy `.npy` files in and out, so arrays interoperate with NumPy.
 *
 * Follows the format spec of `numpy.lib.format` (versions 1.0, 2.0 and 3.0):
 * the magic string `\x93NUMPY`, a major and a minor version byte, a
 * little-endian header length (uint16 in 1.0, uint32 in 2.0 and 3.0), then an
 * ASCII (UTF-8 in 3.0) Python dict literal with `descr`, `fortran_order` and
 * `shape`, padded with spaces and a final `\n`, then the raw C-order data.
 */
import { EccvkitInputError, check } from '../errors.js';

/** Element types eccvkit reads and writes in `.npy` files. */
export type NpyDtype = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8';

/** Typed array holding the elements of each {@link NpyDtype}. */
export interface NpyDataTypes {
  float32: Float32Array;
  float64: Float64Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
}

/** A dense C-order array as stored in a `.npy` file. `data.length` equals the product of `shape` (1 for a scalar, `shape = []`). */
export interface NpyArray {
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  shape: number[];
  dtype: NpyDtype;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64; // numpy.lib.format.ARRAY_ALIGN
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS

interface DtypeInfo {
  dtype: NpyDtype;
  size: number;
}

const DESCRS: Record<string, DtypeInfo> = {
  '<f4': { dtype: 'float32', size: 4 },
  '<f8': { dtype: 'float64', size: 8 },
  '<i4': { dtype: 'int32', size: 4 },
  '<i8': { dtype: 'int64', size: 8 },
  '|u1': { dtype: 'uint8', size: 1 },
  '<u1': { dtype: 'uint8', size: 1 },
  '>u1': { dtype: 'uint8', size: 1 },
  '|b1': { dtype: 'uint8', size: 1 },
};
const DESCR_OF: Record<NpyDtype, string> = { float32: '<f4', float64: '<f8', int32: '<i4', int64: '<i8', uint8: '|u1' };
const SUPPORTED = "'<f4', '<f8', '<i4', '<i8', '|u1' or '|b1' (read as uint8)";
const LITTLE_ENDIAN_HOST = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

// ---------------------------------------------------------------------------
// A parser for the Python literal subset the header uses.

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

class HeaderSyntaxError extends Error {}

function parsePyLiteral(text: string): PyValue {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] as string)) i++;
  };
  const fail = (what: string): never => {
    throw new HeaderSyntaxError(`${what} at character ${i}`);
  };
  const value = (): PyValue => {
    ws();
    const ch = text[i];
    if (ch === undefined) return fail('unexpected end');
    if (ch === '{') return dict();
    if (ch === '(') return seq(')');
    if (ch === '[') return seq(']');
    if (ch === "'" || ch === '"') return str();
    const word = /^(True|False|None|-?\d+L?)/.exec(text.slice(i));
    if (!word) return fail(`unexpected ${JSON.stringify(ch)}`);
    i += word[0].length;
    if (word[0] === 'True') return true;
    if (word[0] === 'False') return false;
    if (word[0] === 'None') return null;
    return Number(word[0].replace(/L$/, ''));
  };
  const str = (): string => {
    const quote = text[i++];
    let out = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') i++;
      out += text[i++] ?? '';
    }
    if (text[i] !== quote) fail('unterminated string');
    i++;
    return out;
  };
  const seq = (close: string): PyValue[] => {
    i++;
    const out: PyValue[] = [];
    for (;;) {
      ws();
      if (text[i] === close) {
        i++;
        return out;
      }
      out.push(value());
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== close) fail(`expected ',' or '${close}'`);
    }
  };
  const dict = (): { [key: string]: PyValue } => {
    i++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      ws();
      if (text[i] === '}') {
        i++;
        return out;
      }
      const key = value();
      if (typeof key !== 'string') fail('dict keys must be strings');
      ws();
      if (text[i] !== ':') fail("expected ':'");
      i++;
      out[key as string] = value();
      ws();
      if (text[i] === ',') i++;
      else if (text[i] !== '}') fail("expected ',' or '}'");
    }
  };
  const v = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return v;
}

// ---------------------------------------------------------------------------

function shapeText(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

function hexPrefix(buf: Uint8Array, n: number): string {
  return Array.from(buf.subarray(0, n), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Number of elements of `shape` (1 for a scalar). */
function sizeOf(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function typedFromBytes(dtype: NpyDtype, bytes: Uint8Array, n: number): NpyArray['data'] {
  // `bytes` is a fresh copy starting at byteOffset 0, so every view is aligned.
  if (LITTLE_ENDIAN_HOST || dtype === 'uint8') {
    switch (dtype) {
      case 'float32':
        return new Float32Array(bytes.buffer, bytes.byteOffset, n);
      case 'float64':
        return new Float64Array(bytes.buffer, bytes.byteOffset, n);
      case 'int32':
        return new Int32Array(bytes.buffer, bytes.byteOffset, n);
      case 'int64':
        return new BigInt64Array(bytes.buffer, bytes.byteOffset, n);
      case 'uint8':
        return bytes;
    }
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32':
      return Float32Array.from({ length: n }, (_, k) => view.getFloat32(4 * k, true));
    case 'float64':
      return Float64Array.from({ length: n }, (_, k) => view.getFloat64(8 * k, true));
    case 'int32':
      return Int32Array.from({ length: n }, (_, k) => view.getInt32(4 * k, true));
    default:
      return BigInt64Array.from({ length: n }, (_, k) => view.getBigInt64(8 * k, true));
  }
}

function bytesOfTyped(arr: NpyArray): Uint8Array {
  const { data } = arr;
  if (LITTLE_ENDIAN_HOST || data instanceof Uint8Array) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  for (let k = 0; k < data.length; k++) {
    if (data instanceof Float32Array) view.setFloat32(4 * k, data[k] as number, true);
    else if (data instanceof Float64Array) view.setFloat64(8 * k, data[k] as number, true);
    else if (data instanceof Int32Array) view.setInt32(4 * k, data[k] as number, true);
    else view.setBigInt64(8 * k, data[k] as bigint, true);
  }
  return out;
}

/**
 * Parses the bytes of a `.npy` file (format versions 1.0, 2.0 and 3.0).
 *
 * Reads little-endian `<f4`, `<f8`, `<i4`, `<i8` and `|u1` arrays in C order;
 * `|b1` (bool) is read as uint8 0/1. Fortran order is accepted only when it
 * coincides with C order (at most one axis longer than 1). The returned data is
 * a fresh copy, never a view of `buf`.
 *
 * @param buf the whole file.
 * @param name how errors refer to the input (a file path, an option name); default `".npy data"`.
 * @throws EccvkitInputError on a bad magic string, an unknown version, a malformed
 *   header, Fortran order, object/structured/big-endian/unsupported dtypes, and data
 *   shorter or longer than the shape implies.
 */
export function parseNpy(buf: Uint8Array, name = '.npy data'): NpyArray {
  check(buf instanceof Uint8Array, name, buf, 'the bytes of a .npy file (Uint8Array or Buffer)');
  if (buf.length < 10 || MAGIC.some((b, k) => buf[k] !== b)) {
    const zip = buf[0] === 0x50 && buf[1] === 0x4b;
    throw new EccvkitInputError(
      `magic of ${name}`,
      buf.length === 0 ? 'an empty input' : hexPrefix(buf, 8),
      `the .npy magic string 93 4e 55 4d 50 59 ("\\x93NUMPY")${zip ? '; this looks like a zip (.npz) archive: extract its .npy members first' : ''}`,
    );
  }
  const major = buf[6] as number;
  const minor = buf[7] as number;
  check((major === 1 || major === 2 || major === 3) && minor === 0, `version of ${name}`, `${major}.${minor}`, 'format version 1.0, 2.0 or 3.0');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const lenBytes = major === 1 ? 2 : 4;
  check(buf.length >= 8 + lenBytes, `length of ${name}`, buf.length, `at least ${8 + lenBytes} bytes (the file is truncated)`);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lenBytes + headerLen;
  check(buf.length >= dataStart, `length of ${name}`, buf.length, `at least ${dataStart} bytes as the header length field says (the file is truncated)`);
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(buf.subarray(8 + lenBytes, dataStart));

  const expectedHeader = "a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  let dict: PyValue;
  try {
    dict = parsePyLiteral(header);
  } catch (err) {
    if (err instanceof HeaderSyntaxError) throw new EccvkitInputError(`header of ${name}`, header.trim(), `${expectedHeader} (${err.message})`);
    throw err;
  }
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) throw new EccvkitInputError(`header of ${name}`, header.trim(), expectedHeader);
  const keys = Object.keys(dict).sort();
  check(keys.join(',') === 'descr,fortran_order,shape', `header of ${name}`, header.trim(), `${expectedHeader}, with exactly the keys descr, fortran_order and shape`);
  const { descr, fortran_order: fortran, shape } = dict as { descr: PyValue; fortran_order: PyValue; shape: PyValue };

  check(
    Array.isArray(shape) && shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0),
    `shape of ${name}`,
    shape,
    'a tuple of non-negative integers',
  );
  const dims = shape as number[];
  check(typeof fortran === 'boolean', `fortran_order of ${name}`, fortran, 'True or False');
  if (fortran && dims.filter((d) => d > 1).length > 1) {
    throw new EccvkitInputError(`fortran_order of ${name}`, true, 'C order (fortran_order: False); save with np.save(f, np.ascontiguousarray(a))');
  }
  if (typeof descr !== 'string') {
    throw new EccvkitInputError(`dtype of ${name}`, descr, `a plain dtype ${SUPPORTED}; structured arrays are not supported`);
  }
  const info = DESCRS[descr];
  if (!info) {
    let why = '';
    if (descr.endsWith('O')) why = '; object arrays (pickled Python objects) cannot be read: convert with a.astype(np.float32)';
    else if (descr.startsWith('>')) why = `; this is big-endian: save a.astype('<${descr.slice(1)}') instead`;
    throw new EccvkitInputError(`dtype of ${name}`, descr, `one of ${SUPPORTED}${why}`);
  }

  const n = sizeOf(dims);
  const nbytes = n * info.size;
  const have = buf.length - dataStart;
  check(
    have === nbytes,
    `data length of ${name}`,
    have,
    `${nbytes} bytes for shape ${shapeText(dims)} of ${descr}${have < nbytes ? ' (the file is truncated)' : ' (trailing bytes after the array)'}`,
  );
  // A copy (not Buffer#slice, which is a view): aligned, and independent of `buf`.
  const bytes = new Uint8Array(buf.subarray(dataStart, dataStart + nbytes));
  return { data: typedFromBytes(info.dtype, bytes, n), shape: [...dims], dtype: info.dtype };
}

const TYPED_OF: Record<NpyDtype, new (n: number) => NpyArray['data']> = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
};

/**
 * Encodes an array as `.npy` bytes, byte for byte as NumPy ≥ 1.23's `np.save`
 * writes them: format 1.0 (2.0 only for headers over 65535 bytes), the header
 * padded so the data starts at a multiple of 64 bytes, C order, little-endian.
 *
 * @throws EccvkitInputError when `dtype` is unknown, `data` is not the typed array
 *   of `dtype`, or `data.length` differs from the product of `shape`.
 */
export function encodeNpy(arr: NpyArray): Uint8Array {
  check(arr !== null && typeof arr === 'object', 'arr', arr, 'an object { data, shape, dtype }');
  const { data, shape, dtype } = arr;
  check(Object.hasOwn(DESCR_OF, dtype), 'arr.dtype', dtype, 'one of float32, float64, int32, int64, uint8');
  check(data instanceof TYPED_OF[dtype], 'arr.data', data, `a ${TYPED_OF[dtype].name} for dtype ${dtype}`);
  check(
    Array.isArray(shape) && shape.every((d) => Number.isSafeInteger(d) && d >= 0),
    'arr.shape',
    shape,
    'an array of non-negative integers',
  );
  check(data.length === sizeOf(shape), 'arr.data', data, `${sizeOf(shape)} elements for shape [${shape.join(', ')}]`);

  let dictText = `{'descr': '${DESCR_OF[dtype]}', 'fortran_order': False, 'shape': ${shapeText(shape)}, }`;
  // NumPy leaves room to grow the first axis in place.
  if (shape.length > 0) dictText += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  const hlen = dictText.length + 1;
  let lenBytes = 2;
  let pad = ALIGN - ((8 + lenBytes + hlen) % ALIGN);
  if (hlen + pad > 0xffff) {
    lenBytes = 4;
    pad = ALIGN - ((8 + lenBytes + hlen) % ALIGN);
  }
  const headerText = dictText + ' '.repeat(pad) + '\n';
  const payload = bytesOfTyped(arr);
  const out = new Uint8Array(8 + lenBytes + headerText.length + payload.length);
  out.set(MAGIC, 0);
  out[6] = lenBytes === 2 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (lenBytes === 2) view.setUint16(8, headerText.length, true);
  else view.setUint32(8, headerText.length, true);
  for (let k = 0; k < headerText.length; k++) out[8 + lenBytes + k] = headerText.charCodeAt(k);
  out.set(payload, 8 + lenBytes + headerText.length);
  return out;
}

/**
 * Builds an {@link NpyArray} from a typed array, inferring the dtype from its
 * class. `shape` defaults to `[data.length]`.
 */
export function npyArray(data: NpyArray['data'], shape: number[] = [data.length]): NpyArray {
  const dtype = (Object.keys(TYPED_OF) as NpyDtype[]).find((d) => data instanceof TYPED_OF[d]);
  check(dtype !== undefined, 'data', data, 'a Float32Array, Float64Array, Int32Array, BigInt64Array or Uint8Array');
  check(Array.isArray(shape) && data.length === sizeOf(shape), 'shape', shape, `dimensions whose product is ${data.length}`);
  return { data, shape: [...shape], dtype };
}

/**
 * The elements of any {@link NpyArray} as a fresh Float32Array (float64 and
 * int64 values are rounded to the nearest float32).
 */
export function npyToFloat32(arr: NpyArray): Float32Array {
  const { data } = arr;
  if (data instanceof BigInt64Array) return Float32Array.from(data, (v) => Number(v));
  return Float32Array.from(data);
}

/**
 * Class labels from an {@link NpyArray} as an Int32Array: NumPy writes labels as
 * int64 by default, so int64, int32 and uint8 are accepted, and float arrays
 * whose values are all whole numbers. The shape must be `[N]` or `[N, 1]`.
 *
 * @param argument how errors name the input; default `"labels"`.
 * @throws EccvkitInputError on another shape, fractional values, or values outside [-2^31, 2^31).
 */
export function npyToInt32Labels(arr: NpyArray, argument = 'labels'): Int32Array {
  const { data, shape } = arr;
  check(shape.length === 1 || (shape.length === 2 && shape[1] === 1), `shape of ${argument}`, shape, 'a vector [N] (or a column [N, 1])');
  const out = new Int32Array(data.length);
  for (let k = 0; k < data.length; k++) {
    const v = data[k] as number | bigint;
    const x = typeof v === 'bigint' ? v : Number(v);
    const ok = typeof x === 'bigint' ? x >= -(2n ** 31n) && x < 2n ** 31n : Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31;
    if (!ok) throw new EccvkitInputError(`${argument}[${k}]`, v, 'a whole number in the int32 range [-2147483648, 2147483647]');
    out[k] = Number(x);
  }
  return out;
}
