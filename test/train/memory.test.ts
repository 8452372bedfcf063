import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { buildModel } from '../../src/models/build.js';
import {
  activationBytesPerImage,
  autoMicroBatch,
  checkMicroBatch,
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

  test("the paper's batch 16 at 128x128x1 runs as two passes of 8 on wasm", () => {
    const model = buildModel('attn_reg', { inputShape: [128, 128, 1] });
    assert.equal(autoMicroBatch(model, 16, 'wasm'), 8);
    assert.equal(autoMicroBatch(model, 4, 'wasm'), 4);
    assert.equal(autoMicroBatch(model, 16, 'cpu'), 16);
    assert.equal(autoMicroBatch(model, 16, 'tensorflow'), 16);
    model.dispose();
  });

  test('192x256x3 batch 8 runs in near-equal passes of at most 3', () => {
    const model = buildModel('attn_reg', { inputShape: [192, 256, 3] });
    assert.equal(autoMicroBatch(model, 8, 'wasm'), 3);
    model.dispose();
  });
});

describe('micro-batch memory check', () => {
  before(() => useBackend('cpu'));

  test('a wasm pass that cannot fit 4 GB is refused with the largest that fits', () => {
    const model = buildModel('attn_reg', { inputShape: [128, 128, 1] });
    // 69,035,520 bytes of layer outputs per image, x4 for a training pass: 16 images need
    // 4.4 GB; the automatic budget (2.5 GB) holds 9.
    assert.throws(() => checkMicroBatch(model, 16, 'wasm'), {
      message:
        '--micro-batch 16: a training pass of 16 images needs about 4.4 GB, more than one wasm ' +
        "instance can address (4 GB): use --micro-batch 9 or less (the batch is then split, keeping --batch-size), or 'auto'",
    });
    checkMicroBatch(model, 8, 'wasm');
    checkMicroBatch(model, 64, 'tensorflow');
    model.dispose();
  });
});
