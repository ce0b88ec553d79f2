/**
 * The claims dashboard: one row per registered experiment saying, at a
 * glance, whether its paper's claim reproduced. Each experiment provides an
 * {@link ExperimentClaims} hook (registered with {@link registerClaims}) that
 * reads its newest finished run from the store and returns its key
 * measurement with its interval and a verdict computed from that run's
 * numbers (never typed by hand). The report opens on these rows and
 * `eccvkit reproduce` ends by printing them.
 */
import type { RunRecord, RunStore } from '../store/index.js';
import { interval, intervalDirection } from './intervals.js';
import { listExperiments, type Experiment } from './registry.js';

/** Verdict badges, from best to worst news, then the two that say nothing about the claim. */
export const VERDICTS = ['reproduced', 'partly', 'not reproduced', 'pipeline check only', 'not run'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** What one finished run says about its paper's claim. */
export interface ClaimAssessment {
  /** Our key measurement with its 95% interval, short (about 60 characters), e.g. `GC − no GC: SGD-M +0.42 ± 0.30 pts`. */
  measured: string;
  verdict: Exclude<Verdict, 'not run'>;
  /** Why this verdict, one short sentence naming the interval or rule that decided it. */
  why: string;
  /** Further short findings with their numbers, shown as bullets in the experiment's section. */
  findings?: string[];
}

/** The hook each experiment implements so the dashboard can show it. */
export interface ExperimentClaims {
  /** The claim in one line (the experiment's `claim` is the full sentence). */
  headline: string;
  /** The paper's figure our measurement sits beside (from the reference notes), short. */
  paperFigure(run: RunRecord | undefined): string;
  /** Reads the experiment's stored results and assesses them; may throw when they are missing or damaged. */
  assess(run: RunRecord, store: RunStore): ClaimAssessment;
}

/** One dashboard row. */
export interface ClaimRow {
  experiment: string;
  title: string;
  /** Anchor of the experiment's report section. */
  section: string;
  claim: string;
  measured: string;
  paper: string;
  verdict: Verdict;
  why: string;
  findings: string[];
  /** The run the row comes from, or null when not run. */
  run: number | null;
  preset: string | null;
  backend: string | null;
}

const hooks = new Map<string, ExperimentClaims>();

/** Registers the claims hook of experiment `name` (once per name). */
export function registerClaims(name: string, claims: ExperimentClaims): void {
  if (hooks.has(name)) throw new Error(`claims of ${name} are registered twice`);
  hooks.set(name, claims);
}

/** The claims hook of an experiment, if it registered one. */
export function claimsOf(name: string): ExperimentClaims | undefined {
  return hooks.get(name);
}

/** The first sentence of `text` (the fallback one-line claim for an experiment without a hook). */
function firstSentence(text: string): string {
  const m = /^(.*?[.!?])(\s|$)/.exec(text);
  return (m?.[1] ?? text).trim();
}

/** The dashboard row of one experiment: its newest finished run assessed by its hook, or a `not run` row. */
export function claimRow(experiment: Experiment, store: RunStore): ClaimRow {
  const hook = claimsOf(experiment.name);
  const run = store.findRun({ experiment: experiment.name, status: 'finished' });
  const base = {
    experiment: experiment.name,
    title: experiment.title,
    section: experiment.name,
    claim: hook?.headline ?? firstSentence(experiment.claim),
    paper: hook ? hook.paperFigure(run) : '—',
    run: run?.id ?? null,
    preset: run?.preset ?? null,
    backend: run ? String(store.finalMetrics(run.id).backend ?? run.backend) : null,
  };
  if (!run) {
    const failed = store.findRun({ experiment: experiment.name, status: ['failed', 'interrupted'] });
    const why = failed ? `run ${failed.id} ${failed.status}${failed.error ? `: ${failed.error}` : ''}` : `no finished run; npx eccvkit run ${experiment.name}`;
    return { ...base, measured: '—', verdict: 'not run', why, findings: [] };
  }
  if (!hook) return { ...base, measured: '—', verdict: 'pipeline check only', why: 'this experiment has no claims hook yet, so no verdict is computed', findings: [] };
  try {
    const a = hook.assess(run, store);
    return { ...base, measured: a.measured, verdict: a.verdict, why: a.why, findings: a.findings ?? [] };
  } catch (err) {
    return { ...base, measured: '—', verdict: 'pipeline check only', why: `its stored results could not be read (${err instanceof Error ? err.message : String(err)})`, findings: [] };
  }
}

/** One row per registered experiment, in registration order. */
export function claimRows(store: RunStore): ClaimRow[] {
  return listExperiments().map((e) => claimRow(e, store));
}

/** The dashboard as a plain-text table (what `eccvkit reproduce` prints at the end). */
export function claimsTableText(rows: ClaimRow[]): string {
  const columns = ['experiment', 'verdict', 'ours (95% CI)', 'paper', 'run', 'claim'];
  const cells = rows.map((r) => [r.experiment, r.verdict, r.measured, r.paper, r.run === null ? '—' : `${r.preset}, ${r.backend}`, r.claim]);
  const widths = columns.map((c, i) => (i === columns.length - 1 ? 0 : Math.max(c.length, ...cells.map((row) => (row[i] as string).length))));
  const line = (row: string[]) => row.map((v, i) => (i === row.length - 1 ? v : v.padEnd(widths[i] as number))).join('  ');
  return [line(columns), line(widths.map((w, i) => '-'.repeat(i === widths.length - 1 ? 5 : w))), ...cells.map(line)].join('\n');
}

// ---- Helpers the hooks share ----

/** A 95% interval as the hooks read them from stored metrics. */
export interface Ci {
  mean: number;
  halfWidth: number;
}

/** Reads `key` and `key + ciSuffix` from final metrics as an interval (NaN when missing). */
export function storedCi(m: Record<string, number | string>, key: string, ciKey = `${key}_ci95`): Ci {
  const v = m[key];
  const h = m[ciKey];
  return { mean: typeof v === 'number' ? v : NaN, halfWidth: typeof h === 'number' ? h : NaN };
}

/** Whether an interval excludes 0 (either way). */
export const resolved = (ci: Ci): boolean => intervalDirection(ci) !== 'unclear';

/** A stored number, or NaN where the results hold null (JSON's NaN). */
export const storedNumber = (v: number | null | undefined): number => (typeof v === 'number' ? v : NaN);

/** The 95% interval of value(a) − value(b) over the seeds both `as` and `bs` have: a paired comparison of two arms. */
export function pairedBySeed<T extends { seed: number }>(as: T[], bs: T[], value: (x: T) => number): Ci & { n: number } {
  const diffs: number[] = [];
  for (const a of as) {
    const b = bs.find((x) => x.seed === a.seed);
    if (b) diffs.push(value(a) - value(b));
  }
  return interval(diffs);
}

/** `+1.23 ± 0.45` with `scale` applied (100 for accuracy points), or the mean alone without an interval. */
export function signedCi(ci: Ci, digits = 2, scale = 1): string {
  if (!Number.isFinite(ci.mean)) return '—';
  const m = ci.mean * scale;
  const s = `${m >= 0 ? '+' : '−'}${Math.abs(m).toFixed(digits)}`;
  return Number.isFinite(ci.halfWidth) ? `${s} ± ${(ci.halfWidth * scale).toFixed(digits)}` : `${s} (one seed)`;
}

/**
 * Combines the parts of a claim: every part holds → `reproduced`, some → `partly`, none → `not reproduced`.
 * A quick run whose intervals resolve nothing says nothing either way: pass `signal: false` for `pipeline check only`.
 */
export function combineVerdict(parts: boolean[], signal = true): Exclude<Verdict, 'not run'> {
  if (!signal) return 'pipeline check only';
  const held = parts.filter(Boolean).length;
  return held === parts.length && held > 0 ? 'reproduced' : held > 0 ? 'partly' : 'not reproduced';
}
