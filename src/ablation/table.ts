/**
 * The merged table of an ablation study, as the paper reports it (Tables 1-2): per variant,
 * DSC, precision and recall as mean ± standard deviation over folds, where each fold
 * contributes its mean over its test images (its `eval/summary.json`). The standard deviation
 * is the population one (divides by the number of folds, numpy's default), so one finished
 * fold shows ± 0.000. Unfinished units are left out of the statistics and listed as missing.
 *
 * Renderings: Markdown (with the paper's published numbers as extra columns when the study's
 * data set is one the paper used), CSV (our numbers, every digit) and the table object itself
 * as JSON (with the paper's numbers beside ours).
 *
 * Pure.
 */
import type { DatasetSourceKind } from '../data/dataset.js';
import type { MeanStd } from '../eval/evaluation_summary.js';
import { csvDocument } from '../util/csv.js';
import { summaryStats } from '../util/stats.js';
import { paperTableFor, type PaperRow, type PaperValue } from './paper.js';
import { listUnits, unitName, type AblationUnit } from './units.js';
import { ABLATION_VARIANTS, type AblationVariantId } from './variants.js';

/** The metrics of the paper's tables, in its column order. */
export const ABLATION_METRICS = ['dsc', 'precision', 'recall'] as const;
export type AblationMetric = (typeof ABLATION_METRICS)[number];

const METRIC_LABELS: Record<AblationMetric, string> = {
  dsc: 'DSC',
  precision: 'Precision',
  recall: 'Recall',
};

/** One finished unit: its fold's means over the test images. */
export interface FoldResult {
  fold: number;
  dsc: number;
  precision: number;
  recall: number;
  /** Test images scored. */
  count: number;
}

/** One row of the merged table. */
export interface AblationRow {
  variant: AblationVariantId;
  label: string;
  model: string;
  loss: string;
  folds: { done: number; total: number };
  /** The finished folds, in fold order. */
  perFold: FoldResult[];
  /** Mean and population std over the finished folds; null when none is finished. */
  dsc: MeanStd | null;
  precision: MeanStd | null;
  recall: MeanStd | null;
  /** The paper's published numbers for this row, when the data set is one it used. */
  paper?: PaperRow;
}

/** The merged table (this object is `ablation.json`). */
export interface AblationTable {
  format: 'ftunet-ablation-report';
  version: 1;
  dataset: DatasetSourceKind;
  folds: number;
  /** How the numbers are made, in words. */
  statistic: string;
  units: { total: number; finished: number };
  rows: AblationRow[];
  /** Unfinished units, as "variant/fold-k", in study order. */
  missing: string[];
  /** Where the paper's columns come from; null when the data set is not one the paper used. */
  paper: {
    source: string;
    table: string;
    dataset: string;
    testImages: number;
    /** True when the study ran on synthetic data: the published numbers are not a target. */
    forReferenceOnly: boolean;
    note: string;
  } | null;
}

/** What `buildAblationTable` needs. */
export interface AblationTableInput {
  dataset: DatasetSourceKind;
  folds: number;
  /** The finished units' results; undefined for an unfinished unit. */
  result: (unit: AblationUnit) => FoldResult | undefined;
}

export const ABLATION_STATISTIC =
  "mean ± standard deviation over folds of each fold's mean over its test images " +
  '(population std, dividing by the number of finished folds)';

const PAPER_SOURCE = 'Abraham & Khan, ISBI 2019 (arXiv 1810.07842), 5-fold cross-validation';

