import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  computeInputStatistics,
  DriftCheck,
  imageDriftWarning,
  imageIntensity,
  inputStatisticsOf,
  INPUT_STATISTICS_KEY,
} from '../../src/data/input_statistics.js';
import { expectClose } from '../helpers.js';

describe('training input statistics and the drift warning', () => {
  test('brightness and contrast per channel, by hand', () => {
    // Two pixels RGB: (0, 10, 20), (100, 10, 40): means 50, 10, 30; stds 50, 0, 10.
    const s = imageIntensity([0, 10, 20, 100, 10, 40], 3);
    assert.deepEqual(s, { brightness: [50, 10, 30], contrast: [50, 0, 10] });
    // Two grey images: means 10 and 30 (mean 20, std 10), stds 0 and 10 (mean 5, std 5).
    const stats = computeInputStatistics([Uint8Array.from([10, 10]), Uint8Array.from([20, 40])], 1);
    expectClose(stats.brightness.mean, [20], { atol: 0, rtol: 0 });
    expectClose(stats.brightness.std, [10], { atol: 0, rtol: 0 });
    expectClose(stats.contrast.mean, [5], { atol: 0, rtol: 0 });
    expectClose(stats.contrast.std, [5], { atol: 0, rtol: 0 });
    assert.deepEqual(inputStatisticsOf({ [INPUT_STATISTICS_KEY]: stats }), stats);
    assert.equal(inputStatisticsOf({ ftunet: {} }), undefined);
    assert.equal(inputStatisticsOf(undefined), undefined);
  });

  test('images like the training ones pass; far brighter ones give one line, for many or one', () => {
    // Training: dark images with brightness 40..60 and contrast about 20.
    const image = (base: number) =>
      Uint8Array.from({ length: 64 }, (_, i) => base + (i % 2 === 0 ? -20 : 20));
    const stats = computeInputStatistics([40, 45, 50, 55, 60].map(image), 1);
    const ok = new DriftCheck(stats);
    for (const b of [42, 50, 58]) ok.add(image(b));
    assert.equal(ok.warning(), undefined);
    const far = new DriftCheck(stats);
    for (const b of [50, 170, 180]) far.add(image(b));
    assert.equal(
      far.warning(),
      "2 of 3 images do not look like the model's 5 training images (mean brightness 175 there, " +
        '50 ± 7 in training; contrast 20, 20 ± 0 in training): its masks may be meaningless',
    );
    // One image (the web app's note): the same words, about this image.
    assert.equal(imageDriftWarning(stats, imageIntensity(image(58), 1)), undefined);
    assert.equal(
      imageDriftWarning(stats, imageIntensity(image(170), 1)),
      "this image does not look like the model's 5 training images (brightness 170 there, " +
        '50 ± 7 in training; contrast 20, 20 ± 0 in training): its mask may be meaningless',
    );
  });
});
