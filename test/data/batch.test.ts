import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { imagesToTensor, makeBatch } from '../../src/data/batch.js';
import type { SegmentationDataset } from '../../src/data/dataset.js';
import { NUMERIC_BACKENDS, useBackend } from '../helpers.js';

/** A 3-item data set of 2x3 RGB images: item k's values are 10 k + 0..17. */
function tiny(): SegmentationDataset {
  const images = [0, 1, 2].map((k) => Uint8Array.from({ length: 18 }, (_, i) => 10 * k + i));
  const masks = [0, 1, 2].map((k) => Uint8Array.from({ length: 6 }, (_, i) => (i < k * 2 ? 1 : 0)));
  return {
    source: { kind: 'folder' },
    count: 3,
    inputSize: [2, 3],
    channels: 3,
    interpolation: 'nearest',
    names: ['a', 'b', 'c'],
    originalSizes: [
      [2, 3],
      [2, 3],
      [2, 3],
    ],
    layouts: ['rgb', 'rgb', 'rgb'],
    lesionArea: [0, 1 / 3, 2 / 3],
    images,
    masks,
    loadOriginalMask: () => Promise.reject(new Error('unused')),
    loadOriginalImage: () => Promise.reject(new Error('unused')),
  };
}

for (const backend of NUMERIC_BACKENDS) {
  describe(`makeBatch (${backend})`, () => {
    test('NHWC float32, images / 255, masks 0/1, in the order of the indices', async () => {
      await useBackend(backend);
      const before = tf.memory().numTensors;
      const { xs, ys } = makeBatch(tiny(), [2, 0]);
      assert.deepEqual(
        [xs.shape, ys.shape, xs.dtype, ys.dtype],
        [[2, 2, 3, 3], [2, 2, 3, 1], 'float32', 'float32'],
      );
      const x = xs.dataSync();
      // Item 2 first: value 20 + i; then item 0: value i. Division by 255 in float32.
      assert.equal(x[0], Math.fround(20 / 255));
      assert.equal(x[17], Math.fround(37 / 255));
      assert.equal(x[18], 0);
      assert.equal(x[35], Math.fround(17 / 255));
      assert.deepEqual([...ys.dataSync()], [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
      tf.dispose([xs, ys]);
      assert.equal(tf.memory().numTensors, before);
    });
  });
}

describe('makeBatch errors', () => {
  test('an index outside the data set and an empty list', () => {
    assert.throws(() => makeBatch(tiny(), [0, 3]), {
      name: 'UserError',
      message: 'item index 3 is outside the data set (0 to 2)',
    });
    assert.throws(() => makeBatch(tiny(), []), { message: 'a batch needs at least one item' });
  });
});

describe('imagesToTensor', () => {
  test('stacks same-size images as NHWC / 255 and refuses mixed sizes', async () => {
    await useBackend('cpu');
    const a = { data: Uint8Array.from([0, 255, 51, 102]), height: 2, width: 2, channels: 1 };
    const b = { data: Uint8Array.from([255, 0, 0, 0]), height: 2, width: 2, channels: 1 };
    const t = imagesToTensor([a, b]);
    assert.deepEqual(t.shape, [2, 2, 2, 1]);
    assert.deepEqual([...t.dataSync()], [0, 1, 0.2, 0.4, 1, 0, 0, 0].map(Math.fround));
    t.dispose();
    assert.throws(() => imagesToTensor([a, { ...b, channels: 3, data: new Uint8Array(12) }]), {
      message: 'the images of a batch differ in size: image 1 is 2x2x3, image 0 is 2x2x1',
    });
  });
});
