/**
 * Assembles the HTML report from the run store: the claims dashboard first
 * (one row per experiment: claim, our number, the paper's, the verdict), then
 * one section per registered experiment (its newest finished run), plus an
 * overview of every run.
 */
import { badgeHtml, escapeHtml, findingsHtml, htmlTable, renderReportPage, writeReport, type ReportSection } from '../report/index.js';
import type { RunStore } from '../store/index.js';
import { claimRows, type ClaimRow } from './claims.js';
import { listExperiments } from './registry.js';

/** The dashboard table: one row per experiment, each linking to its section. */
export function dashboardHtml(rows: ClaimRow[]): string {
  const head = ['paper', 'claim', 'ours (95% CI)', 'paper\'s figure', 'verdict', 'preset, backend'].map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr data-experiment="${escapeHtml(r.experiment)}"><td><a href="#${escapeHtml(r.section)}">${escapeHtml(r.experiment)}</a></td><td>${escapeHtml(r.claim)}</td><td>${escapeHtml(r.measured)}</td><td>${escapeHtml(r.paper)}</td>` +
        `<td title="${escapeHtml(r.why)}">${badgeHtml(r.verdict)}</td><td>${r.run === null ? '—' : escapeHtml(`${r.preset}, ${r.backend}`)}</td></tr>`,
    )
    .join('\n');
  const counts = rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.verdict]: (acc[r.verdict] ?? 0) + 1 }), {});
  const summary = Object.entries(counts)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
  return (
    `<p>${rows.length} claims: ${escapeHtml(summary)}. Each verdict is computed from the run's own intervals; a quick run whose numbers cannot tell the effect from noise says <em>pipeline check only</em> (run <code>--preset full</code> for evidence). Hover a badge, or open the section, for why.</p>` +
    `<table class="dashboard"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
  );
}

/** Builds the report page for everything in `store`. */
export function buildReport(store: RunStore, generatedAt = new Date().toISOString()): string {
  const runs = store.listRuns();
  const sections: ReportSection[] = [];
  const rows = claimRows(store);
  for (const [i, experiment] of listExperiments().entries()) {
    const run = store.findRun({ experiment: experiment.name, status: 'finished' });
    const row = rows[i] as ClaimRow;
    const head =
      `<p class="claim"><strong>Claim.</strong> ${escapeHtml(experiment.claim)}</p>` +
      `<p class="paper"><strong>Source.</strong> ${escapeHtml(experiment.paper)}</p>` +
      `<p class="verdict-line">${badgeHtml(row.verdict)} ${escapeHtml(row.why)}. <a href="#claims">Back to the claims</a></p>` +
      (run ? `<p><strong>Ours:</strong> ${escapeHtml(row.measured)}. <strong>Paper:</strong> ${escapeHtml(row.paper)}.</p>${findingsHtml(row.findings)}` : '');
    // A quick run that cannot tell the effect from noise says so, and what the full preset would take and show.
    const pipelineOnly =
      run && row.verdict === 'pipeline check only'
        ? `<p class="pipeline-only"><strong>This ${escapeHtml(run.preset)} run checks the pipeline, not the claim.</strong> <code>--preset full</code> ${escapeHtml(experiment.fullPreset)}</p>`
        : '';
    const body = run
      ? `<p class="run-meta">Run ${run.id}, preset <code>${escapeHtml(run.preset)}</code>, seed ${run.seed}, backend ${escapeHtml(run.backend)}, finished ${escapeHtml(run.finishedAt ?? '')}.</p>` +
        pipelineOnly +
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
    lead: { id: 'claims', title: 'The claims at a glance', html: dashboardHtml(rows) },
    sections,
  });
}

/** Writes the report for `store` to `file` (atomically) and returns the path. */
export function writeStoreReport(store: RunStore, file: string): string {
  writeReport(file, buildReport(store));
  return file;
}
