import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfjsEngine, type InferenceEngine } from '../../src/eval/engine.js';
import {
  AveragingEngine,
  checkEnsembleInputs,
  commonMirrors,
  mirrorsOfAugment,
  resolveTta,
  ttaFlips,
} from '../../src/eval/ensemble.js';
import { resolveAugmentConfig } from '../../src/data/augment.js';
import { DATASET_PRESETS } from '../../src/data/presets.js';
import { expectClose, useBackend } from '../helpers.js';

/**
 * A network whose output depends on position and on neighbours (a 3x3 convolution with an
 * asymmetric kernel, then a sigmoid), so that flipping the input does not commute with it.
 */
function asymmetricNet(seed: number): tfl.LayersModel {
  const input = tfl.input({ shape: [5, 6, 1] });
  const conv = tfl.layers.conv2d({
    filters: 1,
    kernelSize: 3,
    padding: 'same',
    activation: 'sigmoid',
  });
  const model = tfl.model({ inputs: input, outputs: conv.apply(input) as tfl.SymbolicTensor });
  tf.tidy(() => {
    const k = Array.from({ length: 9 }, (_, i) => ((i * 7 + seed * 3) % 11) / 5 - 1);
    conv.setWeights([tf.tensor4d(k, [3, 3, 1, 1]), tf.tensor1d([0.1 * seed])]);
  });
  return model;
}

/** The model's output with the input flipped on `axes`, flipped back: by definition. */
function flippedBack(model: tfl.LayersModel, xs: tf.Tensor4D, axes: number[]): Float32Array {
  return tf.tidy(() => {
    if (axes.length === 0) return (model.predict(xs) as tf.Tensor).dataSync() as Float32Array;
    const y = model.predict(tf.reverse(xs, axes)) as tf.Tensor;
    return tf.reverse(y, axes).dataSync() as Float32Array;
  });
}

const mean = (arrays: Float32Array[]): Float32Array =>
  arrays[0].map((_, i) => arrays.reduce((s, a) => s + a[i], 0) / arrays.length);

describe('AveragingEngine: ensembles and test-time augmentation', () => {
  before(() => useBackend('cpu'));

  test('flips: none, hflip, vflip, and nnU-Net mirroring', () => {
    assert.equal(ttaFlips('none').length, 1);
    assert.deepEqual(ttaFlips('hflip')[1], { vertical: false, horizontal: true });
    assert.deepEqual(ttaFlips('vflip')[1], { vertical: true, horizontal: false });
    assert.equal(ttaFlips('flips').length, 4);
  });

  test('resolveTta: auto is the trained mirrors; a mirror outside them warns', () => {
    const none = { horizontal: false, vertical: false };
    const h = { horizontal: true, vertical: false };
    const both = { horizontal: true, vertical: true };
    // A BUS preset's augmentation keeps horizontal flips and drops vertical ones.
    const bus = mirrorsOfAugment(
      resolveAugmentConfig('default', DATASET_PRESETS.bus.augmentExclude),
    );
    assert.deepEqual(bus, h);
    assert.deepEqual(mirrorsOfAugment(resolveAugmentConfig('none')), none);
    const cases: Array<[Parameters<typeof resolveTta>[0], typeof h | undefined, string, boolean]> =
      [
        ['auto', h, 'hflip', false],
        ['auto', both, 'flips', false],
        ['auto', { horizontal: false, vertical: true }, 'vflip', false],
        ['auto', none, 'none', false],
        ['auto', undefined, 'none', true],
        ['none', none, 'none', false],
        ['hflip', h, 'hflip', false],
        ['flips', h, 'flips', true],
        ['vflip', h, 'vflip', true],
        ['hflip', none, 'hflip', true],
        ['flips', undefined, 'flips', false],
      ];
    for (const [choice, trained, mode, warns] of cases) {
      const r = resolveTta(choice, trained);
      const what = `${choice} with ${JSON.stringify(trained)}`;
      assert.equal(r.mode, mode, what);
      assert.equal(r.warning !== undefined, warns, what);
    }
    assert.equal(
      resolveTta('hflip', none).warning,
      '--tta hflip: the model was not trained with horizontal flips, nor does its data set show ' +
        'such mirrors, so its masks of mirrored images can be much worse; --tta auto uses the ' +
        'mirrors that suit it (none)',
    );
    // An ensemble is trusted on the axes every member was trained with.
    assert.deepEqual(commonMirrors([both, h]), h);
    assert.equal(commonMirrors([both, undefined]), undefined);
  });

  test('tta and ensembles equal their definitions', async () => {
    const a = asymmetricNet(1);
    const b = asymmetricNet(2);
    const xs = tf.tensor4d(
      Array.from({ length: 2 * 30 }, (_, i) => ((i * 13) % 17) / 17),
      [2, 5, 6, 1],
    );
    const cases: [string, tfl.LayersModel[], 'none' | 'hflip' | 'flips', number[][]][] = [
      ['one model, none', [a], 'none', [[]]],
      ['one model, hflip', [a], 'hflip', [[], [2]]],
      ['one model, flips', [a], 'flips', [[], [2], [1], [1, 2]]],
      ['two models, none', [a, b], 'none', [[]]],
      ['two models, flips', [a, b], 'flips', [[], [2], [1], [1, 2]]],
    ];
    for (const [what, models, tta, flips] of cases) {
      const engine = new AveragingEngine(
        models.map((m) => new TfjsEngine(m)),
        tta,
      );
      const got = await engine.predict(xs);
      const want = mean(models.flatMap((m) => flips.map((axes) => flippedBack(m, xs, axes))));
      expectClose(got, want, { rtol: 1e-6, atol: 1e-6 }, what);
      await engine.dispose();
    }
    // The augmentation changes the prediction here (the check above can tell them apart).
    const none = await new AveragingEngine([new TfjsEngine(a)], 'none').predict(xs);
    const flips = await new AveragingEngine([new TfjsEngine(a)], 'flips').predict(xs);
    assert.ok(none.some((v, i) => Math.abs(v - flips[i]) > 1e-3));
    xs.dispose();
    a.dispose();
    b.dispose();
  });

  test('no tensors leak; the inner engines are disposed', async () => {
    const a = asymmetricNet(1);
    let disposed = 0;
    const inner: InferenceEngine = {
      name: 'fake',
      description: 'fake',
      predict: (xs) =>
        Promise.resolve(new Float32Array(xs.shape[0] * xs.shape[1] * xs.shape[2]).fill(0.25)),
      dispose: () => {
        disposed += 1;
        return Promise.resolve();
      },
    };
    const engine = new AveragingEngine([new TfjsEngine(a), inner], 'flips');
    assert.equal(engine.description, 'tfjs-cpu, ensemble of 2 models, tta flips');
    const xs = tf.zeros([1, 5, 6, 1]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    await engine.predict(xs);
    assert.equal(tf.memory().numTensors, before);
    await engine.dispose();
    assert.equal(disposed, 1);
    xs.dispose();
    a.dispose();
  });

  test('models of an ensemble must agree on input size and channels', () => {
    assert.throws(
      () =>
        checkEnsembleInputs([
          { name: 'runs/a', inputShape: [64, 64, 1] },
          { name: 'runs/b', inputShape: [64, 64, 3] },
        ]),
      /^UserError: runs\/a takes 64x64x1 inputs but runs\/b takes 64x64x3: the models of an ensemble must agree on input size and channels$/,
    );
    checkEnsembleInputs([
      { name: 'a', inputShape: [8, 8, 1] },
      { name: 'b', inputShape: [8, 8, 1] },
    ]);
  });
});
