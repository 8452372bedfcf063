/**
 * What the training images looked like, recorded with the model, and the check that warns when
 * the images given to `predict` or `evaluate` do not look like them (a BUS model run on
 * dermoscopy images segments nothing useful, silently).
 *
 * The statistics are taken on the images as the network sees them (channels converted,
 * resized to the input size, 8-bit): for each image and channel, the mean and the standard
 * deviation of its pixel values (brightness and contrast); over the training images, the mean
 * and the population standard deviation of each. An image is unlike the training data when,
 * in some channel, its brightness or contrast is more than `DRIFT_Z` spreads from the training
 * mean, the spread being the training standard deviation but at least `DRIFT_MIN_SPREAD` grey
 * levels (so that a very uniform training set does not flag small changes).
 *
 * They are stored in model.json's `userDefinedMetadata` under `inputStatistics` by training,
 * so every copy of the model carries them (best model, checkpoint, export). Models trained
 * before have none, and are not checked. Pure (no Node-only API).
 */
import { UserError } from '../errors.js';

/** The key in a model's `userDefinedMetadata`. */
export const INPUT_STATISTICS_KEY = 'inputStatistics';
/** An image is unlike the training data beyond this many spreads from the training mean. */
export const DRIFT_Z = 4;
/** The smallest spread, in grey levels (0-255), used in the test. */
export const DRIFT_MIN_SPREAD = 8;

/** Mean and population standard deviation, per channel. */
export interface ChannelStats {
  mean: number[];
  std: number[];
}

/** The training images' statistics (see the module doc). */
export interface InputStatistics {
  /** Channels of the images as the network sees them (1 grey, 3 RGB). */
  channels: number;
  /** Number of training images. */
  images: number;
  /** Per channel, over the images: mean and std of each image's mean pixel value (0-255). */
  brightness: ChannelStats;
  /** Per channel, over the images: mean and std of each image's pixel standard deviation. */
  contrast: ChannelStats;
  /**
   * Per channel, over the images: the Pearson correlation of brightness and contrast, which the
   * input distance of quality control needs (eval/quality.ts). Recorded since quality control;
   * statistics recorded before lack it and read as uncorrelated (0).
   */
  correlation?: number[];
  /**
   * The training masks' lesion areas, as fractions of the image at its original size: their
   * quantiles at `levels` (linear interpolation, as numpy's default). Recorded since quality
   * control; absent before (no area check) and when training had no masks to measure.
   */
  lesionArea?: AreaQuantiles;
}

/** Quantiles of lesion areas (fractions of the image) at increasing probability levels. */
export interface AreaQuantiles {
  levels: number[];
  quantiles: number[];
}

/** The levels at which training records the masks' lesion-area quantiles. */
export const AREA_QUANTILE_LEVELS: readonly number[] = [
  0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1,
];

/** One image's brightness and contrast per channel. */
export interface ImageIntensity {
  /** Per channel: the mean pixel value (0-255). */
  brightness: number[];
  /** Per channel: the population standard deviation of the pixel values. */
  contrast: number[];
}

/** Brightness and contrast per channel of an 8-bit image (channels last). */
export function imageIntensity(pixels: ArrayLike<number>, channels: number): ImageIntensity {
  const n = pixels.length / channels;
  if (!(Number.isInteger(n) && n > 0)) {
    throw new UserError(
      `an image of ${pixels.length} values does not hold ${channels}-channel pixels`,
    );
  }
  const brightness: number[] = [];
  const contrast: number[] = [];
  for (let c = 0; c < channels; c++) {
    let sum = 0;
    for (let i = c; i < pixels.length; i += channels) sum += pixels[i];
    const mean = sum / n;
    let sq = 0;
    for (let i = c; i < pixels.length; i += channels) sq += (pixels[i] - mean) ** 2;
    brightness.push(mean);
    contrast.push(Math.sqrt(sq / n));
  }
  return { brightness, contrast };
}

function channelStats(values: number[][], channels: number): ChannelStats {
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < channels; c++) {
    const m = values.reduce((s, v) => s + v[c], 0) / values.length;
    mean.push(m);
    std.push(Math.sqrt(values.reduce((s, v) => s + (v[c] - m) ** 2, 0) / values.length));
  }
  return { mean, std };
}