/** Builds the merged table from the finished units' results. */
export function buildAblationTable(input: AblationTableInput): AblationTable {
  const published = paperTableFor(input.dataset);
  const missing: string[] = [];
  let finished = 0;
  const rows = ABLATION_VARIANTS.map((v): AblationRow => {
    const perFold: FoldResult[] = [];
    for (const unit of listUnits(input.folds, [v.id])) {
      const r = input.result(unit);
      if (r === undefined) missing.push(unitName(unit));
      else perFold.push(r);
    }
    finished += perFold.length;
    const stat = (m: AblationMetric): MeanStd | null => {
      if (perFold.length === 0) return null;
      const s = summaryStats(perFold.map((f) => f[m]));
      return { mean: s.mean, std: s.std };
    };
    return {
      variant: v.id,
      label: v.label,
      model: v.model,
      loss: v.loss,
      folds: { done: perFold.length, total: input.folds },
      perFold,
      dsc: stat('dsc'),
      precision: stat('precision'),
      recall: stat('recall'),
      ...(published !== undefined ? { paper: published.table.rows[v.id] } : {}),
    };
  });
  let paper: AblationTable['paper'] = null;
  if (published !== undefined) {
    const t = published.table;
    paper = {
      source: PAPER_SOURCE,
      table: t.table,
      dataset: t.dataset,
      testImages: t.testImages,
      forReferenceOnly: published.synthetic,
      note: published.synthetic
        ? `The paper's numbers are for ${t.dataset}; this study ran on synthetic data, ` +
          'so they are shown for reference only, not as a target.'
        : `The paper's numbers for ${t.dataset}; only the proposed row has a published std.`,
    };
  }
  return {
    format: 'ftunet-ablation-report',
    version: 1,
    dataset: input.dataset,
    folds: input.folds,
    statistic: ABLATION_STATISTIC,
    units: { total: ABLATION_VARIANTS.length * input.folds, finished },
    rows,
    missing,
    paper,
  };
}

/** "0.804 ± 0.024" (3 decimals, as the paper), or "—" for no value. */
export function formatMeanStd(value: MeanStd | null): string {
  return value === null ? '—' : `${value.mean.toFixed(3)} ± ${value.std.toFixed(3)}`;
}

function formatPaper(value: PaperValue): string {
  return value.std === undefined
    ? value.mean.toFixed(3)
    : `${value.mean.toFixed(3)} ± ${value.std.toFixed(3)}`;
}

/** The table as Markdown: a title, how the numbers are made, the table and the missing units. */
export function ablationMarkdown(table: AblationTable): string {
  const paper = table.paper;
  const header = ['Variant', 'ID', ...ABLATION_METRICS.map((m) => METRIC_LABELS[m]), 'Folds'];
  const align = [':--', ':--', '--:', '--:', '--:', '--:'];
  if (paper !== null) {
    header.push(...ABLATION_METRICS.map((m) => `Paper ${METRIC_LABELS[m]}`));
    align.push('--:', '--:', '--:');
  }
  const lines = [
    `## Ablation: ${table.dataset}, ${table.folds}-fold cross-validation`,
    '',
    `Ours: ${table.statistic}. ${table.units.finished} of ${table.units.total} units finished.`,
  ];
  if (paper !== null) {
    lines.push(
      '',
      `Paper columns: ${paper.source}, ${paper.table} (${paper.dataset}, ${paper.testImages} ` +
        'test images per fold); only the proposed row has a published std (DSC). ' +
        (paper.forReferenceOnly
          ? "This study ran on synthetic data: the paper's numbers are for reference only, " +
            'not a target.'
          : ''),
    );
  }
  lines.push('', `| ${header.join(' | ')} |`, `|${align.join('|')}|`);
  for (const r of table.rows) {
    const cells = [
      r.label,
      `\`${r.variant}\``,
      ...ABLATION_METRICS.map((m) => formatMeanStd(r[m])),
      `${r.folds.done}/${r.folds.total}`,
    ];
    if (r.paper !== undefined) cells.push(...ABLATION_METRICS.map((m) => formatPaper(r.paper![m])));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push(
    '',
    table.missing.length === 0
      ? 'Missing units: none.'
      : `Missing units (${table.missing.length}): ${table.missing.join(', ')}.`,
  );
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

/** The column names of `ablationCsv`. */
export const ABLATION_CSV_HEADER = [
  'variant',
  'label',
  'model',
  'loss',
  'folds_done',
  'folds_total',
  ...ABLATION_METRICS.flatMap((m) => [`${m}_mean`, `${m}_std`]),
];

/**
 * The table as CSV: one header line, then one line per variant with our numbers written with
 * every digit (empty cells where no fold is finished).
 */
export function ablationCsv(table: AblationTable): string {
  return csvDocument(
    ABLATION_CSV_HEADER,
    table.rows.map((r) => [
      r.variant,
      r.label,
      r.model,
      r.loss,
      r.folds.done,
      r.folds.total,
      ...ABLATION_METRICS.flatMap((m) => [r[m]?.mean, r[m]?.std]),
    ]),
  );
}
