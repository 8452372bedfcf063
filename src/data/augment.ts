/**
 * Data augmentation of training items, applied on the fly to an image and its mask together
 * (nnU-Net's kinds of transform, in 2D): horizontal and vertical flips, quarter turns,
 * rotation, scaling, a small elastic deformation, then brightness, contrast, gamma, Gaussian
 * noise and Gaussian blur on the image alone. Spatial transforms sample the image bilinearly
 * and the mask by nearest neighbour from the same source coordinates, so the mask stays on the
 * image's lesion; flips and quarter turns move pixels exactly. Outside the image both read 0.
 *
 * Each transform has a probability `p` and a `magnitude` (its unit in `TRANSFORM_MAGNITUDES`).
 * A level (`AUGMENT_LEVELS`) is a table of them; a data set's preset drops the transforms that
 * do not fit it (ultrasound has a direction, depth: no vertical flip or quarter turn for BUS),
 * and settings given one by one replace the level's.
 *
 * Reproducibility: every random draw for an item comes from a generator seeded with
 * `augmentSeed(runSeed, epoch, index)`, a function of the run's seed, the epoch and the item's
 * index in the data set. So the augmentation of an item in an epoch does not depend on which
 * worker or pass builds it, on the order of the batch, or on anything before it: a resumed run
 * augments exactly as an uninterrupted one, and the two phases of a step (which build a pass
 * twice) see the same images.
 *
 * Pure JavaScript on 8-bit arrays (HWC images, 0/1 masks): runs in the data-parallel workers
 * and in a browser.
 */
import * as v from 'valibot';
import { UserError } from '../errors.js';
import { parseWith } from '../util/schema.js';
import { deriveSeed, Rng } from '../util/rng.js';
import type { BatchSource } from './batch.js';

/** The transforms, in the order they are applied. */
export const AUGMENT_TRANSFORMS = [
  'flipH',
  'flipV',
  'rot90',
  'rotate',
  'scale',
  'elastic',
  'noise',
  'blur',
  'brightness',
  'contrast',
  'gamma',
] as const;

export type AugmentTransform = (typeof AUGMENT_TRANSFORMS)[number];

/** One transform's setting: applied to an item with probability `p`, with `magnitude`. */
export interface TransformSetting {
  /** Probability in [0, 1]; 0 turns the transform off. */
  p: number;
  /** The transform's strength, >= 0 (see `TRANSFORM_MAGNITUDES`; flips and turns have none). */
  magnitude: number;
}

/** Every transform's setting. */
export type AugmentConfig = Record<AugmentTransform, TransformSetting>;

/** What each transform's magnitude means (for help texts and the README). */
export const TRANSFORM_MAGNITUDES: Readonly<Record<AugmentTransform, string>> = {
  flipH: 'none (mirror left-right)',
  flipV: 'none (mirror top-bottom)',
  rot90: 'none (a quarter, half or three-quarter turn; half only for non-square inputs)',
  rotate: 'largest angle in degrees, uniform in [-m, m]',
  scale: 'largest relative zoom, factor uniform in [1-m, 1+m]',
  elastic: 'largest displacement in pixels of a smooth random field (4x4 control points)',
  noise: 'largest standard deviation of Gaussian noise, a fraction of the 0-255 range',
  blur: 'largest sigma in pixels of a Gaussian blur, sigma uniform in [m/2, m]',
  brightness: 'largest shift, a fraction of the 0-255 range, uniform in [-m, m]',
  contrast: 'largest relative change about the image mean, factor uniform in [1-m, 1+m]',
  gamma: 'gamma = exp(u), u uniform in [-m, m]',
};

export const AUGMENT_LEVELS = ['none', 'light', 'default', 'heavy'] as const;
export type AugmentLevel = (typeof AUGMENT_LEVELS)[number];

/** No augmentation: the paper's protocol. */
export const DEFAULT_AUGMENT_LEVEL: AugmentLevel = 'none';

const off: TransformSetting = { p: 0, magnitude: 0 };
const t = (p: number, magnitude = 0): TransformSetting => ({ p, magnitude });

/**
 * The levels. `default` follows nnU-Net's 2D defaults where they apply to 8-bit images
 * (mirroring, rotation p 0.2, scaling p 0.2, noise p 0.1, blur p 0.2, brightness and contrast
 * p 0.15, gamma p 0.3), with smaller rotations and zooms for these small data sets; `light`
 * keeps mirroring and mild geometry; `heavy` adds quarter turns and the elastic deformation.
 */
