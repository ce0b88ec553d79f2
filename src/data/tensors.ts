/** Turning an {@link ImageDataset} into TensorFlow.js tensors. */
import { tf } from '../engine/index.js';
import { checkIndices, type ImageDataset } from './dataset.js';

/**
 * The images and labels of `ds` (all of them, or those at `indices`, in that
 * order) as tensors: `x` float32 `[n, h, w, c]` with values in [0, 1], `y`
 * int32 `[n]`. The caller owns both tensors and must dispose them.
 */
export function toTensors(ds: ImageDataset, indices?: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const [h, w, c] = ds.shape;
  const per = h * w * c;
  let images = ds.images;
  let labels = ds.labels;
  if (indices !== undefined) {
    const idx = checkIndices(indices, ds.labels.length);
    images = new Float32Array(idx.length * per);
    labels = new Int32Array(idx.length);
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k] as number;
      images.set(ds.images.subarray(i * per, (i + 1) * per), k * per);
      labels[k] = ds.labels[i] as number;
    }
  }
  const x = tf.tensor4d(images, [labels.length, h, w, c], 'float32');
  const y = tf.tensor1d(labels, 'int32');
  return { x, y };
}
