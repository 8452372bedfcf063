/**
 * Pixel arrays and the few raster operations the data pipeline needs: channel conversion,
 * nearest-neighbour and bilinear resizing, mask binarisation. Pure JavaScript on typed
 * arrays (row-major, channels last), so it runs in a browser as well.
 */
import { UserError } from '../errors.js';

/** An 8-bit image: `data[(y * width + x) * channels + c]`, values 0-255. */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: number;
}

/** A binary mask at some size: `data[y * width + x]` is 1 for lesion, 0 for background. */
export interface BinaryMask {
  data: Uint8Array;
  height: number;
  width: number;
}

/** How images are resized to the input size. Masks are always resized with `'nearest'`. */
export type Interpolation = 'nearest' | 'bilinear';

/** The allowed values of `Interpolation`. */
export const INTERPOLATIONS: readonly Interpolation[] = ['nearest', 'bilinear'];

/** The reference's image resizing. */
export const DEFAULT_INTERPOLATION: Interpolation = 'nearest';

/** Parses an interpolation name, naming the flag in the error. */
export function parseInterpolation(text: string, flag = '--interpolation'): Interpolation {
  const v = text.trim().toLowerCase();
  if ((INTERPOLATIONS as readonly string[]).includes(v)) return v as Interpolation;
  throw new UserError(`${flag}: expected one of ${INTERPOLATIONS.join(', ')}, got '${text}'`);
}

/**
 * Converts an 8-bit image to 1 (luminance) or 3 (RGB) channels. Sources with 2 or 4 channels
 * have their last channel (alpha) dropped first. Luminance is ITU-R BT.601 luma with the
 * integer weights of Pillow's `convert('L')`: (19595 R + 38470 G + 7471 B + 2^15) >> 16.
 * Grey to RGB copies the grey value into all three channels.
 */
export function convertChannels(image: RawImage, channels: 1 | 3): RawImage {
  const { data, height, width } = image;
  const src = image.channels;
  if (src < 1 || src > 4) {
    throw new UserError(`an image must have 1 to 4 channels, got ${src}`);
  }
  const colour = src >= 3 ? 3 : 1; // channels before alpha
  if (colour === channels && src === channels) return image;
  const n = height * width;
  const out = new Uint8Array(n * channels);
  if (channels === 1 && colour === 1) {
    for (let i = 0; i < n; i++) out[i] = data[i * src];
  } else if (channels === 1) {
    for (let i = 0, s = 0; i < n; i++, s += src) {
      out[i] = (19595 * data[s] + 38470 * data[s + 1] + 7471 * data[s + 2] + 32768) >>> 16;
    }
  } else if (colour === 1) {
    for (let i = 0, o = 0; i < n; i++, o += 3) {
      const v = data[i * src];
      out[o] = v;
      out[o + 1] = v;
      out[o + 2] = v;
    }
  } else {
    for (let i = 0, s = 0, o = 0; i < n; i++, s += src, o += 3) {
      out[o] = data[s];
      out[o + 1] = data[s + 1];
      out[o + 2] = data[s + 2];
    }
  }
  return { data: out, height, width, channels };
}

/**
 * Nearest-neighbour resize with OpenCV's `INTER_NEAREST` rule (what the reference code uses):
 * output pixel (y, x) takes source pixel (floor(y * H / outH), floor(x * W / outW)).
 */
export function resizeNearest(image: RawImage, outHeight: number, outWidth: number): RawImage {
  const { data, height, width, channels } = image;
  checkSizes(image, outHeight, outWidth);
  if (outHeight === height && outWidth === width) return image;
  const out = new Uint8Array(outHeight * outWidth * channels);
  const xs = new Int32Array(outWidth);
  for (let x = 0; x < outWidth; x++) {
    xs[x] = Math.min(Math.floor((x * width) / outWidth), width - 1) * channels;
  }
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const row = Math.min(Math.floor((y * height) / outHeight), height - 1) * width * channels;
    if (channels === 1) {
      for (let x = 0; x < outWidth; x++) out[o++] = data[row + xs[x]];
    } else {
      for (let x = 0; x < outWidth; x++) {
        const s = row + xs[x];
        for (let c = 0; c < channels; c++) out[o++] = data[s + c];
      }
    }
  }
  return { data: out, height: outHeight, width: outWidth, channels };
}

/**
 * Bilinear resize with half-pixel centres and no antialiasing, as OpenCV's `INTER_LINEAR`:
 * source coordinate (y + 0.5) * H / outH - 0.5, clamped to the image; results rounded.
 */