export const AUGMENT_LEVEL_TABLE: Readonly<Record<AugmentLevel, AugmentConfig>> = {
  none: {
    flipH: off,
    flipV: off,
    rot90: off,
    rotate: off,
    scale: off,
    elastic: off,
    noise: off,
    blur: off,
    brightness: off,
    contrast: off,
    gamma: off,
  },
  light: {
    flipH: t(0.5),
    flipV: t(0.5),
    rot90: off,
    rotate: t(0.2, 10),
    scale: t(0.2, 0.1),
    elastic: off,
    noise: off,
    blur: off,
    brightness: t(0.15, 0.05),
    contrast: t(0.15, 0.1),
    gamma: off,
  },
  default: {
    flipH: t(0.5),
    flipV: t(0.5),
    rot90: off,
    rotate: t(0.2, 15),
    scale: t(0.2, 0.15),
    elastic: off,
    noise: t(0.1, 0.03),
    blur: t(0.2, 1),
    brightness: t(0.15, 0.1),
    contrast: t(0.15, 0.25),
    gamma: t(0.3, 0.3),
  },
  heavy: {
    flipH: t(0.5),
    flipV: t(0.5),
    rot90: t(0.5),
    rotate: t(0.4, 30),
    scale: t(0.4, 0.25),
    elastic: t(0.3, 3),
    noise: t(0.2, 0.05),
    blur: t(0.2, 1.5),
    brightness: t(0.3, 0.15),
    contrast: t(0.3, 0.35),
    gamma: t(0.3, 0.5),
  },
};

/**
 * The magnitude of a transform given on its own without one, when the level does not use it:
 * the `default` level's, and for the elastic deformation (which only `heavy` uses) heavy's.
 */
export const DEFAULT_TRANSFORM_MAGNITUDES: Readonly<Record<AugmentTransform, number>> = {
  flipH: 0,
  flipV: 0,
  rot90: 0,
  rotate: 15,
  scale: 0.15,
  elastic: 3,
  noise: 0.03,
  blur: 1,
  brightness: 0.1,
  contrast: 0.25,
  gamma: 0.3,
};

/** Checks a level name, naming the flag in the error. */
export function parseAugmentLevel(text: string, flag = '--augment'): AugmentLevel {
  const v = text.trim().toLowerCase();
  if ((AUGMENT_LEVELS as readonly string[]).includes(v)) return v as AugmentLevel;
  throw new UserError(
    `${flag}: unknown augmentation level '${text}'; expected one of ${AUGMENT_LEVELS.join(', ')}`,
  );
}

/** Parses "P" or "P:MAGNITUDE" (e.g. "0.5", "0.2:15"); "P" keeps `magnitude` of the level. */
export function parseTransformSetting(
  text: string,
  flag: string,
): { p: number; magnitude?: number } {
  const m = /^\s*([0-9.eE+-]+)\s*(?::\s*([0-9.eE+-]+)\s*)?$/.exec(text);
  const p = m ? Number(m[1]) : Number.NaN;
  const magnitude = m?.[2] !== undefined ? Number(m[2]) : undefined;
  if (!(p >= 0 && p <= 1) || (magnitude !== undefined && !(magnitude >= 0 && magnitude < 1e6))) {
    throw new UserError(
      `${flag}: expected a probability in [0, 1], optionally ':' and a magnitude >= 0 ` +
        `(e.g. 0.5 or 0.2:15), got '${text}'`,
    );
  }
  return magnitude === undefined ? { p } : { p, magnitude };
}

/**
 * The augmentation of a run: the level's table without the data set's `exclude`d transforms,
 * then the `overrides` given one by one (an override wins over an exclusion: it was asked for).
 * An override without a magnitude keeps the level's, or `DEFAULT_TRANSFORM_MAGNITUDES`'s when
 * the level does not use the transform.
 */
export function resolveAugmentConfig(
  level: AugmentLevel,
  exclude: readonly AugmentTransform[] = [],
  overrides: Partial<Record<AugmentTransform, { p: number; magnitude?: number }>> = {},
): AugmentConfig {
  const base = AUGMENT_LEVEL_TABLE[parseAugmentLevel(level)];
  const config = {} as AugmentConfig;
  for (const name of AUGMENT_TRANSFORMS) {
    const given = overrides[name];
    if (given !== undefined) {
      const magnitude =
        given.magnitude ??
        (base[name].p > 0 ? base[name].magnitude : DEFAULT_TRANSFORM_MAGNITUDES[name]);
      config[name] = { p: given.p, magnitude };
    } else {
      config[name] = exclude.includes(name) ? { ...off } : { ...base[name] };
    }
  }
  return config;
}

