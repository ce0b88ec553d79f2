/**
 * Building blocks of the self-contained HTML report: escaping, tables, SVG
 * charts, PNG sample grids and the page itself.
 * @packageDocumentation
 */
export { badgeHtml, escapeHtml, findingsHtml, formatNumber, htmlTable } from './html.js';
export { barChartSvg, lineChartSvg, logTicks, niceTicks, scatterChartSvg, seriesColor, type ScatterSeries, type Series } from './charts.js';
export { bestSoFar, studyChartsSvg, type StudyChartInput, type StudyChartTrial } from './study-charts.js';
export { GRID_PAD_GRAY, imageGridPng, pngDataUri } from './image.js';
export { renderReportPage, writeReport, type ReportSection } from './page.js';
