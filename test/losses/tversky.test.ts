import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError, UserError } from '../../src/errors.js';
import {
  FTL_EPSILON,
  focalTverskyLoss,
  tverskyIndex,
  tverskyLoss,
} from '../../src/losses/tversky.js';
import type { LossOptions } from '../../src/losses/utils.js';
import { expectClose, NUMERIC_BACKENDS, useBackend } from '../helpers.js';
import { arr, evaluate, gradient, randomCases, type Case } from './cases.js';
import {
  finiteDifferences,
  fromNhwc,
  refFocalTverskyLoss,
  refTverskyIndex,
  refTverskyLoss,
  type NhwcArray,
} from './reference.js';

// Hand-worked cases (float32 inputs, so tolerances 1e-6 relative and absolute).
//
// A: g = [1, 1, 0, 0], p = [0.9, 0.4, 0.2, 0], shape [1, 2, 2, 1].
//    TP = 0.9 + 0.4 = 1.3, FN = 0.1 + 0.6 = 0.7, FP = 0.2 + 0 = 0.2.
//    TI = (1.3 + 1) / (1.3 + 0.7 * 0.7 + 0.3 * 0.2 + 1) = 2.3 / 2.85 = 0.807017543859649
//    TL = 0.55 / 2.85 = 0.192982456140351, FTL = TL^0.75 = 0.291164465978792
//    alpha = beta = 0.5: TI = 2.3 / (1.3 + 0.35 + 0.1 + 1) = 2.3 / 2.75 = 0.836363636363636
const caseA = {
  g: arr([1, 2, 2, 1], [1, 1, 0, 0]),
  p: arr([1, 2, 2, 1], [0.9, 0.4, 0.2, 0]),
};
// B: two images, shape [2, 1, 2, 1]: image 0 g = [1, 0], p = [0.5, 0.5]; image 1 all zeros.
//    image 0: TP = FN = FP = 0.5, TI = 1.5 / (0.5 + 0.35 + 0.15 + 1) = 0.75; image 1: TI = 1/1.
//    'batch' sums the same TP, FN, FP as image 0: TI = 0.75, TL = 0.25, FTL = 0.25^0.75.
//    'image': TI = (0.75 + 1) / 2 = 0.875, TL = (0.25 + 0) / 2 = 0.125,
//    FTL = (0.25^0.75 + eps^0.75) / 2 (image 1 is clamped at eps = 1e-6).
const caseB = {
  g: arr([2, 1, 2, 1], [1, 0, 0, 0]),
  p: arr([2, 1, 2, 1], [0.5, 0.5, 0, 0]),
};
// C: two channels, shape [1, 1, 2, 2]: pixel 0 g = (1, 0), p = (1, 0.5); pixel 1 g = (0, 1),
//    p = (0, 0.5). Class 0: TP = 1, FN = FP = 0, TI = 1. Class 1: TP = FN = FP = 0.5, TI = 0.75.
//    TI (mean over classes) = 0.875, TL = 0 + 0.25 = 0.25, FTL = eps^0.75 + 0.25^0.75.
const caseC = {
  g: arr([1, 1, 2, 2], [1, 0, 0, 1]),
  p: arr([1, 1, 2, 2], [1, 0.5, 0, 0.5]),
};
const EPS_POW = FTL_EPSILON ** 0.75; // 3.1623e-5
const Q = 0.25 ** 0.75; // 0.353553390593274

