import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  computeInputStatistics,
  driftScore,
  DRIFT_Z,
  imageIntensity,
  inputDistance,
  inputStatisticsOf,
  INPUT_STATISTICS_KEY,
  type InputStatistics,
} from '../../src/data/input_statistics.js';
import { TfjsEngine, type InferenceEngine } from '../../src/eval/engine.js';
import { AveragingEngine, predictWithMirror } from '../../src/eval/ensemble.js';
import {
  areaExcess,
  checkQuality,
  flipAgreement,
  formatQualitySummary,
  lesionEntropy,
  QC_LIMITS,
  summarizeQuality,
} from '../../src/eval/quality.js';
import { expectClose, useBackend } from '../helpers.js';

const EXACT = { atol: 0, rtol: 0 };

/** A grey image of 8 pixels, half at b - c and half at b + c: brightness b, contrast c. */
const image = (b: number, c: number): Uint8Array =>
  Uint8Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? b - c : b + c));

/** Training statistics made by hand: brightness 100 ± 10, contrast 40 ± 10, correlation r. */
function stats(r?: number, area?: [number, number]): InputStatistics {
  return {
    channels: 1,
    images: 10,
    brightness: { mean: [100], std: [10] },
    contrast: { mean: [40], std: [10] },
    ...(r !== undefined ? { correlation: [r] } : {}),
    ...(area !== undefined
      ? {
          lesionArea: {
            levels: [0, 0.5, 1],
            quantiles: [area[0], (area[0] + area[1]) / 2, area[1]],
          },
        }
      : {}),
  };
}

/** A 4x4 map with p inside the columns `cols` and 0.01 elsewhere. */
const columns = (cols: number[], p = 0.99): Float32Array =>
  Float32Array.from({ length: 16 }, (_, i) => (cols.includes(i % 4) ? p : 0.01));

/** What every test checks besides its signal: a confident lesion, the same in both passes. */
const steady = {
  probabilities: columns([1, 2]),
  passes: { unflipped: columns([1, 2]), mirrored: columns([1, 2]) },
  threshold: 0.5,
  lesionArea: 0.1,
};

