import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { metricsFromCounts } from '../../src/metrics/evaluation.js';
import { METRICS } from '../../src/metrics/registry.js';
import { plainJaccard, thresholdedJaccard } from '../../src/metrics/thresholded_jaccard.js';
import { expectClose } from '../helpers.js';

describe('thresholdedJaccard (ISIC 2018 Task 1)', () => {
  test('a hand-made table: IoU below 0.65 counts 0, 0.65 itself counts', () => {
    // IoU      0.9  0.65  0.6499  0.2  1.0  -> counted 0.9, 0.65, 0, 0, 1.0 -> 2.55 / 5
    expectClose(thresholdedJaccard([0.9, 0.65, 0.6499, 0.2, 1]), 0.51, { rtol: 0, atol: 1e-15 });
    expectClose(thresholdedJaccard([0.64]), 0, { rtol: 0, atol: 0 });
    expectClose(thresholdedJaccard([0.7, 0.8]), 0.75, { rtol: 0, atol: 1e-15 });
  });

  test('errors name the function', () => {
    assert.throws(() => thresholdedJaccard([]), /thresholdedJaccard: no images/);
    assert.throws(() => thresholdedJaccard([0.5, 1.2]), /IoU of image 1 is 1.2, not 0 to 1/);
  });
});

describe('the plain Jaccard and its ISIC score (no smoothing term)', () => {
  test('TP / (TP + FP + FN); an empty union (both masks empty) is 1', () => {
    assert.equal(plainJaccard({ tp: 1, fp: 0, fn: 1 }), 0.5);
    assert.equal(plainJaccard({ tp: 9, fp: 1, fn: 2 }), 0.75);
    assert.equal(plainJaccard({ tp: 0, fp: 3, fn: 0 }), 0);
    assert.equal(plainJaccard({ tp: 0, fp: 0, fn: 0 }), 1);
  });

  test('beside the smoothed score: 1 of a 2-pixel lesion found, 9 of 10, both empty', () => {
    const counts = [
      { tp: 1, fp: 0, fn: 1, tn: 98 },
      { tp: 9, fp: 1, fn: 0, tn: 90 },
      { tp: 0, fp: 0, fn: 0, tn: 100 },
    ];
    const images = counts.map((c) => ({ metrics: metricsFromCounts(c), counts: c }));
    // Plain IoU 0.5 (under 0.65: 0), 0.9, 1: (0 + 0.9 + 1) / 3.
    expectClose(METRICS.thresholdedJaccardPlain.fromImages(images)!, 1.9 / 3, {
      rtol: 0,
      atol: 1e-15,
    });
    // Smoothed (TP + 1) / (TP + FP + FN + 1): 2/3 (kept), 10/11, 1.
    expectClose(METRICS.thresholdedJaccard.fromImages(images)!, (2 / 3 + 10 / 11 + 1) / 3, {
      rtol: 0,
      atol: 1e-15,
    });
    // Rows without their counts (made elsewhere) have no plain score.
    assert.equal(
      METRICS.thresholdedJaccardPlain.fromImages(images.map((r) => ({ metrics: r.metrics }))),
      undefined,
    );
  });
});
