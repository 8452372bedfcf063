/**
 * An independent plain-JavaScript reference of MONAI's surface distances, written from the
 * definitions and sharing no code with src/metrics/surface_distance.ts: edge pixels found by
 * looking at the four neighbours, every pair of edge pixels compared (O(n m), fine for tiny
 * masks), numpy's percentile on a sorted copy.
 */

/** Edge pixels [y, x] of a mask: lesion pixels with a 4-neighbour outside or background. */
export function edgePixels(mask: ArrayLike<number>, h: number, w: number): [number, number][] {
  const at = (y: number, x: number): boolean =>
    y >= 0 && y < h && x >= 0 && x < w && mask[y * w + x] !== 0;
  const out: [number, number][] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!at(y, x)) continue;
      if (!(at(y - 1, x) && at(y + 1, x) && at(y, x - 1) && at(y, x + 1))) out.push([y, x]);
    }
  }
  return out;
}

/** For each pixel of `from`, the distance to the nearest pixel of `to`. */
export function directed(from: [number, number][], to: [number, number][]): number[] {
  return from.map(([y, x]) => Math.min(...to.map(([v, u]) => Math.hypot(y - v, x - u))));
}

/** numpy.percentile(values, q) with the default linear method. */
export function numpyPercentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = ((s.length - 1) * q) / 100;
  const i = Math.floor(pos);
  if (i + 1 >= s.length) return s[s.length - 1];
  return s[i] + (s[i + 1] - s[i]) * (pos - i);
}

/** HD95 and ASSD by brute force; null when a mask is empty. */
export function referenceSurface(
  truth: ArrayLike<number>,
  pred: ArrayLike<number>,
  h: number,
  w: number,
): { hd95: number; assd: number } | null {
  const et = edgePixels(truth, h, w);
  const ep = edgePixels(pred, h, w);
  if (et.length === 0 || ep.length === 0) return null;
  const a = directed(ep, et);
  const b = directed(et, ep);
  const all = [...a, ...b];
  return {
    hd95: Math.max(numpyPercentile(a, 95), numpyPercentile(b, 95)),
    assd: all.reduce((s, v) => s + v, 0) / all.length,
  };
}
