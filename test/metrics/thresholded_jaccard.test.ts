import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { thresholdedJaccard } from '../../src/metrics/thresholded_jaccard.js';
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
