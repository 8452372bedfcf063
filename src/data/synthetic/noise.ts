/**
 * Noise fields and filters for the synthetic images: smooth value noise, fractal sums of it,
 * and a separable box blur. Float32 fields, row-major. Pure JavaScript.
 */
import type { Rng } from '../../util/rng.js';

/** Smoothstep 3t^2 - 2t^3 on [0, 1]. */
function fade(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * Value noise: uniform random values on a grid of `cellsY x cellsX` cells, interpolated with a
 * smoothstep over a `height x width` field. Values in [0, 1), mean about 0.5.
 */
export function valueNoise(
  rng: Rng,
  height: number,
  width: number,
  cellsY: number,
  cellsX: number,
): Float32Array {
  const gy = Math.max(1, Math.round(cellsY));
  const gx = Math.max(1, Math.round(cellsX));
  const grid = new Float32Array((gy + 1) * (gx + 1));
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next();
  const out = new Float32Array(height * width);
  const x0s = new Int32Array(width);
  const txs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = (x / width) * gx;
    x0s[x] = Math.min(Math.floor(fx), gx - 1);
    txs[x] = fade(fx - x0s[x]);
  }
  for (let y = 0; y < height; y++) {
    const fy = (y / height) * gy;
    const y0 = Math.min(Math.floor(fy), gy - 1);
    const ty = fade(fy - y0);
    const r0 = y0 * (gx + 1);
    const r1 = r0 + gx + 1;
    const o = y * width;
    for (let x = 0; x < width; x++) {
      const x0 = x0s[x];
      const tx = txs[x];
      const a = grid[r0 + x0] + (grid[r0 + x0 + 1] - grid[r0 + x0]) * tx;
      const b = grid[r1 + x0] + (grid[r1 + x0 + 1] - grid[r1 + x0]) * tx;
      out[o + x] = a + (b - a) * ty;
    }
  }
  return out;
}

/** Options of `fractalNoise`. */
export interface FractalOptions {
  /** Cells along the longer side at the coarsest octave. Default 4. */
  baseCells?: number;
  /** Number of octaves, each with twice the cells. Default 4. */
  octaves?: number;
  /** Amplitude factor from one octave to the next. Default 0.5. */
  persistence?: number;
}

/** A sum of value-noise octaves, rescaled to mean about 0 and values within about [-1, 1]. */
export function fractalNoise(
  rng: Rng,
  height: number,
  width: number,
  options: FractalOptions = {},
): Float32Array {
  const { baseCells = 4, octaves = 4, persistence = 0.5 } = options;
  const out = new Float32Array(height * width);
  const longer = Math.max(height, width);
  let amp = 1;
  let total = 0;
  for (let o = 0; o < octaves; o++) {
    const cells = baseCells * 2 ** o;
    const n = valueNoise(rng, height, width, (cells * height) / longer, (cells * width) / longer);
    for (let i = 0; i < out.length; i++) out[i] += amp * (n[i] - 0.5) * 2;
    total += amp;
    amp *= persistence;
  }
  for (let i = 0; i < out.length; i++) out[i] /= total;
  return out;
}

/** One-dimensional smooth noise of `length` samples with `cells` cells, values in [-1, 1]. */
export function noise1d(rng: Rng, length: number, cells: number): Float32Array {
  const v = valueNoise(rng, 1, length, 1, cells);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] - 0.5) * 2;
  return v;
}

/** Box blur of radius rx along rows and ry along columns (running sums, edges clamped). */
export function boxBlur(
  field: Float32Array,
  height: number,
  width: number,
  rx: number,
  ry: number,
): Float32Array {
  let src = field;
  if (rx > 0) {
    const out = new Float32Array(src.length);
    const norm = 1 / (2 * rx + 1);
    for (let y = 0; y < height; y++) {
      const o = y * width;
      let acc = 0;
      for (let k = -rx; k <= rx; k++) acc += src[o + Math.min(Math.max(k, 0), width - 1)];
      for (let x = 0; x < width; x++) {
        out[o + x] = acc * norm;
        acc += src[o + Math.min(x + rx + 1, width - 1)] - src[o + Math.max(x - rx, 0)];
      }
    }
    src = out;
  }
  if (ry > 0) {
    const out = new Float32Array(src.length);
    const norm = 1 / (2 * ry + 1);
    const acc = new Float32Array(width);
    for (let k = -ry; k <= ry; k++) {
      const r = Math.min(Math.max(k, 0), height - 1) * width;
      for (let x = 0; x < width; x++) acc[x] += src[r + x];
    }
    for (let y = 0; y < height; y++) {
      const o = y * width;
      const add = Math.min(y + ry + 1, height - 1) * width;
      const sub = Math.max(y - ry, 0) * width;
      for (let x = 0; x < width; x++) {
        out[o + x] = acc[x] * norm;
        acc[x] += src[add + x] - src[sub + x];
      }
    }
    src = out;
  }
  return src;
}

/** Smoothstep from edge0 to edge1 (edge0 > edge1 gives a falling step). */
export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(Math.max((x - edge0) / (edge1 - edge0), 0), 1);
  return t * t * (3 - 2 * t);
}

/** Bilinear upsampling (half-pixel centres, clamped) of a field to `outHeight x outWidth`. */
export function upsample(
  field: Float32Array,
  height: number,
  width: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  const out = new Float32Array(outHeight * outWidth);
  const x0s = new Int32Array(outWidth);
  const x1s = new Int32Array(outWidth);
  const wxs = new Float32Array(outWidth);
  for (let x = 0; x < outWidth; x++) {
    const fx = Math.min(Math.max(((x + 0.5) * width) / outWidth - 0.5, 0), width - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min(x0s[x] + 1, width - 1);
    wxs[x] = fx - x0s[x];
  }
  for (let y = 0; y < outHeight; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * height) / outHeight - 0.5, 0), height - 1);
    const y0 = Math.floor(fy);
    const wy = fy - y0;
    const r0 = y0 * width;
    const r1 = Math.min(y0 + 1, height - 1) * width;
    const o = y * outWidth;
    for (let x = 0; x < outWidth; x++) {
      const a = field[r0 + x0s[x]] + (field[r0 + x1s[x]] - field[r0 + x0s[x]]) * wxs[x];
      const b = field[r1 + x0s[x]] + (field[r1 + x1s[x]] - field[r1 + x0s[x]]) * wxs[x];
      out[o + x] = a + (b - a) * wy;
    }
  }
  return out;
}

/**
 * A sample of a log-normal distribution (parameters of the underlying normal) truncated to
 * [lo, hi] by redrawing.
 */
export function truncatedLogNormal(
  rng: Rng,
  mu: number,
  sigma: number,
  lo: number,
  hi: number,
): number {
  for (let i = 0; i < 1000; i++) {
    const x = Math.exp(mu + sigma * rng.normal());
    if (x >= lo && x <= hi) return x;
  }
  return Math.min(hi, Math.max(lo, Math.exp(mu)));
}
