/** Validation of embeddings and labels at the metric module's public boundary. */
import { tf } from '../engine/core.js';
import { EccvkitInputError, NOT_FINITE, check } from '../errors.js';

/** Labels as a tfjs tensor or any array-like of integers. */
export type LabelsInput = tf.Tensor | ArrayLike<number>;

/**
 * Checks a `[N, D]` float embedding tensor: rank 2, at least one row and column,
 * every value finite. Reads one boolean back from the backend.
 */
export function checkEmbeddings(x: unknown, argument = 'embeddings'): asserts x is tf.Tensor2D {
  checkEmbeddingShape(x, argument);
  checkFinite(x, argument);
}

/** {@link checkEmbeddings} without the finiteness test (for a consumer that makes it itself, as the fused losses' kernel does). */
export function checkEmbeddingShape(x: unknown, argument = 'embeddings'): asserts x is tf.Tensor2D {
  check(x instanceof tf.Tensor, argument, x, 'a 2-D tf.Tensor [N, D]');
  check(x.rank === 2 && (x.shape[0] as number) > 0 && (x.shape[1] as number) > 0, argument, x, 'a 2-D tensor [N, D] with N ≥ 1 and D ≥ 1');
  check(x.dtype === 'float32', argument, x, 'a float32 tensor');
}

function checkFinite(x: tf.Tensor2D, argument: string): void {
  const finite = tf.tidy(() => tf.all(tf.isFinite(x)).dataSync()[0]);
  if (!finite) throw new EccvkitInputError(argument, x, NOT_FINITE);
}

/**
 * Labels as an Int32Array of length `n`: integers (negative allowed) in the int32 range.
 * @throws EccvkitInputError when the length differs from `n` or a value is not a whole number.
 */
export function toLabelArray(labels: unknown, n: number, argument = 'labels', embeddingsArgument = 'embeddings'): Int32Array {
  let values: ArrayLike<number>;
  if (labels instanceof tf.Tensor) {
    check(labels.rank === 1 || (labels.rank === 2 && labels.shape[1] === 1), argument, labels, 'a vector [N] of integer labels');
    values = labels.dataSync() as ArrayLike<number>;
  } else {
    check(labels !== null && typeof labels === 'object' && typeof (labels as ArrayLike<number>).length === 'number', argument, labels, 'a tensor or array of integer labels');
    values = labels as ArrayLike<number>;
  }
  check(values.length === n, argument, labels, `${n} labels, one per row of ${embeddingsArgument} (got ${values.length})`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!(Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31)) throw new EccvkitInputError(`${argument}[${i}]`, v, 'a whole-number class label in the int32 range');
    out[i] = v;
  }
  return out;
}
