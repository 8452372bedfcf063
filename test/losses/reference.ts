/**
 * Plain-JavaScript reference of the losses' formulas (the paper and its Keras code): loops over Float64 arrays in NHWC order,
 * written straight from the formulas, with no TensorFlow.js. The tests compare the library
 * against these on random inputs, and differentiate them by finite differences.
 */
import * as tf from '@tensorflow/tfjs-core';

/** An NHWC array: data in row-major order and its shape [N, H, W, C]. */
export interface NhwcArray {
  data: Float64Array;
  shape: [number, number, number, number];
}

export interface RefOptions {
  alpha?: number;
  beta?: number;
  gamma?: number;
  smooth?: number;
  reduction?: 'batch' | 'image';
  /** Lower clamp of 1 - TI in the focal Tversky loss. Default 0 (the unclamped reference). */
  eps?: number;
}

/** Sums of one (image or batch, class) group. */
interface Sums {
  tp: number;
  fp: number;
  fn: number;
}

/** TP, FP, FN per group: groups[image][class], with one "image" for the batch reduction. */
function sums(g: NhwcArray, p: NhwcArray, reduction: 'batch' | 'image', clip = false): Sums[][] {
  const [n, h, w, c] = g.shape;
  const images = reduction === 'batch' ? 1 : n;
  const groups: Sums[][] = [];
  for (let i = 0; i < images; i++) {
    groups.push(Array.from({ length: c }, () => ({ tp: 0, fp: 0, fn: 0 })));
  }
  const unit = (x: number) => (clip ? Math.min(1, Math.max(0, x)) : x);
  for (let b = 0; b < n; b++) {
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < c; k++) {
          const i = ((b * h + y) * w + x) * c + k;
          const gi = unit(g.data[i]);
          const pi = unit(p.data[i]);
          const s = groups[reduction === 'batch' ? 0 : b][k];
          s.tp += gi * pi;
          s.fp += (1 - gi) * pi;
          s.fn += gi * (1 - pi);
        }
      }
    }
  }
  return groups;
}

function defaults(o: RefOptions) {
  const alpha = o.alpha ?? 0.7;
  return {
    alpha,
    beta: o.beta ?? 1 - alpha,
    gamma: o.gamma ?? 4 / 3,
    smooth: o.smooth ?? 1,
    reduction: o.reduction ?? 'batch',
    eps: o.eps ?? 0,
  };
}

/** Mean over images of f(group) reduced over classes by `combine` ('sum' or 'mean'). */
function reduce(groups: Sums[][], f: (s: Sums) => number, combine: 'sum' | 'mean'): number {
  let total = 0;
  for (const classes of groups) {
    let t = 0;
    for (const s of classes) t += f(s);
    total += combine === 'sum' ? t : t / classes.length;
  }
  return total / groups.length;
}

const ti = (s: Sums, a: number, b: number, sm: number) =>
  (s.tp + sm) / (s.tp + a * s.fn + b * s.fp + sm);
const dsc = (s: Sums, sm: number) => (2 * s.tp + sm) / (2 * s.tp + s.fp + s.fn + sm);

export function refTverskyIndex(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  return reduce(sums(g, p, o.reduction), (s) => ti(s, o.alpha, o.beta, o.smooth), 'mean');
}

export function refTverskyLoss(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  return reduce(sums(g, p, o.reduction), (s) => 1 - ti(s, o.alpha, o.beta, o.smooth), 'sum');
}

export function refFocalTverskyLoss(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  const f = (s: Sums) => Math.max(1 - ti(s, o.alpha, o.beta, o.smooth), o.eps) ** (1 / o.gamma);
  return reduce(sums(g, p, o.reduction), f, 'sum');
}

export function refDiceCoefficient(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  return reduce(sums(g, p, o.reduction), (s) => dsc(s, o.smooth), 'mean');
}

export function refDiceLoss(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  return reduce(sums(g, p, o.reduction), (s) => 1 - dsc(s, o.smooth), 'sum');
}

/** Keras's binary_crossentropy: p clipped to [eps, 1 - eps], mean over every element. */
export function refBinaryCrossentropy(g: NhwcArray, p: NhwcArray, eps = 1e-7): number {
  let total = 0;
  for (let i = 0; i < g.data.length; i++) {
    const pi = Math.min(1 - eps, Math.max(eps, p.data[i]));
    total += -(g.data[i] * Math.log(pi) + (1 - g.data[i]) * Math.log(1 - pi));
  }
  return total / g.data.length;
}

export function refSoftDsc(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  return reduce(sums(g, p, o.reduction, true), (s) => dsc(s, o.smooth), 'mean');
}

export function refSoftPrecision(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  const f = (s: Sums) => (s.tp + o.smooth) / (s.tp + s.fp + o.smooth);
  return reduce(sums(g, p, o.reduction, true), f, 'mean');
}

export function refSoftRecall(g: NhwcArray, p: NhwcArray, options: RefOptions = {}): number {
  const o = defaults(options);
  const f = (s: Sums) => (s.tp + o.smooth) / (s.tp + s.fn + o.smooth);
  return reduce(sums(g, p, o.reduction, true), f, 'mean');
}

/**
 * Central finite differences of a float64 function of p at the given flat indices:
 * (f(p + h e_i) - f(p - h e_i)) / 2h, truncation error O(h^2) (about 1e-10 at h = 1e-5).
 */
export function finiteDifferences(
  f: (p: NhwcArray) => number,
  p: NhwcArray,
  indices: readonly number[],
  h = 1e-5,
): number[] {
  return indices.map((i) => {
    const plus = { data: Float64Array.from(p.data), shape: p.shape };
    const minus = { data: Float64Array.from(p.data), shape: p.shape };
    plus.data[i] += h;
    minus.data[i] -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}

/** The values of a rank-4 tensor as an NhwcArray (float32 values, exactly). */
export function toNhwc(t: tf.Tensor): NhwcArray {
  if (t.rank !== 4) throw new Error(`toNhwc: rank ${t.rank}`);
  return { data: Float64Array.from(t.dataSync()), shape: t.shape as NhwcArray['shape'] };
}

/** A float32 tensor from an NhwcArray (its values must be float32-representable). */
export function fromNhwc(a: NhwcArray): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(a.data), a.shape);
}
