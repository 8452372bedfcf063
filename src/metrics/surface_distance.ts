/**
 * Surface distances between a predicted and a ground-truth mask, with MONAI's conventions
 * (`monai.metrics.compute_hausdorff_distance` with `percentile=95` and
 * `compute_average_surface_distance` with `symmetric=True`), so that the numbers compare
 * across tools:
 *
 * - the edge of a mask is the mask minus its erosion by the 4-connected cross (scipy's
 *   `binary_erosion` with its default structure and `border_value=0`): a lesion pixel is an
 *   edge pixel when one of its four neighbours is background or outside the image, so lesion
 *   pixels on the image border are edge pixels;
 * - the distance from an edge pixel of one mask to the other is the Euclidean distance, in
 *   pixels or with a pixel spacing [sy, sx] in mm (MONAI's `spacing`, scipy's `sampling`), to
 *   the nearest edge pixel of the other mask (an exact distance transform,
 *   util/distance_transform.ts, not a search over pixel pairs);
 * - HD95 is the larger of the two directed 95th percentiles, each with linear interpolation
 *   between the sorted distances (numpy's default `percentile`);
 * - ASSD is the mean of the distances of both directions taken together (one list, so the
 *   mask with the longer edge weighs more).
 *
 * Both are undefined (null here) when the prediction or the ground truth is empty; what an
 * evaluation records for such an image is its policy (metrics/surface_policy.ts: left out,
 * MONAI's NaN and inf, or a penalty). Masks are 2-D, row-major, lesion where the value is
 * non-zero, at any resolution (the evaluation uses the original one); distances are in pixels,
 * or in the unit of the spacing given.
 *
 * Pure JavaScript on typed arrays (no tensors, no Node-only API).
 */
import { ShapeError, UserError } from '../errors.js';
import { squaredDistanceTransform } from '../util/distance_transform.js';
import type { BinaryMask } from '../util/raster.js';
import { checkSpacing, type PixelSpacing } from './surface_policy.js';

/** The percentile of the Hausdorff distance MONAI's and nnU-Net's users report. */
export const HAUSDORFF_PERCENTILE = 95;

/** The surface-distance metrics of one image. */
export interface SurfaceDistanceMetrics {
  /** The symmetric 95th-percentile Hausdorff distance, in pixels (or the spacing's unit). */
  hd95: number;
  /** The average symmetric surface distance, in pixels (or the spacing's unit). */
  assd: number;
}

/** The distances of every edge pixel of each mask to the other mask's edge (pixels or mm). */
export interface SurfaceDistances {
  /** One per edge pixel of the prediction (raster order). */
  predictionToTruth: Float64Array;
  /** One per edge pixel of the ground truth (raster order). */
  truthToPrediction: Float64Array;
}

/** The edge of a mask (0/1): lesion pixels with a 4-neighbour in the background or outside. */
export function maskEdges(mask: BinaryMask): Uint8Array {
  const { data, height, width } = mask;
  checkMask('maskEdges', mask);
  const edges = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!data[i]) continue;
      const interior =
        y > 0 &&
        y < height - 1 &&
        x > 0 &&
        x < width - 1 &&
        data[i - 1] &&
        data[i + 1] &&
        data[i - width] &&
        data[i + width];
      if (!interior) edges[i] = 1;
    }
  }
  return edges;
}

/**
 * The q-th percentile (0 to 100) of `values` with linear interpolation between the sorted
 * values at rank (n - 1) q / 100, as numpy's default `percentile`. Sorts `values` in place.
 */
export function percentileInPlace(values: Float64Array, q: number): number {
  if (values.length === 0) throw new UserError('a percentile of no values is undefined');
  if (!(q >= 0 && q <= 100)) throw new UserError(`the percentile q must be 0 to 100, got ${q}`);
  values.sort();
  const rank = ((values.length - 1) * q) / 100;
  const lo = Math.floor(rank);
  const hi = Math.min(lo + 1, values.length - 1);
  // numpy's form: v[lo] + (v[hi] - v[lo]) * fraction
  return values[lo] + (values[hi] - values[lo]) * (rank - lo);
}

/**
 * The directed surface distances between the edges of `prediction` and `truth` (see the module
 * doc), or undefined when either mask is empty. Only the bounding box of both masks is
 * transformed: every edge pixel lies in it, so the distances are the same. `spacing` [sy, sx]
 * is a pixel's size along the rows and the columns (default: none, distances in pixels).
 */
