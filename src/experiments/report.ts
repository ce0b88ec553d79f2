/**
 * Assembles the HTML report from the run store: one section per registered
 * experiment (its newest finished run), plus an overview of every run.
 */
import { escapeHtml, htmlTable, renderReportPage, writeReport, type ReportSection } from '../report/index.js';
import type { RunStore } from '../store/index.js';
import { listExperiments } from './registry.js';

/** Builds the report page for everything in `store`. */
export function buildReport(store: RunStore, generatedAt = new Date().toISOString()): string {
  const runs = store.listRuns();
  const sections: ReportSection[] = [];
  for (const experiment of listExperiments()) {
    const run = store.findRun({ experiment: experiment.name, status: 'finished' });
    const head =
      `<p class="claim"><strong>Claim.</strong> ${escapeHtml(experiment.claim)}</p>` +
      `<p class="paper"><strong>Source.</strong> ${escapeHtml(experiment.paper)}</p>`;
    const body = run
      ? `<p class="run-meta">Run ${run.id}, preset <code>${escapeHtml(run.preset)}</code>, seed ${run.seed}, backend ${escapeHtml(run.backend)}, finished ${escapeHtml(run.finishedAt ?? '')}.</p>` +
        experiment.report(run, store)
      : `<p><em>Not run yet.</em> Run it with <code>npx eccvkit run ${escapeHtml(experiment.name)}</code>.</p>`;
    sections.push({ id: experiment.name, title: experiment.title, html: head + body });
  }
  sections.push({
    id: 'runs',
    title: 'All runs in this store',
    html: runs.length
      ? htmlTable({
          columns: ['id', 'experiment', 'preset', 'seed', 'backend', 'status', 'started', 'finished'],
          rows: runs.map((r) => [r.id, r.experiment, r.preset, r.seed, r.backend, r.status + (r.error ? `: ${r.error}` : ''), r.startedAt, r.finishedAt]),
        })
      : '<p>No runs yet.</p>',
  });
  return renderReportPage({
    title: 'eccvkit: ECCV 2020 results, reproduced in TensorFlow.js',
    subtitle: `Run store ${store.file}`,
    generatedAt,
    sections,
  });
}

/** Writes the report for `store` to `file` (atomically) and returns the path. */
export function writeStoreReport(store: RunStore, file: string): string {
  writeReport(file, buildReport(store));
  return file;
}