/** Whether any transform can apply. */
export function isAugmenting(config: AugmentConfig | undefined): config is AugmentConfig {
  return config !== undefined && AUGMENT_TRANSFORMS.some((name) => config[name].p > 0);
}

/**
 * A transform's setting as files record it: `p` in [0, 1] and a finite `magnitude` >= 0. Also
 * checks each transform of config.json's `augment.transforms`.
 */
export const TRANSFORM_SETTING_SCHEMA = v.custom<TransformSetting>((x) => {
  const s = x as { p?: unknown; magnitude?: unknown } | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.p === 'number' &&
    s.p >= 0 &&
    s.p <= 1 &&
    typeof s.magnitude === 'number' &&
    s.magnitude >= 0 &&
    Number.isFinite(s.magnitude)
  );
}, 'must be {"p": <0 to 1>, "magnitude": <number >= 0>}');

/** A recorded setting, keeping `p` and `magnitude` only. */
const RECORDED_SETTING = v.pipe(
  TRANSFORM_SETTING_SCHEMA,
  v.transform(({ p, magnitude }): TransformSetting => ({ p, magnitude })),
);

/** A recorded augmentation, under the `augment` key its messages name. */
const RECORDED_AUGMENT_SCHEMA = v.object({
  augment: v.object(
    Object.fromEntries(AUGMENT_TRANSFORMS.map((name) => [name, RECORDED_SETTING])) as Record<
      AugmentTransform,
      typeof RECORDED_SETTING
    >,
    'must be an object',
  ),
});

/**
 * Checks an augmentation read from a file (`source` names it): every transform with `p` in
 * [0, 1] and `magnitude` >= 0. Throws a `UserError` naming the first bad one
 * (`"augment.gamma" must be ...`).
 */
export function checkAugmentConfig(value: unknown, source: string): AugmentConfig {
  return parseWith(RECORDED_AUGMENT_SCHEMA, { augment: value }, source).augment;
}

/** The stream of augmentation seeds, apart from the other uses of a run's seed. */
const AUGMENT_STREAM = 0x61756721;

/** The seed of item `index`'s augmentation in `epoch` (1-based) of a run seeded `runSeed`. */
export function augmentSeed(runSeed: number, epoch: number, index: number): number {
  return deriveSeed(runSeed, AUGMENT_STREAM, epoch, index);
}

/** The shape of an item: rows, cols, channels. */
export interface ItemShape {
  rows: number;
  cols: number;
  channels: number;
}

/** An image (HWC, 8-bit) and its mask (HW, 0/1). */
export interface ItemPair {
  image: Uint8Array;
  mask: Uint8Array;
}

/** The random choices of one item, drawn in a fixed order. */
interface Draw {
  flipH: boolean;
  flipV: boolean;
  /** Quarter turns counter-clockwise: 0 to 3. */
  turns: number;
  /** Radians. */
  angle: number;
  zoom: number;
  /** Control point displacements [row, col] on a 4x4 grid, or undefined. */
  field?: Float64Array;
  noise: number;
  blur: number;
  brightness: number;
  contrast: number;
  gamma: number;
}

/** Control points per side of the elastic field. */
const ELASTIC_GRID = 4;

function draw(config: AugmentConfig, rng: Rng, shape: ItemShape): Draw {
  const on = (name: AugmentTransform) => config[name].p > 0 && rng.chance(config[name].p);
  const mag = (name: AugmentTransform) => config[name].magnitude;
  const symmetric = (m: number) => rng.uniform(-m, m);
  const d: Draw = {
    flipH: on('flipH'),
    flipV: on('flipV'),
    turns: 0,
    angle: 0,
    zoom: 1,
    noise: 0,
    blur: 0,
    brightness: 0,
    contrast: 1,
    gamma: 1,
  };
  if (on('rot90')) d.turns = shape.rows === shape.cols ? 1 + rng.int(3) : 2;
  if (on('rotate')) d.angle = (symmetric(mag('rotate')) * Math.PI) / 180;
  if (on('scale')) d.zoom = 1 + symmetric(Math.min(mag('scale'), 0.9));
  if (on('elastic')) {
    const field = new Float64Array(ELASTIC_GRID * ELASTIC_GRID * 2);
    for (let i = 0; i < field.length; i++) field[i] = symmetric(mag('elastic'));
    d.field = field;
  }
  if (on('noise')) d.noise = rng.uniform(0, mag('noise')) * 255;
  if (on('blur')) d.blur = rng.uniform(mag('blur') / 2, mag('blur'));
  if (on('brightness')) d.brightness = symmetric(mag('brightness')) * 255;
  if (on('contrast')) d.contrast = 1 + symmetric(Math.min(mag('contrast'), 1));
  if (on('gamma')) d.gamma = Math.exp(symmetric(mag('gamma')));
  return d;
}

