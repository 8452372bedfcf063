/**
 * What an evaluation writes and prints: the per-image CSV table, the summary object of
 * `summary.json` and the summary as a table for a terminal, each iterating over `METRICS`
 * (metrics/registry.ts) by aggregation: mean and population standard deviation of each
 * `'mean'` metric over the images; the `'defined'` (surface) metrics over the images where they
 * are defined, with their count; the `'thresholded'` ones (the ISIC 2018 thresholded Jaccard).
 * Pure.
 */
import * as v from 'valibot';
import { UserError } from '../errors.js';
import type { SegmentationMetrics } from '../metrics/evaluation.js';
import { summarizeMetrics } from '../metrics/aggregate.js';
import {
  DEFINED_METRIC_NAMES,
  formatMetric,
  METRICS,
  THRESHOLDED_METRIC_NAMES,
  type DefinedMetricName,
  type MetricName,
  type ThresholdedMetricName,
} from '../metrics/registry.js';
import {
  surfaceRecord,
  type DistanceUnit,
  type SurfaceOptions,
  type SurfaceRecord,
} from '../metrics/surface_policy.js';
import { formatPercent } from '../util/stats.js';
import type { ImageEvaluation } from './evaluate.js';
import { METRIC_NAMES } from './score.js';
import { formatQualitySummary, summarizeQuality, type QualitySummary } from './quality.js';
import { formatTable } from '../util/text_table.js';
import { csvDocument } from '../util/csv.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned, type FileFormat } from '../util/versioned.js';

/** summary.json's `format`. */
export const SUMMARY_FORMAT = 'ftunet-evaluation-summary';
/**
 * summary.json's version. 1: the summaries written before files carried `format` and
 * `version` (a summary without them is version 1); 2: the same fields, with `format` and
 * `version`, and the normalized surface Dice (`nsd`) among the surface metrics, which are
 * optional in both (absent: not computed). Version 2 gained later, as optional fields: the
 * surface metrics' policy and unit (`surface`, absent: skip, pixels), their `infinite` counts
 * and the plain-Jaccard ISIC score (`thresholdedJaccardPlain`); a reader takes an absent
 * `surface` as what every summary before it computed, so no migration step is needed.
 */
export const SUMMARY_VERSION = 2;

/** A mean and a population standard deviation. */
export interface MeanStd {
  mean: number;
  std: number;
}

/** Each metric's mean and std. */
export type MetricStats = Record<(typeof METRIC_NAMES)[number], MeanStd>;

/** The surface metrics (`'defined'` in `METRICS`), in the order tables and CSV files show them. */
export const SURFACE_METRIC_NAMES = DEFINED_METRIC_NAMES;

/**
 * A mean and std over the images where a metric is defined, and how many those are (the
 * others are left out). With count 0, mean and std are null (JSON has no NaN); likewise when
 * `infinite` of them are infinite (MONAI's ASSD of an image with one empty mask, under the
 * `nan` policy): the mean is then infinite, as MONAI's.
 */
export interface DefinedMeanStd {
  mean: number | null;
  std: number | null;
  count: number;
  /** How many of the `count` values are infinite; absent when none is. */
  infinite?: number;
}

/**
 * Mean, population std and count of the defined values: `null` and NaN entries are left out
 * (MONAI's `do_metric_reduction` averages the values that are not NaN); infinite ones are
 * counted in `infinite` and make the mean infinite (null here).
 */
export function summarizeDefined(values: readonly (number | null)[]): DefinedMeanStd {
  const defined = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  if (defined.length === 0) return { mean: null, std: null, count: 0 };
  const infinite = defined.filter((v) => !Number.isFinite(v)).length;
  if (infinite > 0) return { mean: null, std: null, count: defined.length, infinite };
  const { mean, std } = summarizeMetrics(defined.map((v) => ({ v })));
  return { mean: mean.v, std: std.v, count: defined.length };
}

/**
 * The `'defined'` metrics of `METRICS` (HD95, ASSD in pixels at the original size, ...) over the
 * images where both masks have a lesion (`count` of them). Absent in summaries written before
 * a metric existed.
 */
export type DefinedStats = Partial<Record<DefinedMetricName, DefinedMeanStd>>;

