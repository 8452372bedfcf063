/**
 * Irregular, star-shaped lesion outlines: an ellipse whose radius is modulated by a few
 * harmonics, r(t) = R * exp(sum_k a_k cos(k t + p_k)), rotated. `shapeField` gives, for every
 * pixel near the shape, rho = distance / r(angle) (rho <= 1 is inside), which the generators
 * use both for the mask and for soft, partly blurred borders. Pure JavaScript.
 */
import type { Rng } from '../../util/rng.js';

/** Number of samples of r(t) over a turn (linear interpolation between them). */
const TABLE_SIZE = 720;

export interface RadialShape {
  cy: number;
  cx: number;
  /** Mean radius in pixels before the ellipse stretch. */
  radius: number;
  /** Width over height of the underlying ellipse (>= 1 is wider). */
  aspect: number;
  /** Rotation in radians. */
  rotation: number;
  /** Relative radius r(t) / R, sampled at TABLE_SIZE angles over one turn. */
  profile: Float32Array;
}

/** Options of `randomProfile`. */
export interface ProfileOptions {
  /** Highest harmonic. Default 8. */
  harmonics?: number;
  /** Amplitude of the second harmonic; higher ones fall off as 1/k^decay. Default 0.15. */
  amplitude?: number;
  /** Fall-off exponent. Default 1.2 (lower is spikier). */
  decay?: number;
}

/** A random relative radius profile (mean of log r about 0). */
export function randomProfile(rng: Rng, options: ProfileOptions = {}): Float32Array {
  const { harmonics = 8, amplitude = 0.15, decay = 1.2 } = options;
  const terms: [number, number, number][] = [];
  for (let k = 2; k <= harmonics; k++) {
    const a = (amplitude * rng.uniform(0.3, 1)) / (k / 2) ** decay;
    terms.push([k, a, rng.uniform(0, 2 * Math.PI)]);
  }
  const p = new Float32Array(TABLE_SIZE + 1);
  for (let i = 0; i <= TABLE_SIZE; i++) {
    const t = (i / TABLE_SIZE) * 2 * Math.PI;
    let s = 0;
    for (const [k, a, ph] of terms) s += a * Math.cos(k * t + ph);
    p[i] = Math.exp(s);
  }
  return p;
}

/** Largest extent of the shape from its centre, in pixels. */
export function shapeExtent(shape: RadialShape): number {
  let m = 0;
  for (let i = 0; i < shape.profile.length; i++) m = Math.max(m, shape.profile[i]);
  return m * shape.radius * Math.max(shape.aspect, 1 / shape.aspect) ** 0.5 + 2;
}

/** A field over a bounding box: rho at each pixel, or Infinity outside the box. */
export interface ShapeField {
  /** rho = distance / r(angle), Float32, for rows y0..y1-1 and cols x0..x1-1. */
  rho: Float32Array;
  y0: number;
  y1: number;
  x0: number;
  x1: number;
  /** The angle of each pixel in the shape's frame (radians, [-pi, pi]). */
  angle: Float32Array;
}

/**
 * rho for each pixel of the shape's bounding box (clipped to the image), sampled every
 * `step` pixels (1 for the final raster, larger to fit the area quickly).
 */
export function shapeField(
  shape: RadialShape,
  height: number,
  width: number,
  step = 1,
): ShapeField {
  const ext = shapeExtent(shape);
  const y0 = Math.max(0, Math.floor(shape.cy - ext));
  const y1 = Math.min(height, Math.ceil(shape.cy + ext) + 1);
  const x0 = Math.max(0, Math.floor(shape.cx - ext));
  const x1 = Math.min(width, Math.ceil(shape.cx + ext) + 1);
  const bh = Math.max(0, Math.ceil((y1 - y0) / step));
  const bw = Math.max(0, Math.ceil((x1 - x0) / step));
  const rho = new Float32Array(bh * bw);
  const angle = new Float32Array(bh * bw);
  const cos = Math.cos(-shape.rotation);
  const sin = Math.sin(-shape.rotation);
  const sx = 1 / Math.sqrt(shape.aspect);
  const sy = Math.sqrt(shape.aspect);
  const scale = TABLE_SIZE / (2 * Math.PI);
  const p = shape.profile;
  for (let j = 0; j < bh; j++) {
    const dy = y0 + j * step - shape.cy;
    for (let i = 0; i < bw; i++) {
      const dx = x0 + i * step - shape.cx;
      const u = (dx * cos - dy * sin) * sx;
      const v = (dx * sin + dy * cos) * sy;
      const t = Math.atan2(v, u);
      const f = (t + Math.PI) * scale;
      const k = Math.min(Math.floor(f), TABLE_SIZE - 1);
      const r = (p[k] + (p[k + 1] - p[k]) * (f - k)) * shape.radius;
      rho[j * bw + i] = Math.sqrt(u * u + v * v) / r;
      angle[j * bw + i] = t;
    }
  }
  return { rho, y0, y1, x0, x1, angle };
}

/** Number of image pixels inside the shape, estimated on a grid with the given step. */
export function shapeArea(shape: RadialShape, height: number, width: number, step = 1): number {
  const f = shapeField(shape, height, width, step);
  let n = 0;
  for (let i = 0; i < f.rho.length; i++) if (f.rho[i] <= 1) n++;
  return n * step * step;
}

/**
 * Scales the shape's radius so that its area inside the image is close to `target` pixels
 * (a few secant steps on a coarse grid, then one at full resolution).
 */
export function fitArea(shape: RadialShape, target: number, height: number, width: number): void {
  const coarse = Math.max(1, Math.round(Math.sqrt(height * width) / 150));
  for (let it = 0; it < 6; it++) {
    const step = it < 4 ? coarse : 1;
    const a = shapeArea(shape, height, width, step);
    if (a <= 0) {
      shape.radius *= 2;
      continue;
    }
    const ratio = target / a;
    if (Math.abs(ratio - 1) < 0.005) break;
    // Clipping by the image makes area grow slower than radius^2; never grow more than 1.5x.
    shape.radius *= Math.min(1.5, Math.sqrt(ratio));
  }
}
