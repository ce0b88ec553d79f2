/**
 * `eccvkit metric accuracy …` and `eccvkit metric loss …`: retrieval accuracy
 * and loss values of embeddings stored as `.npy`, thin wrappers over
 * `accuracy()` and the metric losses.
 */
import { Command, Option } from 'commander';
import { npyToFloat32, npyToInt32Labels, readNpy } from '../data/index.js';
import { initEngine, tf, type BackendName } from '../engine/index.js';
import { check } from '../errors.js';
import { accuracy, PAIR_LOSS_NAMES, makeLoss, type PairLossName } from '../metric/index.js';
import { backendOption } from './options.js';
import { registerMetricTrainCommand } from './metric-train.js';

function readEmbeddings(file: string, argument: string): tf.Tensor2D {
  const arr = readNpy(file, argument);
  check(arr.shape.length === 2 && (arr.shape[0] as number) > 0 && (arr.shape[1] as number) > 0, argument, `${file} with shape [${arr.shape.join(', ')}]`, 'a 2-D array [N, D] with N, D ≥ 1');
  return tf.tensor2d(npyToFloat32(arr), [arr.shape[0] as number, arr.shape[1] as number]);
}

function readLabels(file: string, argument: string, rows: number, embeddingsArgument: string): Int32Array {
  const labels = npyToInt32Labels(readNpy(file, argument), argument);
  check(labels.length === rows, argument, `${file} with ${labels.length} labels`, `${rows} labels, one per row of ${embeddingsArgument}`);
  return labels;
}

/** JSON has no NaN: metrics that could not be computed print as null. */
function jsonNumber(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}


/** Adds the `metric` command group. */
export function registerMetricCommands(cli: Command): void {
  const group = cli.command('metric').description('metric learning: train an embedding on your images; retrieval accuracy (P@1, R-precision, MAP@R, MRR, NMI) and loss values of stored embeddings');
  registerMetricTrainCommand(group);

  group
    .command('accuracy')
    .description('retrieval accuracy as in "A Metric Learning Reality Check"; without --query every embedding is a query against all the others (itself removed)')
    .requiredOption('--embeddings <file>', 'reference embeddings, .npy [N, D]')
    .requiredOption('--labels <file>', 'reference labels, .npy [N] integers')
    .option('--query <file>', 'query embeddings, .npy [Q, D] (default: the reference set, leave-one-out)')
    .option('--query-labels <file>', 'query labels, .npy [Q]')
    .option('--normalize', 'L2-normalise the embeddings first', false)
    .option('--no-nmi', 'skip NMI (k-means)')
    .option('--seed <n>', 'k-means seed', '0')
    .addOption(backendOption())
    .option('--json', 'print JSON', false)
    .action(
      async (opts: { embeddings: string; labels: string; query?: string; queryLabels?: string; normalize: boolean; nmi: boolean; seed: string; backend?: BackendName; json: boolean }) => {
        check((opts.query === undefined) === (opts.queryLabels === undefined), opts.query === undefined ? '--query-labels' : '--query', opts.query ?? opts.queryLabels, 'given together with ' + (opts.query === undefined ? '--query' : '--query-labels'));
        const seed = Number(opts.seed);
        check(Number.isInteger(seed), '--seed', opts.seed, 'an integer');
        await initEngine(opts.backend ? { backend: opts.backend } : {});
        const refEmb = readEmbeddings(opts.embeddings, '--embeddings');
        const refLabels = readLabels(opts.labels, '--labels', refEmb.shape[0], '--embeddings');
        const options = { normalize: opts.normalize, nmi: opts.nmi, seed, warn: (m: string) => console.error(`eccvkit: warning: ${m}`) };
        let result;
        try {
          if (opts.query === undefined) {
            result = accuracy(refEmb, refLabels, undefined, undefined, options);
          } else {
            const q = readEmbeddings(opts.query, '--query');
            try {
              result = accuracy(q, readLabels(opts.queryLabels as string, '--query-labels', q.shape[0], '--query'), refEmb, refLabels, options);
            } finally {
              q.dispose();
            }
          }
        } finally {
          refEmb.dispose();
        }
        const out = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, jsonNumber(v)]));
        if (opts.json) console.log(JSON.stringify(out));
        else for (const [k, v] of Object.entries(out)) console.log(`${k}: ${v === null ? 'n/a' : Number(v.toPrecision(6))}`);
      },
    );

  group
    .command('loss')
    .description("a loss's value on stored embeddings with the library's defaults (every valid pair or triplet of the set)")
    .addOption(new Option('--loss <name>', 'loss').choices([...PAIR_LOSS_NAMES]).makeOptionMandatory())
    .requiredOption('--embeddings <file>', 'embeddings, .npy [N, D]')
    .requiredOption('--labels <file>', 'labels, .npy [N] integers')
    .addOption(backendOption())
    .option('--json', 'print JSON', false)
    .action(async (opts: { loss: PairLossName; embeddings: string; labels: string; backend?: BackendName; json: boolean }) => {
      await initEngine(opts.backend ? { backend: opts.backend } : {});
      const emb = readEmbeddings(opts.embeddings, '--embeddings');
      const labels = readLabels(opts.labels, '--labels', emb.shape[0], '--embeddings');
      const loss = makeLoss(opts.loss);
      try {
        const t = loss.compute(emb, labels);
        const value = t.dataSync()[0] as number;
        t.dispose();
        if (opts.json) console.log(JSON.stringify({ loss: jsonNumber(value) }));
        else console.log(`${opts.loss}: ${value}`);
      } finally {
        emb.dispose();
        loss.dispose();
      }
    });
}
