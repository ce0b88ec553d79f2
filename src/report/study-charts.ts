/**
 * Charts of one hyperparameter study, as Optuna's visualisation module draws
 * them: the optimisation history (each finished trial's value by trial number,
 * and the best value so far) and one chart per parameter (value against the
 * parameter, on a log axis for log-scaled parameters). Plain inputs, so any
 * storage's trials (or a results file) can be drawn.
 */
import { check } from '../errors.js';
import { scatterChartSvg } from './charts.js';

/** One trial as {@link studyChartsSvg} draws it: a `null` value (failed, pruned, running) is left out. */
export interface StudyChartTrial {
  number: number;
  value: number | null;
  params: Record<string, number | string | boolean | null>;
}

/** What {@link studyChartsSvg} draws. */
export interface StudyChartInput {
  /** Shown in the titles. */
  name: string;
  direction: 'minimize' | 'maximize';
  trials: StudyChartTrial[];
  /** The numeric parameters to plot, with `log` for a log-scaled one (default: every numeric parameter seen, linear). */
  params?: Array<{ name: string; log?: boolean }>;
  /** Label of the objective (default "objective"). */
  valueLabel?: string;
}

/** Best-so-far values of `trials` (by number) for `direction`, as `[number, best]` points. */
export function bestSoFar(trials: readonly StudyChartTrial[], direction: 'minimize' | 'maximize'): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let best = NaN;
  for (const t of [...trials].sort((a, b) => a.number - b.number)) {
    if (t.value === null || !Number.isFinite(t.value)) continue;
    if (Number.isNaN(best) || (direction === 'maximize' ? t.value > best : t.value < best)) best = t.value;
    out.push([t.number, best]);
  }
  return out;
}

/**
 * SVG strings for one study: first its optimisation history, then value
 * against each numeric parameter.
 * @throws {@link EccvkitInputError} for a malformed study
 */
export function studyChartsSvg(study: StudyChartInput): string[] {
  check(study !== null && typeof study === 'object' && Array.isArray(study.trials), 'study', study, 'an object { name, direction, trials }');
  const label = study.valueLabel ?? 'objective';
  const done = study.trials.filter((t) => t.value !== null && Number.isFinite(t.value));
  const charts = [
    scatterChartSvg({
      title: `${study.name}: optimisation history`,
      xLabel: 'trial',
      yLabel: label,
      series: [
        { name: 'trial value', points: done.map((t) => [t.number, t.value as number]) },
        { name: 'best so far', points: bestSoFar(done, study.direction), line: true },
      ],
    }),
  ];
  const params =
    study.params ??
    [...new Set(done.flatMap((t) => Object.keys(t.params).filter((k) => typeof t.params[k] === 'number')))].map((name) => ({ name, log: false }));
  for (const p of params) {
    const points = done.filter((t) => typeof t.params[p.name] === 'number').map((t) => [t.params[p.name] as number, t.value as number] as [number, number]);
    charts.push(scatterChartSvg({ title: `${study.name}: ${p.name}`, xLabel: `${p.name}${p.log ? ' (log scale)' : ''}`, yLabel: label, series: [{ name: 'trial', points }], logX: p.log === true }));
  }
  return charts;
}