describe('quality control of a prediction', () => {
  test('training statistics record the brightness-contrast correlation and area quantiles', () => {
    // Images with (brightness, contrast) (10, 0), (20, 10), (30, 10): deviations b -10, 0, 10;
    // c -20/3, 10/3, 10/3; sum of products 100, of squares 200 and 200/3: r = sqrt(3)/2.
    const s = computeInputStatistics(
      [Uint8Array.from([10, 10]), Uint8Array.from([10, 30]), Uint8Array.from([20, 40])],
      1,
      { lesionAreas: [0.05, 0.01, 0.03, 0.02, 0.04] },
    );
    expectClose(s.correlation!, [Math.sqrt(3) / 2], { atol: 1e-12, rtol: 0 });
    // Sorted 0.01..0.05: quantile p at rank 4p, interpolated: 0.01 -> 0.01 + 0.04 * 0.01.
    const at = (p: number): number => s.lesionArea!.quantiles[s.lesionArea!.levels.indexOf(p)];
    expectClose([at(0), at(0.01), at(0.25), at(0.5), at(1)], [0.01, 0.0104, 0.02, 0.03, 0.05], {
      atol: 1e-15,
      rtol: 0,
    });
    assert.deepEqual(inputStatisticsOf({ [INPUT_STATISTICS_KEY]: s }), s);
    // Statistics recorded before quality control have neither field, and still read.
    const { correlation: _c, lesionArea: _a, ...old } = s;
    assert.deepEqual(inputStatisticsOf({ [INPUT_STATISTICS_KEY]: old }), old);
    // A malformed new field is dropped, not the statistics.
    assert.deepEqual(
      inputStatisticsOf({ [INPUT_STATISTICS_KEY]: { ...old, correlation: 'x' } }),
      old,
    );
  });

  test('input: three spreads off in brightness and in contrast is far, though each z is 3', () => {
    const far = imageIntensity(image(70, 10), 1);
    assert.deepEqual(far, { brightness: [70], contrast: [10] });
    // Each z is -3: under the drift check's limit of 4, which says nothing.
    assert.equal(driftScore(stats(0), far), 3);
    assert.ok(driftScore(stats(0), far) <= DRIFT_Z);
    // Uncorrelated (and statistics without a correlation): d = sqrt(3² + 3²).
    expectClose([inputDistance(stats(0), far)], [Math.sqrt(18)], { atol: 1e-12, rtol: 0 });
    expectClose([inputDistance(stats(), far)], [Math.sqrt(18)], { atol: 1e-12, rtol: 0 });
    // r = 0.5: d² = (9 - 2·0.5·9 + 9) / (1 - 0.25) = 12; against the correlation (zb = -3,
    // zc = +3): (9 + 2·0.5·9 + 9) / 0.75 = 36.
    expectClose([inputDistance(stats(0.5), far)], [Math.sqrt(12)], { atol: 1e-12, rtol: 0 });
    const against = imageIntensity(image(70, 70), 1);
    expectClose([inputDistance(stats(0.5), against)], [6], { atol: 1e-12, rtol: 0 });
    const check = checkQuality({
      ...steady,
      stats: stats(0.5, [0.01, 0.2]),
      pixels: image(70, 10),
    });
    assert.equal(check.verdict, 'check');
    assert.deepEqual(check.reasons, ['input']);
    expectClose([check.score], [Math.sqrt(12) / QC_LIMITS.inputDistance], { atol: 1e-12, rtol: 0 });
    // At the training mean: distance 0, nothing else wrong.
    const ok = checkQuality({ ...steady, stats: stats(0.5, [0.01, 0.2]), pixels: image(100, 40) });
    assert.equal(ok.verdict, 'ok');
    assert.deepEqual(ok.reasons, []);
    assert.equal(ok.signals.inputDistance, 0);
  });

  test('area: outside the training range by more than half its end', () => {
    const s = stats(0, [0.01, 0.2]);
    const cases: Array<[number, number]> = [
      [0.1, 0], // inside
      [0.006, 0.4], // (0.01 - 0.006) / 0.01
      [0.004, 0.6],
      [0, 1], // an empty mask
      [0.35, 0.75], // (0.35 - 0.2) / 0.2
    ];
    for (const [area, excess] of cases) {
      expectClose([areaExcess(s, area)!], [excess], { atol: 1e-12, rtol: 0 });
      const check = checkQuality({ ...steady, stats: s, lesionArea: area });
      assert.equal(check.verdict, excess > QC_LIMITS.areaExcess ? 'check' : 'ok', `area ${area}`);
      assert.deepEqual(check.reasons, excess > QC_LIMITS.areaExcess ? ['area'] : []);
    }
    // Statistics without areas (an older model): not measured.
    assert.equal(areaExcess(stats(0), 0), null);
    assert.equal(
      checkQuality({ ...steady, stats: stats(0), lesionArea: 0 }).signals.areaExcess,
      null,
    );
  });

  test('confidence: mean binary entropy inside the lesion', () => {
    // h(0.75) = -(0.75 log2 0.75 + 0.25 log2 0.25) = 0.811278; h(0.99) = 0.080793.
    const unsure = columns([1, 2], 0.75);
    expectClose([lesionEntropy(unsure, 0.5)!], [0.8112781244591328], { atol: 1e-12, rtol: 0 });
    expectClose([lesionEntropy(columns([1, 2]), 0.5)!], [0.08079313589591118], {
      atol: 1e-7,
      rtol: 0,
    });
    // The pixels outside the lesion (p = 0.01, entropy 0.08) do not count; no lesion, no value.
    assert.equal(lesionEntropy(new Float32Array(16).fill(0.3), 0.5), null);
    const check = checkQuality({
      ...steady,
      probabilities: unsure,
      passes: { unflipped: unsure, mirrored: unsure },
    });
    assert.deepEqual([check.verdict, check.reasons], ['check', ['confidence']]);
    assert.equal(checkQuality(steady).verdict, 'ok');
  });

  test('flip: the mask of the mirrored image, mirrored back, must agree', () => {
    // Columns 0-1 against 2-3: no overlap, DSC 0; 0-1 against 1-2: 2·4 / (8 + 8) = 0.5.
    assert.equal(flipAgreement(columns([0, 1]), columns([2, 3]), 0.5), 0);
    assert.equal(flipAgreement(columns([0, 1]), columns([1, 2]), 0.5), 0.5);
    assert.equal(flipAgreement(columns([]), columns([]), 0.5), 1);
    const check = checkQuality({
      ...steady,
      passes: { unflipped: columns([0, 1]), mirrored: columns([1, 2]) },
    });
    assert.deepEqual([check.verdict, check.reasons], ['check', ['flip']]);
    expectClose([check.score], [0.5 / (1 - QC_LIMITS.flipDsc)], { atol: 1e-12, rtol: 0 });
    // Without a mirrored pass: not measured.
    const { passes: _p, ...alone } = steady;
    assert.equal(checkQuality(alone).signals.flipDsc, null);
  });

  test('the summary counts verdicts and reasons in one line', () => {
    const flipped = checkQuality({
      ...steady,
      passes: { unflipped: columns([0, 1]), mirrored: columns([2, 3]) },
    });
    const empty = checkQuality({ ...steady, stats: stats(0, [0.01, 0.2]), lesionArea: 0 });
    const s = summarizeQuality([checkQuality(steady), flipped, empty]);
    assert.deepEqual(s, {
      checked: 3,
      flagged: 2,
      reasons: { input: 0, area: 1, confidence: 0, flip: 1 },
    });
    assert.equal(
      formatQualitySummary(s, 'the qc column'),
      'qc: 2 of 3 images flagged (1 lesion area outside the training range, 1 mirror ' +
        'disagrees): check their masks (the qc column)',
    );
    assert.equal(
      formatQualitySummary(summarizeQuality([checkQuality(steady)]), 'x'),
      'qc: none of 1 image flagged',
    );
  });
});

