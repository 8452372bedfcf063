import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseThreshold, scorePrediction, thresholdProbabilities } from '../../src/eval/score.js';
import type { SegmentationMetrics } from '../../src/metrics/evaluation.js';
import { rectMask } from '../data/fixtures.js';
import { expectClose } from '../helpers.js';

const values = (m: SegmentationMetrics) => [m.dsc, m.precision, m.recall, m.tnr, m.iou];

/** A probability map: 0.9 inside rows [y0, y1) x cols [x0, x1), 0.1 elsewhere. */
function probs(h: number, w: number, rect: [number, number, number, number]): Float32Array {
  return Float32Array.from(rectMask(h, w, rect), (v) => (v ? 0.9 : 0.1));
}

describe('thresholdProbabilities', () => {
  test('lesion where p > threshold, strictly', () => {
    const m = thresholdProbabilities([0.2, 0.5, 0.51, 1], [2, 2]);
    assert.deepEqual([...m.data], [0, 0, 1, 1]);
    assert.deepEqual([m.height, m.width], [2, 2]);
    assert.deepEqual(
      [...thresholdProbabilities([0.2, 0.5, 0.51, 1], [2, 2], 0.1).data],
      [1, 1, 1, 1],
    );
    assert.deepEqual(
      [...thresholdProbabilities([0.2, 0.5, 0.51, 1], [2, 2], 1).data],
      [0, 0, 0, 0],
    );
  });

  test('a map of the wrong length and a bad threshold are errors', () => {
    assert.throws(() => thresholdProbabilities([0, 1, 0], [2, 2]), {
      name: 'UserError',
      message: 'a 2x2 probability map needs 4 values, got 3',
    });
    assert.throws(() => thresholdProbabilities([0, 1, 0, 1], [2, 2], 1.5), {
      message: 'threshold must be a number from 0 to 1, got 1.5',
    });
  });
});

describe('scorePrediction: the prediction goes back to the original size, nearest neighbour', () => {
  test('a 2x3 map up to 5x7, pixel by pixel (worked by hand)', () => {
    // Row y of 5 takes row floor(y * 2 / 5): 0, 0, 0, 1, 1.
    // Column x of 7 takes column floor(x * 3 / 7): 0, 0, 0, 1, 1, 2, 2.
    const p = [0.9, 0.1, 0.9, 0.1, 0.9, 0.1];
    const truth = { data: new Uint8Array(35), height: 5, width: 7 };
    const s = scorePrediction(p, [2, 3], truth);
    const a = [1, 1, 1, 0, 0, 1, 1];
    const b = [0, 0, 0, 1, 1, 0, 0];
    assert.deepEqual([...s.prediction.data], [...a, ...a, ...a, ...b, ...b]);
    assert.deepEqual([s.prediction.height, s.prediction.width], [5, 7]);
    // 19 predicted pixels of 35 on an empty ground truth: DSC = 1 / (19 + 1).
    expectClose(values(s.metrics), [1 / 20, 1 / 20, 1, 17 / 36, 1 / 20]);
    expectClose([s.truthArea, s.predictedArea], [0, 19 / 35]);
  });

  test('30x45 original, 32x32 input: the round trip grows a rectangle by a row and 2 columns', () => {
    // Ground truth: rows 0-7, cols 0-19 of 30x45 (160 pixels). The network's map at 32x32
    // is lesion on rows 0-8, cols 0-14 (the truth resized to 32x32: input row y shows
    // original row floor(30 y / 32) < 8 for y <= 8; input column x shows floor(45 x / 32)
    // < 20 for x <= 14). Back at 30x45, original row y takes input row floor(32 y / 30),
    // <= 8 for y <= 8; column x takes floor(32 x / 45), <= 14 for x <= 21.
    // So the prediction is rows 0-8, cols 0-21: 9 x 22 = 198 pixels.
    // TP = 160, FP = 38, FN = 0, TN = 1350 - 198 = 1152.
    // DSC = (320 + 1) / (320 + 38 + 1) = 321/359, precision = 161/199, recall = 161/161,
    // TNR = 1153/1191, IoU = 161/199.
    const truth = { data: rectMask(30, 45, [0, 8, 0, 20]), height: 30, width: 45 };
    const inputMask = rectMask(32, 32, [0, 9, 0, 15]);
    const s = scorePrediction(probs(32, 32, [0, 9, 0, 15]), [32, 32], truth, { inputMask });
    assert.deepEqual([...s.prediction.data], [...rectMask(30, 45, [0, 9, 0, 22])]);
    expectClose(values(s.metrics), [321 / 359, 161 / 199, 1, 1153 / 1191, 161 / 199]);
    expectClose([s.truthArea, s.predictedArea], [160 / 1350, 198 / 1350]);
    // At the input size the prediction equals the resized truth: every metric is 1.
    expectClose(values(s.atInputSize!), [1, 1, 1, 1, 1]);
  });

  test('the threshold applies before resizing', () => {
    const truth = { data: rectMask(30, 45, [0, 8, 0, 20]), height: 30, width: 45 };
    // Nothing is above 0.95: an empty prediction misses all 160 lesion pixels.
    const s = scorePrediction(probs(32, 32, [0, 9, 0, 15]), [32, 32], truth, { threshold: 0.95 });
    expectClose(values(s.metrics), [1 / 161, 1, 1 / 161, 1, 1 / 161]);
    assert.equal(s.predictedArea, 0);
  });

  test('errors name the function and the sizes', () => {
    const truth = { data: new Uint8Array(4), height: 2, width: 2 };
    assert.throws(() => scorePrediction([0, 0, 0, 0], [2, 2], truth, { inputMask: [0, 0] }), {
      name: 'UserError',
      message: 'the input-size mask has 2 values, expected 4 (2x2)',
    });
    assert.throws(() => scorePrediction([0, 0, 0, 0], [2, 2], truth, { threshold: -0.1 }), {
      message: 'threshold must be a number from 0 to 1, got -0.1',
    });
  });
});

describe('parseThreshold', () => {
  test('accepts 0 to 1, names the flag otherwise', () => {
    assert.deepEqual(
      ['0', '0.5', '1', ' 0.25 '].map((t) => parseThreshold(t)),
      [0, 0.5, 1, 0.25],
    );
    for (const bad of ['', 'x', '1.5', '-0.1', 'NaN']) {
      assert.throws(() => parseThreshold(bad), {
        name: 'UserError',
        message: `--threshold: expected a number from 0 to 1, got '${bad}'`,
      });
    }
  });
});
