import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { diceCoefficient, diceLoss } from '../../src/losses/dice.js';
import type { LossOptions } from '../../src/losses/utils.js';
import { expectClose, NUMERIC_BACKENDS, useBackend } from '../helpers.js';
import { arr, evaluate, gradient, randomCases, type Case } from './cases.js';
import {
  finiteDifferences,
  fromNhwc,
  refDiceCoefficient,
  refDiceLoss,
  type NhwcArray,
} from './reference.js';

// Hand-worked cases (float32 inputs; tolerances 1e-6 relative and absolute).
//
// A: g = [1, 1, 0, 0], p = [0.9, 0.4, 0.2, 0], shape [1, 2, 2, 1].
//    sum(g * p) = 1.3, sum(g) = 2, sum(p) = 1.5: DSC = (2.6 + 1) / (2 + 1.5 + 1) = 3.6 / 4.5 = 0.8
//    smooth 0: DSC = 2.6 / 3.5 = 0.742857142857143
const caseA = { g: arr([1, 2, 2, 1], [1, 1, 0, 0]), p: arr([1, 2, 2, 1], [0.9, 0.4, 0.2, 0]) };
// B: two images [2, 1, 2, 1]: image 0 g = [1, 0], p = [0.5, 0.5]; image 1 g = p = [0, 0].
//    image 0: (1 + 1) / (1 + 1 + 1) = 2/3; image 1: 1/1 = 1.
//    'batch': the same sums as image 0, DSC = 2/3, DL = 1/3.
//    'image': DSC = (2/3 + 1) / 2 = 5/6, DL = (1/3 + 0) / 2 = 1/6.
const caseB = { g: arr([2, 1, 2, 1], [1, 0, 0, 0]), p: arr([2, 1, 2, 1], [0.5, 0.5, 0, 0]) };
// C: two channels [1, 1, 2, 2], pixels g = (1, 0), (0, 1); p = (1, 0.5), (0, 0.5).
//    class 0: (2 + 1) / (1 + 1 + 1) = 1; class 1: (1 + 1) / (1 + 1 + 1) = 2/3.
//    DSC (mean over classes) = 5/6; DL (sum over classes) = 0 + 1/3 = 1/3.
const caseC = { g: arr([1, 1, 2, 2], [1, 0, 0, 1]), p: arr([1, 1, 2, 2], [1, 0.5, 0, 0.5]) };
// D: empty ground truth, prediction mass 0.25 + 0.5 = 0.75: DSC = 1 / (0.75 + 1) = 4/7.
const caseD = { g: arr([1, 1, 2, 1], [0, 0]), p: arr([1, 1, 2, 1], [0.25, 0.5]) };

type Fn = (yTrue: tf.Tensor, yPred: tf.Tensor, options?: LossOptions) => tf.Scalar;
const handCases: [string, Fn, { g: NhwcArray; p: NhwcArray }, LossOptions, number][] = [
  ['A diceCoefficient', diceCoefficient, caseA, {}, 0.8],
  ['A diceLoss', diceLoss, caseA, {}, 0.2],
  ['A diceCoefficient smooth 0', diceCoefficient, caseA, { smooth: 0 }, 2.6 / 3.5],
  ['A diceCoefficient ignores alpha', diceCoefficient, caseA, { alpha: 0.1 }, 0.8],
  ['B diceCoefficient batch', diceCoefficient, caseB, {}, 2 / 3],
  ['B diceLoss batch', diceLoss, caseB, {}, 1 / 3],
  ['B diceCoefficient image', diceCoefficient, caseB, { reduction: 'image' }, 5 / 6],
  ['B diceLoss image', diceLoss, caseB, { reduction: 'image' }, 1 / 6],
  ['C diceCoefficient two classes', diceCoefficient, caseC, {}, 5 / 6],
  ['C diceLoss two classes', diceLoss, caseC, {}, 1 / 3],
  ['D diceCoefficient empty ground truth', diceCoefficient, caseD, {}, 4 / 7],
];

const REDUCTIONS = ['batch', 'image'] as const;

for (const backend of NUMERIC_BACKENDS) {
  describe(`dice losses on ${backend}`, () => {
    let cases: Case[] = [];
    before(async () => {
      await useBackend(backend);
      cases = randomCases();
    });

    for (const [name, fn, { g, p }, options, expected] of handCases) {
      it(`hand-worked case ${name} = ${expected}`, () => {
        expectClose(evaluate(fn, g, p, options), expected);
      });
    }

    it('matches the plain-JS reference on random inputs, both reductions, smooth 1 and 0.5', () => {
      for (const c of cases) {
        for (const reduction of REDUCTIONS) {
          for (const smooth of [1, 0.5]) {
            const o = { reduction, smooth };
            const what = `${c.name}, ${JSON.stringify(o)}`;
            expectClose(
              evaluate(diceCoefficient, c.g, c.p, o),
              refDiceCoefficient(c.g, c.p, o),
              {},
              `DSC ${what}`,
            );
            expectClose(
              evaluate(diceLoss, c.g, c.p, o),
              refDiceLoss(c.g, c.p, o),
              {},
              `DL ${what}`,
            );
          }
        }
      }
    });

    it('tf.grad of the Dice loss equals central finite differences of the float64 reference', () => {
      for (const c of [cases[0], cases[3], cases[7]]) {
        const indices = [0, 3, 29, c.p.data.length - 1];
        for (const reduction of REDUCTIONS) {
          const o = { reduction };
          const dl = gradient(diceLoss, c.g, c.p, o);
          expectClose(
            indices.map((i) => dl[i]),
            finiteDifferences((q) => refDiceLoss(c.g, q, o), c.p, indices),
            { rtol: 1e-4, atol: 1e-7 },
            `dDL/dp ${c.name} ${reduction}`,
          );
        }
      }
    });

    it('has a finite gradient on empty masks', () => {
      const zeros = arr([1, 2, 2, 1], [0, 0, 0, 0]);
      const grad = gradient(diceLoss, zeros, zeros);
      // DSC = (2 TP + 1) / (sum g + sum p + 1); at g = p = 0: dDL/dp_i = 1 / 1^2 = 1.
      expectClose(grad, [1, 1, 1, 1]);
    });

    it('leaks no tensors, called directly or under tf.grad', () => {
      const g = fromNhwc(cases[8].g);
      const p = fromNhwc(cases[8].p);
      const before = tf.memory().numTensors;
      for (const fn of [diceCoefficient, diceLoss]) {
        for (const reduction of REDUCTIONS) {
          fn(g, p, { reduction }).dispose();
          tf.grad((x: tf.Tensor) => fn(g, x, { reduction }))(p).dispose();
        }
      }
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([g, p]);
    });

    it('rejects mismatched shapes with a message naming the function', () => {
      const a = tf.zeros([1, 4, 4, 1]);
      const b = tf.zeros([1, 4, 4, 2]);
      assert.throws(() => diceLoss(a, b), {
        name: 'ShapeError',
        message: 'diceLoss: yTrue shape [1,4,4,1] does not match yPred shape [1,4,4,2]',
      });
      assert.throws(() => diceCoefficient(a, a, { smooth: -1 }), {
        message: 'diceCoefficient: smooth must be a finite number >= 0, got -1',
      });
      tf.dispose([a, b]);
    });
  });
}