type Fn = (yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions) => tf.Scalar;
const handCases: [string, Fn, { g: NhwcArray; p: NhwcArray }, LossOptions, number][] = [
  ['A tverskyIndex', tverskyIndex, caseA, {}, 2.3 / 2.85],
  ['A tverskyLoss', tverskyLoss, caseA, {}, 0.55 / 2.85],
  ['A focalTverskyLoss', focalTverskyLoss, caseA, {}, 0.291164465978792],
  ['A focalTverskyLoss gamma 1', focalTverskyLoss, caseA, { gamma: 1 }, 0.55 / 2.85],
  ['A tverskyIndex alpha = beta = 0.5', tverskyIndex, caseA, { alpha: 0.5 }, 2.3 / 2.75],
  ['B tverskyIndex batch', tverskyIndex, caseB, {}, 0.75],
  ['B tverskyLoss batch', tverskyLoss, caseB, {}, 0.25],
  ['B focalTverskyLoss batch', focalTverskyLoss, caseB, {}, Q],
  ['B tverskyIndex image', tverskyIndex, caseB, { reduction: 'image' }, 0.875],
  ['B tverskyLoss image', tverskyLoss, caseB, { reduction: 'image' }, 0.125],
  ['B focalTverskyLoss image', focalTverskyLoss, caseB, { reduction: 'image' }, (Q + EPS_POW) / 2],
  ['C tverskyIndex two classes', tverskyIndex, caseC, {}, 0.875],
  ['C tverskyLoss two classes', tverskyLoss, caseC, {}, 0.25],
  ['C focalTverskyLoss two classes', focalTverskyLoss, caseC, {}, EPS_POW + Q],
];

const REDUCTIONS = ['batch', 'image'] as const;
const OTHER_OPTIONS: LossOptions = { alpha: 0.3, beta: 0.9, gamma: 2.5, smooth: 0.5 };

/** dTI/dp analytically: per group (image or batch, class) d/dp_i (TP + s) / den, over groups. */
function analyticTverskyGradient(g: NhwcArray, p: NhwcArray, o: Required<LossOptions>) {
  const [n, h, w, c] = g.shape;
  const images = o.reduction === 'batch' ? 1 : n;
  const groupOf = (i: number) => (o.reduction === 'batch' ? 0 : Math.floor(i / (h * w * c)));
  const tp = new Float64Array(images * c);
  const fn = new Float64Array(images * c);
  const fp = new Float64Array(images * c);
  for (let i = 0; i < g.data.length; i++) {
    const k = groupOf(i) * c + (i % c);
    tp[k] += g.data[i] * p.data[i];
    fn[k] += g.data[i] * (1 - p.data[i]);
    fp[k] += (1 - g.data[i]) * p.data[i];
  }
  return g.data.map((gi, i) => {
    const k = groupOf(i) * c + (i % c);
    const num = tp[k] + o.smooth;
    const den = tp[k] + o.alpha * fn[k] + o.beta * fp[k] + o.smooth;
    // dTP = g, dFN = -g, dFP = 1 - g, so d den = (1 - alpha) g + beta (1 - g).
    const dDen = (1 - o.alpha) * gi + o.beta * (1 - gi);
    return (gi * den - num * dDen) / (den * den) / (images * c);
  });
}