/**
 * The `'thresholded'` metrics of `METRICS` (`thresholdedJaccard`: the ISIC 2018 Task 1 score,
 * the mean over images of IoU, an IoU below 0.65 counting 0). Absent in older summaries.
 */
export type ThresholdedStats = Partial<Record<ThresholdedMetricName, number>>;

/** The content of `summary.json`. */
export interface EvaluationSummary extends MetricStats, DefinedStats, ThresholdedStats {
  /** `SUMMARY_FORMAT`; absent in version 1. */
  format?: typeof SUMMARY_FORMAT;
  /** `SUMMARY_VERSION`; absent in version 1. */
  version?: number;
  /** Number of images scored. */
  count: number;
  /** Lesion where p > threshold; null for masks scored as given (`evaluate --pred`). */
  threshold: number | null;
  /** The fold of the split whose test images were scored; null for all items of a data set. */
  fold: number | null;
  /** The network's name (from the model's metadata, else the tfjs model name). */
  model: string;
  /** Where the scores were computed: always the original size (`atInputSize` has the rest). */
  size: 'original';
  /** Lesion fraction of the image, ground truth and prediction, at the original size. */
  lesionArea: { truth: MeanStd; prediction: MeanStd };
  /**
   * Images whose predicted mask has no lesion pixel at the original size, and how many of
   * them have a lesion in the ground truth (see `EmptyMaskCounts`). Absent in summaries
   * written before this field existed.
   */
  emptyPredictions?: EmptyMaskCounts['emptyPredictions'];
  /** Images whose ground truth has no lesion pixel. Absent in older summaries. */
  emptyTruths?: EmptyMaskCounts['emptyTruths'];
  /** The same metrics at the input size [rows, cols], when asked for. */
  atInputSize?: MetricStats & { size: [number, number] };
  /**
   * The surface metrics' policy for empty masks, spacing and unit (metrics/surface_policy.ts),
   * with the surface metrics. Absent in older summaries: `skip`, in pixels.
   */
  surface?: SurfaceRecord;
  /**
   * Quality control (quality.ts): images checked, flagged, and the count per reason. Absent
   * in summaries written before it, and where masks were scored as given.
   */
  qc?: QualitySummary;
  /** Anything else the caller records (model folder, data set, ...). */
  [field: string]: unknown;
}

/** What a summary records besides the statistics. */
export interface SummaryContext {
  threshold: number | null;
  fold: number | null;
  model: string;
  /** The input size, needed when the rows hold input-size metrics. */
  inputSize?: readonly [number, number];
  /** What the rows' surface metrics were computed with. Default: skip, pixels. */
  surface?: SurfaceOptions;
  /** Extra fields copied into the summary (e.g. modelDir, dataset). */
  extra?: Record<string, unknown>;
}

/**
 * Empty masks among the scored images, at the original size. With smooth = 1 (the
 * reference's), an empty prediction on an image with a lesion of |G| pixels scores precision
 * (0 + 1) / (0 + 0 + 1) = 1, recall and DSC 1 / (|G| + 1): a model that misses lesions keeps a
 * high mean precision, which these counts make visible. An empty prediction on an empty ground
 * truth scores 1 on every metric.
 */
export interface EmptyMaskCounts {
  /**
   * `count`: images whose predicted mask has no lesion pixel; `ofLesionImages`: those of them
   * whose ground truth has a lesion (each scored precision 1).
   */
  emptyPredictions: { count: number; ofLesionImages: number };
  /** `count`: images whose ground truth has no lesion pixel. */
  emptyTruths: { count: number };
}

/** Counts the empty predicted and ground-truth masks of per-image results (by lesion area). */
export function countEmptyMasks(
  rows: readonly Pick<ImageEvaluation, 'truthArea' | 'predictedArea'>[],
): EmptyMaskCounts {
  let predictions = 0;
  let onLesions = 0;
  let truths = 0;
  for (const r of rows) {
    if (r.truthArea === 0) truths += 1;
    if (r.predictedArea === 0) {
      predictions += 1;
      if (r.truthArea > 0) onLesions += 1;
    }
  }
  return {
    emptyPredictions: { count: predictions, ofLesionImages: onLesions },
    emptyTruths: { count: truths },
  };
}

