/**
 * The merged table of an ablation study, as the paper reports it (Tables 1-2): per variant,
 * DSC, precision and recall as mean ± standard deviation over folds, where each fold
 * contributes its mean over its test images (its `eval/summary.json`). The standard deviation
 * is the population one (divides by the number of folds, numpy's default), so one finished
 * fold shows ± 0.000. Unfinished units are left out of the statistics and listed as missing.
 *
 * Beyond the paper's columns, a table may show the metrics of `METRICS` (metrics/registry.ts)
 * marked `ablation: 'optional'`: HD95 and ASSD (each fold's mean over the test images where
 * they are defined), the ISIC thresholded Jaccard, ..., as mean ± std over the folds that have
 * them (summaries written before they existed do not): `metrics` chooses the columns, the
 * paper's three by default.
 *
 * Renderings: Markdown (with the paper's published numbers as extra columns when the study's
 * data set is one the paper used), CSV (our numbers, every digit) and the table object itself
 * as JSON (with the paper's numbers beside ours, and every metric whatever the columns).
 *
 * Pure.
 */
import type { DatasetSourceKind } from '../data/dataset.js';
import type { MeanStd } from '../eval/evaluation_summary.js';
import { UserError } from '../errors.js';
import {
  ALL_METRIC_NAMES,
  METRICS,
  type MetricName,
  type MetricNamesWhere,
} from '../metrics/registry.js';
import { csvDocument } from '../util/csv.js';
import { summaryStats } from '../util/stats.js';
import { paperTableFor, type PaperRow, type PaperValue } from './paper.js';
import { listUnits, unitName, type AblationUnit } from './units.js';
import type { DistanceUnit } from '../metrics/surface_policy.js';
import {
  ABLATION_VARIANT_IDS,
  ablationVariant,
  type AblationVariantId,
  type PaperVariantId,
} from './variants.js';

/** The metrics of the paper's tables (DSC, precision, recall): the default columns. */
export type AblationMetric = MetricNamesWhere<{ ablation: 'paper' }>;
/** Metrics a table may add to the paper's (surface distances, the ISIC 2018 score, ...). */
export type ExtraTableMetric = MetricNamesWhere<{ ablation: 'optional' }>;
/** Every metric a table can show as a column. */
export type TableMetric = AblationMetric | ExtraTableMetric;

/** The paper's metrics in its column order (`ablation: 'paper'` in `METRICS`). */
export const ABLATION_METRICS = ALL_METRIC_NAMES.filter(
  (m) => METRICS[m].ablation === 'paper',
) as readonly AblationMetric[];

/** The metrics a table may add, from each unit's summary.json (`ablation: 'optional'`). */
export const EXTRA_TABLE_METRICS = ALL_METRIC_NAMES.filter(
  (m) => METRICS[m].ablation === 'optional',
) as readonly ExtraTableMetric[];

/** Every metric a table can show, in the order of `METRICS`. */
export const TABLE_METRICS: readonly TableMetric[] = [...ABLATION_METRICS, ...EXTRA_TABLE_METRICS];

const tableMetricRecord = <V>(f: (m: MetricName) => V): Record<TableMetric, V> =>
  Object.fromEntries(TABLE_METRICS.map((m) => [m, f(m)])) as Record<TableMetric, V>;

/** Column labels of the tables (Markdown and HTML): the label, then the unit ('HD95 (px)'). */
export const TABLE_METRIC_LABELS: Record<TableMetric, string> = tableMetricRecord((m) => {
  const { label, unit } = METRICS[m];
  return unit === '' ? label : `${label} (${unit})`;
});

/** A column's label in `table`: 'HD95 (mm)' where its units measured distances in mm. */
export function tableMetricLabel(
  table: Pick<AblationTable, 'distanceUnit'>,
  m: TableMetric,
): string {
  const { label, unit } = METRICS[m];
  return unit !== '' && table.distanceUnit === 'mm' ? `${label} (mm)` : TABLE_METRIC_LABELS[m];
}

/** A metric's name on the command line and in CSV headers (its column). */
export const TABLE_METRIC_NAMES: Record<TableMetric, string> = tableMetricRecord(
  (m) => METRICS[m].column,
);

function isExtra(m: TableMetric): m is ExtraTableMetric {
  return (EXTRA_TABLE_METRICS as readonly string[]).includes(m);
}

/**
 * Parses a list of table metrics, e.g. "dsc,precision,recall,hd95,assd", in the order given
 * (case, '-' and '_' ignored: thresholded-jaccard names thresholdedJaccard). Throws a
 * `UserError` naming `flag` for an unknown, repeated or missing name.
 */