describe('predictWithMirror: the flip check reuses test-time augmentation', () => {
  before(() => useBackend('cpu'));

  /** An engine that ignores its input and gives each pixel its column / (cols - 1). */
  function columnEngine(calls: { n: number }): InferenceEngine {
    return {
      name: 'column',
      description: 'column',
      predict: (xs) => {
        calls.n += 1;
        const [n, rows, cols] = xs.shape;
        return Promise.resolve(
          Float32Array.from({ length: n * rows * cols }, (_, i) => (i % cols) / (cols - 1)),
        );
      },
      dispose: () => Promise.resolve(),
    };
  }

  test('the unflipped pass, the mirrored pass mapped back, and the passes counted', async () => {
    const xs = tf.zeros([1, 2, 3, 1]) as tf.Tensor4D;
    // Column x gives x/2 as it is; on the mirror, column x shows column 2 - x: (2 - x)/2.
    const unflipped = [0, 0.5, 1, 0, 0.5, 1];
    const mirrored = [1, 0.5, 0, 1, 0.5, 0];
    for (const [tta, passes, probabilities] of [
      ['none', 2, unflipped],
      ['hflip', 2, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]],
      ['flips', 4, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]],
    ] as const) {
      const calls = { n: 0 };
      const engine = new AveragingEngine([columnEngine(calls)], tta);
      const got = await engine.predictWithMirror(xs);
      assert.equal(calls.n, passes, tta);
      expectClose(got.unflipped, unflipped, EXACT);
      expectClose(got.mirrored, mirrored, EXACT);
      expectClose(got.probabilities, probabilities, EXACT);
      // The prediction is the engine's own.
      expectClose(await engine.predict(xs), probabilities, EXACT);
    }
    // Any other engine is wrapped: two passes.
    const calls = { n: 0 };
    const got = await predictWithMirror(columnEngine(calls), xs);
    assert.equal(calls.n, 2);
    expectClose(got.mirrored, mirrored, EXACT);
    xs.dispose();
  });

  test('a mirror-equivariant network: its two passes agree, the flip DSC is 1', async () => {
    // A 1x1 convolution (sigmoid of 10x - 5) of the input: mirror-equivariant, so its two
    // passes agree exactly on any image; the flip check can only fire for other networks.
    const input = tfl.input({ shape: [2, 4, 1] });
    const conv = tfl.layers.conv2d({ filters: 1, kernelSize: 1, activation: 'sigmoid' });
    const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
    conv.setWeights([tf.tensor4d([10], [1, 1, 1, 1]), tf.tensor1d([-5])]);
    const xs = tf.tensor4d([0, 0, 1, 1, 0, 1, 1, 0], [1, 2, 4, 1]);
    const got = await predictWithMirror(new TfjsEngine(model), xs);
    expectClose(got.mirrored, got.unflipped, { atol: 1e-7, rtol: 0 });
    assert.equal(flipAgreement(got.unflipped, got.mirrored, 0.5), 1);
    xs.dispose();
    model.dispose();
  });
});
