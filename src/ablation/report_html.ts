/**
 * The HTML page of an ablation study, `DIR/report/ablation.html`, from the merged table of
 * `ablationReport` (table_files.ts). Sections (each `<section id=... data-section=...>`):
 *
 * - `ablation-table`: the paper-style table, DSC, precision and recall (or the metrics the table
 *   asks for: HD95, ASSD, the ISIC score) as mean ± std over the finished folds, with the paper's published numbers (Tables 1-2) and the difference in DSC
 *   beside ours when the study's data set is BUS or ISIC 2018 (or their synthetic stand-ins,
 *   for reference only), and the units still missing;
 * - `boxplot`: a box plot of the per-fold DSC of each variant, every fold a dot, the paper's
 *   mean DSC a red diamond;
 * - `per-fold`: the numbers behind the box plot, one column per fold.
 *
 * `renderAblationHtml` is pure (plots through Vega); `writeAblationHtml` writes the file
 * atomically (Node-only).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { METRICS } from '../metrics/registry.js';
import {
  dataTable,
  html,
  plotFigure,
  renderPage,
  type PageSection,
  type SafeHtml,
  type TableCell,
} from '../report/html.js';
import { plottingVersions, renderVegaLite } from '../report/vega.js';
import { ablationBoxPlotSpec } from './boxplot.js';
import type { PaperValue } from './paper.js';
import { STUDY_REPORT_DIR } from './study.js';
import {
  ABLATION_METRICS,
  EXTRA_ROW_MARK,
  EXTRA_ROW_NOTE,
  EXTRA_TABLE_METRICS,
  formatTableCell,
  TABLE_METRIC_LABELS,
  tableMetricLabel,
  type AblationTable,
} from './table.js';

/** The page's file name inside `DIR/report/`, beside ablation.md, .csv and .json. */
export const ABLATION_HTML_FILE = 'ablation.html';

/** The section ids of an ablation page, in page order. */
export const ABLATION_REPORT_SECTIONS = ['ablation-table', 'boxplot', 'per-fold'] as const;

/** Options of `renderAblationHtml`. */
export interface RenderAblationOptions {
  /** The study's name in the title (its folder's name). Default 'study'. */
  name?: string;
  /** The program that wrote the page, for the footer. Default: none. */
  generator?: string;
  /** The time shown as "generated". Default: now. */
  now?: Date;
  /** Receives the plotting library's warnings. Default: none. */
  onWarning?: (message: string) => void;
}

const paperText = (v: PaperValue): string =>
  v.std === undefined ? v.mean.toFixed(3) : `${v.mean.toFixed(3)} ± ${v.std.toFixed(3)}`;

function tableSection(table: AblationTable): SafeHtml {
  const paper = table.paper;
  const bestDsc = Math.max(...table.rows.map((r) => r.dsc?.mean ?? -Infinity));
  const columns = [
    { label: 'Variant' },
    { label: 'ID' },
    ...table.metrics.map((m) => ({
      label: `${tableMetricLabel(table, m)} (ours)`,
      numeric: true,
    })),
    { label: 'Folds', numeric: true },
    ...(paper !== null
      ? [
          ...ABLATION_METRICS.map((m) => ({
            label: `${TABLE_METRIC_LABELS[m]} (paper)`,
            numeric: true,
          })),
          { label: 'Δ DSC', numeric: true },
        ]
      : []),
  ];
  const rows = table.rows.map((r) => {
    const ours = table.metrics.map((m): TableCell => {
      const text = formatTableCell(r, m);
      return m === 'dsc' && r.dsc !== null && r.dsc.mean === bestDsc ? html`<b>${text}</b>` : text;
    });
    const cells: TableCell[] = [
      r.paperRow ? r.label : `${r.label} ${EXTRA_ROW_MARK}`,
      html`<code>${r.variant}</code>`,
      ...ours,
      `${r.folds.done}/${r.folds.total}`,
    ];
    if (paper !== null) {
      cells.push(
        ...ABLATION_METRICS.map((m) => (r.paper !== undefined ? paperText(r.paper[m]) : '—')),
      );
      const delta = r.dsc !== null && r.paper !== undefined ? r.dsc.mean - r.paper.dsc.mean : null;
      cells.push(delta === null ? '—' : `${delta >= 0 ? '+' : '−'}${Math.abs(delta).toFixed(3)}`);
    }
    return { cells, attrs: { 'data-variant': r.variant, 'data-paper-row': String(r.paperRow) } };
  });
  const missing =
    table.missing.length === 0
      ? 'Missing units: none.'
      : `Missing units (${table.missing.length}): ${table.missing.join(', ')}.`;
  return html`<p class="note">
      Ours: ${table.statistic}. ${table.units.finished} of ${table.units.total} units finished.
      ${table.metrics.includes('dsc') ? 'Bold: our best DSC.' : ''} ${extrasNote(table)}
    </p>
    ${
      paper !== null
        ? html`<p class="note" data-paper="${paper.table}">
            Paper columns: ${paper.source}, ${paper.table} (${paper.dataset}, ${paper.testImages}
            test images per fold). ${paper.note} Δ DSC = our mean − the paper's.
          </p>`
        : html`<p class="note">
            The paper did not use this data set: no published numbers to compare.
          </p>`
    }
    ${dataTable(columns, rows, { id: 'ablation-table-rows' })}
    ${table.rows.some((r) => !r.paperRow) ? html`<p class="note" data-extra-rows="true">${EXTRA_ROW_NOTE}</p>` : ''}
    <p class="note" data-missing="${table.missing.length}">${missing}</p>`;
}

