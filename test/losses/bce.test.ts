import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { BCE_EPSILON, bceDiceLoss, binaryCrossentropy } from '../../src/losses/bce.js';
import { expectClose, NUMERIC_BACKENDS, useBackend } from '../helpers.js';
import { arr, evaluate, gradient, randomCases, type Case } from './cases.js';
import {
  finiteDifferences,
  fromNhwc,
  refBinaryCrossentropy,
  refDiceLoss,
  type NhwcArray,
} from './reference.js';

// Hand-worked: g = [1, 0, 1, 0], p = [0.9, 0.2, 0.6, 0.5], shape [1, 2, 2, 1].
//   BCE = -(ln 0.9 + ln 0.8 + ln 0.6 + ln 0.5) / 4
//       = (0.105360515657826 + 0.223143551314210 + 0.510825623765991 + 0.693147180559945) / 4
//       = 1.532476871297972 / 4 = 0.383119217824493
//   Dice: sum(g p) = 1.5, sum g = 2, sum p = 2.2: DSC = 4 / 5.2, DL = 1.2 / 5.2 = 0.230769230769231
//   BCE + Dice = 0.613888448593724
const handG = arr([1, 2, 2, 1], [1, 0, 1, 0]);
const handP = arr([1, 2, 2, 1], [0.9, 0.2, 0.6, 0.5]);
// Confident and wrong: a missed pixel g = 1, p = 0 is clipped to p = 1e-7 and costs
// -ln(1e-7) = 16.118095650958320. A false alarm g = 0, p = 1 is clipped to 1 - 1e-7, which
// float32 rounds to 1 - 2^-23, so it costs -ln(2^-23) = 23 ln 2 = 15.942385152878742 (Keras in
// float32 does the same).
const missG = arr([1, 1, 1, 1], [1]);
const missP = arr([1, 1, 1, 1], [0]);
const wrongG = arr([1, 1, 2, 1], [1, 0]);
const wrongP = arr([1, 1, 2, 1], [0, 1]);

for (const backend of NUMERIC_BACKENDS) {
  describe(`binary cross-entropy on ${backend}`, () => {
    let cases: Case[] = [];
    before(async () => {
      await useBackend(backend);
      cases = randomCases();
    });

    it('hand-worked BCE = 0.383119217824493', () => {
      expectClose(evaluate(binaryCrossentropy, handG, handP), 0.383119217824493);
    });

    it('hand-worked BCE + Dice = 0.613888448593724', () => {
      expectClose(evaluate(bceDiceLoss, handG, handP), 0.613888448593724);
    });

    it('clips confident wrong predictions at 1e-7: about 16 per pixel, not Inf', () => {
      assert.equal(BCE_EPSILON, 1e-7);
      expectClose(evaluate(binaryCrossentropy, missG, missP), 16.11809565095832);
      expectClose(
        evaluate(binaryCrossentropy, wrongG, wrongP),
        (16.11809565095832 + 15.942385152878742) / 2,
      );
    });

    it('scores a perfect binary prediction about 1e-7, not 0', () => {
      const v = evaluate(binaryCrossentropy, wrongG, wrongG);
      assert.ok(v > 0 && v < 2e-7, `got ${v}`);
    });

    it('matches the plain-JS reference on random inputs; reduction changes nothing', () => {
      for (const c of cases) {
        const ref = refBinaryCrossentropy(c.g, c.p);
        for (const reduction of ['batch', 'image'] as const) {
          const what = `${c.name} ${reduction}`;
          expectClose(
            evaluate(binaryCrossentropy, c.g, c.p, { reduction }),
            ref,
            {},
            `BCE ${what}`,
          );
          expectClose(
            evaluate(bceDiceLoss, c.g, c.p, { reduction }),
            ref + refDiceLoss(c.g, c.p, { reduction }),
            {},
            `BCE+DL ${what}`,
          );
        }
      }
    });

    it('tf.grad equals central finite differences of the float64 reference', () => {
      for (const c of [cases[0], cases[2], cases[7]]) {
        const indices = [1, 8, 22, c.p.data.length - 1];
        const what = c.name;
        expectClose(
          indices.map((i) => gradient(binaryCrossentropy, c.g, c.p)[i]),
          finiteDifferences((q) => refBinaryCrossentropy(c.g, q), c.p, indices),
          { rtol: 1e-4, atol: 1e-7 },
          `dBCE/dp ${what}`,
        );
        const both = gradient(bceDiceLoss, c.g, c.p, { reduction: 'image' });
        expectClose(
          indices.map((i) => both[i]),
          finiteDifferences(
            (q) => refBinaryCrossentropy(c.g, q) + refDiceLoss(c.g, q, { reduction: 'image' }),
            c.p,
            indices,
          ),
          { rtol: 1e-4, atol: 1e-7 },
          `d(BCE+DL)/dp ${what}`,
        );
      }
    });

    it('has finite gradients at p = 0 and p = 1 (zero where clipped)', () => {
      const g: NhwcArray = arr([1, 2, 2, 1], [1, 0, 1, 0]);
      const p: NhwcArray = arr([1, 2, 2, 1], [0, 1, 1, 0]);
      expectClose(gradient(binaryCrossentropy, g, p), [0, 0, 0, 0]);
      assert.ok(gradient(bceDiceLoss, g, p).every(Number.isFinite));
    });

    it('leaks no tensors, called directly or under tf.grad', () => {
      const g = fromNhwc(cases[7].g);
      const p = fromNhwc(cases[7].p);
      const before = tf.memory().numTensors;
      for (const fn of [binaryCrossentropy, bceDiceLoss]) {
        fn(g, p).dispose();
        tf.grad((x: tf.Tensor) => fn(g, x))(p).dispose();
      }
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([g, p]);
    });

    it('rejects mismatched shapes with a message naming the function', () => {
      const a = tf.zeros([2, 8, 8, 1]);
      const b = tf.zeros([1, 8, 8, 1]);
      assert.throws(() => bceDiceLoss(a, b), {
        name: 'ShapeError',
        message: 'bceDiceLoss: yTrue shape [2,8,8,1] does not match yPred shape [1,8,8,1]',
      });
      assert.throws(() => binaryCrossentropy(b, a), {
        message: 'binaryCrossentropy: yTrue shape [1,8,8,1] does not match yPred shape [2,8,8,1]',
      });
      tf.dispose([a, b]);
    });
  });
}
