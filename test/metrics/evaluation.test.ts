import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  confusionCounts,
  confusionCountsPerImage,
  evaluateBatch,
  evaluateMask,
  metricsFromCounts,
  type ConfusionCounts,
  type SegmentationMetrics,
} from '../../src/metrics/evaluation.js';
import { expectClose, NUMERIC_BACKENDS, randomTensor, useBackend } from '../helpers.js';

/** Metrics as an array in a fixed order, for expectClose. */
const values = (m: SegmentationMetrics) => [m.dsc, m.precision, m.recall, m.tnr, m.iou];

// Hand-worked: g = [1, 1, 0, 0, 0], p = [0.9, 0.4, 0.6, 0, 0.5], threshold 0.5 (strictly
// greater): p -> [1, 0, 1, 0, 0] (0.5 is background, like the reference's round(0.5) = 0).
//   TP = 1, FN = 1, FP = 1, TN = 2.
//   DSC = (2 + 1) / (2 + 1 + 1 + 1) = 0.6, precision = 2 / 3, recall = 2 / 3,
//   TNR = (2 + 1) / (2 + 1 + 1) = 0.75, IoU = 2 / (1 + 1 + 1 + 1) = 0.5.
// Threshold 0.35: p -> [1, 1, 1, 0, 1]: TP = 2, FN = 0, FP = 2, TN = 1.
//   DSC = 5 / (4 + 2 + 0 + 1) = 5/7, precision = 3/5, recall = 3/3 = 1, TNR = 2/4 = 0.5,
//   IoU = 3 / (2 + 2 + 0 + 1) = 0.6.
const g = [1, 1, 0, 0, 0];
const p = [0.9, 0.4, 0.6, 0, 0.5];

describe('hard evaluation metrics on plain arrays', () => {
  it('counts and scores the hand-worked case at threshold 0.5', () => {
    assert.deepEqual(confusionCounts(g, p), { tp: 1, fp: 1, fn: 1, tn: 2 });
    expectClose(values(evaluateMask(g, p)), [0.6, 2 / 3, 2 / 3, 0.75, 0.5]);
  });

  it('honours the threshold parameter (0.35)', () => {
    assert.deepEqual(confusionCounts(g, p, { threshold: 0.35 }), { tp: 2, fp: 2, fn: 0, tn: 1 });
    expectClose(values(evaluateMask(g, p, { threshold: 0.35 })), [5 / 7, 0.6, 1, 0.5, 0.6]);
  });

  it('reads 0/255 Uint8Array masks like 0/1 masks', () => {
    const g255 = Uint8Array.from(g, (v) => v * 255);
    const p255 = Uint8Array.from([255, 0, 255, 0, 0]);
    assert.deepEqual(confusionCounts(g255, p255), { tp: 1, fp: 1, fn: 1, tn: 2 });
    // A separate ground-truth threshold: at 127.5 a grey 100 is background, at 0.5 foreground.
    const grey = Uint8Array.from([255, 100, 0, 0, 0]);
    assert.deepEqual(confusionCounts(grey, p255, { threshold: 127.5 }), {
      tp: 1,
      fp: 1,
      fn: 0,
      tn: 3,
    });
    assert.deepEqual(confusionCounts(grey, p255, { threshold: 127.5, trueThreshold: 0.5 }), {
      tp: 1,
      fp: 1,
      fn: 1,
      tn: 2,
    });
  });

  // The documented empty-mask cases, smooth = 1, on a 760 x 570 image (433,200 pixels).
  const size = 760 * 570;
  const empty = new Uint8Array(size);
  const onePixel = new Uint8Array(size);
  onePixel[1234] = 1;
  const cases: [string, Uint8Array, Uint8Array, ConfusionCounts, number[]][] = [
    // TP = FP = FN = 0: every ratio is 1/1.
    [
      'empty ground truth, empty prediction',
      empty,
      empty,
      { tp: 0, fp: 0, fn: 0, tn: size },
      [1, 1, 1, 1, 1],
    ],
    // TP = 0, FP = 1: DSC = 1/2, precision = 1/2, recall = 1/1, TNR = size / (size + 1), IoU = 1/2.
    [
      'empty ground truth, one false positive',
      empty,
      onePixel,
      { tp: 0, fp: 1, fn: 0, tn: size - 1 },
      [0.5, 0.5, 1, size / (size + 1), 0.5],
    ],
    // TP = 0, FN = 1: DSC = 1/2, precision = 1/1, recall = 1/2, TNR = 1, IoU = 1/2.
    [
      'one-pixel lesion missed',
      onePixel,
      empty,
      { tp: 0, fp: 0, fn: 1, tn: size - 1 },
      [0.5, 1, 0.5, 1, 0.5],
    ],
    // TP = 1: DSC = 3/3, all 1.
    [
      'one-pixel lesion found',
      onePixel,
      onePixel,
      { tp: 1, fp: 0, fn: 0, tn: size - 1 },
      [1, 1, 1, 1, 1],
    ],
  ];
  for (const [name, yt, yp, counts, expected] of cases) {
    it(`scores ${name} as documented`, () => {
      assert.deepEqual(confusionCounts(yt, yp), counts);
      expectClose(values(evaluateMask(yt, yp)), expected, { rtol: 1e-12, atol: 1e-12 });
    });
  }

  it('with k false positives on an empty ground truth, DSC = precision = IoU = 1 / (k + 1)', () => {
    const k = 9;
    const m = metricsFromCounts({ tp: 0, fp: k, fn: 0, tn: 90 });
    expectClose([m.dsc, m.precision, m.iou], [0.1, 0.1, 0.1], { rtol: 1e-12, atol: 0 });
  });

  it('counts a large mask exactly (ISIC-sized, 2166 x 3188)', () => {
    const h = 2166;
    const w = 3188;
    const yt = new Uint8Array(h * w);
    const yp = new Float32Array(h * w);
    // Ground truth: rows 0..999 x cols 0..1999 (2,000,000 px). Prediction: rows 500..1499 x
    // cols 0..1999 at 0.8 (2,000,000 px). Overlap rows 500..999: TP = 1,000,000.
    for (let r = 0; r < h; r++) {
      for (let c = 0; c < 2000; c++) {
        if (r < 1000) yt[r * w + c] = 255;
        if (r >= 500 && r < 1500) yp[r * w + c] = 0.8;
      }
    }
    assert.deepEqual(confusionCounts(yt, yp), {
      tp: 1_000_000,
      fp: 1_000_000,
      fn: 1_000_000,
      tn: h * w - 3_000_000,
    });
  });

  it('uses the smooth option; smooth = 0 makes empty-with-empty NaN', () => {
    const m = metricsFromCounts({ tp: 1, fp: 1, fn: 1, tn: 2 }, { smooth: 0 });
    expectClose(values(m), [0.5, 0.5, 0.5, 2 / 3, 1 / 3]);
    assert.ok(Number.isNaN(metricsFromCounts({ tp: 0, fp: 0, fn: 0, tn: 4 }, { smooth: 0 }).dsc));
  });

  it('rejects arrays of different lengths, bad thresholds and bad smooth', () => {
    assert.throws(() => confusionCounts([0, 1, 0], [0, 1]), {
      name: 'ShapeError',
      message: 'confusionCounts: yTrue has 3 elements but yPred has 2',
    });
    assert.throws(() => evaluateMask([0], [0], { threshold: NaN }), {
      name: 'UserError',
      message: 'confusionCounts: threshold must be a finite number, got NaN',
    });
    assert.throws(() => metricsFromCounts({ tp: 0, fp: 0, fn: 0, tn: 0 }, { smooth: -1 }), {
      message: 'smooth must be a finite number >= 0, got -1',
    });
  });
});

