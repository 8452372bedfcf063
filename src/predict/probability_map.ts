/**
 * The probability map `predict --save-probabilities` writes: the `final` output (the mean of an
 * ensemble's and the flips' when there are several) as 16-bit values round(p x 65535), at the
 * image's size, resized as the mask is (nearest neighbour, OpenCV's INTER_NEAREST rule of
 * `nearestIndices`). So the mask before post-processing is exactly the pixels where
 * value / 65535 > threshold: where rounding alone would carry a probability within half a step
 * (7.6e-6) of the threshold to its other side, the value is moved by one step to the side the
 * mask took. Pure (typed arrays only).
 */
import { checkThreshold } from '../data/recipe.js';
import { UserError } from '../errors.js';
import { nearestIndices } from '../util/raster.js';

/** The largest 16-bit value: probability 1. */
export const PROBABILITY_SCALE = 65535;

/**
 * 16-bit probabilities at `outSize` from `probabilities` at `inputSize` (row-major), keeping
 * the threshold's side of every pixel (see the module doc).
 */
export function probabilityMap16(
  probabilities: ArrayLike<number>,
  inputSize: readonly [number, number],
  outSize: readonly [number, number],
  threshold: number,
): Uint16Array {
  const [h, w] = inputSize;
  const [oh, ow] = outSize;
  checkThreshold(threshold);
  if (probabilities.length !== h * w) {
    throw new UserError(
      `a ${h}x${w} probability map needs ${h * w} values, got ${probabilities.length}`,
    );
  }
  const limit = threshold * PROBABILITY_SCALE;
  const small = new Uint16Array(h * w);
  for (let i = 0; i < small.length; i++) {
    const p = Math.min(Math.max(probabilities[i], 0), 1);
    let q = Math.round(p * PROBABILITY_SCALE);
    const lesion = probabilities[i] > threshold;
    if (lesion && !(q > limit)) q = Math.floor(limit) + 1;
    else if (!lesion && q > limit) q = Math.floor(limit);
    small[i] = q;
  }
  const out = new Uint16Array(oh * ow);
  const xs = nearestIndices(w, ow);
  const ys = nearestIndices(h, oh);
  for (let y = 0, o = 0; y < oh; y++) {
    const row = ys[y] * w;
    for (let x = 0; x < ow; x++) out[o++] = small[row + xs[x]];
  }
  return out;
}
