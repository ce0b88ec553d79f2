/**
 * Progress for long CLI work: a live bar on a TTY, plain lines otherwise (CI
 * logs, pipes), at most one line per 5% so logs stay readable.
 */
import cliProgress from 'cli-progress';
import type { ProgressReporter } from '../experiments/index.js';

function formatValues(values: Record<string, number> | undefined): string {
  if (!values) return '';
  return Object.entries(values)
    .map(([k, v]) => `${k} ${Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4)}`)
    .join('  ');
}

/** A reporter writing to stderr, so `--json` output on stdout stays clean. */
export function createProgress(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  const tty = Boolean(stream.isTTY);
  let bar: cliProgress.SingleBar | undefined;
  let label = '';
  let total = 0;
  let lastPrinted = -1;
  return {
    start(l, t) {
      label = l;
      total = t;
      lastPrinted = -1;
      if (tty) {
        bar = new cliProgress.SingleBar(
          { format: `${l} [{bar}] {value}/{total} {eta_formatted} {values}`, stream, hideCursor: true, clearOnComplete: false },
          cliProgress.Presets.shades_classic,
        );
        bar.start(t, 0, { values: '' });
      }
    },
    update(done, values) {
      if (bar) bar.update(done, { values: formatValues(values) });
      else {
        const bucket = total > 0 ? Math.floor((20 * done) / total) : done;
        if (bucket !== lastPrinted) {
          lastPrinted = bucket;
          stream.write(`${label}: ${done}/${total} ${formatValues(values)}\n`);
        }
      }
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
    log(message) {
      stream.write(`${message}\n`);
    },
  };
}
