import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { fusedBatchNormGradConfig } from '../../src/kernels/gradients/fused_batch_norm.js';
import { NUMERIC_BACKENDS, expectClose, randomTensor, useBackend } from '../helpers.js';

// TensorFlow.js's own gradient, kept before `useBackend` replaces it: the reference.
const stock = tf.getGradient(tf.FusedBatchNorm);
if (stock === undefined) throw new Error('tfjs registers no FusedBatchNorm gradient');
if (stock.gradFunc === fusedBatchNormGradConfig.gradFunc) throw new Error('stock already replaced');

/** The five input gradients of batchNorm(x, mean, variance, offset, scale) under `config`. */
function grads(
  config: tf.GradConfig,
  inputs: tf.Tensor[],
  dy: tf.Tensor,
  eps: number,
): tf.Tensor[] {
  tf.registerGradient(config);
  return tf.grads((x, m, v, o, s) => tf.mul(tf.batchNorm(x as tf.Tensor4D, m, v, o, s, eps), dy))(
    inputs,
  );
}

for (const backend of NUMERIC_BACKENDS) {
  describe(`FusedBatchNorm gradient on ${backend}`, () => {
    before(() => useBackend(backend));

    for (const shape of [
      [2, 5, 7, 3],
      [4, 8, 8, 16],
    ]) {
      test(`equals tfjs's own gradient for x ${shape.join('x')}`, () => {
        const c = shape[3];
        const x = randomTensor(shape, 1, -2, 3);
        const mean = randomTensor([c], 2, -1, 1);
        const variance = randomTensor([c], 3, 0.2, 2);
        const offset = randomTensor([c], 4, -1, 1);
        const scale = randomTensor([c], 5, 0.5, 1.5);
        const dy = randomTensor(shape, 6, -1, 1);
        const inputs = [x, mean, variance, offset, scale];
        const before = tf.memory().numTensors;
        const ours = grads(fusedBatchNormGradConfig, inputs, dy, 1e-3);
        const theirs = grads(stock, inputs, dy, 1e-3);
        tf.registerGradient(fusedBatchNormGradConfig);
        ['x', 'mean', 'variance', 'offset', 'scale'].forEach((name, i) =>
          expectClose(ours[i], theirs[i], { rtol: 1e-4, atol: 1e-5 }, `d${name}`),
        );
        tf.dispose([...ours, ...theirs]);
        expectClose(tf.memory().numTensors, before, { rtol: 0, atol: 0 }, 'live tensors');
        tf.dispose([...inputs, dy]);
      });
    }

    test('training-mode normalisation (statistics from x) matches finite differences', () => {
      // f(x) = sum(w * bn(x; moments of x)); check df/dx at a few elements against central
      // differences in float32 with a step large enough for its rounding.
      const shape = [2, 3, 3, 2];
      const x = randomTensor(shape, 7, -1, 1);
      const w = randomTensor(shape, 8, -1, 1);
      const offset = tf.tensor1d([0.1, -0.2]);
      const scale = tf.tensor1d([1.3, 0.7]);
      const f = (t: tf.Tensor): tf.Scalar =>
        tf.tidy(() => {
          const { mean, variance } = tf.moments(t, [0, 1, 2]);
          return tf.sum(
            tf.mul(w, tf.batchNorm(t as tf.Tensor4D, mean, variance, offset, scale, 1e-3)),
          );
        });
      const g = tf.grad(f)(x);
      const xs = x.dataSync();
      const h = 1e-2;
      for (const i of [0, 5, 17, 35]) {
        const plus = Float32Array.from(xs);
        const minus = Float32Array.from(xs);
        plus[i] += h;
        minus[i] -= h;
        const fp = tf.tidy(() => f(tf.tensor(plus, shape)).dataSync()[0]);
        const fm = tf.tidy(() => f(tf.tensor(minus, shape)).dataSync()[0]);
        expectClose(g.dataSync()[i], (fp - fm) / (2 * h), { rtol: 2e-2, atol: 2e-3 }, `dx[${i}]`);
      }
      tf.dispose([x, w, g, offset, scale]);
    });
  });
}