/**
 * What the extra columns hold, when the table has any: the surface metrics (HD95 and ASSD in
 * pixels, ...), each fold's mean over its images with both masks non-empty; each thresholded
 * metric's description (the ISIC score); folds without them noted.
 */
function extrasNote(table: AblationTable): string {
  const parts: string[] = [];
  const shown = EXTRA_TABLE_METRICS.filter((m) => table.metrics.includes(m));
  const surface = shown.filter((m) => METRICS[m].aggregation === 'defined');
  if (surface.length > 0) {
    const inPixels = surface.filter((m) => METRICS[m].unit === 'px').map((m) => METRICS[m].label);
    const others = surface.filter((m) => METRICS[m].unit !== 'px').map((m) => METRICS[m].label);
    const names = [
      ...(inPixels.length > 0 ? [`${inPixels.join(' and ')} in pixels at the original size`] : []),
      ...others,
    ].join(', and ');
    parts.push(
      `${names}: each fold's mean over its test images where ` +
        'both the prediction and the ground truth have a lesion (the others are left out).',
    );
  }
  for (const m of shown.filter((x) => METRICS[x].aggregation === 'thresholded')) {
    const { label, description, source } = METRICS[m];
    parts.push(`${label}: the ${source !== undefined ? `${source} ` : ''}${description ?? label}.`);
  }
  if (parts.length > 0) {
    parts.push('"(k of n folds)": only k finished folds recorded the metric.');
  }
  return parts.join(' ');
}

async function boxplotSection(table: AblationTable, warn: (m: string) => void): Promise<SafeHtml> {
  if (table.units.finished === 0) {
    return html`<p class="note" data-empty="true">No unit has finished: nothing to plot yet.</p>`;
  }
  const svg = await renderVegaLite(ablationBoxPlotSpec(table), {
    id: 'plot-ablation',
    onWarning: warn,
  });
  return plotFigure(
    'ablation-boxplot',
    svg,
    `Each dot is one fold's mean DSC over its test images; boxes span the quartiles, whiskers the minimum and maximum${
      table.paper !== null ? `; red diamonds: the paper's mean DSC (${table.paper.table})` : ''
    }.`,
  );
}

function perFoldSection(table: AblationTable): SafeHtml {
  const folds = Array.from({ length: table.folds }, (_, k) => k);
  const columns = [
    { label: 'Variant' },
    ...folds.map((k) => ({ label: `fold ${k}`, numeric: true })),
  ];
  const rows = table.rows.map((r) => ({
    cells: [
      r.label,
      ...folds.map((k): TableCell => {
        const f = r.perFold.find((x) => x.fold === k);
        return f === undefined
          ? '—'
          : { value: f.dsc, text: `${f.dsc.toFixed(3)} (${f.count} images)` };
      }),
    ],
  }));
  return html`<p class="note">DSC of each finished unit: the mean over its fold's test images.</p>
    ${dataTable(columns, rows)}`;
}

/** The whole page (see the module doc). */
export async function renderAblationHtml(
  table: AblationTable,
  options: RenderAblationOptions = {},
): Promise<string> {
  const warn = (m: string): void => options.onWarning?.(m);
  const now = options.now ?? new Date();
  const sections: PageSection[] = [
    { id: 'ablation-table', title: 'Results', body: tableSection(table) },
    { id: 'boxplot', title: 'DSC per fold', body: await boxplotSection(table, warn) },
    { id: 'per-fold', title: 'Per-fold numbers', body: perFoldSection(table) },
  ];
  const subtitle =
    `${table.dataset}, ${table.folds}-fold cross-validation · ${table.units.finished} of ` +
    `${table.units.total} units finished` +
    (table.paper !== null ? ` · compared with the paper's ${table.paper.table}` : '');
  const versions = await plottingVersions();
  const footer = html`Generated ${now.toISOString().replace('T', ' ').slice(0, 19)}
  UTC${options.generator !== undefined ? ` by ${options.generator}` : ''}. Self-contained: plots are
  SVG (Vega-Lite ${versions.vegaLite} rendered by Vega ${versions.vega}); the page loads nothing
  from outside this file.`;
  return renderPage({
    title: `Ablation report: ${options.name ?? 'study'}`,
    subtitle,
    sections,
    footer,
    kind: 'ablation',
  });
}

/** Options of `writeAblationHtml`. */
export interface WriteAblationHtmlOptions extends Omit<RenderAblationOptions, 'name'> {
  /** The study folder (the page goes to DIR/report/ablation.html). Required. */
  studyDir: string;
  /** The merged table (`ablationReport(dir).table`). Required. */
  table: AblationTable;
}

/** Renders the page and writes `DIR/report/ablation.html` atomically; returns its path. */
export async function writeAblationHtml(options: WriteAblationHtmlOptions): Promise<string> {
  const dir = path.resolve(options.studyDir);
  const page = await renderAblationHtml(options.table, {
    name: path.basename(dir),
    ...(options.generator !== undefined ? { generator: options.generator } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
    ...(options.onWarning !== undefined ? { onWarning: options.onWarning } : {}),
  });
  const reportDir = path.join(dir, STUDY_REPORT_DIR);
  await mkdir(reportDir, { recursive: true });
  const file = path.join(reportDir, ABLATION_HTML_FILE);
  await writeFileAtomic(file, page, { sweep: true });
  return file;
}