function stats(s: { mean: Record<string, number>; std: Record<string, number> }): MetricStats {
  const out = {} as MetricStats;
  for (const k of METRIC_NAMES) out[k] = { mean: s.mean[k], std: s.std[k] };
  return out;
}

function definedStats(rows: readonly ImageEvaluation[]): DefinedStats {
  const out: DefinedStats = {};
  for (const m of DEFINED_METRIC_NAMES) {
    out[m] = summarizeDefined(rows.map((r) => r.surface?.[m] ?? null));
  }
  return out;
}

function thresholdedStats(rows: readonly ImageEvaluation[]): ThresholdedStats {
  const out: ThresholdedStats = {};
  for (const m of THRESHOLDED_METRIC_NAMES) {
    const value = METRICS[m].fromImages(rows);
    if (value !== undefined) out[m] = value;
  }
  return out;
}

/** Summarises per-image results (mean and population std, see `summarizeMetrics`). */
export function summarizeEvaluation(
  rows: readonly ImageEvaluation[],
  context: SummaryContext,
): EvaluationSummary {
  if (rows.length === 0) throw new UserError('no results to summarize');
  const metrics = summarizeMetrics(rows.map((r) => r.metrics));
  const areas = summarizeMetrics(
    rows.map((r) => ({ truth: r.truthArea, prediction: r.predictedArea })),
  );
  const summary: EvaluationSummary = {
    format: SUMMARY_FORMAT,
    version: SUMMARY_VERSION,
    ...stats(metrics),
    count: rows.length,
    threshold: context.threshold,
    fold: context.fold,
    model: context.model,
    size: 'original',
    lesionArea: {
      truth: { mean: areas.mean.truth, std: areas.std.truth },
      prediction: { mean: areas.mean.prediction, std: areas.std.prediction },
    },
    // Rows made without surface distances (none has `surface`) leave them out.
    ...(rows.some((r) => r.surface !== undefined)
      ? { ...definedStats(rows), surface: surfaceRecord(context.surface) }
      : {}),
    ...thresholdedStats(rows),
    ...countEmptyMasks(rows),
    ...(rows.every((r) => r.qc !== undefined)
      ? { qc: summarizeQuality(rows.map((r) => r.qc!)) }
      : {}),
  };
  const withInput = rows.filter((r) => r.atInputSize !== undefined);
  if (withInput.length > 0) {
    if (withInput.length !== rows.length || context.inputSize === undefined) {
      throw new UserError('input-size metrics need every row to have them and an inputSize');
    }
    const atInput = summarizeMetrics(rows.map((r) => r.atInputSize as SegmentationMetrics));
    summary.atInputSize = {
      size: [context.inputSize[0], context.inputSize[1]],
      ...stats(atInput),
    };
  }
  // Extra fields come after the statistics and never replace them.
  for (const [key, value] of Object.entries(context.extra ?? {})) {
    if (!(key in summary)) summary[key] = value;
  }
  return summary;
}

const MEAN_STD = v.object(
  { mean: v.number('must be a number'), std: v.number('must be a number') },
  'must be {"mean": <number>, "std": <number>}',
);
const NUMBER_OR_NULL = v.nullable(v.number('must be a number or null'));
const DEFINED_MEAN_STD = v.object(
  {
    mean: NUMBER_OR_NULL,
    std: NUMBER_OR_NULL,
    count: v.number('must be a number'),
    infinite: v.optional(v.number('must be a number')),
  },
  'must be {"mean": <number or null>, "std": <number or null>, "count": <number>}',
);
const SURFACE_RECORD = v.object(
  {
    emptyDistance: v.pipe(
      v.string('must be skip, nan or penalty:N'),
      v.regex(/^(skip|nan|penalty:\S+)$/, 'must be skip, nan or penalty:N'),
    ),
    spacing: v.nullable(
      v.tuple(
        [v.number('must be a number'), v.number('must be a number')],
        'must be [<rows>, <cols>] in mm or null',
      ),
    ),
    unit: v.picklist(['px', 'mm'], 'must be "px" or "mm"'),
  },
  'must be {"emptyDistance": ..., "spacing": [<rows>, <cols>] or null, "unit": "px" or "mm"}',
);

/**
 * What readers of summary.json rely on (the run report, the study table); other fields are
 * kept as they are.
 */