/** Per channel: the population Pearson correlation of `a[i][c]` and `b[i][c]` over i (0 when either is constant). */
function channelCorrelation(a: number[][], b: number[][], channels: number): number[] {
  const out: number[] = [];
  for (let c = 0; c < channels; c++) {
    const ma = a.reduce((s, v) => s + v[c], 0) / a.length;
    const mb = b.reduce((s, v) => s + v[c], 0) / b.length;
    let sab = 0;
    let saa = 0;
    let sbb = 0;
    for (let i = 0; i < a.length; i++) {
      sab += (a[i][c] - ma) * (b[i][c] - mb);
      saa += (a[i][c] - ma) ** 2;
      sbb += (b[i][c] - mb) ** 2;
    }
    out.push(saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0);
  }
  return out;
}

/** The `p`-quantile of sorted values, interpolating linearly between ranks (numpy's default). */
export function quantileOfSorted(sorted: readonly number[], p: number): number {
  const at = p * (sorted.length - 1);
  const lo = Math.floor(at);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (at - lo) * (sorted[hi] - sorted[lo]);
}

/** What `computeInputStatistics` records besides the images' intensities. */
export interface InputStatisticsOptions {
  /** The training masks' lesion areas (fractions of each image). Default: none recorded. */
  lesionAreas?: readonly number[];
}

/** The statistics of training images (8-bit, `channels` channels last, any size). */
export function computeInputStatistics(
  images: readonly ArrayLike<number>[],
  channels: number,
  options: InputStatisticsOptions = {},
): InputStatistics {
  if (images.length === 0) throw new UserError('no training images to take statistics of');
  const each = images.map((im) => imageIntensity(im, channels));
  const brightness = each.map((e) => e.brightness);
  const contrast = each.map((e) => e.contrast);
  const areas = [...(options.lesionAreas ?? [])].sort((a, b) => a - b);
  return {
    channels,
    images: images.length,
    brightness: channelStats(brightness, channels),
    contrast: channelStats(contrast, channels),
    correlation: channelCorrelation(brightness, contrast, channels),
    ...(areas.length > 0
      ? {
          lesionArea: {
            levels: [...AREA_QUANTILE_LEVELS],
            quantiles: AREA_QUANTILE_LEVELS.map((p) => quantileOfSorted(areas, p)),
          },
        }
      : {}),
  };
}

/**
 * The training statistics a model's `userDefinedMetadata` records, or undefined (none, or not
 * in this form: a model from before they were recorded).
 */
export function inputStatisticsOf(metadata: unknown): InputStatistics | undefined {
  const s = (metadata as Record<string, unknown> | undefined)?.[INPUT_STATISTICS_KEY] as
    InputStatistics | undefined;
  const ok = (c: ChannelStats | undefined): boolean =>
    c !== undefined &&
    Array.isArray(c.mean) &&
    Array.isArray(c.std) &&
    c.mean.length === s!.channels &&
    c.std.length === s!.channels;
  if (s === undefined || typeof s.channels !== 'number' || !ok(s.brightness) || !ok(s.contrast)) {
    return undefined;
  }
  // The fields recorded since quality control are kept only when well formed.
  const numbers = (x: unknown, n?: number): x is number[] =>
    Array.isArray(x) &&
    x.every((v) => typeof v === 'number') &&
    (n === undefined || x.length === n);
  const { correlation, lesionArea, ...rest } = s;
  return {
    ...rest,
    ...(numbers(correlation, s.channels) ? { correlation } : {}),
    ...(lesionArea !== undefined &&
    numbers(lesionArea.levels) &&
    numbers(lesionArea.quantiles, lesionArea.levels.length) &&
    lesionArea.levels.length > 0
      ? { lesionArea }
      : {}),
  };
}

/** How far an image is from the training data: the largest z over channels and measures. */
export function driftScore(stats: InputStatistics, image: ImageIntensity): number {
  let worst = 0;
  for (const [measure, values] of [
    ['brightness', image.brightness],
    ['contrast', image.contrast],
  ] as const) {
    const ref = stats[measure];
    for (let c = 0; c < Math.min(values.length, stats.channels); c++) {
      const z = Math.abs(values[c] - ref.mean[c]) / Math.max(ref.std[c], DRIFT_MIN_SPREAD);
      if (z > worst) worst = z;
    }
  }
  return worst;
}

/**
 * Above this, a recorded correlation of brightness and contrast is taken as this (keeps the
 * 2x2 covariance invertible: a training set with |r| = 1 would make every step off its line
 * infinitely far).
 */
export const MAX_CORRELATION = 0.95;

