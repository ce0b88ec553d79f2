/**
 * `eccvkit embed`: features of a trained eccvkit model (or any tfjs layers
 * model with a named layer) for a folder of images or a `.npy` stack, with the
 * model's stored preprocessing, batched, with progress; the output `.npy`
 * feeds `fewshot classify|evaluate` and `metric accuracy`.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { npyArray, writeNpy } from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check } from '../errors.js';
import { layerModel, loadModelFolder, unitPreprocessing, type ModelCard, type Preprocessing } from '../nn/node/model-folder.js';
import { badImageOption, imageShapeOptions, loadModelInputs, type BadImagePolicy, type ModelInputs } from './image-data.js';
import { backendOption, integerOption } from './options.js';
import { createProgress } from './progress.js';
import type { ProgressReporter } from '../experiments/index.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

/**
 * The preprocessing of a model: its card's, or for a plain tfjs model its
 * input shape (values in [0, 1]), with `--image-size`/`--channels` filling
 * what the input shape leaves open.
 */
export function modelPreprocessing(model: tf.LayersModel, card: ModelCard | null, override: { imageSize?: number; channels?: 1 | 3 }, argument = '--model'): Preprocessing {
  if (card) return card.preprocessing;
  const shape = model.inputs[0]?.shape ?? [];
  check(shape.length === 4, argument, `a model with input shape [${shape.join(', ')}]`, 'a model taking images [batch, h, w, channels]');
  const [, h, w, c] = shape as [null, number | null, number | null, number | null];
  const side = override.imageSize;
  const ch = (c ?? override.channels) as 1 | 3 | undefined;
  check(ch === 1 || ch === 3, argument, `a model with ${c} input channels`, '1 or 3 channels (or --channels for an open input)');
  check((h ?? side) !== undefined && (w ?? side) !== undefined, '--image-size', side, `a size for this model, whose input is [${shape.join(', ')}]`);
  return unitPreprocessing([(h ?? side) as number, (w ?? side) as number], ch);
}

/** Rows of `net`'s 2-D output for every image of `inputs`, in batches (inference mode), reporting progress. */
export function embedInputs(net: tf.LayersModel, inputs: ModelInputs, options: { batchSize?: number; normalize?: boolean; progress?: ProgressReporter; label?: string } = {}): { data: Float32Array; rows: number; cols: number } {
  const batchSize = options.batchSize ?? 128;
  const [h, w, c] = inputs.shape;
  const per = h * w * c;
  const cols = net.outputs[0]?.shape[1] as number;
  const out = new Float32Array(inputs.count * cols);
  options.progress?.start(options.label ?? 'embed', inputs.count);
  for (let s = 0; s < inputs.count; s += batchSize) {
    const n = Math.min(batchSize, inputs.count - s);
    const z = tf.tidy(() => {
      const y = net.predict(tf.tensor4d(inputs.images.subarray(s * per, (s + n) * per), [n, h, w, c])) as tf.Tensor2D;
      return options.normalize ? tf.div(y, tf.maximum(tf.norm(y, 'euclidean', 1, true), 1e-12)) : y;
    });
    out.set(z.dataSync(), s * cols);
    z.dispose();
    options.progress?.update(s + n);
  }
  options.progress?.stop();
  return { data: out, rows: inputs.count, cols };
}

/** Adds the `embed` command. */
export function registerEmbedCommand(cli: Command): void {
  cli
    .command('embed')
    .description(COMMAND_DESCRIPTIONS.embed)
    .requiredOption('--model <dir>', 'a model folder from fewshot pretrain or metric train (or any folder with a tfjs layers model.json)')
    .requiredOption('--images <spec>', 'a folder of class sub-folders (labels from the folder names), a folder of images, one image, or a .npy [N, H, W(, C)]')
    .requiredOption('--out <file>', 'features, .npy [N, D] float32')
    .option('--labels-out <file>', 'labels, .npy [N] int32 (class folders, in sorted folder-name order)')
    .option('--layer <name>', "features (the embedding), logits (class scores) or any layer name of the model", 'features')
    .option('--normalize', 'L2-normalise each feature row', false)
    .option('--batch-size <n>', 'images per forward pass', '128')
    .option('--image-size <n>', 'input side for a plain tfjs model whose input size is open')
    .addOption(new Option('--channels <n>', 'input channels for a plain tfjs model whose channels are open').choices(['1', '3']))
    .addOption(badImageOption())
    .addOption(backendOption())
    .option('--json', 'print a JSON summary', false)
    .action(async (opts: { model: string; images: string; out: string; labelsOut?: string; layer: string; normalize: boolean; batchSize: string; imageSize?: string; channels?: string; onBadImage: BadImagePolicy; backend?: BackendName; json: boolean }) => {
      check(opts.out.toLowerCase().endsWith('.npy'), '--out', opts.out, 'a .npy file name');
      if (opts.labelsOut !== undefined) check(opts.labelsOut.toLowerCase().endsWith('.npy'), '--labels-out', opts.labelsOut, 'a .npy file name');
      const batchSize = integerOption(opts.batchSize, '--batch-size', 1);
      const shape = imageShapeOptions(opts);
      await initEngine(opts.backend ? { backend: opts.backend } : {});
      const progress = createProgress();
      const { model, card } = await loadModelFolder(opts.model, '--model');
      try {
        const net = layerModel(model, opts.layer, card, '--layer');
        const pre = modelPreprocessing(model, card, shape);
        const inputs = loadModelInputs(opts.images, pre, opts.onBadImage, '--images', (m) => progress.log(m));
        if (opts.labelsOut !== undefined) check(inputs.labels !== undefined, '--labels-out', opts.labelsOut, `--images as a folder of class sub-folders (${opts.images} has no class folders, so there are no labels)`);
        const f = embedInputs(net, inputs, { batchSize, normalize: opts.normalize, progress, label: `embed ${inputs.count} images (${pre.size.join('×')}×${pre.channels})` });
        writeNpy(opts.out, npyArray(f.data, [f.rows, f.cols]));
        if (opts.labelsOut !== undefined) writeNpy(opts.labelsOut, npyArray(inputs.labels as Int32Array, [inputs.count]));
        const summary = { features: path.resolve(opts.out), rows: f.rows, cols: f.cols, layer: opts.layer, preprocessing: pre, ...(opts.labelsOut ? { labels: path.resolve(opts.labelsOut), classNames: inputs.classNames } : {}) };
        if (opts.json) console.log(JSON.stringify(summary));
        else console.log(`${f.rows} × ${f.cols} features (${opts.layer}) → ${opts.out}${opts.labelsOut ? `; labels → ${opts.labelsOut}` : ''}`);
      } finally {
        model.dispose();
      }
    });
}
