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
 *   truth is empty, and the evaluation's policy says what such an image scores:
 *   metrics/surface_policy.ts);
 * - `'thresholded'`: one number from every image's hard metrics (the ISIC 2018 score).
 *
 * To add a metric: its function (beside the others in this folder), its entry here, a test.
 *
 * Pure (no tensors, no Node-only API).
 */
import type { ConfusionCounts, SegmentationMetrics } from './evaluation.js';
import {
  assdFromDistances,
  hd95FromDistances,
  surfaceDistances,
  type SurfaceDistances,
} from './surface_distance.js';
import {
  surfaceDiceFromDistances,
  surfaceDiceTolerance,
  SURFACE_DICE_TOLERANCE,
} from './surface_dice.js';
import {
  DEFAULT_EMPTY_DISTANCE,
  EMPTY_DISTANCE_KINDS,
  type PixelSpacing,
  type SurfaceOptions,
} from './surface_policy.js';
import { ISIC_JACCARD_THRESHOLD, plainJaccard, thresholdedJaccard } from './thresholded_jaccard.js';
import type { BinaryMask } from '../util/raster.js';
import { UserError } from '../errors.js';

/** How a metric's values over images become the evaluation's number (see the module doc). */
export type Aggregation = 'mean' | 'defined' | 'thresholded';

/** Whether a higher or a lower value is better. */
export type Direction = 'higher' | 'lower';

/** What every metric records. */
interface MetricBase {
  /** Its name in tables and reports ('DSC', 'HD95'). */
  label: string;
  /**
   * '' for a ratio, 'px' for a distance at the original size: in pixels, or in mm when the
   * evaluation has a pixel spacing (summary.json's `surface.unit`; `distanceUnit`).
   */
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

/** What an image where a mask is empty scores: exactly one empty, both empty. */
export interface EmptyMaskValues {
  one: number;
  both: number;
}

/** A metric of the distances between the two masks' edges, undefined for an empty mask. */
export interface DefinedMetric extends MetricBase {
  aggregation: 'defined';
  /**
   * The image's value from the distances of both masks' edge pixels (none empty), in pixels,
   * or in mm with the pixel `spacing` the distances were measured with.
   */
  fromDistances: (distances: SurfaceDistances, spacing?: PixelSpacing) => number;
  /**
   * Its value where a mask is empty under the policies that score such images
   * (metrics/surface_policy.ts): `nan` MONAI's, `penalty` from the penalty distance.
   */
  ifEmpty: { nan: EmptyMaskValues; penalty: (distance: number) => EmptyMaskValues };
}

/** What a thresholded metric reads of each image. */
export interface ImageHardScores {
  metrics: SegmentationMetrics;
  /** Absent in rows made without them (then a metric that needs them is not computed). */
  counts?: ConfusionCounts;
}

/** One number from the hard metrics of every image. */
export interface ThresholdedMetric extends MetricBase {
  aggregation: 'thresholded';
  /** The number, or undefined when an image lacks what it needs (its confusion counts). */
  fromImages: (images: readonly ImageHardScores[]) => number | undefined;
}

/** A distance's values for empty masks: MONAI's, or the penalty and 0 (see surface_policy.ts). */
const distanceIfEmpty = (monaiOne: number): DefinedMetric['ifEmpty'] => ({
  nan: { one: monaiOne, both: Number.NaN },
  penalty: (distance) => ({ one: distance, both: 0 }),
});

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
    // MONAI: the percentile of infinite distances is NaN (inf - inf in its interpolation).
    ifEmpty: distanceIfEmpty(Number.NaN),
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
    // MONAI: the mean of infinite distances.
    ifEmpty: distanceIfEmpty(Number.POSITIVE_INFINITY),
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
    fromDistances: (d, spacing) => surfaceDiceFromDistances(d, surfaceDiceTolerance(spacing)),
    // MONAI's compute_surface_dice: 0 where one mask is empty, NaN where both are; with a
    // penalty, no edge pixel agrees (0) or both agree there is none (1).
    ifEmpty: { nan: { one: 0, both: Number.NaN }, penalty: () => ({ one: 0, both: 1 }) },
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
    fromImages: (images) => thresholdedJaccard(images.map((r) => r.metrics.iou)),
  },
  thresholdedJaccardPlain: {
    label: 'ISIC score (plain)',
    unit: '',
    decimals: 3,
    detailDecimals: 4,
    column: 'thresholded_jaccard_plain',
    direction: 'higher',
    ablation: 'optional',
    description:
      `the same with the plain Jaccard TP / (TP + FP + FN), no smoothing term ` +
      '(1 where both masks are empty)',
    source: 'ISIC 2018',
    aggregation: 'thresholded',
    fromImages: (images) =>
      images.every((r) => r.counts !== undefined)
        ? thresholdedJaccard(images.map((r) => plainJaccard(r.counts!)))
        : undefined,
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

/**
 * An image's surface metrics (each `'defined'` metric), in pixels (or mm) or as ratios; NaN
 * where the policy leaves the image out of a metric's mean, inf where MONAI's is infinite.
 */
export type SurfaceScores = Record<DefinedMetricName, number>;

function isEmpty(mask: BinaryMask): boolean {
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] !== 0) return false;
  return true;
}

/**
 * Every `'defined'` metric of one image (see metrics/surface_distance.ts for the edges and
 * distances) with `options`' spacing; where the prediction or the ground truth is empty, what
 * `options.emptyDistance` gives (metrics/surface_policy.ts): null under `skip` (the default),
 * the metrics' `ifEmpty` values under `nan` and `penalty:N`.
 */
export function surfaceScores(
  truth: BinaryMask,
  prediction: BinaryMask,
  options: SurfaceOptions = {},
): SurfaceScores | null {
  const d = surfaceDistances(truth, prediction, options.spacing);
  const out = {} as SurfaceScores;
  if (d !== undefined) {
    for (const k of DEFINED_METRIC_NAMES) out[k] = METRICS[k].fromDistances(d, options.spacing);
    return out;
  }
  const policy = options.emptyDistance ?? DEFAULT_EMPTY_DISTANCE;
  const which = isEmpty(truth) && isEmpty(prediction) ? 'both' : 'one';
  switch (policy.kind) {
    case 'skip':
      return null;
    case 'nan':
      for (const k of DEFINED_METRIC_NAMES) out[k] = METRICS[k].ifEmpty.nan[which];
      return out;
    case 'penalty':
      for (const k of DEFINED_METRIC_NAMES) {
        out[k] = METRICS[k].ifEmpty.penalty(policy.distance)[which];
      }
      return out;
    default:
      throw new UserError(
        `surfaceScores: unknown empty-mask policy '${String((policy as { kind: unknown }).kind)}'; ` +
          `expected ${EMPTY_DISTANCE_KINDS.join(', ')}`,
      );
  }
}

/** A value with a metric's decimals: `detail` for per-image and terminal values. */
export function formatMetric(name: MetricName, value: number, detail = false): string {
  const m = METRICS[name];
  return value.toFixed(detail ? m.detailDecimals : m.decimals);
}
