/**
 * `eccvkit fewshot classify …` and `eccvkit fewshot evaluate …`: the RFS episode
 * classifiers and episode evaluation on features stored as `.npy`, from any
 * model. Thin wrappers over `classifyEpisode()` and `evaluateEpisodes()`.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { npyToFloat32, npyToInt32Labels, readNpy } from '../data/index.js';
import { initEngine, type BackendName } from '../engine/index.js';
import { check } from '../errors.js';
import { layerModel, loadModelFolder } from '../nn/node/model-folder.js';
import { embedInputs, modelPreprocessing } from './embed.js';
import { registerPretrainCommand } from './fewshot-train.js';
import { badImageOption, checkClassCounts, loadModelInputs, type BadImagePolicy } from './image-data.js';
import { backendOption } from './options.js';
import { CLASSIFIER_NAMES, checkSupportLabels, classifyEpisode, evaluateEpisodes, type ClassifierName, type FeatureMatrix } from '../fewshot/index.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

function readFeatures(file: string, argument: string): FeatureMatrix {
  const arr = readNpy(file, argument);
  check(arr.shape.length === 2 && (arr.shape[0] as number) > 0 && (arr.shape[1] as number) > 0, argument, `${file} with shape [${arr.shape.join(', ')}]`, 'a 2-D array [N, D] with N, D ≥ 1');
  return { data: Float64Array.from(npyToFloat32(arr)), rows: arr.shape[0] as number, cols: arr.shape[1] as number };
}

function readLabels(file: string, argument: string, rows: number, of: string): Int32Array {
  const labels = npyToInt32Labels(readNpy(file, argument), argument);
  check(labels.length === rows, argument, `${file} with ${labels.length} labels`, `${rows} labels, one per row of ${of}`);
  return labels;
}

function positiveInt(text: string, argument: string, min = 1): number {
  const v = Number(text);
  check(Number.isInteger(v) && v >= min, argument, text, `an integer ≥ ${min}`);
  return v;
}

const round = (v: number) => Number(v.toPrecision(8));

/** `fewshot classify --model`: embed the support folder and the queries with the model, fit the episode, print each query's class. */
async function classifyImages(opts: { support: string; query: string; model: string; layer: string; classifier: ClassifierName; normalize: boolean; onBadImage: BadImagePolicy; backend?: BackendName; json: boolean }, C: number): Promise<void> {
  await initEngine(opts.backend ? { backend: opts.backend } : {});
  const { model, card } = await loadModelFolder(opts.model, '--model');
  try {
    const net = layerModel(model, opts.layer, card, '--layer');
    const pre = modelPreprocessing(model, card, {});
    const log = (m: string) => console.error(m);
    const support = loadModelInputs(opts.support, pre, opts.onBadImage, '--support', log);
    check(support.labels !== undefined && support.classNames !== undefined, '--support', opts.support, 'a folder with one sub-folder of images per class (the support set)');
    checkClassCounts({ name: opts.support, images: support.images, labels: support.labels, shape: support.shape, numClasses: (support.classNames as string[]).length, classNames: support.classNames as string[] }, 1, 'the support set', '--support');
    const query = loadModelInputs(opts.query, pre, opts.onBadImage, '--query', log);
    const sf = embedInputs(net, support);
    const qf = embedInputs(net, query);
    const result = classifyEpisode(sf, support.labels, qf, { classifier: opts.classifier, normalize: opts.normalize, C });
    const names = support.classNames as string[];
    const files = query.files ?? Array.from({ length: query.count }, (_, i) => `#${i}`);
    const rows = files.map((f, i) => ({
      query: f,
      class: names[result.predictions[i] as number] as string,
      ...(result.probabilities ? { probabilities: Object.fromEntries(names.map((n, k) => [n, round((result.probabilities as Float64Array[])[i]?.[k] as number)])) } : {}),
    }));
    if (opts.json) {
      console.log(JSON.stringify({ classes: names, queries: rows }));
      return;
    }
    const width = Math.max(5, ...rows.map((r) => path.basename(r.query).length));
    const cw = Math.max(5, ...names.map((n) => n.length));
    const header = ['query'.padEnd(width), 'class'.padEnd(cw), ...(result.probabilities ? names.map((n) => n.padStart(5)) : [])];
    console.log(header.join('  '));
    for (const r of rows) {
      const probs = r.probabilities ? names.map((n) => ((r.probabilities as Record<string, number>)[n] as number).toFixed(3).padStart(Math.max(5, n.length))) : [];
      console.log([path.basename(r.query).padEnd(width), r.class.padEnd(cw), ...probs].join('  '));
    }
  } finally {
    model.dispose();
  }
}

