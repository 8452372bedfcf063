import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { expectClose, randomTensor, useBackend } from '../helpers.js';

describe('wasm Identity shares memory', () => {
  before(() => useBackend('wasm'));

  test('a clone reads the same values from the same memory, and outlives its source', () => {
    const backend = tf.backend() as BackendWasm;
    const x = randomTensor([3, 5, 7, 2], 1);
    const expected = Array.from(x.dataSync());
    const before = tf.memory().numTensors;
    const y = tf.clone(x);
    assert.equal(backend.getMemoryOffset(y.dataId), backend.getMemoryOffset(x.dataId));
    assert.equal(backend.refCount(x.dataId), 2);
    x.dispose();
    assert.equal(backend.refCount(y.dataId), 1);
    expectClose(y, expected, { rtol: 0, atol: 0 }, 'clone');
    y.dispose();
    assert.equal(tf.memory().numTensors, before - 1);
  });

  test('values through identity-using ops and a gradient equal the cpu backend', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = randomTensor([2, 4, 4, 3], 2, -1, 1);
        const y = tf.concat([x], 3); // one input: Concat returns identity(x)
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.clone(t), t)))(y);
        return [Array.from(y.dataSync()), Array.from(g.dataSync())];
      });
    const wasm = run();
    await useBackend('cpu');
    const cpu = run();
    await useBackend('wasm');
    expectClose(wasm[0], cpu[0], {}, 'concat');
    expectClose(wasm[1], cpu[1], {}, 'gradient');
  });
});
