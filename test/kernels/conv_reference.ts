/**
 * An independent float64 reference for the three kernels of a 3x3 stride-1 'same' convolution
 * (NHWC input [n, h, w, ci], filter [3, 3, ci, co]), in plain JavaScript loops, with each
 * element's rounding scale: the sum of |a||b| over the products that make it up. A float32
 * sum of K such products errs by at most about K * eps32 * scale (recursive summation), so
 * |got - want| / scale is the error of a kernel in the unit its rounding lives in, whatever
 * the cancellation in the sum. Also the data the error tests and `bench/winograd_error.ts`
 * feed it: ReLU-like activations with glorot-scaled weights, and an adversarial set with a
 * large mean.
 */
import { Rng } from '../../src/util/rng.js';

/** float32's machine epsilon, 2^-23 (the unit roundoff is half of it). */
export const EPS32 = 2 ** -23;

/** A reference result: the exact-ish value (float64) and each element's rounding scale. */
export interface Reference {
  value: Float64Array;
  scale: Float64Array;
}

/**
 * Calls `visit(p, q, t)` for every output pixel p of an [n, h, w] image batch, 3x3 tap t = 3r + s
 * and the pixel q that tap pairs it with inside the image: q = (y + dir (r - 1), x + dir (s - 1))
 * (dir 1: the input pixel a forward tap reads; -1: the output-gradient pixel an input-gradient
 * tap reads). Pixels are flat indices n h w.
 */
function forEachTap(
  [n, h, wd]: readonly number[],
  dir: 1 | -1,
  visit: (p: number, q: number, t: number) => void,
): void {
  for (let img = 0; img < n; img++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < wd; x++) {
        for (let r = 0; r < 3; r++) {
          const sy = y + dir * (r - 1);
          if (sy < 0 || sy >= h) continue;
          for (let s = 0; s < 3; s++) {
            const sx = x + dir * (s - 1);
            if (sx >= 0 && sx < wd)
              visit((img * h + y) * wd + x, (img * h + sy) * wd + sx, 3 * r + s);
          }
        }
      }
    }
  }
}

/** The forward pass y[n, y, x, o] = sum over taps r, s and channels i of x * w; scale with |.|. */
export function referenceForward(
  x: Float32Array,
  w: Float32Array,
  shape: readonly number[],
): Reference {
  const [n, h, wd, ci, co] = shape;
  const value = new Float64Array(n * h * wd * co);
  const scale = new Float64Array(n * h * wd * co);
  const absW = Float64Array.from(w, Math.abs);
  forEachTap(shape, 1, (p, q, t) => {
    for (let i = 0; i < ci; i++) {
      const a = x[q * ci + i];
      const absA = Math.abs(a);
      const tap = (t * ci + i) * co;
      for (let o = 0; o < co; o++) {
        value[p * co + o] += a * w[tap + o];
        scale[p * co + o] += absA * absW[tap + o];
      }
    }
  });
  return { value, scale };
}

/** The input gradient dx[n, y, x, i] = sum over r, s, o of dy[n, y - r + 1, x - s + 1, o] w. */
export function referenceInputGradient(
  dy: Float32Array,
  w: Float32Array,
  shape: readonly number[],
): Reference {
  const [n, h, wd, ci, co] = shape;
  const value = new Float64Array(n * h * wd * ci);
  const scale = new Float64Array(n * h * wd * ci);
  forEachTap(shape, -1, (p, q, t) => {
    for (let i = 0; i < ci; i++) {
      const tap = (t * ci + i) * co;
      let sum = 0;
      let abs = 0;
      for (let o = 0; o < co; o++) {
        const prod = dy[q * co + o] * w[tap + o];
        sum += prod;
        abs += Math.abs(prod);
      }
      value[p * ci + i] += sum;
      scale[p * ci + i] += abs;
    }
  });
  return { value, scale };
}

/**
 * The filter gradient dW[r, s, i, o] = sum over n, y, x of x[n, y + r - 1, x + s - 1, i] *
 * dy[n, y, x, o], for the input channels `channels` only (all by default): the result is
 * [3, 3, channels.length, co], so that a benchmark at full image size can check a sample.
 */
export function referenceFilterGradient(
  x: Float32Array,
  dy: Float32Array,
  shape: readonly number[],
  channels: readonly number[] = Array.from({ length: shape[3] }, (_, i) => i),
): Reference {
  const [, , , ci, co] = shape;
  const k = channels.length;
  const value = new Float64Array(9 * k * co);
  const scale = new Float64Array(9 * k * co);
  const absDy = Float64Array.from(dy, Math.abs);
  forEachTap(shape, 1, (p, q, t) => {
    for (let c = 0; c < k; c++) {
      const a = x[q * ci + channels[c]];
      if (a === 0) continue;
      const absA = Math.abs(a);
      const out = (t * k + c) * co;
      for (let o = 0; o < co; o++) {
        value[out + o] += a * dy[p * co + o];
        scale[out + o] += absA * absDy[p * co + o];
      }
    }
  });
  return { value, scale };
}