/** Adds the `fewshot` command group. */
export function registerFewshotCommands(cli: Command): void {
  const group = cli.command('fewshot').description(COMMAND_DESCRIPTIONS.fewshot);
  registerPretrainCommand(group);

  group
    .command('classify')
    .description(
      "one episode: classify queries from a labelled support set; default: RFS's logistic regression (C = 1) on L2-normalised features. With --model, --support is a folder of class sub-folders and --query a folder of images or one image, embedded by the model; without it, stored features (.npy)",
    )
    .requiredOption('--support <path>', 'support features, .npy [S, D]; with --model, a folder with one sub-folder of images per class')
    .option('--support-labels <file>', 'support labels, .npy [S] integers covering 0…N−1 (stored features only)')
    .requiredOption('--query <path>', 'query features, .npy [Q, D]; with --model, a folder of images or one image')
    .option('--model <dir>', 'a model folder (fewshot pretrain, metric train) that embeds support and query images')
    .option('--layer <name>', 'with --model: the layer whose output is the feature', 'features')
    .addOption(new Option('--classifier <name>', 'lr: logistic regression; nn: nearest neighbour; cosine: cosine nearest neighbour; proto: nearest class mean').choices([...CLASSIFIER_NAMES]).default('lr'))
    .option('--no-normalize', 'skip L2 normalisation of the features')
    .option('--C <value>', 'inverse L2 penalty of the logistic regression', '1')
    .addOption(badImageOption())
    .addOption(backendOption())
    .option('--json', 'print JSON', false)
    .action(async (opts: { support: string; supportLabels?: string; query: string; model?: string; layer: string; classifier: ClassifierName; normalize: boolean; C: string; onBadImage: BadImagePolicy; backend?: BackendName; json: boolean }) => {
      const C = Number(opts.C);
      check(Number.isFinite(C) && C > 0, '--C', opts.C, 'a positive number');
      if (opts.model !== undefined) {
        check(opts.supportLabels === undefined, '--support-labels', opts.supportLabels, 'nothing with --model (the support folder names the classes)');
        await classifyImages(opts as typeof opts & { model: string }, C);
        return;
      }
      check(opts.supportLabels !== undefined, '--support-labels', opts.supportLabels, 'a .npy of support labels (or --model with image folders)');
      const support = readFeatures(opts.support, '--support');
      const labels = readLabels(opts.supportLabels, '--support-labels', support.rows, '--support');
      const query = readFeatures(opts.query, '--query');
      check(query.cols === support.cols, '--query', `${opts.query} with rows of width ${query.cols}`, `rows of width ${support.cols}, the support's`);
      checkSupportLabels(labels, support.rows, '--support-labels');
      const result = classifyEpisode(support, labels, query, { classifier: opts.classifier, normalize: opts.normalize, C });
      const out: { predictions: number[]; probabilities?: number[][] } = { predictions: Array.from(result.predictions) };
      if (result.probabilities) out.probabilities = result.probabilities.map((p) => Array.from(p, round));
      if (opts.json) console.log(JSON.stringify(out));
      else {
        console.log(`predictions: ${out.predictions.join(' ')}`);
        if (result.iterations !== undefined) console.log(`L-BFGS: ${result.iterations} iterations, max |gradient| ${result.gradientNorm?.toExponential(2)}`);
      }
    });

  group
    .command('evaluate')
    .description('N-way K-shot episodes over the classes of stored features: mean query accuracy with its 95% confidence interval (Student t), as RFS reports')
    .requiredOption('--features <file>', 'features, .npy [N, D]')
    .requiredOption('--labels <file>', 'class labels, .npy [N] integers')
    .option('--ways <n>', 'classes per episode', '5')
    .option('--shots <list>', 'support images per class, comma-separated', '1,5')
    .option('--queries <n>', 'query images per class', '15')
    .option('--episodes <n>', 'episodes per setting', '600')
    .option('--classifiers <list>', `comma-separated, of ${CLASSIFIER_NAMES.join(', ')}`, 'lr')
    .option('--no-normalize', 'skip L2 normalisation of the features')
    .option('--seed <n>', 'episode sampling seed', '0')
    .option('--json', 'print JSON', false)
    .action((opts: { features: string; labels: string; ways: string; shots: string; queries: string; episodes: string; classifiers: string; normalize: boolean; seed: string; json: boolean }) => {
      const ways = positiveInt(opts.ways, '--ways', 2);
      const queries = positiveInt(opts.queries, '--queries');
      const episodes = positiveInt(opts.episodes, '--episodes', 2);
      const seed = Number(opts.seed);
      check(Number.isInteger(seed) && seed >= 0, '--seed', opts.seed, 'a non-negative integer');
      const shots = opts.shots.split(',').map((s) => positiveInt(s.trim(), '--shots'));
      const classifiers = opts.classifiers.split(',').map((s) => s.trim());
      for (const c of classifiers) if (!((CLASSIFIER_NAMES as readonly string[]).includes(c))) check(false, '--classifiers', opts.classifiers, `a comma-separated list of ${CLASSIFIER_NAMES.join(', ')}`);
      const features = readFeatures(opts.features, '--features');
      const labels = readLabels(opts.labels, '--labels', features.rows, '--features');
      const methods = classifiers.map((c) => ({ name: c, classifier: c as ClassifierName, normalize: opts.normalize }));
      const results: Array<{ shots: number; classifier: string; normalize: boolean; mean: number; ci95: number }> = [];
      for (const k of shots) {
        const r = evaluateEpisodes(features, labels, { ways, shots: k, queries, episodes, seed, methods });
        for (const m of methods) results.push({ shots: k, classifier: m.name, normalize: opts.normalize, mean: round(r[m.name]?.mean as number), ci95: round(r[m.name]?.ci95 as number) });
      }
      if (opts.json) console.log(JSON.stringify({ ways, queries, episodes, seed, results }));
      else for (const r of results) console.log(`${ways}-way ${r.shots}-shot ${r.classifier}${r.normalize ? '' : ' (no L2 norm)'}: ${(100 * r.mean).toFixed(2)} ± ${(100 * r.ci95).toFixed(2)}%`);
    });
}