for (const backend of NUMERIC_BACKENDS) {
  describe(`tversky losses on ${backend}`, () => {
    let cases: Case[] = [];
    before(async () => {
      await useBackend(backend);
      cases = randomCases();
    });

    for (const [name, fn, { g, p }, options, expected] of handCases) {
      it(`hand-worked case ${name} = ${expected}`, () => {
        expectClose(evaluate(fn, g, p, options), expected);
      });
    }

    it('matches the plain-JS reference on random inputs, both reductions, two option sets', () => {
      for (const c of cases) {
        for (const reduction of REDUCTIONS) {
          for (const base of [{}, OTHER_OPTIONS]) {
            const o = { ...base, reduction };
            const ref = { ...o, eps: FTL_EPSILON };
            const what = `${c.name}, ${JSON.stringify(o)}`;
            expectClose(
              evaluate(tverskyIndex, c.g, c.p, o),
              refTverskyIndex(c.g, c.p, o),
              {},
              `TI ${what}`,
            );
            expectClose(
              evaluate(tverskyLoss, c.g, c.p, o),
              refTverskyLoss(c.g, c.p, o),
              {},
              `TL ${what}`,
            );
            expectClose(
              evaluate(focalTverskyLoss, c.g, c.p, o),
              refFocalTverskyLoss(c.g, c.p, ref),
              {},
              `FTL ${what}`,
            );
          }
        }
      }
    });

    it('fills beta = 1 - alpha by default, and an explicit beta overrides it', () => {
      const { g, p } = cases[0];
      const implied = evaluate(tverskyIndex, g, p, { alpha: 0.2 });
      expectClose(implied, evaluate(tverskyIndex, g, p, { alpha: 0.2, beta: 0.8 }));
      expectClose(implied, refTverskyIndex(g, p, { alpha: 0.2, beta: 0.8 }));
      assert.ok(Math.abs(implied - evaluate(tverskyIndex, g, p, { alpha: 0.2, beta: 0.3 })) > 1e-3);
    });

    it('gives the Dice score with alpha = beta = 0.5 and smooth = 0', () => {
      const { g, p } = cases[0];
      // (TP) / (TP + (FN + FP) / 2) = 2 TP / (2 TP + FN + FP) = 2 TP / (sum g + sum p).
      let tp = 0;
      let sg = 0;
      let sp = 0;
      g.data.forEach((gi, i) => {
        tp += gi * p.data[i];
        sg += gi;
        sp += p.data[i];
      });
      expectClose(evaluate(tverskyIndex, g, p, { alpha: 0.5, smooth: 0 }), (2 * tp) / (sg + sp));
    });

    it('tf.grad of the Tversky index equals its analytic derivative', () => {
      for (const c of [cases[0], cases[2], cases[7]]) {
        for (const reduction of REDUCTIONS) {
          for (const base of [{}, OTHER_OPTIONS]) {
            const o = { alpha: 0.7, beta: 0.3, gamma: 4 / 3, smooth: 1, ...base, reduction };
            expectClose(
              gradient(tverskyIndex, c.g, c.p, o),
              analyticTverskyGradient(c.g, c.p, o),
              { rtol: 1e-4, atol: 1e-7 },
              `dTI/dp ${c.name} ${JSON.stringify(o)}`,
            );
          }
        }
      }
    });

    it('tf.grad of TL and FTL equals central finite differences of the float64 reference', () => {
      for (const c of [cases[0], cases[6], cases[8]]) {
        const last = c.p.data.length - 1;
        const indices = [0, 5, 17, last];
        for (const reduction of REDUCTIONS) {
          for (const base of [{}, OTHER_OPTIONS]) {
            const o = { ...base, reduction };
            const what = `${c.name} ${JSON.stringify(o)}`;
            const tl = gradient(tverskyLoss, c.g, c.p, o);
            const ftl = gradient(focalTverskyLoss, c.g, c.p, o);
            expectClose(
              indices.map((i) => tl[i]),
              finiteDifferences((q) => refTverskyLoss(c.g, q, o), c.p, indices),
              { rtol: 1e-4, atol: 1e-7 },
              `dTL/dp ${what}`,
            );
            expectClose(
              indices.map((i) => ftl[i]),
              finiteDifferences((q) => refFocalTverskyLoss(c.g, q, o), c.p, indices),
              { rtol: 1e-4, atol: 1e-7 },
              `dFTL/dp ${what}`,
            );
          }
        }
      }
    });

    describe('focal Tversky loss edge cases: finite value and gradient', () => {
      const shape: [number, number, number, number] = [2, 4, 4, 1];
      const size = 32;
      const lesion = Array.from({ length: size }, (_, i) => (i % 16 >= 5 && i % 16 < 11 ? 1 : 0));
      const onePixel = Array.from({ length: size }, (_, i) => (i === 21 ? 1 : 0));
      const zeros = new Array<number>(size).fill(0);
      const soft = Array.from({ length: size }, (_, i) => ((i * 7) % 10) / 10 + 0.05);
      const edge: [string, number[], number[], number | undefined][] = [
        // Perfect prediction: TI = 1 in every group, so 1 - TI is clamped: eps^0.75.
        ['perfect prediction', lesion, lesion, EPS_POW],
        ['empty ground truth', zeros, soft, undefined],
        ['empty prediction', lesion, zeros, undefined],
        ['one-pixel lesion, soft prediction', onePixel, soft, undefined],
        ['one-pixel lesion, found exactly', onePixel, onePixel, EPS_POW],
        ['one-pixel lesion, missed', onePixel, zeros, undefined],
        // TP = FN = FP = 0: TI = 1/1 = 1, clamped.
        ['all zeros', zeros, zeros, EPS_POW],
      ];
      for (const [name, gv, pv, expected] of edge) {
        for (const reduction of REDUCTIONS) {
          it(`${name}, ${reduction}`, () => {
            const g = arr(shape, gv);
            const p = arr(shape, pv);
            const o = { reduction };
            const value = evaluate(focalTverskyLoss, g, p, o);
            assert.ok(Number.isFinite(value), `value ${value}`);
            const ref = refFocalTverskyLoss(g, p, { ...o, eps: FTL_EPSILON });
            expectClose(value, expected ?? ref);
            const grad = gradient(focalTverskyLoss, g, p, o);
            assert.ok(
              grad.every(Number.isFinite),
              `gradient has a non-finite entry: ${Array.from(grad).find((v) => !Number.isFinite(v))}`,
            );
            const gradTl = gradient(tverskyLoss, g, p, o);
            assert.ok(gradTl.every(Number.isFinite), 'Tversky loss gradient not finite');
          });
        }
      }

      it('without the clamp the gradient at a perfect prediction is not finite (why it exists)', () => {
        const g = fromNhwc(arr(shape, lesion));
        const unclamped = (x: tf.Tensor) => tf.pow(tf.sub(1, tverskyIndex(g, x)), 0.75);
        const dp = tf.grad(unclamped)(g);
        const values = Array.from(dp.dataSync());
        tf.dispose([g, dp]);
        assert.ok(
          values.some((v) => !Number.isFinite(v)),
          `all finite: ${values.slice(0, 4)}`,
        );
      });
    });

    it('leaks no tensors, called directly or under tf.grad', () => {
      const g = fromNhwc(cases[7].g);
      const p = fromNhwc(cases[7].p);
      const before = tf.memory().numTensors;
      for (const fn of [tverskyIndex, tverskyLoss, focalTverskyLoss]) {
        for (const reduction of REDUCTIONS) {
          fn(g, p, { reduction }).dispose();
          tf.grad((x: tf.Tensor) => fn(g, x, { reduction }))(p).dispose();
        }
      }
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([g, p]);
    });

    it('rejects mismatched shapes, other ranks and bad options with clear messages', () => {
      const a = tf.zeros([2, 128, 128, 1]);
      const b = tf.zeros([2, 64, 64, 1]);
      const r3 = tf.zeros([128, 128, 1]);
      assert.throws(() => tverskyLoss(a, b), {
        name: 'ShapeError',
        message: 'tverskyLoss: yTrue shape [2,128,128,1] does not match yPred shape [2,64,64,1]',
      });
      assert.throws(() => focalTverskyLoss(r3, r3), {
        message:
          'focalTverskyLoss: expected rank-4 NHWC tensors [batch, height, width, channels], ' +
          'got shape [128,128,1]',
      });
      assert.throws(() => tverskyIndex(a, a, { reduction: 'pixel' as 'batch' }), {
        message: "tverskyIndex: unknown reduction 'pixel'; expected one of 'batch', 'image'",
      });
      assert.throws(() => focalTverskyLoss(a, a, { gamma: 0 }), {
        message: 'focalTverskyLoss: gamma must be a finite number > 0, got 0',
      });
      assert.throws(() => tverskyLoss(a, a, { alpha: -0.1 }), {
        message: 'tverskyLoss: alpha must be a finite number >= 0, got -0.1',
      });
      assert.throws(() => tverskyLoss(a, b), ShapeError);
      assert.throws(() => tverskyLoss(a, a, { smooth: NaN }), UserError);
      tf.dispose([a, b, r3]);
    });
  });
}
