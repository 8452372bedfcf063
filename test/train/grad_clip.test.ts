/**
 * --grad-clip: the gradients scaled together to a global norm of at most N before the update,
 * checked against a hand computation on a tiny case, and off by default (an update without it
 * is the one it always was).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { clipByGlobalNorm, Optimizer, resolveOptimizerConfig } from '../../src/train/optimizer.js';
import { NUMERIC_BACKENDS, useBackend } from '../helpers.js';

for (const backend of NUMERIC_BACKENDS) {
  describe(`gradient clipping (${backend})`, () => {
    test('clipByGlobalNorm: the norm over every tensor; below the bound unchanged', async () => {
      await useBackend(backend);
      // Global norm of [3] and [[4, 0]] is 5; clipped to 1: every element times 1/5.
      const grads = [tf.tensor1d([3]), tf.tensor2d([[4, 0]])];
      const clipped = clipByGlobalNorm(grads, 1);
      assert.deepEqual(await clipped[0].data(), new Float32Array([0.6]));
      assert.deepEqual(await clipped[1].data(), new Float32Array([0.8, 0]));
      const kept = clipByGlobalNorm(grads, 10);
      assert.deepEqual(await kept[0].data(), new Float32Array([3]));
      assert.deepEqual(await kept[1].data(), new Float32Array([4, 0]));
      tf.dispose([...grads, ...clipped, ...kept]);
    });

    test('an SGD step with clip 1: w - lr * g * 1/|g| (by hand), and none by default', async () => {
      await useBackend(backend);
      const step = async (gradClip?: number) => {
        const w = tf.variable(tf.tensor1d([1, 2]));
        const b = tf.variable(tf.tensor1d([0]));
        const optimizer = new Optimizer({
          name: 'sgd',
          learningRate: 0.1,
          momentum: 0,
          decay: 0,
          ...(gradClip !== undefined ? { gradClip } : {}),
        });
        const g = [tf.tensor1d([6, 0]), tf.tensor1d([8])];
        optimizer.applyGradients(
          [
            { name: 'w', variable: w },
            { name: 'b', variable: b },
          ],
          g,
        );
        const out = [Array.from(await w.data()), Array.from(await b.data())];
        tf.dispose([w, b, ...g]);
        optimizer.dispose();
        return out;
      };
      // |g| = sqrt(36 + 64) = 10; clipped g = [0.6, 0], [0.8]; w - 0.1 g.
      const clipped = await step(1);
      assert.ok(Math.abs(clipped[0][0] - (1 - 0.06)) < 1e-7, String(clipped[0][0]));
      assert.equal(clipped[0][1], 2);
      assert.ok(Math.abs(clipped[1][0] - -0.08) < 1e-7, String(clipped[1][0]));
      // Without clipping: w - 0.1 * [6, 0], b - 0.1 * 8.
      const plain = await step();
      assert.ok(Math.abs(plain[0][0] - 0.4) < 1e-6, String(plain[0][0]));
      assert.ok(Math.abs(plain[1][0] - -0.8) < 1e-6, String(plain[1][0]));
      assert.equal(resolveOptimizerConfig().gradClip, null);
    });
  });
}

test('a bound that is not a positive number is refused', () => {
  assert.throws(() => resolveOptimizerConfig({ gradClip: 0 }), {
    name: 'UserError',
    message: 'gradient clipping must be a positive number, got 0',
  });
});