/**
 * Flips and quarter turns, exactly: output pixel (r, c) reads input pixel (sr, sc). The image
 * stays the same shape (quarter turns are drawn for square items only).
 */
function permute(pair: ItemPair, shape: ItemShape, d: Draw): ItemPair {
  if (!d.flipH && !d.flipV && d.turns === 0) return pair;
  const { rows, cols, channels } = shape;
  const image = new Uint8Array(pair.image.length);
  const mask = new Uint8Array(pair.mask.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // Undo the output's operations in reverse order: the turn, then the flips.
      let sr = r;
      let sc = c;
      if (d.turns === 2) {
        sr = rows - 1 - r;
        sc = cols - 1 - c;
      } else {
        // Square items only: a counter-clockwise quarter turn reads (c, n-1-r), as numpy's rot90.
        for (let k = 0; k < d.turns; k++) {
          const tr = sc;
          sc = rows - 1 - sr;
          sr = tr;
        }
      }
      if (d.flipV) sr = rows - 1 - sr;
      if (d.flipH) sc = cols - 1 - sc;
      const o = r * cols + c;
      const s = sr * cols + sc;
      mask[o] = pair.mask[s];
      for (let ch = 0; ch < channels; ch++)
        image[o * channels + ch] = pair.image[s * channels + ch];
    }
  }
  return { image, mask };
}

/** The elastic displacement [dr, dc] at (r, c): the control points interpolated bilinearly. */
function displacement(
  field: Float64Array,
  shape: ItemShape,
  r: number,
  c: number,
): [number, number] {
  const g = ELASTIC_GRID - 1;
  const y = (r / Math.max(1, shape.rows - 1)) * g;
  const x = (c / Math.max(1, shape.cols - 1)) * g;
  const y0 = Math.min(Math.floor(y), g - 1);
  const x0 = Math.min(Math.floor(x), g - 1);
  const fy = y - y0;
  const fx = x - x0;
  const at = (i: number, j: number, k: number) => field[(i * ELASTIC_GRID + j) * 2 + k];
  const lerp = (k: number) =>
    (1 - fy) * ((1 - fx) * at(y0, x0, k) + fx * at(y0, x0 + 1, k)) +
    fy * ((1 - fx) * at(y0 + 1, x0, k) + fx * at(y0 + 1, x0 + 1, k));
  return [lerp(0), lerp(1)];
}

/**
 * Rotation, zoom and the elastic field: output pixel (r, c) reads the source point
 * R(-angle) (p - centre) / zoom + centre + field(p); the image bilinearly, the mask from the
 * nearest pixel, both 0 outside. Returns the image as floats (the intensity transforms follow).
 */
function warp(
  pair: ItemPair,
  shape: ItemShape,
  d: Draw,
): { image: Float32Array; mask: Uint8Array } {
  const { rows, cols, channels } = shape;
  const image = new Float32Array(pair.image.length);
  if (d.angle === 0 && d.zoom === 1 && d.field === undefined) {
    image.set(pair.image);
    return { image, mask: pair.mask };
  }
  const mask = new Uint8Array(pair.mask.length);
  const cr = (rows - 1) / 2;
  const cc = (cols - 1) / 2;
  const cos = Math.cos(d.angle) / d.zoom;
  const sin = Math.sin(d.angle) / d.zoom;
  const src = pair.image;
  const read = (y: number, x: number, ch: number) =>
    y >= 0 && y < rows && x >= 0 && x < cols ? src[(y * cols + x) * channels + ch] : 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const dr = r - cr;
      const dc = c - cc;
      let y = cos * dr - sin * dc + cr;
      let x = sin * dr + cos * dc + cc;
      if (d.field !== undefined) {
        const [er, ec] = displacement(d.field, shape, r, c);
        y += er;
        x += ec;
      }
      const o = r * cols + c;
      const ny = Math.round(y);
      const nx = Math.round(x);
      mask[o] = ny >= 0 && ny < rows && nx >= 0 && nx < cols ? pair.mask[ny * cols + nx] : 0;
      const y0 = Math.floor(y);
      const x0 = Math.floor(x);
      const fy = y - y0;
      const fx = x - x0;
      for (let ch = 0; ch < channels; ch++) {
        image[o * channels + ch] =
          (1 - fy) * ((1 - fx) * read(y0, x0, ch) + fx * read(y0, x0 + 1, ch)) +
          fy * ((1 - fx) * read(y0 + 1, x0, ch) + fx * read(y0 + 1, x0 + 1, ch));
      }
    }
  }
  return { image, mask };
}

