/**
 * Command groups of the paper modules (`eccvkit metric …`, `eccvkit ph`, `eccvkit fewshot …`, `eccvkit gan …`, `eccvkit inversion …`, `eccvkit invert | edit | interpolate`, `eccvkit hpo …`):
 * each module's CLI file exports a function that adds its group to the
 * program. main.ts loads only the group of the command being run (most load
 * TensorFlow.js, which alone takes about 0.4 s); the top-level help lists the
 * others from {@link COMMAND_DESCRIPTIONS} without loading them.
 */
import type { Command } from 'commander';

/** Top-level commands of the groups and their one-line help; each group's registration takes its line from here. */
export const COMMAND_DESCRIPTIONS = {
  ph: 'persistent homology (dimensions 0 and 1) of a 2-D image (.npy, or an 8-bit .png) as a cubical complex',
  metric: 'metric learning: train an embedding on your images; retrieval accuracy (P@1, R-precision, MAP@R, MRR, NMI) and loss values of stored embeddings',
  fewshot: 'few-shot classification with a good embedding (RFS): pretraining and distillation on your images, episode classifiers and episode evaluation',
  gan: 'GANs: train a DCGAN with any loss, domain scaling and Lipschitz regulariser; sample it; score features (FD, KID, precision/recall)',
  inversion: 'in-domain GAN inversion (Zhu et al., ECCV 2020): train the domain-guided encoder of a style generator; fit attribute boundaries in W',
  invert: 'invert images into W+ codes of a style generator by optimisation (with --encoder: started from E(x) and regularised to stay in its domain, ‖w − E(G(w))‖²)',
  edit: "move W+ codes along an attribute boundary, w + α·n on the boundary's layers: a PNG grid with one row per code and one column per α",
  interpolate: 'linear interpolation between pairs of W+ codes: a PNG grid with one row per pair, from the first code to the second',
  embed: 'features of a trained model for images, with the preprocessing stored in its eccvkit.json (size, channels, normalisation): the .npy feeds fewshot classify|evaluate and metric accuracy',
  hpo: 'hyperparameter search (TPE, random), define-by-run as Optuna; workers on several machines share a study through PostgreSQL',
  topo: 'TopoGAN: topology of mask sets (Betti score, MMD of diagrams, Betti error) and the seeded mask generators',
  playground: 'serve the browser playground on 127.0.0.1: persistence of a drawn or dropped image, retrieval metrics of dropped .npy embeddings, all computed in the page',
  worker: 'pull experiment units (cells enqueued by eccvkit run <experiment> --storage URL) from a shared storage until none are left',
} as const;
export type GroupCommand = keyof typeof COMMAND_DESCRIPTIONS;

/**
 * Adds a group's commands. `selected` is the command line's leading words
 * (`['metric', 'accuracy']`): a group may leave out the heavy parts of
 * sub-commands that are not being run, as long as it lists them for help.
 */
export type RegisterCommands = (cli: Command, selected: readonly string[]) => void | Promise<void>;

export interface CommandGroup {
  commands: readonly GroupCommand[];
  load: () => Promise<RegisterCommands>;
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { commands: ['ph'], load: async () => (await import('./topology.js')).registerTopologyCommands },
  { commands: ['metric'], load: async () => (await import('./metric.js')).registerMetricCommands },
  { commands: ['fewshot'], load: async () => (await import('./fewshot.js')).registerFewshotCommands },
  { commands: ['gan'], load: async () => (await import('./gan.js')).registerGanCommands },
  { commands: ['inversion', 'invert', 'edit', 'interpolate'], load: async () => (await import('./inversion.js')).registerInversionCommands },
  { commands: ['embed'], load: async () => (await import('./embed.js')).registerEmbedCommand },
  { commands: ['hpo'], load: async () => (await import('./hpo.js')).registerHpoCommands },
  { commands: ['topo'], load: async () => (await import('./topo.js')).registerTopoCommands },
  { commands: ['worker'], load: async () => (await import('./worker.js')).registerWorkerCommand },
  { commands: ['playground'], load: async () => (await import('./playground.js')).registerPlaygroundCommand },
];

/**
 * Adds every group to `cli`: the one `selected` names in full, the others as
 * entries of the help (a name and its line). Without a selected group (`eccvkit
 * --help`) nothing is loaded.
 */
export async function addCommandGroups(cli: Command, selected: readonly string[]): Promise<void> {
  for (const group of COMMAND_GROUPS) {
    if (selected[0] !== undefined && (group.commands as readonly string[]).includes(selected[0])) await (await group.load())(cli, selected);
    else for (const name of group.commands) cli.command(name).description(COMMAND_DESCRIPTIONS[name]);
  }
}
