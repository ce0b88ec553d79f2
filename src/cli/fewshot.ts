/**
 * `eccvkit fewshot classify …` and `eccvkit fewshot evaluate …`: the RFS episode
 * classifiers and episode evaluation on features stored as `.npy`, from any
 * model. Thin wrappers over `classifyEpisode()` and `evaluateEpisodes()`.
 */
import { Command, Option } from 'commander';
import { npyToFloat32, npyToInt32Labels, readNpy } from '../data/index.js';
import { check } from '../errors.js';
import { CLASSIFIER_NAMES, checkSupportLabels, classifyEpisode, evaluateEpisodes, type ClassifierName, type FeatureMatrix } from '../fewshot/index.js';

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

/** Adds the `fewshot` command group. */
export function registerFewshotCommands(cli: Command): void {
  const group = cli.command('fewshot').description('few-shot classification with a good embedding (RFS): episode classifiers and episode evaluation of stored features');

  group
    .command('classify')
    .description("classify query features from labelled support features (one episode); default: RFS's logistic regression (C = 1) on L2-normalised features")
    .requiredOption('--support <file>', 'support features, .npy [S, D]')
    .requiredOption('--support-labels <file>', 'support labels, .npy [S] integers covering 0…N−1')
    .requiredOption('--query <file>', 'query features, .npy [Q, D]')
    .addOption(new Option('--classifier <name>', 'lr: logistic regression; nn: nearest neighbour; cosine: cosine nearest neighbour; proto: nearest class mean').choices([...CLASSIFIER_NAMES]).default('lr'))
    .option('--no-normalize', 'skip L2 normalisation of the features')
    .option('--C <value>', 'inverse L2 penalty of the logistic regression', '1')
    .option('--json', 'print JSON', false)
    .action((opts: { support: string; supportLabels: string; query: string; classifier: ClassifierName; normalize: boolean; C: string; json: boolean }) => {
      const C = Number(opts.C);
      check(Number.isFinite(C) && C > 0, '--C', opts.C, 'a positive number');
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
      for (const c of classifiers) check((CLASSIFIER_NAMES as readonly string[]).includes(c), '--classifiers', opts.classifiers, `a comma-separated list of ${CLASSIFIER_NAMES.join(', ')}`);
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