for (const backend of NUMERIC_BACKENDS) {
  describe(`hard evaluation metrics on tensors, ${backend}`, () => {
    before(async () => {
      await useBackend(backend);
    });

    it('gives one result per image, equal to the array functions on each image', () => {
      const shape = [3, 6, 5, 1];
      const yt = tf.tidy(() => tf.cast(tf.greater(randomTensor(shape, 21), 0.7), 'float32'));
      const yp = randomTensor(shape, 22);
      const before = tf.memory().numTensors;
      const counts = confusionCountsPerImage(yt, yp);
      const metrics = evaluateBatch(yt, yp, { threshold: 0.4 });
      assert.equal(tf.memory().numTensors, before, 'no tensors created');
      const g = yt.dataSync();
      const p = yp.dataSync();
      assert.equal(counts.length, 3);
      assert.equal(metrics.length, 3);
      for (let i = 0; i < 3; i++) {
        const gi = g.subarray(i * 30, (i + 1) * 30);
        const pi = p.subarray(i * 30, (i + 1) * 30);
        // An independent count: sums of products of the 0/1 masks (as the reference's numpy).
        let tp = 0;
        let fp = 0;
        let fn = 0;
        let tn = 0;
        for (let j = 0; j < 30; j++) {
          const a = gi[j] > 0.5 ? 1 : 0;
          const b = pi[j] > 0.5 ? 1 : 0;
          tp += a * b;
          fp += (1 - a) * b;
          fn += a * (1 - b);
          tn += (1 - a) * (1 - b);
        }
        assert.deepEqual(counts[i], { tp, fp, fn, tn });
        assert.ok(tp + fn > 0 && tp + fp > 0, 'the random masks are not degenerate');
        expectClose(values(metrics[i]), values(evaluateMask(gi, pi, { threshold: 0.4 })));
      }
      tf.dispose([yt, yp]);
    });

    it('rejects mismatched tensor shapes with a message naming the function', () => {
      const a = tf.zeros([1, 4, 4, 1]);
      const b = tf.zeros([2, 4, 4, 1]);
      assert.throws(() => evaluateBatch(a, b), {
        name: 'ShapeError',
        message:
          'confusionCountsPerImage: yTrue shape [1,4,4,1] does not match yPred shape [2,4,4,1]',
      });
      tf.dispose([a, b]);
    });
  });
}
