import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import {
  BatchStatistics,
  combineMoments,
  ONE_LANE,
  updateMovingStatistics,
  batchNormLayers,
} from '../../src/train/batch_norm.js';
import { expectClose, useBackend } from '../helpers.js';

/** A model of one BatchNorm layer over [h, w, c] inputs, with non-trivial gamma and beta. */
function bnModel(shape: [number, number, number], momentum = 0.9): tfl.LayersModel {
  const input = tfl.input({ shape });
  const output = tfl.layers
    .batchNormalization({ momentum, epsilon: 1e-3, name: 'bn' })
    .apply(input) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: output });
  const layer = model.getLayer('bn');
  const c = shape[2];
  const gamma = tf.tensor1d(Array.from({ length: c }, (_, k) => 0.5 + 0.25 * k));
  const beta = tf.tensor1d(Array.from({ length: c }, (_, k) => 0.1 * k - 0.2));
  const [, , mean, variance] = layer.getWeights();
  layer.setWeights([gamma, beta, mean, variance]);
  tf.dispose([gamma, beta]);
  return model;
}

/** The gradients of sum(y * r) with respect to x and the layer's trainable weights. */
function gradientsOf(model: tfl.LayersModel, x: tf.Tensor4D, r: tf.Tensor): tf.Tensor[] {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => {
    const y = model.apply(x, { training: true }) as tf.Tensor;
    return tf.sum(tf.mul(y, r)) as tf.Scalar;
  }, vars);
  value.dispose();
  const dx = tf.grad((input: tf.Tensor) =>
    tf.sum(tf.mul(model.apply(input, { training: true }) as tf.Tensor, r)),
  )(x);
  return [dx, ...vars.map((v) => grads[v.name])];
}

