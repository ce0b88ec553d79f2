/** Turning an {@link ImageDataset} into TensorFlow.js tensors. */
import { tf } from '../engine/core.js';
import { subset, type ImageDataset } from './dataset.js';

/**
 * The images and labels of `ds` (all of them, or those at `indices`, in that
 * order) as tensors: `x` float32 `[n, h, w, c]` with values in [0, 1], `y`
 * int32 `[n]`. The caller owns both tensors and must dispose them.
 */
export function toTensors(ds: ImageDataset, indices?: ArrayLike<number>): { x: tf.Tensor4D; y: tf.Tensor1D } {
  const [h, w, c] = ds.shape;
  const { images, labels } = indices === undefined ? ds : subset(ds, indices);
  const x = tf.tensor4d(images, [labels.length, h, w, c], 'float32');
  const y = tf.tensor1d(labels, 'int32');
  return { x, y };
}
