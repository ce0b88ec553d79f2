/**
 * `eccvkit playground [--port 8080]`: serves the playground (dist/playground,
 * written by `npm run build`) on 127.0.0.1. Every page computes in the
 * browser; the server only hands out files.
 */
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EccvkitInputError } from '../errors.js';
import { serveFolder } from '../node/static-server.js';
import { COMMAND_DESCRIPTIONS } from './groups.js';

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where `npm run build` writes the playground. */
export const PLAYGROUND_DIR = path.join(packageRoot, 'dist', 'playground');

export function registerPlaygroundCommand(cli: Command): void {
  cli
    .command('playground')
    .description(COMMAND_DESCRIPTIONS.playground)
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', '8080')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--dir <folder>', 'serve this folder instead of the built playground')
    .action(async (opts: { port: string; host: string; dir?: string }) => {
      const port = Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new EccvkitInputError('--port', opts.port, 'an integer from 0 to 65535');
      const dir = opts.dir ?? PLAYGROUND_DIR;
      if (!fs.existsSync(path.join(dir, 'index.html'))) {
        throw new EccvkitInputError(opts.dir ? '--dir' : 'playground', dir, opts.dir ? 'a folder holding the playground (index.html)' : 'the built playground: run `npm run build` first (it writes dist/playground)');
      }
      let served;
      try {
        served = await serveFolder(dir, { port, host: opts.host });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        throw new EccvkitInputError('--port', port, `a port free on ${opts.host} (${code === 'EADDRINUSE' ? 'this one is in use' : String(err)})`);
      }
      console.log(`eccvkit playground: ${served.url} (serving ${dir}; Ctrl-C stops it)`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => served.server.close(() => resolve()));
        process.once('SIGTERM', () => served.server.close(() => resolve()));
      });
    });
}
