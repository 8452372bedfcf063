/**
 * `METRICS`: every evaluation metric, as one record from its name (the key of summary.json) to
 * what the rest of the program needs: how an image's value is found, its label, unit,
 * decimals, CSV column, aggregation over images and direction. The terminal table, metrics.csv,
 * summary.json, the run report and the ablation table iterate over it in its order; none lists
 * metrics by hand (MONAI's metric classes with one `aggregate`; tfjs-layers' `lossesMap`).
 *
 * Aggregations over the images of an evaluation:
 * - `'mean'`: mean and population std over every image (`{mean, std}` in summary.json);
 * - `'defined'`: the same over the images where the metric is defined, with their count
 *   (`{mean, std, count}`; a surface metric is undefined where the prediction or the ground
 *   truth is empty);
 * - `'thresholded'`: one number from every image's hard metrics (the ISIC 2018 score).
 *
 * To add a metric: its function (beside the others in this folder), its entry here, a test.
 *
 * Pure (no tensors, no Node-only API).
 */
import type { SegmentationMetrics } from './evaluation.js';
import {
  assdFromDistances,
  hd95FromDistances,
  surfaceDistances,
  type SurfaceDistances,
} from './surface_distance.js';
import { surfaceDiceFromDistances, SURFACE_DICE_TOLERANCE } from './surface_dice.js';
import { ISIC_JACCARD_THRESHOLD, thresholdedJaccard } from './thresholded_jaccard.js';
import type { BinaryMask } from '../util/raster.js';

/** How a metric's values over images become the evaluation's number (see the module doc). */
export type Aggregation = 'mean' | 'defined' | 'thresholded';

/** Whether a higher or a lower value is better. */
export type Direction = 'higher' | 'lower';

/** What every metric records. */
interface MetricBase {
  /** Its name in tables and reports ('DSC', 'HD95'). */
  label: string;
  /** '' for a ratio, 'px' for a distance in pixels at the original size. */
  unit: '' | 'px';
  /** Decimals in summaries (reports, the ablation table): 3 for ratios, as the paper. */
  decimals: number;
  /** Decimals where each image's value or the terminal's summary is shown (4 for ratios). */
  detailDecimals: number;
  /** Its column in CSV files (metrics.csv, ablation.csv) and its name on the command line. */
  column: string;
  direction: Direction;
  /**
   * Its place in the ablation table: `'paper'` a column of the paper's tables (shown by default,
   * required in each unit's summary), `'optional'` a column on request (absent from summaries
   * written before it existed); absent: not a column of the study table.
   */
  ablation?: 'paper' | 'optional';
  /** What it is, in a few words, for notes below tables; absent where the label says it. */
  description?: string;
  /** Who defined it, where the label does not say (the ablation page's note). */
  source?: string;
}

/** A metric of each image's confusion counts (see metrics/evaluation.ts). */
export interface MeanMetric extends MetricBase {
  aggregation: 'mean';
  /** The image's value from its hard metrics. */
  value: (metrics: SegmentationMetrics) => number;
}

/** A metric of the distances between the two masks' edges, undefined for an empty mask. */
export interface DefinedMetric extends MetricBase {
  aggregation: 'defined';
  /** The image's value from the distances of both masks' edge pixels (none empty). */
  fromDistances: (distances: SurfaceDistances) => number;
}

/** One number from the hard metrics of every image. */
export interface ThresholdedMetric extends MetricBase {
  aggregation: 'thresholded';
  fromImages: (metrics: readonly SegmentationMetrics[]) => number;
}

export type MetricDefinition = MeanMetric | DefinedMetric | ThresholdedMetric;

