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
 * The source index of each of `outSize` output positions along one axis of `inSize` pixels,
 * by OpenCV's `INTER_NEAREST` rule (`resizeNN` in imgproc's resize.cpp): index x reads
 * min(floor(x * (1 / (outSize / inSize))), inSize - 1), in double precision. The scale is the
 * reciprocal of a rounded quotient, so this is not always floor(x * inSize / outSize): where
 * x * inSize / outSize is a whole number k, a scale rounded down gives k - 1 (256 -> 3188 reads
 * column 63 instead of 64 at x = 797; 5.9% of the size pairs between a network size and a size
 * up to 4000 have such a point). Checked against OpenCV 4.6 (test/fixtures/opencv).
 */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const scale = 1 / (outSize / inSize);
  const out = new Int32Array(outSize);
  for (let x = 0; x < outSize; x++) out[x] = Math.min(Math.floor(x * scale), inSize - 1);
  return out;
}

/**
 * Nearest-neighbour resize, bit for bit as OpenCV's `cv2.resize(..., INTER_NEAREST)` (what the
 * reference code uses): output pixel (y, x) takes source pixel (ys[y], xs[x]), the
 * `nearestIndices` of each axis.
 */
export function resizeNearest(image: RawImage, outHeight: number, outWidth: number): RawImage {
  const { data, height, width, channels } = image;
  checkSizes(image, outHeight, outWidth);
  if (outHeight === height && outWidth === width) return image;
  const out = new Uint8Array(outHeight * outWidth * channels);
  const xs = nearestIndices(width, outWidth);
  const ys = nearestIndices(height, outHeight);
  let o = 0;
  for (let y = 0; y < outHeight; y++) {
    const row = ys[y] * width * channels;
    if (channels === 1) {
      for (let x = 0; x < outWidth; x++) out[o++] = data[row + xs[x]];
    } else {
      for (let x = 0; x < outWidth; x++) {
        const s = row + xs[x] * channels;
        for (let c = 0; c < channels; c++) out[o++] = data[s + c];
      }
    }
  }
  return { data: out, height: outHeight, width: outWidth, channels };
}

/** OpenCV's fixed-point scale of 8-bit `INTER_LINEAR` weights: 2^11 (`INTER_RESIZE_COEF_BITS`). */
const LINEAR_WEIGHT_SCALE = 2048;

/** Along one axis, each output position's two source indices and their fixed-point weights. */
interface LinearTaps {
  first: Int32Array;
  second: Int32Array;
  firstWeight: Int32Array;
  secondWeight: Int32Array;
}

/**
 * OpenCV's `INTER_LINEAR` taps along one axis (`cv::hal::resize` in imgproc's resize.cpp):
 * source coordinate f = (d + 0.5) * (1 / (outSize / inSize)) - 0.5 rounded to float32, s =
 * floor(f), weights round((1 - (f - s)) * 2048) and round((f - s) * 2048) in float32, halves to
 * even. Along columns (`clampAtEdges`) a coordinate outside [0, inSize - 1] becomes the edge
 * pixel with weights 2048, 0; along rows it keeps its weights and both source rows are clamped.
 */
function linearTaps(inSize: number, outSize: number, clampAtEdges: boolean): LinearTaps {
  const scale = 1 / (outSize / inSize);
  const taps: LinearTaps = {
    first: new Int32Array(outSize),
    second: new Int32Array(outSize),
    firstWeight: new Int32Array(outSize),
    secondWeight: new Int32Array(outSize),
  };
  for (let d = 0; d < outSize; d++) {
    let f = Math.fround((d + 0.5) * scale - 0.5);
    let s = Math.floor(f);
    f = Math.fround(f - s);
    if (clampAtEdges && s < 0) [s, f] = [0, 0];
    if (clampAtEdges && s >= inSize - 1) [s, f] = [inSize - 1, 0];
    taps.first[d] = Math.min(Math.max(s, 0), inSize - 1);
    taps.second[d] = Math.min(Math.max(s + 1, 0), inSize - 1);
    taps.firstWeight[d] = roundHalfEven(Math.fround(1 - f) * LINEAR_WEIGHT_SCALE);
    taps.secondWeight[d] = roundHalfEven(f * LINEAR_WEIGHT_SCALE);
  }
  return taps;
}