export function surfaceDistances(
  truth: BinaryMask,
  prediction: BinaryMask,
  spacing?: PixelSpacing,
): SurfaceDistances | undefined {
  checkMask('surfaceDistances', truth);
  checkMask('surfaceDistances', prediction);
  if (spacing !== undefined) checkSpacing('surfaceDistances', spacing);
  if (truth.height !== prediction.height || truth.width !== prediction.width) {
    throw new ShapeError(
      `surfaceDistances: truth is ${truth.height}x${truth.width} but prediction is ` +
        `${prediction.height}x${prediction.width}`,
    );
  }
  const { width } = truth;
  // Bounding box of both masks' lesion pixels.
  let y0 = Infinity;
  let y1 = -1;
  let x0 = Infinity;
  let x1 = -1;
  let anyTruth = false;
  let anyPrediction = false;
  for (let i = 0; i < truth.data.length; i++) {
    const t = truth.data[i] !== 0;
    const p = prediction.data[i] !== 0;
    if (!t && !p) continue;
    anyTruth ||= t;
    anyPrediction ||= p;
    const y = Math.floor(i / width);
    const x = i - y * width;
    if (y < y0) y0 = y;
    if (y > y1) y1 = y;
    if (x < x0) x0 = x;
    if (x > x1) x1 = x;
  }
  if (!anyTruth || !anyPrediction) return undefined;
  const edgesTruth = maskEdges(truth);
  const edgesPrediction = maskEdges(prediction);
  const h = y1 - y0 + 1;
  const w = x1 - x0 + 1;
  const crop = (edges: Uint8Array): Uint8Array => {
    const out = new Uint8Array(h * w);
    for (let y = 0; y < h; y++) {
      const from = (y + y0) * width + x0;
      out.set(edges.subarray(from, from + w), y * w);
    }
    return out;
  };
  const cropTruth = crop(edgesTruth);
  const cropPrediction = crop(edgesPrediction);
  const toTruth = squaredDistanceTransform(cropTruth, h, w, spacing);
  const toPrediction = squaredDistanceTransform(cropPrediction, h, w, spacing);
  const gather = (edges: Uint8Array, squared: Float64Array): Float64Array => {
    let n = 0;
    for (let i = 0; i < edges.length; i++) n += edges[i];
    const out = new Float64Array(n);
    for (let i = 0, k = 0; i < edges.length; i++) if (edges[i]) out[k++] = Math.sqrt(squared[i]);
    return out;
  };
  return {
    predictionToTruth: gather(cropPrediction, toTruth),
    truthToPrediction: gather(cropTruth, toPrediction),
  };
}

/**
 * HD95 from the directed distances: the larger of the two directed 95th percentiles (see the
 * module doc). Leaves `d` as it is (sorts copies).
 */
export function hd95FromDistances(d: SurfaceDistances): number {
  return Math.max(
    percentileInPlace(Float64Array.from(d.predictionToTruth), HAUSDORFF_PERCENTILE),
    percentileInPlace(Float64Array.from(d.truthToPrediction), HAUSDORFF_PERCENTILE),
  );
}

/** ASSD from the directed distances: the mean of both directions taken together. */
export function assdFromDistances(d: SurfaceDistances): number {
  const a = d.predictionToTruth;
  const b = d.truthToPrediction;
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i];
  for (let i = 0; i < b.length; i++) sum += b[i];
  return sum / (a.length + b.length);
}

/**
 * HD95 and ASSD of one image (see the module doc), in pixels or with `spacing` in its unit;
 * null when the prediction or the ground truth is empty. (Evaluation computes every surface
 * metric of metrics/registry.ts, with its policy for empty masks.)
 */
export function surfaceDistanceMetrics(
  truth: BinaryMask,
  prediction: BinaryMask,
  spacing?: PixelSpacing,
): SurfaceDistanceMetrics | null {
  const d = surfaceDistances(truth, prediction, spacing);
  if (d === undefined) return null;
  return { hd95: hd95FromDistances(d), assd: assdFromDistances(d) };
}

function checkMask(fn: string, mask: BinaryMask): void {
  const { data, height, width } = mask;
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new UserError(`${fn}: mask size must be positive integers, got ${height}x${width}`);
  }
  if (data.length !== height * width) {
    throw new ShapeError(
      `${fn}: a ${height}x${width} mask needs ${height * width} values, got ${data.length}`,
    );
  }
}