/** A separable Gaussian blur of each channel, edges clamped, in place. */
function gaussianBlur(image: Float32Array, shape: ItemShape, sigma: number): void {
  const { rows, cols, channels } = shape;
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    total += kernel[i + radius];
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] /= total;
  const tmp = new Float32Array(image.length);
  const clamp = (v: number, n: number) => (v < 0 ? 0 : v >= n ? n - 1 : v);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let ch = 0; ch < channels; ch++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) {
          s += kernel[k + radius] * image[(r * cols + clamp(c + k, cols)) * channels + ch];
        }
        tmp[(r * cols + c) * channels + ch] = s;
      }
    }
  }
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      for (let ch = 0; ch < channels; ch++) {
        let s = 0;
        for (let k = -radius; k <= radius; k++) {
          s += kernel[k + radius] * tmp[(clamp(r + k, rows) * cols + c) * channels + ch];
        }
        image[(r * cols + c) * channels + ch] = s;
      }
    }
  }
}

/** Noise, blur, brightness, contrast and gamma on the image; back to 8 bits. */
function intensity(image: Float32Array, shape: ItemShape, d: Draw, rng: Rng): Uint8Array {
  if (d.noise > 0) for (let i = 0; i < image.length; i++) image[i] += d.noise * rng.normal();
  if (d.blur > 0) gaussianBlur(image, shape, d.blur);
  if (d.brightness !== 0) for (let i = 0; i < image.length; i++) image[i] += d.brightness;
  if (d.contrast !== 1) {
    let mean = 0;
    for (let i = 0; i < image.length; i++) mean += image[i];
    mean /= image.length;
    for (let i = 0; i < image.length; i++) image[i] = (image[i] - mean) * d.contrast + mean;
  }
  if (d.gamma !== 1) {
    for (let i = 0; i < image.length; i++) {
      const v = Math.min(Math.max(image[i], 0), 255) / 255;
      image[i] = 255 * v ** d.gamma;
    }
  }
  const out = new Uint8Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(image[i])));
  return out;
}

/**
 * One augmented copy of an item: the transforms of `config`, each drawn from `rng`. The inputs
 * are not changed; an item no transform touches comes back as the same arrays.
 */
export function augmentPair(
  pair: ItemPair,
  shape: ItemShape,
  config: AugmentConfig,
  rng: Rng,
): ItemPair {
  const { rows, cols, channels } = shape;
  if (pair.image.length !== rows * cols * channels || pair.mask.length !== rows * cols) {
    throw new UserError(
      `an item's image of ${pair.image.length} and mask of ${pair.mask.length} values do ` +
        `not match ${rows}x${cols}x${channels}`,
    );
  }
  const d = draw(config, rng, shape);
  const permuted = permute(pair, shape, d);
  const spatial = d.angle !== 0 || d.zoom !== 1 || d.field !== undefined;
  const photometric =
    d.noise > 0 || d.blur > 0 || d.brightness !== 0 || d.contrast !== 1 || d.gamma !== 1;
  if (!spatial && !photometric) return permuted;
  const warped = warp(permuted, shape, d);
  return { image: intensity(warped.image, shape, d, rng), mask: warped.mask };
}

/**
 * The augmented items `indices` of `source` as a source of their own (item k is
 * `indices[k]`, augmented with `seeds[k]`). Validation and test items never come here.
 */
export function augmentSource(
  source: BatchSource,
  indices: readonly number[],
  config: AugmentConfig,
  seeds: readonly number[],
): BatchSource {
  if (seeds.length !== indices.length) {
    throw new Error(`augmentSource: ${seeds.length} seeds for ${indices.length} items`);
  }
  const [rows, cols] = source.inputSize;
  const shape = { rows, cols, channels: source.channels };
  const images: Uint8Array[] = [];
  const masks: Uint8Array[] = [];
  indices.forEach((index, k) => {
    const out = augmentPair(
      { image: source.images[index], mask: source.masks[index] },
      shape,
      config,
      new Rng(seeds[k]),
    );
    images.push(out.image);
    masks.push(out.mask);
  });
  return {
    count: indices.length,
    inputSize: source.inputSize,
    channels: source.channels,
    images,
    masks,
  };
}
