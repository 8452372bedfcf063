/**
 * The exact Euclidean distance transform of a binary raster in linear time (Felzenszwalb &
 * Huttenlocher, "Distance Transforms of Sampled Functions", Theory of Computing 8, 2012): for
 * every pixel, the squared Euclidean distance (in pixels) to the nearest site pixel. One pass
 * down each column gives the distance to the nearest site in that column; one pass along each
 * row takes the lower envelope of the parabolas (x - q)^2 + g(q)^2. Both passes are O(rows x
 * cols), so a 2166x3188 ISIC mask takes tens of milliseconds instead of a search over pixel
 * pairs. The result equals scipy's `distance_transform_edt` squared (sites there are the zeros).
 *
 * With a pixel spacing [sy, sx] (the size of a pixel along the rows and along the columns, in
 * mm or any unit), distances are in that unit, as scipy's `sampling=(sy, sx)`: the column pass
 * counts rows and scales them by sy, and the row pass takes the envelope of the parabolas
 * sx^2 (x - q)^2 + g(q)^2, whose crossing points are divided by sx^2. An anisotropic spacing
 * changes which site is nearest, and the envelope follows it exactly.
 *
 * Pure JavaScript on typed arrays (no tensors, no Node-only API).
 */
import { UserError } from '../errors.js';

/**
 * Squared distance of each pixel to the nearest pixel where `sites` is non-zero, row-major,
 * `height * width` values; `Infinity` everywhere when there is no site. `spacing` is [sy, sx],
 * a pixel's size along the rows and the columns (default [1, 1]: distances in pixels, integers
 * up to height^2 + width^2, exact in float64).
 */
export function squaredDistanceTransform(
  sites: ArrayLike<number>,
  height: number,
  width: number,
  spacing: readonly [number, number] = [1, 1],
): Float64Array {
  const [sy, sx] = spacing;
  if (!(sy > 0 && sx > 0 && Number.isFinite(sy) && Number.isFinite(sx))) {
    throw new UserError(
      `a distance transform's spacing must be two positive numbers, got ${sy},${sx}`,
    );
  }
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0)) {
    throw new UserError(
      `a distance transform's size must be positive integers, got ${height}x${width}`,
    );
  }
  if (sites.length !== height * width) {
    throw new UserError(
      `a ${height}x${width} raster needs ${height * width} values, ` + `got ${sites.length}`,
    );
  }
  const out = new Float64Array(height * width);
  // Pass 1, columns: the distance to the nearest site above or below in the same column, in
  // two sweeps over whole rows (row-major, so memory is read in order). Inf marks a column
  // without a site on that side.
  for (let x = 0; x < width; x++) out[x] = sites[x] ? 0 : Infinity;
  for (let y = 1; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) out[row + x] = sites[row + x] ? 0 : out[row - width + x] + 1;
  }
  for (let y = height - 2; y >= 0; y--) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const below = out[row + width + x] + 1;
      if (below < out[row + x]) out[row + x] = below;
    }
  }
  // Rows to the unit of sy, squared.
  for (let i = 0; i < out.length; i++) out[i] = (out[i] * sy) ** 2;
  // Pass 2, rows: the lower envelope of the parabolas f(q) + sx^2 (x - q)^2 over the columns q
  // of finite f. v holds the parabolas' apexes, z the boundaries between them (in columns).
  const sx2 = sx * sx;
  const f = new Float64Array(width);
  const v = new Int32Array(width);
  const z = new Float64Array(width + 1);
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let k = -1;
    for (let q = 0; q < width; q++) {
      f[q] = out[row + q];
      if (f[q] === Infinity) continue;
      if (k < 0) {
        k = 0;
        v[0] = q;
        z[0] = -Infinity;
        z[1] = Infinity;
        continue;
      }
      let s = (f[q] + sx2 * q * q - (f[v[k]] + sx2 * v[k] * v[k])) / (2 * sx2 * (q - v[k]));
      while (s <= z[k]) {
        k--;
        s = (f[q] + sx2 * q * q - (f[v[k]] + sx2 * v[k] * v[k])) / (2 * sx2 * (q - v[k]));
      }
      k++;
      v[k] = q;
      z[k] = s;
      z[k + 1] = Infinity;
    }
    if (k < 0) continue; // no site reaches this row: it stays Infinity
    let j = 0;
    for (let q = 0; q < width; q++) {
      while (z[j + 1] < q) j++;
      const d = sx * (q - v[j]);
      out[row + q] = d * d + f[v[j]];
    }
  }
  return out;
}