/** Rounds to the nearest integer, halves to even (as `cvRound` under the default FPU mode). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Bilinear resize of an 8-bit image, bit for bit as OpenCV's `cv2.resize(..., INTER_LINEAR)`
 * (checked against fixtures made by OpenCV 4.6 itself, test/fixtures/opencv): half-pixel
 * centres, no antialiasing, fixed-point arithmetic.
 * - Weights: see `linearTaps` (11 fractional bits, from float32 coordinates).
 * - Each needed source row is resized along its columns first: h = a * wa + b * wb (exact
 *   integers). Two such rows h0, h1 with row weights w0, w1 give the pixel
 *   (((w0 * (h0 >> 4)) >> 16) + ((w1 * (h1 >> 4)) >> 16) + 2) >> 2, which can differ by one
 *   from the correctly rounded bilinear value; this is OpenCV's formula.
 * - An exact halving of both sides is OpenCV's area average instead: (a + b + c + d + 2) >> 2
 *   of each 2x2 block for 1, 3 or 4 channels; other channel counts round the mean half to even.
 */
export function resizeBilinear(image: RawImage, outHeight: number, outWidth: number): RawImage {
  const { data, height, width, channels } = image;
  checkSizes(image, outHeight, outWidth);
  if (outHeight === height && outWidth === width) return image;
  if (height === 2 * outHeight && width === 2 * outWidth) return halve(image);
  const rowLength = outWidth * channels;
  const out = new Uint8Array(outHeight * rowLength);
  const cols = linearTaps(width, outWidth, true);
  const rows = linearTaps(height, outHeight, false);
  // The two source rows of the output row being made, resized along columns, each made once.
  const cached = [new Int32Array(rowLength), new Int32Array(rowLength)];
  const cachedRow = [-1, -1];
  const horizontal = (sy: number, keep: number): Int32Array => {
    if (cachedRow[0] === sy) return cached[0];
    if (cachedRow[1] === sy) return cached[1];
    const slot = cachedRow[0] === keep ? 1 : 0;
    const buf = cached[slot];
    const base = sy * width * channels;
    for (let x = 0, o = 0; x < outWidth; x++) {
      const a = base + cols.first[x] * channels;
      const b = base + cols.second[x] * channels;
      const wa = cols.firstWeight[x];
      const wb = cols.secondWeight[x];
      for (let c = 0; c < channels; c++) buf[o++] = data[a + c] * wa + data[b + c] * wb;
    }
    cachedRow[slot] = sy;
    return buf;
  };
  for (let y = 0, o = 0; y < outHeight; y++) {
    const h0 = horizontal(rows.first[y], rows.second[y]);
    const h1 = horizontal(rows.second[y], rows.first[y]);
    const w0 = rows.firstWeight[y];
    const w1 = rows.secondWeight[y];
    for (let i = 0; i < rowLength; i++) {
      const v = (((w0 * (h0[i] >> 4)) >> 16) + ((w1 * (h1[i] >> 4)) >> 16) + 2) >> 2;
      out[o++] = v > 255 ? 255 : v; // saturates as OpenCV's pack does
    }
  }
  return { data: out, height: outHeight, width: outWidth, channels };
}

/** OpenCV's `INTER_AREA` for an exact 2x reduction, which its `INTER_LINEAR` uses then. */
function halve(image: RawImage): RawImage {
  const { data, width, channels } = image;
  const outHeight = image.height / 2;
  const outWidth = width / 2;
  const stride = width * channels;
  const out = new Uint8Array(outHeight * outWidth * channels);
  const roundUp = channels === 1 || channels === 3 || channels === 4;
  for (let y = 0, o = 0; y < outHeight; y++) {
    for (let x = 0; x < outWidth; x++) {
      const s = 2 * y * stride + 2 * x * channels;
      for (let c = 0; c < channels; c++, o++) {
        const sum =
          data[s + c] +
          data[s + c + channels] +
          data[s + c + stride] +
          data[s + c + stride + channels];
        out[o] = roundUp ? (sum + 2) >> 2 : roundHalfEven(sum / 4);
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