const SUMMARY_SCHEMA = v.looseObject({
  ...(Object.fromEntries(METRIC_NAMES.map((m) => [m, MEAN_STD])) as Record<
    (typeof METRIC_NAMES)[number],
    typeof MEAN_STD
  >),
  count: v.number('must be a number'),
  threshold: v.nullable(
    v.pipe(
      v.number('must be a number from 0 to 1 or null'),
      v.minValue(0, 'must be a number from 0 to 1 or null'),
      v.maxValue(1, 'must be a number from 0 to 1 or null'),
    ),
  ),
  surface: v.optional(SURFACE_RECORD),
  // The other metrics of `METRICS`: written by evaluations since each exists; older ones lack them.
  ...(Object.fromEntries(
    SURFACE_METRIC_NAMES.map((m) => [m, v.optional(DEFINED_MEAN_STD)]),
  ) as Record<
    (typeof SURFACE_METRIC_NAMES)[number],
    v.OptionalSchema<typeof DEFINED_MEAN_STD, undefined>
  >),
  ...(Object.fromEntries(
    THRESHOLDED_METRIC_NAMES.map((m) => [m, v.optional(v.number('must be a number'))]),
  ) as Record<
    (typeof THRESHOLDED_METRIC_NAMES)[number],
    v.OptionalSchema<v.NumberSchema<'must be a number'>, undefined>
  >),
});

/** summary.json as a versioned file (see `SUMMARY_VERSION`). */
export const SUMMARY_FILE: FileFormat<EvaluationSummary> = defineFileFormat({
  format: SUMMARY_FORMAT,
  version: SUMMARY_VERSION,
  migrate: {
    // Version 1 is today's summary without `format` and `version`; the reader adds them.
    1: (old) => ({ ...old }),
  },
  parse: (value, source) => parseWith(SUMMARY_SCHEMA, value, source) as EvaluationSummary,
});

/**
 * A parsed summary.json of any version, checked and migrated to today's; `source` names the
 * file in messages. A summary without `format` and `version` is version 1.
 */
export function readEvaluationSummary(value: unknown, source: string): EvaluationSummary {
  const unversioned =
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !('format' in value) &&
    !('version' in value);
  return readVersioned(
    SUMMARY_FILE,
    unversioned ? { ...value, format: SUMMARY_FORMAT, version: 1 } : value,
    source,
  );
}

/**
 * A metric's column in metrics.csv: its `column`, with `_mm` after a distance's in mm (`hd95_mm`),
 * so that no reader takes millimetres for pixels.
 */
export function metricColumn(name: MetricName, unit: DistanceUnit = 'px'): string {
  const { column, unit: kind } = METRICS[name];
  return kind === 'px' && unit === 'mm' ? `${column}_mm` : column;
}

/** The quality-control columns of `metricsCsv` (quality.ts): verdict, score, reasons, signals. */
export const QC_COLUMNS = [
  'qc',
  'qc_score',
  'qc_reasons',
  'qc_input_distance',
  'qc_area_excess',
  'qc_entropy',
  'qc_flip_dsc',
] as const;

/**
 * The column names of `metricsCsv`; `unit` that of the surface distances (default 'px'); the
 * qc columns after the areas, with `quality`.
 */
export function metricsCsvHeader(
  inputSizeMetrics: boolean,
  unit: DistanceUnit = 'px',
  quality = false,
): string[] {
  return [
    'name',
    ...METRIC_NAMES.map((m) => METRICS[m].column),
    ...SURFACE_METRIC_NAMES.map((m) => metricColumn(m, unit)),
    'truth_area',
    'predicted_area',
    ...(quality ? QC_COLUMNS : []),
    ...(inputSizeMetrics ? METRIC_NAMES.map((m) => `${METRICS[m].column}_input_size`) : []),
  ];
}

/**
 * The per-image table as CSV: one header line, then one line per image in the order given.
 * Metrics and lesion fractions are written with every digit (JavaScript's shortest
 * round-trip form), so the file can be re-aggregated exactly. Columns: see
 * `metricsCsvHeader` (`unit`: the surface distances', default 'px'); the surface metrics are
 * empty where the image is left out of their mean (an empty mask under `skip`, MONAI's NaN
 * under `nan`) and `Infinity` where MONAI's value is infinite; the quality-control columns
 * (`qc` ok or check, the score, the reasons separated by spaces, the signals, empty where not
 * measured) and the input-size ones are there when every row has them.
 */