/**
 * How far an image is from the training images in brightness and contrast together: the
 * Mahalanobis distance of its (brightness, contrast) from the training mean under the training
 * covariance, per channel, the largest over channels. With z-scores zb and zc (the spreads
 * floored at `DRIFT_MIN_SPREAD` as in `driftScore`) and r their training correlation,
 * d² = (zb² − 2 r zb zc + zc²) / (1 − r²).
 *
 * Why Mahalanobis and not the largest z (`driftScore`) or the plain norm of the z-scores: an
 * image two spreads off in both measures is further from the training data than one two
 * spreads off in one (the largest z misses it: −2.9 and −3.9 each pass a limit of 4), and
 * brightness and contrast of an ultrasound image move together (speckle is multiplicative:
 * a brighter image has a wider spread), so an image darker and proportionally less contrasted
 * than usual is less unusual than one whose contrast goes against its brightness; the norm of
 * the z-scores counts both the same. For normally distributed training statistics d² follows
 * a χ² law with 2 degrees of freedom: P(d > t) = exp(−t²/2), 1.1% beyond 3. Statistics
 * recorded before the correlation read as r = 0, where d is the norm of the two z-scores.
 */
export function inputDistance(stats: InputStatistics, image: ImageIntensity): number {
  let worst = 0;
  for (let c = 0; c < Math.min(image.brightness.length, stats.channels); c++) {
    const z = (measure: 'brightness' | 'contrast'): number =>
      (image[measure][c] - stats[measure].mean[c]) /
      Math.max(stats[measure].std[c], DRIFT_MIN_SPREAD);
    const zb = z('brightness');
    const zc = z('contrast');
    const r = Math.max(-MAX_CORRELATION, Math.min(MAX_CORRELATION, stats.correlation?.[c] ?? 0));
    const d = Math.sqrt(Math.max(0, (zb * zb - 2 * r * zb * zc + zc * zc) / (1 - r * r)));
    if (d > worst) worst = d;
  }
  return worst;
}

/** Collects images one by one and says, once, whether some were unlike the training data. */
export class DriftCheck {
  private checked = 0;
  private readonly flagged: ImageIntensity[] = [];

  constructor(readonly stats: InputStatistics) {}

  /** Checks one image (8-bit, the training channels, as the network sees it). */
  add(pixels: ArrayLike<number>): void {
    const intensity = imageIntensity(pixels, this.stats.channels);
    this.checked += 1;
    if (driftScore(this.stats, intensity) > DRIFT_Z) this.flagged.push(intensity);
  }

  /**
   * One line when some images were unlike the training data, e.g. "12 of 12 images do not look
   * like the model's training images (mean brightness 171 there, 58 ± 12 in training; contrast
   * 40, 31 ± 6 in training): its masks may be meaningless"; undefined otherwise.
   */
  warning(): string | undefined {
    if (this.flagged.length === 0) return undefined;
    const few = this.flagged.length === 1 ? 'image does' : 'images do';
    return driftMessage(this.stats, this.flagged, {
      subject: `${this.flagged.length} of ${this.checked} ${few}`,
      mean: 'mean brightness',
      masks: 'masks',
    });
  }
}

/**
 * The warning for one image unlike the training data, e.g. "this image does not look like the
 * model's 40 training images (brightness 171 there, 58 ± 12 in training; contrast 40, 31 ± 6 in
 * training): its mask may be meaningless" (the web app's note on each image, as `DriftCheck`
 * words it for many); undefined when it is like them. `image` as `imageIntensity` gives it.
 */
export function imageDriftWarning(
  stats: InputStatistics,
  image: ImageIntensity,
): string | undefined {
  if (driftScore(stats, image) <= DRIFT_Z) return undefined;
  return driftMessage(stats, [image], {
    subject: 'this image does',
    mean: 'brightness',
    masks: 'mask',
  });
}

/** The words of the drift warning, for one image or for several (`flagged`, averaged). */
function driftMessage(
  stats: InputStatistics,
  flagged: readonly ImageIntensity[],
  words: { subject: string; mean: string; masks: string },
): string {
  const avg = (k: 'brightness' | 'contrast'): number =>
    flagged.reduce((s, f) => s + f[k].reduce((a, b) => a + b, 0) / f[k].length, 0) / flagged.length;
  const ref = (c: ChannelStats): string => {
    const m = c.mean.reduce((a, b) => a + b, 0) / c.mean.length;
    const s = c.std.reduce((a, b) => a + b, 0) / c.std.length;
    return `${m.toFixed(0)} ± ${s.toFixed(0)}`;
  };
  return (
    `${words.subject} not look like the model's ${stats.images} training images ` +
    `(${words.mean} ${avg('brightness').toFixed(0)} there, ${ref(stats.brightness)} in training; ` +
    `contrast ${avg('contrast').toFixed(0)}, ${ref(stats.contrast)} in training): ` +
    `its ${words.masks} may be meaningless`
  );
}