const DEFINITIONS = {
  dsc: {
    label: 'DSC',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'dsc',
    direction: 'higher',
    ablation: 'paper',
    aggregation: 'mean',
    value: (m) => m.dsc,
  },
  precision: {
    label: 'Precision',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'precision',
    direction: 'higher',
    ablation: 'paper',
    aggregation: 'mean',
    value: (m) => m.precision,
  },
  recall: {
    label: 'Recall',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'recall',
    direction: 'higher',
    ablation: 'paper',
    aggregation: 'mean',
    value: (m) => m.recall,
  },
  tnr: {
    label: 'TNR',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'tnr',
    direction: 'higher',
    aggregation: 'mean',
    value: (m) => m.tnr,
  },
  iou: {
    label: 'IoU',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'iou',
    direction: 'higher',
    aggregation: 'mean',
    value: (m) => m.iou,
  },
  hd95: {
    label: 'HD95',
    unit: 'px',
    decimals: 2,
    detailDecimals: 2,
    column: 'hd95',
    direction: 'lower',
    ablation: 'optional',
    description:
      "the larger directed 95th percentile of the distances between the two masks' edges",
    aggregation: 'defined',
    fromDistances: hd95FromDistances,
  },
  assd: {
    label: 'ASSD',
    unit: 'px',
    decimals: 2,
    detailDecimals: 2,
    column: 'assd',
    direction: 'lower',
    ablation: 'optional',
    description: 'their mean',
    aggregation: 'defined',
    fromDistances: assdFromDistances,
  },
  nsd: {
    label: 'NSD',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'nsd',
    direction: 'higher',
    ablation: 'optional',
    description: `normalized surface Dice: the share of edge pixels within ${SURFACE_DICE_TOLERANCE} px of the other mask's edge`,
    aggregation: 'defined',
    fromDistances: (d) => surfaceDiceFromDistances(d),
  },
  thresholdedJaccard: {
    label: 'ISIC score',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'thresholded_jaccard',
    direction: 'higher',
    ablation: 'optional',
    description: `thresholded Jaccard (IoU < ${ISIC_JACCARD_THRESHOLD} counts 0)`,
    source: 'ISIC 2018',
    aggregation: 'thresholded',
    fromImages: (metrics) => thresholdedJaccard(metrics.map((m) => m.iou)),
  },
} as const satisfies Record<string, MetricDefinition>;

/** A metric's name: its key in `METRICS` and in summary.json. */
export type MetricName = keyof typeof DEFINITIONS;

type Aggregated<K extends MetricName> = Extract<
  MetricDefinition,
  { aggregation: (typeof DEFINITIONS)[K]['aggregation'] }
>;

/** Every evaluation metric, in the order tables, CSV files and summary.json show them. */
export const METRICS: { readonly [K in MetricName]: Aggregated<K> } = DEFINITIONS;

type NamesOf<A extends Aggregation> = {
  [K in MetricName]: (typeof DEFINITIONS)[K]['aggregation'] extends A ? K : never;
}[MetricName];

/** The metrics averaged over every image (the hard metrics of metrics/evaluation.ts). */
export type MeanMetricName = NamesOf<'mean'>;
/** The metrics averaged over the images where they are defined (the surface metrics). */
export type DefinedMetricName = NamesOf<'defined'>;
/** The metrics computed from every image at once. */
export type ThresholdedMetricName = NamesOf<'thresholded'>;

/** The names of the metrics whose definitions have the fields of `P`, e.g. `{ ablation: 'paper' }`. */
export type MetricNamesWhere<P> = {
  [K in MetricName]: (typeof DEFINITIONS)[K] extends P ? K : never;
}[MetricName];

/** Every metric's name, in order. */
export const ALL_METRIC_NAMES = Object.keys(METRICS) as MetricName[];

const namesOf = <A extends Aggregation>(a: A): NamesOf<A>[] =>
  ALL_METRIC_NAMES.filter((k) => METRICS[k].aggregation === a) as NamesOf<A>[];

/** The `'mean'` metrics, in order. */
export const MEAN_METRIC_NAMES: readonly MeanMetricName[] = namesOf('mean');
/** The `'defined'` metrics, in order. */
export const DEFINED_METRIC_NAMES: readonly DefinedMetricName[] = namesOf('defined');
/** The `'thresholded'` metrics, in order. */
export const THRESHOLDED_METRIC_NAMES: readonly ThresholdedMetricName[] = namesOf('thresholded');

/** A metric's definition. */
export function metric(name: MetricName): MetricDefinition {
  return METRICS[name];
}

/** An image's surface metrics (each `'defined'` metric), in pixels or as ratios. */
export type SurfaceScores = Record<DefinedMetricName, number>;

/**
 * Every `'defined'` metric of one image (see metrics/surface_distance.ts for the edges and
 * distances), or null when the prediction or the ground truth is empty.
 */
export function surfaceScores(truth: BinaryMask, prediction: BinaryMask): SurfaceScores | null {
  const d = surfaceDistances(truth, prediction);
  if (d === undefined) return null;
  const out = {} as SurfaceScores;
  for (const k of DEFINED_METRIC_NAMES) out[k] = METRICS[k].fromDistances(d);
  return out;
}

/** A value with a metric's decimals: `detail` for per-image and terminal values. */
export function formatMetric(name: MetricName, value: number, detail = false): string {
  const m = METRICS[name];
  return value.toFixed(detail ? m.detailDecimals : m.decimals);
}