export function parseTableMetrics(text: string, flag = '--metrics'): TableMetric[] {
  const key = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');
  const names = text.split(',').map((t) => t.trim());
  const allowed = TABLE_METRICS.map((m) => TABLE_METRIC_NAMES[m].replace(/_/g, '-'));
  const out: TableMetric[] = [];
  for (const name of names) {
    const m = TABLE_METRICS.find((x) => key(x) === key(name));
    if (m === undefined) {
      throw new UserError(
        `${flag}: unknown metric '${name}'; expected a comma-separated list of ${allowed.join(', ')}`,
      );
    }
    if (out.includes(m)) throw new UserError(`${flag}: '${name}' is given twice`);
    out.push(m);
  }
  return out;
}

/**
 * One finished unit: its fold's means over the test images of the paper's metrics and, where
 * its summary has them, of the others (HD95 and ASSD: the fold's means over the images where
 * they are defined, null when no image has them; the ISIC score), then `count`.
 */
export type FoldResult = { fold: number } & Record<AblationMetric, number> &
  Partial<Record<ExtraTableMetric, number | null>> & {
    /** Test images scored. */
    count: number;
    /**
     * How its surface metrics were computed ('skip, pixels', 'penalty:100, 0.1x0.1 mm'), from
     * its summary's `surface`; absent for a unit without surface metrics.
     */
    surface?: string;
    /** The unit of its surface distances (its summary's `surface.unit`), with `surface`. */
    distanceUnit?: DistanceUnit;
  };

/**
 * A mean and population std over the finished folds that have a metric (HD95, ASSD and the
 * ISIC score may be missing from some), and how many those are.
 */
export interface FoldsMeanStd extends MeanStd {
  folds: number;
}

/** One row of the merged table. */
export interface AblationRow extends AblationRowStats {
  variant: AblationVariantId;
  label: string;
  model: string;
  loss: string;
  /** Whether the row is one of the paper's seven (the others are a study's extra rows). */
  paperRow: boolean;
  folds: { done: number; total: number };
  /** The finished folds, in fold order. */
  perFold: FoldResult[];
  /** The paper's published numbers for this row, when the data set is one it used. */
  paper?: PaperRow;
}

/**
 * Each metric of a row: the paper's as mean and population std over the finished folds (null
 * when none is finished), the others over the finished folds that have them (null when none
 * has).
 */
export type AblationRowStats = Record<AblationMetric, MeanStd | null> &
  Record<ExtraTableMetric, FoldsMeanStd | null>;