export function metricsCsv(rows: readonly ImageEvaluation[], unit: DistanceUnit = 'px'): string {
  const inputSize = rows.length > 0 && rows.every((r) => r.atInputSize !== undefined);
  const quality = rows.length > 0 && rows.every((r) => r.qc !== undefined);
  const cell = (v: number | undefined): number | null =>
    v === undefined || Number.isNaN(v) ? null : v;
  return csvDocument(
    metricsCsvHeader(inputSize, unit, quality),
    rows.map((r) => [
      r.name,
      ...METRIC_NAMES.map((m) => r.metrics[m]),
      ...SURFACE_METRIC_NAMES.map((m) => cell(r.surface?.[m])),
      r.truthArea,
      r.predictedArea,
      ...(quality
        ? [
            r.qc!.verdict,
            r.qc!.score,
            r.qc!.reasons.join(' '),
            r.qc!.signals.inputDistance,
            r.qc!.signals.areaExcess,
            r.qc!.signals.entropy,
            r.qc!.signals.flipDsc,
          ]
        : []),
      ...(inputSize ? METRIC_NAMES.map((m) => r.atInputSize![m]) : []),
    ]),
  );
}

/**
 * A metric's name in the terminal table: its label, a plain word in lower case as in prose
 * ('precision'), abbreviations as they are ('DSC', 'IoU'), then its unit ('HD95 px', or with
 * `distances` 'mm', 'HD95 mm').
 */
export function terminalLabel(name: MetricName, distances: DistanceUnit = 'px'): string {
  const { label, unit } = METRICS[name];
  const text = /^[A-Z][a-z]+$/.test(label) ? label.toLowerCase() : label;
  return unit === '' ? text : `${text} ${distances}`;
}

/**
 * What summary.json holds, for help texts: "DSC, precision, recall, TNR, IoU, HD95, ASSD, NSD;
 * the ISIC score" (the per-image metrics' mean and std, then the thresholded ones).
 */
export function describeSummaryMetrics(): string {
  const name = (m: MetricName): string => terminalLabel(m).replace(/ px$/, '');
  const perImage = [...METRIC_NAMES, ...SURFACE_METRIC_NAMES].map(name).join(', ');
  const scores = THRESHOLDED_METRIC_NAMES.map((m) => `the ${METRICS[m].label}`).join(', ');
  return scores === '' ? perImage : `${perImage}; ${scores}`;
}

/**
 * The summary as lines of text: a heading, one row per metric in the order of `METRICS`
 * grouped by aggregation (mean and std with the metric's detail decimals: 4 for ratios, 2 for
 * pixels; a second pair of columns with the input-size metrics when present), the lesion areas
 * and the empty masks (when the summary counts them).
 */
export function formatEvaluationSummary(s: EvaluationSummary): string[] {
  const what = s.fold === null ? `${s.count} images` : `${s.count} test images of fold ${s.fold}`;
  const how = s.threshold === null ? 'masks as given' : `threshold ${s.threshold}`;
  const heading = `${s.model}: ${what}, ${how}, scored at the original size`;
  const header = ['metric', 'mean', 'std'];
  if (s.atInputSize) header.push(`mean ${s.atInputSize.size.join('x')}`, 'std');
  const rows = METRIC_NAMES.map((m) => {
    const n = (v: number): string => formatMetric(m, v, true);
    const row = [terminalLabel(m), n(s[m].mean), n(s[m].std)];
    if (s.atInputSize) row.push(n(s.atInputSize[m].mean), n(s.atInputSize[m].std));
    return row;
  });
  for (const m of THRESHOLDED_METRIC_NAMES) {
    const v = s[m];
    if (v !== undefined) rows.push([terminalLabel(m), formatMetric(m, v, true), '']);
  }
  const unit = s.surface?.unit ?? 'px';
  for (const m of SURFACE_METRIC_NAMES) {
    const d = s[m];
    if (d === undefined) continue;
    // A mean over infinite values is infinite (its std undefined): summary.json holds null.
    const none = (d.infinite ?? 0) > 0 ? 'inf' : '-';
    const n = (v: number | null): string => (v === null ? none : formatMetric(m, v, true));
    const row = [terminalLabel(m, unit), n(d.mean), d.std === null ? '-' : n(d.std)];
    if (s.atInputSize) row.push('', '');
    rows.push(row);
  }
  const area = (a: MeanStd): string => `${formatPercent(a.mean)} ± ${formatPercent(a.std)}`;
  return [
    heading,
    ...formatTable(header, rows),
    ...formatSurfaceNote(s),
    `lesion area: ground truth ${area(s.lesionArea.truth)}, prediction ${area(s.lesionArea.prediction)}`,
    ...formatEmptyMasks(s),
    ...(s.qc !== undefined ? [formatQualitySummary(s.qc, 'the qc column of metrics.csv')] : []),
  ];
}

