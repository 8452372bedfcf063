import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { MODEL_SUPERVISION } from '../../src/models/supervision.js';
import { focalTverskyLoss, tverskyLoss } from '../../src/losses/tversky.js';
import { diceLoss } from '../../src/losses/dice.js';
import {
  makeObjective,
  outputWeights,
  parseLossName,
  subsampleTarget,
} from '../../src/train/objective.js';
import { NUMERIC_BACKENDS, expectClose, randomTensor, useBackend } from '../helpers.js';

const DS_OUTPUTS = ['pred1', 'pred2', 'pred3', 'final'];

describe('deep supervision weights', () => {
  test('equal weights are all 1 (the reference)', () => {
    assert.deepEqual(outputWeights(4), [1, 1, 1, 1]);
  });
  test('nnU-Net weights halve per level from full resolution and sum to 1', () => {
    // raw 1/8, 1/4, 1/2, 1 → sum 15/8 → 1/15, 2/15, 4/15, 8/15
    expectClose(outputWeights(4, 'nnunet'), [1 / 15, 2 / 15, 4 / 15, 8 / 15], { rtol: 1e-12 });
    assert.deepEqual(outputWeights(1, 'nnunet'), [1]);
  });
  test('explicit weights are checked', () => {
    assert.deepEqual(outputWeights(2, [0.5, 2]), [0.5, 2]);
    assert.throws(() => outputWeights(4, [1, 1]), /expected 4 non-negative numbers/);
  });
  test('unknown loss names list the choices', () => {
    assert.throws(() => parseLossName('focal', '--loss'), {
      message: "--loss: unknown loss 'focal'; expected one of dl, tl, ftl, bce-dice",
    });
  });
});

for (const backend of NUMERIC_BACKENDS) {
  describe(`deep supervision objective on ${backend}`, () => {
    before(() => useBackend(backend));

    test('targets take every k-th pixel starting at 0 (gt[::k, ::k])', () => {
      // 8x8 mask with value 10*row + col, so each sampled pixel is identifiable.
      const values = Array.from({ length: 64 }, (_, i) => 10 * Math.floor(i / 8) + (i % 8));
      const ys = tf.tensor4d(values, [1, 8, 8, 1]);
      const t4 = subsampleTarget(ys, [2, 2]);
      assert.deepEqual(Array.from(t4.dataSync()), [0, 4, 40, 44]);
      const t2 = subsampleTarget(ys, [4, 4]);
      assert.deepEqual(
        Array.from(t2.dataSync()),
        [0, 2, 4, 6, 20, 22, 24, 26, 40, 42, 44, 46, 60, 62, 64, 66],
      );
      assert.equal(subsampleTarget(ys, [8, 8]), ys);
      assert.throws(() => subsampleTarget(ys, [3, 3]), /does not divide/);
      tf.dispose([ys, t4, t2]);
    });

    test('attn_reg: chosen loss on pred1..pred3, Tversky loss on final', () => {
      const obj = makeObjective({
        outputs: DS_OUTPUTS,
        loss: 'ftl',
        finalLoss: MODEL_SUPERVISION.attn_reg.finalLoss,
      });
      assert.deepEqual(
        obj.terms.map((t) => `${t.output}:${t.loss}:${t.weight}`),
        ['pred1:ftl:1', 'pred2:ftl:1', 'pred3:ftl:1', 'final:tl:1'],
      );
      const ys = tf.tidy(() =>
        tf.cast(tf.greater(randomTensor([2, 16, 16, 1], 1), 0.7), 'float32'),
      );
      const preds = [2, 4, 8, 16].map((s, i) => randomTensor([2, s, s, 1], 10 + i));
      const before = tf.memory().numTensors;
      const { total, perOutput } = obj.compute(ys as tf.Tensor4D, preds);
      assert.equal(tf.memory().numTensors, before + 5, 'only the results stay alive');
      // Independent expectation: sub-sample by hand with slices of every k-th pixel.
      const expected = [8, 4, 2, 1].map((k, i) =>
        tf.tidy(() => {
          const t = tf.stridedSlice(ys, [0, 0, 0, 0], [2, 16, 16, 1], [1, k, k, 1]);
          return (i < 3 ? focalTverskyLoss : tverskyLoss)(t, preds[i]).dataSync()[0];
        }),
      );
      expectClose(
        perOutput.map((l) => l.dataSync()[0]),
        expected,
        { rtol: 1e-6 },
      );
      expectClose(
        total,
        expected.reduce((a, b) => a + b, 0),
        { rtol: 1e-6 },
      );
      tf.dispose([ys, ...preds, total, ...perOutput]);
    });

    test('attn_reg_ds: the chosen loss on all four outputs, weighted', () => {
      const obj = makeObjective({
        finalLoss: MODEL_SUPERVISION.attn_reg_ds.finalLoss,
        outputs: DS_OUTPUTS,
        loss: 'dl',
        weights: 'nnunet',
      });
      assert.deepEqual(
        obj.terms.map((t) => t.loss),
        ['dl', 'dl', 'dl', 'dl'],
      );
      const ys = tf.tidy(() => tf.cast(tf.greater(randomTensor([1, 8, 8, 1], 2), 0.5), 'float32'));
      const preds = [1, 2, 4, 8].map((s, i) => randomTensor([1, s, s, 1], 20 + i));
      const { total, perOutput } = obj.compute(ys as tf.Tensor4D, preds);
      const w = [1 / 15, 2 / 15, 4 / 15, 8 / 15];
      const expected = [8, 4, 2, 1].reduce((sum, k, i) => {
        const v = tf.tidy(() => {
          const t = tf.stridedSlice(ys, [0, 0, 0, 0], [1, 8, 8, 1], [1, k, k, 1]);
          return diceLoss(t, preds[i]).dataSync()[0];
        });
        return sum + w[i] * v;
      }, 0);
      expectClose(total, expected, { rtol: 1e-6 });
      tf.dispose([ys, ...preds, total, ...perOutput]);
    });

    test('single-output models use the chosen loss on final', () => {
      const obj = makeObjective({ outputs: ['final'], loss: 'tl' });
      assert.deepEqual(obj.terms, [{ output: 'final', loss: 'tl', weight: 1 }]);
      const ys = tf.ones([1, 4, 4, 1]) as tf.Tensor4D;
      const p = tf.fill([1, 4, 4, 1], 0.5);
      const { total, perOutput } = obj.compute(ys, [p]);
      // TP = 8, FN = 8, FP = 0: TI = (8 + 1) / (8 + 0.7 * 8 + 1) = 9 / 14.6
      expectClose(total, 1 - 9 / 14.6, { rtol: 1e-6 });
      assert.throws(
        () => obj.compute(ys, [p, p]),
        /the objective expects 1 predictions \(one per output\), got 2$/,
      );
      tf.dispose([ys, p, total, ...perOutput]);
    });
  });
}
