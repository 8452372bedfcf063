import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel } from '../../src/models/build.js';
import {
  activationBytesPerImage,
  autoMicroBatch,
  checkMicroBatch,
  trainingMicroBatch,
} from '../../src/train/memory.js';
import { useBackend } from '../helpers.js';

describe('micro-batch sizing', () => {
  before(() => useBackend('cpu'));

  test('activation bytes count every layer output of one image', () => {
    // input 4x4x1 (16) → conv 3 filters (48) → flatten-free sum: 4 bytes each.
    const input = tfl.input({ shape: [4, 4, 1] });
    const conv = tfl.layers
      .conv2d({ filters: 3, kernelSize: 1 })
      .apply(input) as tfl.SymbolicTensor;
    const model = tfl.model({ inputs: input, outputs: conv });
    assert.equal(activationBytesPerImage(model), 4 * (16 + 48));
    model.dispose();
  });

  // 69,035,520 bytes of layer outputs per image at 128x128x1, x2 for a training pass: 138 MB.
  test("the paper's batch 16 at 128x128x1: passes of 6 in one thread, 2 x 4 in each of 2 workers", () => {
    const model = buildModel('attn_reg', { inputShape: [128, 128, 1] });
    // The automatic passes' budget (0.9 GB) holds 6 images: 16 = 6 + 6 + 4, 40 = 7 passes of <= 6.
    assert.equal(autoMicroBatch(model, 16, 'wasm'), 6);
    assert.equal(autoMicroBatch(model, 40, 'wasm'), 6);
    assert.equal(autoMicroBatch(model, 4, 'wasm'), 4);
    assert.equal(autoMicroBatch(model, 16, 'cpu'), 16);
    assert.equal(autoMicroBatch(model, 16, 'tensorflow'), 16);
    assert.equal(trainingMicroBatch(model, 16, 'wasm', 1), 6);
    // Two workers share 1.2 GB: 0.6 GB (4 images) each for their 8 images.
    assert.equal(trainingMicroBatch(model, 16, 'wasm', 2), 4);
    assert.equal(trainingMicroBatch(model, 16, 'cpu', 2), 8);
    model.dispose();
  });

  test('192x256x3 batch 8: passes of 2 in one thread, of 1 in each of 2 workers', () => {
    const model = buildModel('attn_reg', { inputShape: [192, 256, 3] });
    assert.equal(autoMicroBatch(model, 8, 'wasm'), 2);
    assert.equal(trainingMicroBatch(model, 8, 'wasm', 2), 1);
    model.dispose();
  });
});

describe('micro-batch memory check', () => {
  before(() => useBackend('cpu'));

  test('a wasm pass that cannot fit 4 GB is refused with the largest that fits', () => {
    const model = buildModel('attn_reg', { inputShape: [128, 128, 1] });
    // 69,035,520 bytes of layer outputs per image, x2 for a training pass: 24 images need
    // 3.3 GB; the automatic budget (2.5 GB) holds 18.
    assert.throws(() => checkMicroBatch(model, 24, 'wasm'), {
      message:
        '--micro-batch 24: a training pass of 24 images needs about 3.3 GB, more than one wasm ' +
        "instance can address (4 GB): use --micro-batch 18 or less (the batch is then split, keeping --batch-size), or 'auto'",
    });
    checkMicroBatch(model, 16, 'wasm');
    checkMicroBatch(model, 64, 'tensorflow');
    model.dispose();
  });
});
