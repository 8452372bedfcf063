import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { expectClose, useBackend } from '../helpers.js';

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`ResizeNearestNeighbor gradient (${backend})`, () => {
    before(() => useBackend(backend));

    test('by a whole factor, batch 3: each input pixel gets the sum of its block of dy (by hand)', () => {
      const x = tf.randomNormal([3, 4, 5, 2], 0, 1, 'float32', 1);
      const r = tf.randomNormal([3, 8, 10, 2], 0, 1, 'float32', 2);
      const g = tf.grad((a: tf.Tensor) =>
        tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [8, 10]), r)),
      )(x);
      const rv = r.dataSync();
      const expected: number[] = [];
      for (let n = 0; n < 3; n++)
        for (let i = 0; i < 4; i++)
          for (let j = 0; j < 5; j++)
            for (let c = 0; c < 2; c++) {
              let s = 0;
              for (const di of [0, 1])
                for (const dj of [0, 1]) s += rv[((n * 8 + 2 * i + di) * 10 + 2 * j + dj) * 2 + c];
              expected.push(s);
            }
      expectClose(g, expected, { rtol: 1e-5, atol: 1e-6 }, 'gradient');
      tf.dispose([x, r, g]);
    });
  });
}
