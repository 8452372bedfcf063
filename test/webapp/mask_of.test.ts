/**
 * The worker's masks from a kept prediction (`maskOf`), without a browser: the threshold, the
 * TTA mean of the passes (worked by hand, in float64 then rounded to float32 as
 * `AveragingEngine` does), keep-largest and min-size at the image's size, quality control of
 * the mask in force, and one clear message for settings the CLI would refuse or passes not run.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flipValues, meanOfPasses, mirrorColumns } from '../../src/eval/ensemble.js';
import { checkMaskSettings, extraFlips, hasPasses, maskOf } from '../../src/webapp/mask_of.js';
import type { MaskSettings, StoredPrediction } from '../../src/webapp/work.js';
import { prediction, standInModel } from './stand_in.js';

const at = (threshold: number, more: Partial<MaskSettings> = {}): MaskSettings => ({
  threshold,
  keepLargest: false,
  minSize: 0,
  tta: 'none',
  ...more,
});

describe('masks from a kept prediction', () => {
  const model = standInModel();

  test('the threshold, then nearest resizing to the image', () => {
    // [[0.2, 0.4], [0.6, 0.8]] to 2x4: at 0.5 the bottom row, at 0.7 its right half.
    const half = maskOf(model, prediction(), [2, 4], at(0.5));
    assert.deepEqual([...half.mask.data], [0, 0, 0, 0, 1, 1, 1, 1]);
    assert.equal(half.pixels, 4);
    const high = maskOf(model, prediction(), [2, 4], at(0.7));
    assert.deepEqual([...high.mask.data], [0, 0, 0, 0, 0, 0, 1, 1]);
    assert.equal(high.pixels, 2);
  });

  test('TTA hflip: the mean of the image and its mirrored pass; vflip needs its passes', () => {
    // Mirrored pass, mapped back: [[0.4, 0.2], [0.8, 0.6]]: the mean is 0.3 everywhere on top
    // and 0.7 below.
    const p: StoredPrediction = {
      ...prediction(),
      mirrored: Float32Array.from([0.4, 0.2, 0.8, 0.6]),
    };
    const made = maskOf(model, p, [2, 2], at(0.65, { tta: 'hflip' }));
    // The float32 values summed in float64, halved, rounded to float32 (0.3 and 0.7 nearly).
    assert.deepEqual(
      [...made.probabilities],
      [0, 1, 2, 3].map((i) => Math.fround((p.probabilities[i] + p.mirrored![i]) / 2)),
    );
    assert.ok(made.probabilities.every((v, i) => Math.abs(v - [0.3, 0.3, 0.7, 0.7][i]) < 1e-7));
    assert.deepEqual([...made.mask.data], [0, 0, 1, 1]);
    // Without TTA at 0.65 only the 0.8 pixel is lesion.
    assert.deepEqual([...maskOf(model, p, [2, 2], at(0.65)).mask.data], [0, 0, 0, 1]);
    assert.equal(hasPasses(p, 'hflip'), true);
    assert.equal(hasPasses(p, 'vflip'), false);
    assert.deepEqual(extraFlips('vflip'), [{ vertical: true, horizontal: false }]);
    assert.deepEqual(extraFlips('hflip'), []);
    assert.throws(
      () => maskOf(model, p, [2, 2], at(0.5, { tta: 'vflip' })),
      /^UserError: the passes of TTA vflip were not run for this image$/,
    );
    // flips: the four passes in ttaFlips order (none, h, v, hv), summed in float64.
    const all: StoredPrediction = {
      ...p,
      vflipped: Float32Array.from([0.1, 0.1, 0.1, 0.1]),
      hvflipped: Float32Array.from([0.9, 0.9, 0.9, 0.9]),
    };
    const four = maskOf(model, all, [2, 2], at(0.5, { tta: 'flips' }));
    assert.deepEqual(
      [...four.probabilities],
      [0, 1, 2, 3].map((i) => Math.fround((p.probabilities[i] + p.mirrored![i] + 0.1 + 0.9) / 4)),
    );
  });

  test('keep-largest and min-size at the image size', () => {
    // A 2x3 map: lesion at the two left columns and the right one, apart (8-connected: the
    // middle column separates them).
    const p: StoredPrediction = {
      probabilities: Float32Array.from([0.9, 0.9, 0.1, 0.9, 0.9, 0.1]),
      inputSize: [2, 3],
      attention: [],
      engine: 'stand-in',
    };
    const wide = standInModel();
    (wide.loaded.metadata.predict as { inputShape: number[] }).inputShape = [2, 3, 1];
    p.probabilities.set([0.9, 0.1, 0.9, 0.9, 0.1, 0.1]);
    // Components: {0, 3} (2 px) and {2} (1 px).
    assert.equal(maskOf(wide, p, [2, 3], at(0.5)).pixels, 3);
    assert.deepEqual(
      [...maskOf(wide, p, [2, 3], at(0.5, { keepLargest: true })).mask.data],
      [1, 0, 0, 1, 0, 0],
    );
    assert.deepEqual(
      [...maskOf(wide, p, [2, 3], at(0.5, { minSize: 2 })).mask.data],
      [1, 0, 0, 1, 0, 0],
    );
    assert.equal(maskOf(wide, p, [2, 3], at(0.5, { minSize: 3 })).pixels, 0);
  });

  test('quality control of the mask in force: confidence and the flip check', () => {
    const p: StoredPrediction = {
      ...prediction(),
      mirrored: Float32Array.from([0.4, 0.2, 0.8, 0.6]),
    };
    // At 0.5 both passes call the bottom row lesion (DSC 1), whose entropy, (h(0.6) + h(0.8)) / 2
    // = (0.971 + 0.722) / 2, is above the limit: unsure. The stand-in model records no training
    // statistics: no input or area signal.
    const half = maskOf(model, p, [2, 2], at(0.5));
    assert.equal(half.qc.verdict, 'check');
    assert.deepEqual(half.qc.reasons, ['confidence']);
    assert.equal(half.qc.signals.flipDsc, 1);
    assert.equal(half.qc.signals.inputDistance, null);
    // At 0.7 one pass calls the bottom right pixel lesion, the other the bottom left: DSC 0.
    const high = maskOf(model, p, [2, 2], at(0.7));
    assert.deepEqual(high.qc.reasons, ['confidence', 'flip']);
    assert.equal(high.qc.signals.flipDsc, 0);
  });

  test('settings the CLI refuses get one message', () => {
    assert.throws(() => checkMaskSettings(at(1.5)), /threshold/);
    assert.throws(
      () => checkMaskSettings(at(0.5, { minSize: -1 })),
      /^UserError: min size must be an integer >= 0, got -1$/,
    );
    assert.throws(
      () => checkMaskSettings(at(0.5, { tta: 'spin' as MaskSettings['tta'] })),
      /^UserError: TTA must be one of none, hflip, vflip, flips, got 'spin'$/,
    );
  });

  test('flipValues: a flip is its own inverse; the horizontal one is mirrorColumns', () => {
    const values = Float32Array.from({ length: 2 * 3 * 2 }, (_, i) => i);
    for (const flip of [
      { vertical: true, horizontal: false },
      { vertical: false, horizontal: true },
      { vertical: true, horizontal: true },
    ]) {
      assert.deepEqual(flipValues(flipValues(values, 1, 2, 3, 2, flip), 1, 2, 3, 2, flip), values);
    }
    const h = { vertical: false, horizontal: true };
    assert.deepEqual(flipValues(values, 1, 2, 3, 2, h), mirrorColumns(values, 1, 2, 3, 2));
    // Rows of [[0,1],[2,3],[4,5]] / [[6,7],[8,9],[10,11]] swapped.
    assert.deepEqual(
      [...flipValues(values, 1, 2, 3, 2, { vertical: true, horizontal: false })],
      [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5],
    );
    assert.deepEqual([...meanOfPasses([Float32Array.of(0.25), Float32Array.of(0.75)])], [0.5]);
  });
});
