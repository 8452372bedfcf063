import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { buildModel } from '../../src/models/build.js';
import { Predictor } from '../../src/predict/predictor.js';
import { rectMask } from '../data/fixtures.js';
import { thresholdModel } from '../eval/fixtures.js';
import { NUMERIC_BACKENDS, useBackend } from '../helpers.js';

/** A 30x45 grey image, white on rows 0-7, cols 0-19. */
const grey = {
  data: rectMask(30, 45, [0, 8, 0, 20]).map((v) => v * 255),
  height: 30,
  width: 45,
  channels: 1,
};

for (const backend of NUMERIC_BACKENDS) {
  describe(`Predictor (${backend})`, () => {
    test('a mask at the image size, through the 32x32 input and back (nearest)', async () => {
      await useBackend(backend);
      const model = thresholdModel();
      const before = tf.memory().numTensors;
      const p = new Predictor(model);
      const r = await p.predict(grey);
      assert.equal(tf.memory().numTensors, before);
      // As in score.test.ts: rows 0-8, cols 0-21 after the round trip.
      assert.deepEqual([r.mask.height, r.mask.width], [30, 45]);
      assert.deepEqual([...r.mask.data], [...rectMask(30, 45, [0, 9, 0, 22])]);
      assert.equal(r.probabilities.length, 32 * 32);
      assert.ok(Math.abs(r.probabilities[0] - 0.8808) < 1e-3, `p = ${r.probabilities[0]}`);
      assert.deepEqual(r.attention, []);
      model.dispose();
    });

    test('RGB images go to a grey model as luminance; the threshold applies', async () => {
      await useBackend(backend);
      const model = thresholdModel();
      // A white-on-black RGB image (luminance 255 / 0), 16x8, white on columns 0-1: input
      // column x shows column floor(x / 4), and original column x takes input column 4 x,
      // so the round trip is exact.
      const white = rectMask(16, 8, [0, 16, 0, 2]);
      const rgb = {
        data: Uint8Array.from([...white].flatMap((v) => [v * 255, v * 255, v * 255])),
        height: 16,
        width: 8,
        channels: 3,
      };
      const r = await new Predictor(model).predict(rgb);
      assert.deepEqual([...r.mask.data], [...white]);
      const none = await new Predictor(model, { threshold: 0.9 }).predict(rgb);
      assert.deepEqual([...none.mask.data], new Array(128).fill(0));
      model.dispose();
    });

    test('attention maps of each gate, deepest first, in [0, 1]', async () => {
      await useBackend(backend);
      const model = buildModel('attn_unet', { inputShape: [32, 32, 1], width: 0.125, seed: 3 });
      const before = tf.memory().numTensors;
      const p = new Predictor(model, { attention: true });
      assert.deepEqual(p.gates, ['psi_sigmoid_1', 'psi_sigmoid_2', 'psi_sigmoid_3']);
      const r = await p.predict(grey);
      assert.equal(tf.memory().numTensors, before);
      assert.deepEqual(
        r.attention.map((a) => [a.gate, a.height, a.width, a.data.length]),
        [
          ['psi_sigmoid_1', 2, 2, 4],
          ['psi_sigmoid_2', 4, 4, 16],
          ['psi_sigmoid_3', 8, 8, 64],
        ],
      );
      for (const a of r.attention) assert.ok(a.data.every((v) => v >= 0 && v <= 1));
      assert.deepEqual([r.mask.height, r.mask.width], [30, 45]);
      model.dispose();
    });
  });
}

describe('Predictor errors', () => {
  test('attention maps on a model without gates, a bad threshold or interpolation', async () => {
    await useBackend('cpu');
    const unet = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125 });
    assert.throws(() => new Predictor(unet, { attention: true }), {
      name: 'UserError',
      message:
        `attention maps were asked for, but model '${unet.name}' has no attention ` +
        'gates (attn_unet, attn_reg_ds and attn_reg have them; unet does not)',
    });
    assert.throws(() => new Predictor(unet, { threshold: 5 }), {
      message: 'threshold must be a number from 0 to 1, got 5',
    });
    assert.throws(() => new Predictor(unet, { interpolation: 'cubic' as 'nearest' }), {
      message: "interpolation: unknown interpolation 'cubic'; expected one of nearest, bilinear",
    });
    unet.dispose();
  });
});