/** The merged table (this object is `ablation.json`). */
export interface AblationTable {
  format: 'ftunet-ablation-report';
  version: 1;
  dataset: DatasetSourceKind;
  folds: number;
  /** The metrics shown as columns (Markdown, CSV, HTML), in order. */
  metrics: TableMetric[];
  /** 'mm' when the units' distances are in mm (`ablation --spacing`); absent: pixels. */
  distanceUnit?: 'mm';
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
  /** The study's rows. Default: the paper's seven. */
  variants?: readonly AblationVariantId[];
  /** The finished units' results; undefined for an unfinished unit. */
  result: (unit: AblationUnit) => FoldResult | undefined;
  /** The columns. Default: the paper's, `ABLATION_METRICS`. */
  metrics?: readonly TableMetric[];
  /** The unit of the units' surface distances. Default 'px'. */
  distanceUnit?: DistanceUnit;
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
  const variants = (input.variants ?? ABLATION_VARIANT_IDS).map((id) => ablationVariant(id));
  const rows = variants.map((v): AblationRow => {
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
    const extra = (m: ExtraTableMetric): FoldsMeanStd | null => {
      const values = perFold.map((f) => f[m]).filter((v): v is number => typeof v === 'number');
      if (values.length === 0) return null;
      const s = summaryStats(values);
      return { mean: s.mean, std: s.std, folds: values.length };
    };
    const stats = {} as AblationRowStats;
    for (const m of ABLATION_METRICS) stats[m] = stat(m);
    for (const m of EXTRA_TABLE_METRICS) stats[m] = extra(m);
    return {
      variant: v.id,
      label: v.label,
      model: v.model,
      loss: v.loss,
      paperRow: v.paper,
      folds: { done: perFold.length, total: input.folds },
      perFold,
      ...stats,
      ...(published !== undefined && v.paper
        ? { paper: published.table.rows[v.id as PaperVariantId] }
        : {}),
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
    metrics: [...(input.metrics ?? ABLATION_METRICS)],
    ...(input.distanceUnit === 'mm' ? { distanceUnit: 'mm' as const } : {}),
    statistic: ABLATION_STATISTIC,
    units: { total: variants.length * input.folds, finished },
    rows,
    missing,
    paper,
  };
}

/** The mark of a row beyond the paper's seven, and the note that explains it. */
export const EXTRA_ROW_MARK = '†';
export const EXTRA_ROW_NOTE =
  `${EXTRA_ROW_MARK} Not a row of the paper: a variant of its row trained with ` +
  "augmentation or another learning-rate schedule. The other rows are the paper's.";

/** "0.804 ± 0.024" (3 decimals, as the paper), or "—" for no value. */
export function formatMeanStd(value: MeanStd | null): string {
  return value === null ? '—' : `${value.mean.toFixed(3)} ± ${value.std.toFixed(3)}`;
}

/**
 * A row's cell for `metric`: mean ± std with the metric's decimals ("0.804 ± 0.024",
 * "12.31 ± 1.05"), "—" for none, and "(2 of 3 folds)" after it when fewer of the row's finished
 * folds have it.
 */
export function formatTableCell(row: AblationRow, metric: TableMetric): string {
  const v = row[metric];
  if (v === null) return '—';
  const d = METRICS[metric].decimals;
  const text = `${v.mean.toFixed(d)} ± ${v.std.toFixed(d)}`;
  return 'folds' in v && v.folds < row.folds.done
    ? `${text} (${v.folds} of ${row.folds.done} folds)`
    : text;
}

function formatPaper(value: PaperValue): string {
  return value.std === undefined
    ? value.mean.toFixed(3)
    : `${value.mean.toFixed(3)} ± ${value.std.toFixed(3)}`;
}

/** The table as Markdown: a title, how the numbers are made, the table and the missing units. */
export function ablationMarkdown(table: AblationTable): string {
  const paper = table.paper;
  const header = [
    'Variant',
    'ID',
    ...table.metrics.map((m) => tableMetricLabel(table, m)),
    'Folds',
  ];
  const align = [':--', ':--', ...table.metrics.map(() => '--:'), '--:'];
  if (paper !== null) {
    header.push(...ABLATION_METRICS.map((m) => `Paper ${TABLE_METRIC_LABELS[m]}`));
    align.push(...ABLATION_METRICS.map(() => '--:'));
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
  const extra = table.rows.some((r) => !r.paperRow);
  for (const r of table.rows) {
    const cells = [
      r.paperRow ? r.label : `${r.label} ${EXTRA_ROW_MARK}`,
      `\`${r.variant}\``,
      ...table.metrics.map((m) => formatTableCell(r, m)),
      `${r.folds.done}/${r.folds.total}`,
    ];
    if (r.paper !== undefined) cells.push(...ABLATION_METRICS.map((m) => formatPaper(r.paper![m])));
    lines.push(`| ${cells.join(' | ')} |`);
  }
  if (extra) lines.push('', EXTRA_ROW_NOTE);
  lines.push(
    '',
    table.missing.length === 0
      ? 'Missing units: none.'
      : `Missing units (${table.missing.length}): ${table.missing.join(', ')}.`,
  );
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

/** The column names of `ablationCsv` for the table's metrics (`_folds`: folds that have it). */
export function ablationCsvHeader(metrics: readonly TableMetric[] = ABLATION_METRICS): string[] {
  return [
    'variant',
    'label',
    'model',
    'loss',
    'folds_done',
    'folds_total',
    ...metrics.flatMap((m) => {
      const name = TABLE_METRIC_NAMES[m];
      const columns = [`${name}_mean`, `${name}_std`];
      return isExtra(m) ? [...columns, `${name}_folds`] : columns;
    }),
  ];
}

/** The column names of `ablationCsv` for the paper's metrics (the default). */
export const ABLATION_CSV_HEADER = ablationCsvHeader();

/**
 * The table as CSV: one header line, then one line per variant with our numbers written with
 * every digit (empty cells where no fold has a value), a column pair per metric of the table
 * (HD95, ASSD and the ISIC score with the number of folds that have them).
 */
export function ablationCsv(table: AblationTable): string {
  return csvDocument(
    ablationCsvHeader(table.metrics),
    table.rows.map((r) => [
      r.variant,
      r.label,
      r.model,
      r.loss,
      r.folds.done,
      r.folds.total,
      ...table.metrics.flatMap((m) => {
        const v = r[m];
        const cells = [v?.mean, v?.std];
        return isExtra(m) ? [...cells, r[m]?.folds ?? 0] : cells;
      }),
    ]),
  );
}
