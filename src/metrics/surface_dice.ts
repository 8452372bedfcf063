/**
 * The normalized surface Dice (NSD, "surface Dice at tolerance tau") of Nikolov et al.,
 * "Clinically applicable segmentation of head and neck anatomy for radiotherapy" (J Med Internet
 * Res 2021; arXiv 1809.04430), with MONAI's conventions (`monai.metrics.compute_surface_dice`),
 * the boundary Dice that nnU-Net's and MONAI's users report: the share of both masks' edge
 * pixels that lie within `tolerance` pixels of the other mask's edge,
 *
 *   NSD = (|{p in dP : d(p, dG) <= tau}| + |{g in dG : d(g, dP) <= tau}|) / (|dP| + |dG|),
 *
 * where dP and dG are the edges of the prediction and the ground truth and d the Euclidean
 * distance in pixels to the nearest edge pixel of the other mask. Edges and distances are those
 * of HD95 and ASSD (metrics/surface_distance.ts: a lesion pixel with a 4-neighbour in the
 * background or outside the image; an exact distance transform). With tau = 0 it is the Dice
 * coefficient of the two edge sets, 2 |dP ∩ dG| / (|dP| + |dG|): the Dice of the thresholded
 * masks' 1-pixel boundaries. It runs from 0 (no edge pixel near the other edge) to 1.
 *
 * The tolerance is {@link SURFACE_DICE_TOLERANCE} = 2 pixels at the original size: evaluation
 * resizes a 128x128 prediction with nearest neighbour to images of 500 to 3000 pixels a side,
 * which moves its edge by up to half an upsampling step (about 2 to 12 pixels), so a 1-pixel
 * boundary Dice would mostly measure the staircase; 2 pixels still separates a close outline
 * from a loose one. With a pixel spacing [sy, sx] (distances in mm) the tolerance is the same
 * 2 pixels of the coarser axis, 2 max(sy, sx) mm ({@link surfaceDiceTolerance}): the staircase
 * is in pixels whatever their size, and with a square pixel the NSD is the same number as
 * without a spacing (distances and tolerance scale alike).
 *
 * Undefined (null) when the prediction or the ground truth is empty, as HD95 and ASSD here, so
 * that all surface metrics run over the same images; an evaluation's policy for empty masks
 * (metrics/surface_policy.ts) may give MONAI's values instead, NaN when both are empty and 0
 * when one is, or 0 and 1 with a penalty.
 *
 * Pure JavaScript on typed arrays (no tensors, no Node-only API).
 */
import { UserError } from '../errors.js';
import type { BinaryMask } from '../util/raster.js';
import { surfaceDistances, type SurfaceDistances } from './surface_distance.js';
import type { PixelSpacing } from './surface_policy.js';

/** Edge pixels this close (in pixels, inclusive) to the other mask's edge count as agreeing. */
export const SURFACE_DICE_TOLERANCE = 2;

/**
 * The tolerance in the distances' unit: {@link SURFACE_DICE_TOLERANCE} pixels, or with a
 * spacing [sy, sx] as many pixels of the coarser axis, 2 max(sy, sx) mm (see the module doc).
 */
export function surfaceDiceTolerance(spacing?: PixelSpacing): number {
  return spacing === undefined
    ? SURFACE_DICE_TOLERANCE
    : SURFACE_DICE_TOLERANCE * Math.max(spacing[0], spacing[1]);
}

/** The NSD from the directed edge distances of both masks (see the module doc). */
export function surfaceDiceFromDistances(
  d: SurfaceDistances,
  tolerance = SURFACE_DICE_TOLERANCE,
): number {
  if (!(Number.isFinite(tolerance) && tolerance >= 0)) {
    throw new UserError(`surfaceDice: tolerance must be a number >= 0, got ${tolerance}`);
  }
  const a = d.predictionToTruth;
  const b = d.truthToPrediction;
  let close = 0;
  for (let i = 0; i < a.length; i++) if (a[i] <= tolerance) close++;
  for (let i = 0; i < b.length; i++) if (b[i] <= tolerance) close++;
  return close / (a.length + b.length);
}

/**
 * The normalized surface Dice of one image at `tolerance` pixels (default 2; see the module
 * doc); null when the prediction or the ground truth is empty.
 */
export function surfaceDice(
  truth: BinaryMask,
  prediction: BinaryMask,
  tolerance = SURFACE_DICE_TOLERANCE,
): number | null {
  const d = surfaceDistances(truth, prediction);
  return d === undefined ? null : surfaceDiceFromDistances(d, tolerance);
}