for (const [backend, onDevice] of [
  ['cpu', false],
  ['wasm', false],
  // The float32 path of GPU backends (WebGPU, WebGL), run here on the CPU.
  ['wasm', true],
] as const) {
  describe(`batch statistics (${backend}${onDevice ? ', on the device' : ''})`, () => {
    before(() => useBackend(backend));
    const shape: [number, number, number] = [5, 6, 3];
    // A large mean beside a small spread: a one-pass E[x^2] - E[x]^2 would lose digits here.
    const x = () =>
      tf.add(tf.mul(tf.randomNormal([4, ...shape], 0, 1, 'float32', 5), 0.5), 20) as tf.Tensor4D;
    const r = () => tf.randomNormal([4, ...shape], 0, 1, 'float32', 6);

    test("the whole batch's statistics: outputs and gradients equal tfjs-layers' own BatchNorm", () => {
      const xs = x();
      const rs = r();
      const stock = bnModel(shape);
      const expected = gradientsOf(stock, xs, rs);
      const yStock = stock.apply(xs, { training: true }) as tf.Tensor;

      const ours = bnModel(shape);
      const statistics = new BatchStatistics(ours, 0, ONE_LANE, onDevice);
      statistics.beginStep();
      statistics.beginPass(0, 4);
      const before = tf.memory().numTensors;
      const got = gradientsOf(ours, xs, rs);
      const y = ours.apply(xs, { training: true }) as tf.Tensor;
      statistics.endPass();
      expectClose(y, yStock, { rtol: 1e-4, atol: 1e-5 }, 'output');
      ['dx', 'gamma', 'beta'].forEach((name, k) =>
        expectClose(got[k], expected[k], { rtol: 1e-3, atol: 1e-4 }, name),
      );
      tf.dispose([...got, y]);
      // The step's moments are held until the moving statistics take them or the next step.
      statistics.beginStep();
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      // Outside a pass the layer is tfjs-layers' own again.
      const outside = ours.apply(xs, { training: false }) as tf.Tensor;
      const stockOutside = bnModel(shape).apply(xs, { training: false }) as tf.Tensor;
      expectClose(outside, stockOutside, {}, 'inference');
      tf.dispose([xs, rs, yStock, outside, stockOutside, ...expected]);
      stock.dispose();
      ours.dispose();
    });

    test('the gradient with respect to x is the formula of batch normalisation, in float64', () => {
      const xs = x();
      const rs = r();
      const model = bnModel(shape);
      const statistics = new BatchStatistics(model, 0, ONE_LANE, onDevice);
      statistics.beginStep();
      statistics.beginPass(0, 4);
      const [dx, ...rest] = gradientsOf(model, xs, rs);
      statistics.endPass();
      // dL/dx = gamma / sigma * (r - mean(r) - xhat * mean(r * xhat)), per channel.
      const v = xs.dataSync();
      const w = rs.dataSync();
      const c = 3;
      const m = v.length / c;
      const expected = new Float64Array(v.length);
      for (let k = 0; k < c; k++) {
        const gamma = 0.5 + 0.25 * k;
        let s = 0;
        for (let i = k; i < v.length; i += c) s += v[i];
        const mean = s / m;
        let q = 0;
        for (let i = k; i < v.length; i += c) q += (v[i] - mean) ** 2;
        const sigma = Math.sqrt(q / m + 1e-3);
        let mr = 0;
        let mrx = 0;
        for (let i = k; i < v.length; i += c) {
          mr += w[i] / m;
          mrx += (w[i] * (v[i] - mean)) / sigma / m;
        }
        for (let i = k; i < v.length; i += c) {
          expected[i] = (gamma / sigma) * (w[i] - mr - ((v[i] - mean) / sigma) * mrx);
        }
      }
      expectClose(dx, Array.from(expected), { rtol: 1e-3, atol: 1e-3 }, 'dx');
      tf.dispose([xs, rs, dx, ...rest]);
      model.dispose();
    });

    test('moving statistics: once per step, the whole batch with Keras 2.2 correction and momentum', () => {
      const xs = x();
      const model = bnModel(shape, 0.9);
      const statistics = new BatchStatistics(model, 0, ONE_LANE, onDevice);
      statistics.beginStep();
      statistics.beginPass(0, 4);
      tf.dispose(model.apply(xs, { training: true }) as tf.Tensor);
      statistics.endPass();
      // The layer's own update did not run: the moving statistics are the initial 0 and 1.
      const [, , mm0, mv0] = model.getLayer('bn').getWeights();
      assert.deepEqual(Array.from(mm0.dataSync()), [0, 0, 0]);
      assert.deepEqual(Array.from(mv0.dataSync()), [1, 1, 1]);
      statistics.updateMoving();
      // By hand, in float64, from the values.
      const v = xs.dataSync();
      const c = 3;
      const m = v.length / c;
      for (let k = 0; k < c; k++) {
        let s = 0;
        for (let i = k; i < v.length; i += c) s += v[i];
        const mean = s / m;
        let q = 0;
        for (let i = k; i < v.length; i += c) q += (v[i] - mean) ** 2;
        const unbiased = ((q / m) * m) / (m - 1.001);
        const [, , mm, mv] = model.getLayer('bn').getWeights();
        expectClose(mm.dataSync()[k], 0.1 * mean, { rtol: 1e-5 }, `moving mean ${k}`);
        expectClose(mv.dataSync()[k], 0.9 + 0.1 * unbiased, { rtol: 1e-5 }, `moving variance ${k}`);
      }
      xs.dispose();
      model.dispose();
    });

    test('groups (ghost batch normalisation): each group of 2 as its own batch', () => {
      const xs = x();
      const rs = r();
      const ours = bnModel(shape);
      const statistics = new BatchStatistics(ours, 2);
      statistics.beginStep();
      statistics.beginPass(0, 4);
      const y = ours.apply(xs, { training: true }) as tf.Tensor;
      statistics.endPass();
      const stock = bnModel(shape);
      const halves = [0, 2].map((at) =>
        stock.apply(tf.slice(xs, at, 2), { training: true }),
      ) as tf.Tensor[];
      expectClose(y, tf.concat(halves, 0), { rtol: 1e-4, atol: 1e-5 }, 'output');
      // A pass may not start inside a group.
      assert.throws(() => statistics.beginPass(1, 4), /splits a BatchNorm group of 2/);
      // The moving statistics come from the whole batch: the groups combined.
      const moments = statistics.recorded()[0];
      assert.deepEqual(Object.keys(moments), ['0', '1']);
      const whole = combineMoments([moments[0], moments[1]]);
      const direct = tf.moments(xs, [0, 1, 2]);
      expectClose(Array.from(whole.mean), direct.mean, { rtol: 1e-5 }, 'combined mean');
      expectClose(Array.from(whole.variance), direct.variance, { rtol: 1e-4 }, 'combined variance');
      tf.dispose([xs, rs, y, ...halves, direct.mean, direct.variance]);
      ours.dispose();
      stock.dispose();
    });
  });
}

test('combineMoments: the law of total variance, by hand', () => {
  // Groups {1, 3} and {5}: mean 3, variance ((1-3)^2 + 0 + (5-3)^2) / 3 = 8/3.
  const whole = combineMoments([
    { count: 2, mean: [2], variance: [1] },
    { count: 1, mean: [5], variance: [0] },
  ]);
  assert.equal(whole.count, 3);
  assert.equal(whole.mean[0], 3);
  expectClose(whole.variance[0], 8 / 3, { rtol: 1e-12 }, 'variance');
  assert.equal(typeof updateMovingStatistics, 'function');
  assert.equal(typeof batchNormLayers, 'function');
});
