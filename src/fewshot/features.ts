/**
 * Feature matrices for the episode classifiers: row-major Float64 arrays, so a
 * user's embeddings from any model (a tensor, nested arrays, a typed array)
 * can be classified without tfjs in the loop.
 */
import { tf } from '../engine/core.js';
import { check } from '../errors.js';

/** A row-major matrix of `rows` feature vectors of width `cols`. */
export interface FeatureMatrix {
  data: Float64Array;
  rows: number;
  cols: number;
}

/** What the classifiers accept as features: a 2-D tensor, an array of rows, or a {@link FeatureMatrix} (Float32 or Float64 data). */
export type FeaturesInput = tf.Tensor2D | number[][] | { data: ArrayLike<number>; rows: number; cols: number };

/** Converts `input` to a {@link FeatureMatrix} (a copy), checking shape and finiteness; `argument` names it in errors. */
export function toFeatureMatrix(input: FeaturesInput, argument = 'features'): FeatureMatrix {
  let data: Float64Array;
  let rows: number;
  let cols: number;
  if (input instanceof tf.Tensor) {
    check(input.rank === 2, argument, input, 'a 2-D tensor [rows, features]');
    [rows, cols] = input.shape as [number, number];
    data = Float64Array.from(input.dataSync());
  } else if (Array.isArray(input)) {
    rows = input.length;
    check(rows > 0 && Array.isArray(input[0]), argument, input, 'a non-empty array of feature rows');
    cols = (input[0] as number[]).length;
    data = new Float64Array(rows * cols);
    input.forEach((row, i) => {
      check(Array.isArray(row) && row.length === cols, `${argument}[${i}]`, row, `an array of ${cols} numbers, like row 0`);
      for (let j = 0; j < cols; j++) data[i * cols + j] = row[j] as number;
    });
  } else {
    check(input !== null && typeof input === 'object' && 'data' in input && Number.isInteger(input.rows) && Number.isInteger(input.cols), argument, input, 'a tensor, an array of rows or { data, rows, cols }');
    ({ rows, cols } = input);
    check(input.data.length === rows * cols, argument, `data of length ${input.data.length}`, `rows × cols = ${rows * cols} values`);
    data = ArrayBuffer.isView(input.data) ? new Float64Array(input.data as unknown as ArrayLike<number>) : Float64Array.from(input.data);
  }
  check(rows > 0 && cols > 0, argument, `shape [${rows}, ${cols}]`, 'at least one row and one column');
  // The message is built only for a bad value: building it per element was most of an episode's time.
  for (let k = 0; k < data.length; k++) {
    if (!Number.isFinite(data[k])) check(false, argument, `${data[k]} at row ${Math.floor(k / cols)}, column ${k % cols}`, 'finite numbers');
  }
  return { data, rows, cols };
}

/** Returns a copy of `m` with every row divided by its Euclidean norm (rows of norm 0 stay 0), as RFS does before fitting (`x / ‖x‖₂`). */
export function l2NormalizeRows(m: FeatureMatrix): FeatureMatrix {
  const out = new Float64Array(m.data.length);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    for (let j = 0; j < m.cols; j++) s += (m.data[i * m.cols + j] as number) ** 2;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < m.cols; j++) out[i * m.cols + j] = (m.data[i * m.cols + j] as number) * inv;
  }
  return { data: out, rows: m.rows, cols: m.cols };
}

/** Rows `indices` of `m`, in that order. */
export function selectRows(m: FeatureMatrix, indices: ArrayLike<number>): FeatureMatrix {
  const out = new Float64Array(indices.length * m.cols);
  for (let i = 0; i < indices.length; i++) out.set(m.data.subarray((indices[i] as number) * m.cols, ((indices[i] as number) + 1) * m.cols), i * m.cols);
  return { data: out, rows: indices.length, cols: m.cols };
}

/**
 * Arg-max class and softmax probabilities of each of `rows` queries from its
 * `classes` scores `score(i, k)` (logits, or −squared distances for prototypes).
 */
export function softmaxPredictions(rows: number, classes: number, score: (i: number, k: number) => number): { predictions: Int32Array; probabilities: Float64Array[] } {
  const predictions = new Int32Array(rows);
  const probabilities: Float64Array[] = [];
  for (let i = 0; i < rows; i++) {
    const z = new Float64Array(classes);
    let max = -Infinity;
    for (let k = 0; k < classes; k++) {
      z[k] = score(i, k);
      if ((z[k] as number) > max) {
        max = z[k] as number;
        predictions[i] = k;
      }
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += (z[k] = Math.exp((z[k] as number) - max));
    for (let k = 0; k < classes; k++) z[k] = (z[k] as number) / sum;
    probabilities.push(z);
  }
  return { predictions, probabilities };
}