/** The columns `channels` of dW [3, 3, ci, co] as [3, 3, channels.length, co]. */
export function filterChannels(
  dw: Float32Array,
  ci: number,
  co: number,
  channels: readonly number[],
): Float32Array {
  const out = new Float32Array(9 * channels.length * co);
  for (let t = 0; t < 9; t++) {
    for (const [c, i] of channels.entries()) {
      const from = (t * ci + i) * co;
      out.set(dw.subarray(from, from + co), (t * channels.length + c) * co);
    }
  }
  return out;
}

/**
 * The largest error of `got` against `ref` in units of each element's scale: max over elements
 * of |got - value| / scale. An element whose scale is 0 (all its products are zero) must be
 * exactly 0; if it is not, the ratio is Infinity.
 */
export function scaledError(got: ArrayLike<number>, ref: Reference): number {
  if (got.length !== ref.value.length) {
    throw new Error(`scaledError: ${got.length} values against ${ref.value.length}`);
  }
  let worst = 0;
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i] - ref.value[i]);
    if (Number.isNaN(diff)) return NaN;
    if (diff === 0) continue;
    worst = Math.max(worst, ref.scale[i] === 0 ? Infinity : diff / ref.scale[i]);
  }
  return worst;
}

/**
 * The largest error of a filter gradient `got` [3, 3, k, co] against `ref` in units of each
 * 3x3 filter's largest element scale: max over (i, o) of max over taps |got - value| / max over
 * taps scale. Winograd's output transform mixes the nine taps of one filter, so its rounding
 * follows the largest of them; a tap whose own products are all zero (scale 0) is measured
 * against its neighbours' instead of reading as Infinity.
 */
export function filterScaledError(got: ArrayLike<number>, ref: Reference, co: number): number {
  const k = got.length / (9 * co);
  let worst = 0;
  for (let c = 0; c < k; c++) {
    for (let o = 0; o < co; o++) {
      let diff = 0;
      let scale = 0;
      for (let t = 0; t < 9; t++) {
        const e = (t * k + c) * co + o;
        diff = Math.max(diff, Math.abs(got[e] - ref.value[e]));
        scale = Math.max(scale, ref.scale[e]);
      }
      if (diff > 0) worst = Math.max(worst, scale === 0 ? Infinity : diff / scale);
    }
  }
  return worst;
}

/** What the operands look like. */
export type ConvData = 'relu' | 'offset';

export const CONV_DATA: readonly ConvData[] = ['relu', 'offset'];

/** Mean and spread of the `offset` operands: a mean 64 times their spread. */
export const OFFSET_MEAN = 64;

/**
 * Operands of a convolution [n, h, w, ci] -> co, seeded:
 * - `relu`: x = max(0, N(0, 1)) as after a ReLU (about half zeros), dy ~ N(0, 1);
 * - `offset`: x and dy = OFFSET_MEAN + U(-1, 1), a large mean over small differences, where
 *   the forward and input-gradient sums cancel and the filter gradient's terms all add up.
 * Weights glorot-uniform in both: U(-l, l), l = sqrt(6 / (9 ci + 9 co)).
 */
export function convOperands(
  data: ConvData,
  [n, h, wd, ci, co]: readonly number[],
  seed: number,
): { x: Float32Array; w: Float32Array; dy: Float32Array } {
  const rng = new Rng(seed);
  const limit = Math.sqrt(6 / (9 * ci + 9 * co));
  const w = Float32Array.from({ length: 9 * ci * co }, () => rng.uniform(-limit, limit));
  const x = new Float32Array(n * h * wd * ci);
  const dy = new Float32Array(n * h * wd * co);
  switch (data) {
    case 'relu':
      for (let i = 0; i < x.length; i++) x[i] = Math.max(0, rng.normal());
      for (let i = 0; i < dy.length; i++) dy[i] = rng.normal();
      break;
    case 'offset':
      for (let i = 0; i < x.length; i++) x[i] = OFFSET_MEAN + rng.uniform(-1, 1);
      for (let i = 0; i < dy.length; i++) dy[i] = OFFSET_MEAN + rng.uniform(-1, 1);
      break;
    default:
      throw new Error(`convOperands: unknown data '${String(data)}'; expected relu, offset`);
  }
  return { x, w, dy };
}
