/**
 * `eccvkit metric accuracy …` and `eccvkit metric loss …`: retrieval accuracy
 * and loss values of embeddings stored as `.npy`, thin wrappers over
 * `accuracy()` and the metric losses. Only the sub-command being run is
 * loaded, and `accuracy` checks its arguments and files before it loads
 * TensorFlow.js.
 */
import { Option, type Command } from 'commander';
import { npyToFloat32, npyToInt32Labels } from '../data/npy.js';
import { readNpy } from '../data/node/npy-file.js';
import type { BackendName } from '../engine/backends.js';
import type { tf } from '../engine/index.js';
import { check } from '../errors.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';
import { backendOption } from './options.js';

/** The group's sub-commands and their help lines (listed without loading them). */
export const METRIC_SUBCOMMANDS = {
  train:
    "train an embedding as the reality check does: one backbone, MPerClass batches (m per class), any loss and miner with their options, validation MAP@R each epoch on held-out classes, early stopping that keeps the best weights; a checkpoint after every epoch in --out (the same command resumes); --out gets model.json + eccvkit.json",
  accuracy: 'retrieval accuracy as in "A Metric Learning Reality Check"; without --query every embedding is a query against all the others (itself removed)',
  loss: "a loss's value on stored embeddings with the library's defaults (every valid pair or triplet of the set)",
} as const;

interface Embeddings {
  values: Float32Array;
  shape: [number, number];
}

function readEmbeddings(file: string, argument: string): Embeddings {
  const arr = readNpy(file, argument);
  check(arr.shape.length === 2 && (arr.shape[0] as number) > 0 && (arr.shape[1] as number) > 0, argument, `${file} with shape [${arr.shape.join(', ')}]`, 'a 2-D array [N, D] with N, D ≥ 1');
  return { values: npyToFloat32(arr), shape: [arr.shape[0] as number, arr.shape[1] as number] };
}

function readLabels(file: string, argument: string, rows: number, embeddingsArgument: string): Int32Array {
  const labels = npyToInt32Labels(readNpy(file, argument), argument);
  check(labels.length === rows, argument, `${file} with ${labels.length} labels`, `${rows} labels, one per row of ${embeddingsArgument}`);
  return labels;
}

const toTensor = (t: typeof tf, e: Embeddings): tf.Tensor2D => t.tensor2d(e.values, e.shape);

/** JSON has no NaN: metrics that could not be computed print as null. */
function jsonNumber(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}


/** Adds the `metric` command group: in full the sub-command `selected` names (all of them without one), the others as help entries. */
export async function registerMetricCommands(cli: Command, selected: readonly string[] = []): Promise<void> {
  const group = cli.command('metric').description(COMMAND_DESCRIPTIONS.metric);
  const sub = selected[1];
  const known = sub !== undefined && sub in METRIC_SUBCOMMANDS;
  const wanted = (name: keyof typeof METRIC_SUBCOMMANDS): boolean => {
    if (!known || sub === name) return true;
    group.command(name).description(METRIC_SUBCOMMANDS[name]);
    return false;
  };
  if (wanted('train')) (await import('./metric-train.js')).registerMetricTrainCommand(group);

  if (wanted('accuracy')) {
    group
      .command('accuracy')
      .description(METRIC_SUBCOMMANDS.accuracy)
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
          const ref = readEmbeddings(opts.embeddings, '--embeddings');
          const refLabels = readLabels(opts.labels, '--labels', ref.shape[0], '--embeddings');
          const query = opts.query === undefined ? undefined : readEmbeddings(opts.query, '--query');
          const queryLabels = query && readLabels(opts.queryLabels as string, '--query-labels', query.shape[0], '--query');
          const [{ initEngine, tf }, { accuracy }] = await Promise.all([import('../engine/index.js'), import('../metric/accuracy.js')]);
          await initEngine(opts.backend ? { backend: opts.backend } : {});
          const options = { normalize: opts.normalize, nmi: opts.nmi, seed, warn: (m: string) => console.error(`eccvkit: warning: ${m}`) };
          const refEmb = toTensor(tf, ref);
          const q = query && toTensor(tf, query);
          let result;
          try {
            result = q === undefined ? accuracy(refEmb, refLabels, undefined, undefined, options) : accuracy(q, queryLabels!, refEmb, refLabels, options);
          } finally {
            tf.dispose([refEmb, ...(q ? [q] : [])]);
          }
          const out = Object.fromEntries(Object.entries(result).map(([k, v]) => [k, jsonNumber(v)]));
          if (opts.json) console.log(JSON.stringify(out));
          else for (const [k, v] of Object.entries(out)) console.log(`${k}: ${v === null ? 'n/a' : Number(v.toPrecision(6))}`);
        },
      );
  }

  if (!wanted('loss')) return;
  const { PAIR_LOSS_NAMES, makeLoss } = await import('../metric/registry.js');
  group
    .command('loss')
    .description(METRIC_SUBCOMMANDS.loss)
    .addOption(new Option('--loss <name>', 'loss').choices([...PAIR_LOSS_NAMES]).makeOptionMandatory())
    .requiredOption('--embeddings <file>', 'embeddings, .npy [N, D]')
    .requiredOption('--labels <file>', 'labels, .npy [N] integers')
    .addOption(backendOption())
    .option('--json', 'print JSON', false)
    .action(async (opts: { loss: (typeof PAIR_LOSS_NAMES)[number]; embeddings: string; labels: string; backend?: BackendName; json: boolean }) => {
      const { initEngine, tf } = await import('../engine/index.js');
      await initEngine(opts.backend ? { backend: opts.backend } : {});
      const embeddings = readEmbeddings(opts.embeddings, '--embeddings');
      const labels = readLabels(opts.labels, '--labels', embeddings.shape[0], '--embeddings');
      const emb = toTensor(tf, embeddings);
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