/**
 * "ISIC score: thresholded Jaccard (IoU < 0.65 counts 0); HD95, ASSD in pixels over the 39 of 41
 * images where both masks have a lesion", or nothing for an older summary: each thresholded
 * metric's description, then the surface metrics' unit and over which images they run under
 * the summary's policy for empty masks (`surface`; absent: skip, pixels).
 */
function formatSurfaceNote(s: EvaluationSummary): string[] {
  const parts: string[] = [];
  for (const m of THRESHOLDED_METRIC_NAMES) {
    const { label, description } = METRICS[m];
    if (s[m] !== undefined)
      parts.push(description === undefined ? label : `${label}: ${description}`);
  }
  const present = SURFACE_METRIC_NAMES.filter((m) => s[m] !== undefined);
  if (present.length > 0) parts.push(surfaceNote(s, present));
  return parts.length > 0 ? [parts.join('; ')] : [];
}

/** The surface metrics' part of `formatSurfaceNote`. */
function surfaceNote(
  s: EvaluationSummary,
  present: readonly (typeof SURFACE_METRIC_NAMES)[number][],
): string {
  const record = s.surface ?? surfaceRecord();
  const spacing = record.spacing;
  const where = spacing === null ? 'in pixels' : `in mm (a pixel ${spacing[0]} x ${spacing[1]} mm)`;
  const label = (m: MetricName): string => METRICS[m].label;
  const distances = present.filter((m) => METRICS[m].unit === 'px').map(label);
  const others = present.filter((m) => METRICS[m].unit !== 'px').map(label);
  const names = [
    ...(distances.length > 0 ? [`${distances.join(', ')} ${where}`] : []),
    ...(others.length > 0 ? [others.join(', ')] : []),
  ].join(' and ');
  const policy = record.emptyDistance;
  if (policy === 'skip') {
    return (
      `${names} over the ${s[present[0]]!.count} of ${s.count} images where both masks ` +
      'have a lesion'
    );
  }
  if (policy === 'nan') {
    const counts = present.map((m) => {
      const d = s[m]!;
      const inf = d.infinite ?? 0;
      return `${label(m)} over ${d.count}${inf > 0 ? ` (${inf} infinite)` : ''}`;
    });
    return (
      `${names} with MONAI's values for empty masks (NaN left out, inf kept): ` +
      `${counts.join(', ')} of ${s.count} images`
    );
  }
  const distance = Number(policy.slice('penalty:'.length));
  const values = (which: 'one' | 'both'): string =>
    present.map((m) => `${label(m)} ${METRICS[m].ifEmpty.penalty(distance)[which]}`).join(', ');
  return (
    `${names} over all ${s.count} images: one empty mask scores ${values('one')}, ` +
    `both empty ${values('both')}`
  );
}

/**
 * "empty predictions: 3 of 5 images (2 with a lesion in the ground truth, each scored
 * precision 1); empty ground truths: 2 of 5", or nothing for a summary without the counts.
 */
function formatEmptyMasks(s: EvaluationSummary): string[] {
  if (s.emptyPredictions === undefined || s.emptyTruths === undefined) return [];
  const { count, ofLesionImages } = s.emptyPredictions;
  const onLesions =
    ofLesionImages > 0
      ? ` (${ofLesionImages} with a lesion in the ground truth, ` +
        `${ofLesionImages === 1 ? 'scored' : 'each scored'} precision 1)`
      : '';
  return [
    `empty predictions: ${count} of ${s.count} images${onLesions}; ` +
      `empty ground truths: ${s.emptyTruths.count} of ${s.count}`,
  ];
}
