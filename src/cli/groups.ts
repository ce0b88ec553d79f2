/**
 * Command groups of the paper modules (`eccvkit metric …`, `eccvkit ph`, `eccvkit fewshot …`, `eccvkit gan …`, `eccvkit inversion …`, `eccvkit invert | edit | interpolate`, `eccvkit hpo …`):
 * each module's CLI file exports a function that adds its group to the
 * program; main.ts calls every one listed here.
 */
import type { Command } from 'commander';
import { registerTopologyCommands } from './topology.js';
import { registerMetricCommands } from './metric.js';
import { registerFewshotCommands } from './fewshot.js';
import { registerGanCommands } from './gan.js';
import { registerInversionCommands } from './inversion.js';
import { registerHpoCommands } from './hpo.js';
import { registerEmbedCommand } from './embed.js';
import { registerTopoCommands } from './topo.js';
import { registerWorkerCommand } from './worker.js';

export type RegisterCommands = (cli: Command) => void;

export const COMMAND_GROUPS: RegisterCommands[] = [registerTopologyCommands, registerMetricCommands, registerFewshotCommands, registerGanCommands, registerInversionCommands, registerEmbedCommand, registerHpoCommands, registerTopoCommands, registerWorkerCommand];