export function resizeBilinear(image: RawImage, outHeight: number, outWidth: number): RawImage {
  const { data, height, width, channels } = image;
  checkSizes(image, outHeight, outWidth);
  if (outHeight === height && outWidth === width) return image;
  const out = new Uint8Array(outHeight * outWidth * channels);
  const x0s = new Int32Array(outWidth);
  const x1s = new Int32Array(outWidth);
  const wxs = new Float64Array(outWidth);
  for (let x = 0; x < outWidth; x++) {
    const fx = Math.min(Math.max(((x + 0.5) * width) / outWidth - 0.5, 0), width - 1);
    const x0 = Math.floor(fx);
    x0s[x] = x0 * channels;
    x1s[x] = Math.min(x0 + 1, width - 1) * channels;
    wxs[x] = fx - x0;
  }
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * height) / outHeight - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    const r0 = y0 * width * channels;
    const r1 = Math.min(y0 + 1, height - 1) * width * channels;
    for (let x = 0; x < outWidth; x++) {
      const wx = wxs[x];
      for (let c = 0; c < channels; c++) {
        const top = data[r0 + x0s[x] + c] * (1 - wx) + data[r0 + x1s[x] + c] * wx;
        const bottom = data[r1 + x0s[x] + c] * (1 - wx) + data[r1 + x1s[x] + c] * wx;
        out[o++] = (top * (1 - wy) + bottom * wy + 0.5) | 0; // rounds: values are >= 0
      }
    }
  }
  return { data: out, height: outHeight, width: outWidth, channels };
}

/** Resizes with the given interpolation (see `resizeNearest`, `resizeBilinear`). */
export function resizeImage(
  image: RawImage,
  size: readonly [number, number],
  interpolation: Interpolation = 'nearest',
): RawImage {
  switch (interpolation) {
    case 'nearest':
      return resizeNearest(image, size[0], size[1]);
    case 'bilinear':
      return resizeBilinear(image, size[0], size[1]);
    default:
      throw new UserError(
        `unknown interpolation '${String(interpolation)}'; expected one of ` +
          INTERPOLATIONS.join(', '),
      );
  }
}

/** Resizes a binary mask with nearest neighbour (the only way that keeps it binary). */
export function resizeMask(mask: BinaryMask, size: readonly [number, number]): BinaryMask {
  const r = resizeNearest({ ...mask, channels: 1 }, size[0], size[1]);
  return { data: r.data, height: r.height, width: r.width };
}

function checkSizes(image: RawImage, outHeight: number, outWidth: number): void {
  if (!(
    Number.isInteger(outHeight) &&
    Number.isInteger(outWidth) &&
    outHeight > 0 &&
    outWidth > 0
  )) {
    throw new UserError(
      `the resized image's size must be positive integers, got ${outHeight}x${outWidth}`,
    );
  }
  const { data, height, width, channels } = image;
  if (data.length !== height * width * channels || height < 1 || width < 1) {
    throw new UserError(
      `an image of ${height}x${width}x${channels} needs ${height * width * channels} ` +
        `values, got ${data.length}`,
    );
  }
}

/** The result of `binarizeMask`. */
export interface BinarizedMask extends BinaryMask {
  /** The largest value found in the source (after taking the maximum over channels). */
  maxValue: number;
  /** Values strictly above this are lesion. */
  threshold: number;
}

/** A decoded mask before binarisation: 8 or 16-bit values, alpha already removed. */
export interface StoredMask {
  data: Uint8Array | Uint16Array;
  height: number;
  width: number;
  channels: number;
}

/**
 * Turns a stored mask into 0/1. The value of a pixel is the maximum over its colour channels
 * (a red-on-black mask counts); any value above half of the mask's nominal range is lesion.
 * The nominal range is the smallest of 1, 255 and 65535 that holds the mask's largest value,
 * so 0/1 masks (threshold 0.5), 0/255 masks and JPEG-noisy masks (threshold 127.5) and
 * 16-bit masks (0/65535: threshold 32767.5) all work, and a JPEG mask of pure background
 * with noise up to a few grey levels stays empty. A label mask such as 0/1/2 binarises to
 * empty (its maximum 2 puts the range at 255).
 */
export function binarizeMask(mask: StoredMask): BinarizedMask {
  const { data: values, height, width, channels } = mask;
  const n = height * width;
  if (values.length !== n * channels) {
    throw new UserError(
      `a ${height}x${width}x${channels} mask needs ${n * channels} values, got ` +
        `${values.length}`,
    );
  }
  let maxValue = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > maxValue) maxValue = values[i];
  const nominal = maxValue <= 1 ? 1 : maxValue <= 255 ? 255 : 65535;
  const threshold = nominal / 2;
  const data = new Uint8Array(n);
  for (let i = 0, s = 0; i < n; i++, s += channels) {
    let v = values[s];
    for (let c = 1; c < channels; c++) if (values[s + c] > v) v = values[s + c];
    data[i] = v > threshold ? 1 : 0;
  }
  return { data, height, width, maxValue, threshold };
}

/** The fraction of pixels that are lesion (0 for an empty mask). */
export function lesionFraction(mask: Uint8Array): number {
  if (mask.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < mask.length; i++) sum += mask[i];
  return sum / mask.length;
}
