/**
 * How the surface metrics (HD95, ASSD, NSD: the `'defined'` ones of metrics/registry.ts) treat
 * an image whose prediction or ground truth is empty, and the pixel spacing that puts their
 * distances in millimetres. Both are chosen by the caller of an evaluation (`--empty-distance`,
 * `--spacing`) and recorded in summary.json's `surface`.
 *
 * The policies for an image where a mask is empty (an empty mask has no edge, so no distance
 * is defined):
 * - `skip` (the default, as before these policies existed): the image has no surface values
 *   and is left out of their means; the summary counts the images that remain. It flatters a
 *   model that misses lesions (its misses vanish from HD95), which is why the other two exist;
 *   it stays the default so that earlier summaries and study tables keep their meaning.
 * - `nan`: MONAI's values (monai.metrics, `compute_hausdorff_distance` with `percentile=95`,
 *   `compute_average_surface_distance(symmetric=True)`, `compute_surface_dice`; dev branch of
 *   June 2025). Its `get_surface_distance` gives every edge pixel of the non-empty mask an
 *   infinite distance when the other mask is empty, and no distance at all when both are:
 *   ASSD is the mean of those, inf where exactly one mask is empty and NaN where both are;
 *   HD95 is the 95th percentile (`torch.quantile`, numpy's `percentile` before), whose linear
 *   interpolation between infinite distances computes inf - inf, so it is NaN in both cases
 *   (numpy.percentile([inf, inf], 95) is nan); NSD is 0 where exactly one is empty and NaN where
 *   both are (its docstring says so). MONAI's `do_metric_reduction` then averages the values
 *   that are not NaN and counts them (`not_nans`): here NaN images are left out and counted as
 *   under `skip`, and an infinite value makes the mean infinite (summary.json holds no
 *   infinity: it records the mean as null with `infinite`, the number of infinite values).
 * - `penalty:N`: a challenge-style fixed distance N (in the distances' unit: pixels, or mm with
 *   a spacing) for an image where exactly one mask is empty, and 0 where both are (both agree
 *   that there is no lesion: the usual challenge convention, e.g. the 0 distances
 *   MetricsReloaded gives an empty prediction on an empty reference); NSD is 0 and 1 there.
 *   Every image then enters the means.
 *
 * The spacing [sy, sx] is a pixel's size along the rows and along the columns of the original
 * image, in mm: distances are then in mm (the exact distance transform takes it per axis,
 * util/distance_transform.ts). Without one, distances are in pixels. None of the data sets read
 * here records a spacing (BUS and ISIC images are plain PNG and JPEG files), so `--spacing` is
 * the way to give one.
 *
 * Pure (no tensors, no Node-only API).
 */
import { UserError } from '../errors.js';

/** The policies' names, as `--empty-distance` spells them (`penalty` takes `:N`). */
export const EMPTY_DISTANCE_KINDS = ['skip', 'nan', 'penalty'] as const;

/** What the surface metrics of an image with an empty mask are (see the module doc). */
export type EmptyDistancePolicy =
  | { kind: 'skip' }
  | { kind: 'nan' }
  | { kind: 'penalty'; /** In the distances' unit, > 0. */ distance: number };

/** The policy when none is given: `skip`, as evaluations did before the policies existed. */
export const DEFAULT_EMPTY_DISTANCE: EmptyDistancePolicy = { kind: 'skip' };

/** A pixel's size [along the rows, along the columns] in mm. */
export type PixelSpacing = readonly [number, number];

/** The unit of the surface distances: pixels, or mm when a spacing is given. */
export type DistanceUnit = 'px' | 'mm';

/** What an evaluation computes its surface metrics with. */
export interface SurfaceOptions {
  /** Default `skip` (see the module doc). */
  emptyDistance?: EmptyDistancePolicy;
  /** Default: none, distances in pixels. */
  spacing?: PixelSpacing;
}

/** The surface metrics' settings as summary.json records them (`surface`). */
export interface SurfaceRecord {
  /** As the flag spells it: 'skip', 'nan' or 'penalty:N'. */
  emptyDistance: string;
  /** [sy, sx] in mm, or null for distances in pixels. */
  spacing: [number, number] | null;
  unit: DistanceUnit;
}

/** The unit of the distances with `spacing`. */
export function distanceUnit(spacing: PixelSpacing | undefined): DistanceUnit {
  return spacing === undefined ? 'px' : 'mm';
}

/** 'skip', 'nan' or 'penalty:N', as `--empty-distance` takes it. */
export function formatEmptyDistance(policy: EmptyDistancePolicy): string {
  return policy.kind === 'penalty' ? `penalty:${policy.distance}` : policy.kind;
}

/** The record of summary.json for `options` (defaults filled in). */
export function surfaceRecord(options: SurfaceOptions = {}): SurfaceRecord {
  const spacing = options.spacing;
  return {
    emptyDistance: formatEmptyDistance(options.emptyDistance ?? DEFAULT_EMPTY_DISTANCE),
    spacing: spacing === undefined ? null : [spacing[0], spacing[1]],
    unit: distanceUnit(spacing),
  };
}

const POLICY_EXPECTED = 'skip, nan or penalty:N with a distance N > 0';

/** `--empty-distance`: 'skip', 'nan' or 'penalty:N' (N > 0, in the distances' unit). */
export function parseEmptyDistance(text: string, flag = '--empty-distance'): EmptyDistancePolicy {
  const t = text.trim().toLowerCase();
  if (t === 'skip' || t === 'nan') return { kind: t };
  const m = /^penalty:(.+)$/.exec(t);
  const distance = m === null || m[1].trim() === '' ? Number.NaN : Number(m[1]);
  if (!(Number.isFinite(distance) && distance > 0)) {
    throw new UserError(`${flag}: expected ${POLICY_EXPECTED}, got '${text}'`);
  }
  return { kind: 'penalty', distance };
}

/**
 * `--spacing`: 'SY,SX' (a pixel's height and width in mm) or one number for both; each a finite
 * number > 0.
 */
export function parseSpacing(text: string, flag = '--spacing'): PixelSpacing {
  const parts = text.split(',').map((s) => (s.trim() === '' ? Number.NaN : Number(s)));
  if (parts.length > 2 || !parts.every((n) => Number.isFinite(n) && n > 0)) {
    throw new UserError(
      `${flag}: expected a pixel's size in mm, SY,SX or one number for both, each > 0, ` +
        `got '${text}'`,
    );
  }
  return parts.length === 1 ? [parts[0], parts[0]] : [parts[0], parts[1]];
}

/** Throws a `UserError` naming `fn` unless `spacing` is two finite numbers > 0. */
export function checkSpacing(fn: string, spacing: PixelSpacing): void {
  if (
    spacing.length !== 2 ||
    !spacing.every((s) => typeof s === 'number' && Number.isFinite(s) && s > 0)
  ) {
    throw new UserError(`${fn}: spacing must be two numbers > 0, got [${spacing.join(', ')}]`);
  }
}
