import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { diceCoefficient } from '../../src/losses/dice.js';
import { softDsc, softPrecision, softRecall } from '../../src/metrics/soft.js';
import { expectClose, NUMERIC_BACKENDS, useBackend } from '../helpers.js';
import { arr, evaluate, randomCases, type Case } from '../losses/cases.js';
import {
  fromNhwc,
  refSoftDsc,
  refSoftPrecision,
  refSoftRecall,
  type NhwcArray,
} from '../losses/reference.js';

// Hand-worked: g = [1, 1, 0, 0], p = [0.9, 0.4, 0.2, 0], shape [1, 2, 2, 1].
//   TP = 1.3, FP = 0.2, FN = 0.7.
//   precision = (1.3 + 1) / (1.3 + 0.2 + 1) = 2.3 / 2.5 = 0.92
//   recall    = (1.3 + 1) / (1.3 + 0.7 + 1) = 2.3 / 3 = 0.766666666666667
//   DSC       = (2.6 + 1) / (2 + 1.5 + 1) = 0.8
const g = arr([1, 2, 2, 1], [1, 1, 0, 0]);
const p = arr([1, 2, 2, 1], [0.9, 0.4, 0.2, 0]);
// Out of range: p = [1.5, 0.4, 0.2, -0.3] is clipped to [1, 0.4, 0.2, 0]: TP = 1.4, FP = 0.2,
//   FN = 0.6; precision = 2.4 / 2.6 = 0.923076923076923, recall = 2.4 / 3 = 0.8,
//   DSC = 3.8 / (2 + 1.6 + 1) = 0.826086956521739.
const pOut = arr([1, 2, 2, 1], [1.5, 0.4, 0.2, -0.3]);
// Two images [2, 1, 2, 1]: image 0 g = [1, 0], p = [0.5, 0.5] (TP = FP = FN = 0.5);
//   image 1 g = [0, 0], p = [0, 0.5] (TP = FN = 0, FP = 0.5).
//   'image' precision = (1.5 / 2 + 1 / 1.5) / 2 = (0.75 + 0.666666666666667) / 2 = 0.708333333333333
//   'batch' precision = 1.5 / (0.5 + 1 + 1) = 0.6; 'image' recall = (0.75 + 1) / 2 = 0.875
const g2 = arr([2, 1, 2, 1], [1, 0, 0, 0]);
const p2 = arr([2, 1, 2, 1], [0.5, 0.5, 0, 0.5]);

type Metric = typeof softDsc;
const hand: [string, Metric, NhwcArray, NhwcArray, object, number][] = [
  ['softPrecision', softPrecision, g, p, {}, 0.92],
  ['softRecall', softRecall, g, p, {}, 2.3 / 3],
  ['softDsc', softDsc, g, p, {}, 0.8],
  ['softPrecision clipped', softPrecision, g, pOut, {}, 2.4 / 2.6],
  ['softRecall clipped', softRecall, g, pOut, {}, 0.8],
  ['softDsc clipped', softDsc, g, pOut, {}, 3.8 / 4.6],
  ['softPrecision batch', softPrecision, g2, p2, {}, 0.6],
  ['softPrecision image', softPrecision, g2, p2, { reduction: 'image' }, (0.75 + 1 / 1.5) / 2],
  ['softRecall image', softRecall, g2, p2, { reduction: 'image' }, 0.875],
  ['softRecall smooth 0', softRecall, g, p, { smooth: 0 }, 1.3 / 2],
];

for (const backend of NUMERIC_BACKENDS) {
  describe(`soft metrics on ${backend}`, () => {
    let cases: Case[] = [];
    before(async () => {
      await useBackend(backend);
      cases = randomCases();
    });

    for (const [name, fn, yt, yp, options, expected] of hand) {
      it(`hand-worked ${name} = ${expected}`, () => {
        expectClose(evaluate(fn, yt, yp, options), expected);
      });
    }

    it('matches the plain-JS reference on random inputs, both reductions', () => {
      for (const c of cases) {
        for (const reduction of ['batch', 'image'] as const) {
          const o = { reduction };
          const what = `${c.name} ${reduction}`;
          expectClose(evaluate(softDsc, c.g, c.p, o), refSoftDsc(c.g, c.p, o), {}, `DSC ${what}`);
          expectClose(
            evaluate(softPrecision, c.g, c.p, o),
            refSoftPrecision(c.g, c.p, o),
            {},
            `P ${what}`,
          );
          expectClose(
            evaluate(softRecall, c.g, c.p, o),
            refSoftRecall(c.g, c.p, o),
            {},
            `R ${what}`,
          );
          expectClose(evaluate(softDsc, c.g, c.p, o), evaluate(diceCoefficient, c.g, c.p, o));
        }
      }
    });

    it('scores an empty ground truth with an empty prediction 1 on all three', () => {
      const z = arr([2, 3, 3, 2], new Array<number>(36).fill(0));
      for (const fn of [softDsc, softPrecision, softRecall]) {
        for (const reduction of ['batch', 'image'] as const) {
          assert.equal(evaluate(fn, z, z, { reduction }), 1);
        }
      }
    });

    it('leaks no tensors', () => {
      const yt = fromNhwc(cases[7].g);
      const yp = fromNhwc(cases[7].p);
      const before = tf.memory().numTensors;
      for (const fn of [softDsc, softPrecision, softRecall]) {
        fn(yt, yp, { reduction: 'image' }).dispose();
      }
      assert.equal(tf.memory().numTensors, before);
      tf.dispose([yt, yp]);
    });

    it('rejects mismatched shapes with a message naming the metric', () => {
      const a = tf.zeros([1, 4, 4, 1]);
      const b = tf.zeros([1, 4, 5, 1]);
      assert.throws(() => softRecall(a, b), {
        name: 'ShapeError',
        message: 'softRecall: yTrue shape [1,4,4,1] does not match yPred shape [1,4,5,1]',
      });
      assert.throws(() => softPrecision(a, a, { reduction: 'all' as 'batch' }), {
        message: "softPrecision: unknown reduction 'all'; expected one of 'batch', 'image'",
      });
      tf.dispose([a, b]);
    });
  });
}
