/**
 * The pixel-level precision-recall curve on values worked by hand. Pure JavaScript (no
 * tensors), so no backend is involved.
 *
 * The case (4 bins, operating threshold 0.5):
 *   p     0.1  0.3  0.6  0.9  0.95 0.5  0.2
 *   mask  0    1    0    1    1    1    0
 *   bin   0    1    2    3    3    2    0
 * lesion pixels per bin [0, 1, 1, 2] (4 in all), background [2, 0, 1, 0] (3 in all).
 * Points, predicting lesion where p >= k/4, from k = 3 down:
 *   k=3: TP 2, FP 0 -> precision 1,    recall 0.5
 *   k=2: TP 3, FP 1 -> precision 0.75, recall 0.75
 *   k=1: TP 4, FP 1 -> precision 0.8,  recall 1
 *   k=0: TP 4, FP 3 -> precision 4/7,  recall 1
 * AP = 0.5*1 + 0.25*0.75 + 0.25*0.8 + 0 = 0.8875.
 * Operating point, lesion where p > 0.5 (0.5 itself is not): TP 2 (0.9, 0.95), FP 1 (0.6),
 * FN 2 (0.3, 0.5), TN 2 -> precision 2/3, recall 1/2, F1 4/7. The histogram's point at 0.5
 * (p >= 0.5) differs: the operating point is counted exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PrecisionRecallAccumulator } from '../../src/report/pr_curve.js';
import { expectClose } from '../helpers.js';

const P = [0.1, 0.3, 0.6, 0.9, 0.95, 0.5, 0.2];
const M = [0, 1, 0, 1, 1, 1, 0];
const TOL = { rtol: 0, atol: 1e-12 };

describe('PrecisionRecallAccumulator', () => {
  test('curve, average precision and operating point of the worked case', () => {
    const acc = new PrecisionRecallAccumulator(0.5, 4);
    acc.add(P, M);
    const c = acc.curve();
    assert.equal(c.bins, 4);
    assert.equal(c.positives, 4);
    assert.equal(c.negatives, 3);
    expectClose(
      c.points.map((p) => p.threshold),
      [0.75, 0.5, 0.25, 0],
      TOL,
      'thresholds',
    );
    expectClose(
      c.points.map((p) => p.precision),
      [1, 0.75, 0.8, 4 / 7],
      TOL,
      'precision',
    );
    expectClose(
      c.points.map((p) => p.recall),
      [0.5, 0.75, 1, 1],
      TOL,
      'recall',
    );
    expectClose(c.averagePrecision!, 0.8875, TOL, 'AP');
    const op = c.operatingPoint;
    assert.deepEqual([op.threshold, op.tp, op.fp, op.fn, op.tn], [0.5, 2, 1, 2, 2]);
    expectClose([op.precision!, op.recall!, op.f1!], [2 / 3, 0.5, 4 / 7], TOL, 'operating');
  });

  test('adding in pieces equals adding at once', () => {
    const whole = new PrecisionRecallAccumulator(0.5, 4);
    whole.add(P, M);
    const parts = new PrecisionRecallAccumulator(0.5, 4);
    parts.add(P.slice(0, 3), M.slice(0, 3));
    parts.add(new Float32Array(P.slice(3)), new Uint8Array(M.slice(3)));
    const a = whole.curve();
    const b = parts.curve();
    assert.deepEqual(b.operatingPoint, a.operatingPoint);
    assert.equal(b.points.length, a.points.length);
    // Float32 rounding of the second piece moves no value across a bin edge.
    expectClose(
      b.points.map((p) => p.precision),
      a.points.map((p) => p.precision),
      TOL,
    );
  });

  test('values outside [0, 1] fall in the end bins; NaN counts as 0', () => {
    const acc = new PrecisionRecallAccumulator(0.5, 10);
    acc.add([1, 1.5, -0.2, Number.NaN], [1, 1, 0, 1]);
    const c = acc.curve();
    // Lesion pixels in bin 9 (1 and 1.5) and bin 0 (NaN); background in bin 0 (-0.2).
    assert.deepEqual(c.points[0], { threshold: 0.9, precision: 1, recall: 2 / 3 });
    assert.deepEqual(c.points[c.points.length - 1], { threshold: 0, precision: 3 / 4, recall: 1 });
    assert.deepEqual([c.operatingPoint.tp, c.operatingPoint.fn, c.operatingPoint.tn], [2, 1, 1]);
  });

  test('without lesion pixels the curve is empty and recall is undefined', () => {
    const acc = new PrecisionRecallAccumulator(0.5, 8);
    acc.add([0.2, 0.7], [0, 0]);
    const c = acc.curve();
    assert.deepEqual(c.points, []);
    assert.equal(c.averagePrecision, null);
    assert.equal(c.operatingPoint.recall, null);
    assert.equal(c.operatingPoint.precision, 0);
    assert.equal(c.operatingPoint.f1, 0);
  });

  test('nothing predicted: precision and F1 undefined only when both masks are empty', () => {
    const acc = new PrecisionRecallAccumulator(0.9, 8);
    acc.add([0.2, 0.3], [0, 0]);
    const op = acc.curve().operatingPoint;
    assert.deepEqual([op.precision, op.recall, op.f1], [null, null, null]);
  });

  test('errors name the function and the value', () => {
    assert.throws(
      () => new PrecisionRecallAccumulator(1.5),
      /^UserError: threshold must be a number from 0 to 1, got 1.5$/,
    );
    assert.throws(
      () => new PrecisionRecallAccumulator(0.5, 0),
      /^UserError: bins must be an integer from 1 to 1000000, got 0$/,
    );
    assert.throws(
      () => new PrecisionRecallAccumulator(0.5).add([0.1, 0.2], [1]),
      /^UserError: 2 probabilities but 1 mask values$/,
    );
  });
});
