/**
 * The one TensorFlow.js instance eccvkit and its users share.
 *
 * We import the `@tensorflow/tfjs` union rather than `@tensorflow/tfjs-core`
 * alone: core's Node bundle registers neither the gradient functions nor the
 * chained tensor methods (`x.square()`), and both are needed for training.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type TensorInfo = tf.TensorInfo;
