import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../../src/errors.js';
import {
  checkPair,
  computeTpFpFn,
  resolveLossOptions,
  sumClassesMeanImages,
  meanClassesAndImages,
} from '../../src/losses/utils.js';
import { expectClose, NUMERIC_BACKENDS, useBackend } from '../helpers.js';

describe('resolveLossOptions', () => {
  it('fills the documented defaults: alpha 0.7, beta 0.3, gamma 4/3, smooth 1, batch', () => {
    const o = resolveLossOptions('f');
    assert.equal(o.alpha, 0.7);
    expectClose(o.beta, 0.3, { rtol: 0, atol: 1e-15 });
    assert.equal(o.gamma, 4 / 3);
    assert.equal(o.smooth, 1);
    assert.equal(o.reduction, 'batch');
  });

  it('derives beta from alpha unless beta is given', () => {
    expectClose(resolveLossOptions('f', { alpha: 0.9 }).beta, 0.1, { rtol: 0, atol: 1e-15 });
    assert.equal(resolveLossOptions('f', { alpha: 0.9, beta: 0.5 }).beta, 0.5);
  });

  it('rejects out-of-range options, naming the function and the value', () => {
    assert.throws(() => resolveLossOptions('tverskyLoss', { beta: Infinity }), {
      name: 'UserError',
      message: 'tverskyLoss: beta must be a finite number >= 0, got Infinity',
    });
    assert.throws(() => resolveLossOptions('focalTverskyLoss', { gamma: -1 }), {
      message: 'focalTverskyLoss: gamma must be a finite number > 0, got -1',
    });
    assert.throws(() => resolveLossOptions('diceLoss', { reduction: 'mean' as 'batch' }), {
      message: "diceLoss: unknown reduction 'mean'; expected one of 'batch', 'image'",
    });
  });
});

for (const backend of NUMERIC_BACKENDS) {
  describe(`computeTpFpFn on ${backend}`, () => {
    before(async () => {
      await useBackend(backend);
    });

    // g, p of shape [2, 1, 2, 2] (image, pixel, class), NHWC order:
    //   image 0: pixel 0 g = (1, 0) p = (0.5, 0.25); pixel 1 g = (1, 1) p = (1, 0)
    //   image 1: pixel 0 g = (0, 0) p = (0.5, 1);    pixel 1 g = (0, 1) p = (0, 0.75)
    // Per image and class:
    //   (0, 0): TP = 0.5 + 1 = 1.5, FP = 0,   FN = 0.5 + 0 = 0.5
    //   (0, 1): TP = 0,             FP = 0.25, FN = 1
    //   (1, 0): TP = 0,             FP = 0.5,  FN = 0
    //   (1, 1): TP = 0.75,          FP = 1,    FN = 0.25
    // 'batch' sums the two images: class 0 (1.5, 0.5, 0.5), class 1 (0.75, 1.25, 1.25).
    const g = [1, 0, 1, 1, 0, 0, 0, 1];
    const p = [0.5, 0.25, 1, 0, 0.5, 1, 0, 0.75];

    it('sums per class for batch, per image and class for image', () => {
      const yTrue = tf.tensor4d(g, [2, 1, 2, 2]);
      const yPred = tf.tensor4d(p, [2, 1, 2, 2]);
      const before = tf.memory().numTensors;
      const perImage = tf.tidy(() => {
        const s = computeTpFpFn(yTrue, yPred, 'image');
        return tf.stack([s.tp, s.fp, s.fn]);
      });
      const perBatch = tf.tidy(() => {
        const s = computeTpFpFn(yTrue, yPred, 'batch');
        return tf.stack([s.tp, s.fp, s.fn]);
      });
      assert.deepEqual(perImage.shape, [3, 2, 2]);
      assert.deepEqual(perBatch.shape, [3, 2]);
      expectClose(perImage, [1.5, 0, 0, 0.75, 0, 0.25, 0.5, 1, 0.5, 1, 0, 0.25]);
      expectClose(perBatch, [1.5, 0.75, 0.5, 1.25, 0.5, 1.25]);
      tf.dispose([perImage, perBatch]);
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([yTrue, yPred]);
    });

    it('reduces losses by a sum over classes and indices by a mean', () => {
      // [[1, 2], [3, 5]] (image x class): losses (1 + 2 + 3 + 5) / 2 = 5.5, indices 11 / 4.
      const x = tf.tensor2d([1, 2, 3, 5], [2, 2]);
      const loss = sumClassesMeanImages(x);
      const index = meanClassesAndImages(x);
      expectClose(loss, 5.5);
      expectClose(index, 2.75);
      assert.deepEqual(loss.shape, []);
      tf.dispose([x, loss, index]);
    });

    it('checkPair accepts equal rank-4 shapes and names the function otherwise', () => {
      const a = tf.zeros([1, 2, 2, 1]);
      const b = tf.zeros([1, 2, 2]);
      checkPair('f', a, a);
      assert.throws(() => checkPair('softDsc', a, b), {
        name: 'ShapeError',
        message: 'softDsc: yTrue shape [1,2,2,1] does not match yPred shape [1,2,2]',
      });
      assert.throws(() => checkPair('f', b, b), ShapeError);
      tf.dispose([a, b]);
    });
  });
}
