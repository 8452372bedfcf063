/**
 * The pure parts of the page's fine-tuning, in Node.js: the batch a device holds
 * (train/memory.ts `deviceBatchSize`, worked by hand), the backend that trains
 * (browser/engine_choice.ts `trainingBackend`), and the zip's name.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { trainingBackend } from '../../src/browser/engine_choice.js';
import { buildModel } from '../../src/models/build.js';
import {
  activationBytesPerImage,
  deviceBatchSize,
  largestActivationBytes,
  trainingFootprint,
} from '../../src/train/memory.js';
import { fineTunedZipName } from '../../src/webapp/fine_tuner.js';
import { useBackend } from '../helpers.js';

/** 100 MB of layer outputs an image (200 MB a training pass), the largest 10 MB. */
const FOOTPRINT = { activationBytes: 100e6, largestBytes: 10e6 };

describe('the batch a device holds', () => {
  before(() => useBackend('cpu'));
  const cases: {
    what: string;
    requested: number;
    limits: Parameters<typeof deviceBatchSize>[2];
    batchSize: number;
    limit?: RegExp;
  }[] = [
    { what: 'wasm, fits', requested: 4, limits: { backend: 'wasm' }, batchSize: 4 },
    // 2.5e9 / 200e6 = 12.5
    {
      what: "wasm: 12 of 16 in wasm's 2.5 GB",
      requested: 16,
      limits: { backend: 'wasm' },
      batchSize: 12,
      limit: /^wasm's memory \(2\.5 GB\)$/,
    },
    // 1 GiB * 0.5 = 536.9 MB / 200 MB = 2.7
    {
      what: 'wasm on a 1 GiB device: half of it holds 2',
      requested: 4,
      limits: { backend: 'wasm', deviceMemoryGiB: 1 },
      batchSize: 2,
      limit: /^the device's memory \(0\.5 GB\)$/,
    },
    { what: 'webgpu, nothing known', requested: 8, limits: { backend: 'webgpu' }, batchSize: 8 },
    // min(256 MiB, 128 MiB) = 134217728 / (10e6 * 9) = 1.49
    {
      what: "webgpu: a 128 MiB binding holds one image's unfolded 90 MB",
      requested: 4,
      limits: {
        backend: 'webgpu',
        maxBufferSize: 256 * 2 ** 20,
        maxStorageBufferBindingSize: 128 * 2 ** 20,
      },
      batchSize: 1,
      limit: /^the GPU's largest buffer \(0\.1 GB\)$/,
    },
    // 4 GiB * 0.5 = 2147 MB / 200 MB = 10.7; buffer 2 GiB / 90 MB = 23
    {
      what: 'webgpu on a 4 GiB device: its memory, not the buffer',
      requested: 16,
      limits: { backend: 'webgpu', deviceMemoryGiB: 4, maxBufferSize: 2 ** 31 },
      batchSize: 10,
      limit: /^the device's memory \(2\.1 GB\)$/,
    },
    { what: 'cpu, nothing known', requested: 64, limits: { backend: 'cpu' }, batchSize: 64 },
  ];
  for (const c of cases) {
    test(c.what, () => {
      const sizing = deviceBatchSize(FOOTPRINT, c.requested, c.limits);
      assert.equal(sizing.requested, c.requested);
      assert.equal(sizing.batchSize, c.batchSize);
      if (c.limit === undefined) assert.equal(sizing.limit, undefined);
      else assert.match(sizing.limit ?? '', c.limit);
    });
  }

  test('not even one image: one sentence that says what to do', () => {
    assert.throws(
      () => deviceBatchSize({ activationBytes: 2e9, largestBytes: 1e8 }, 4, { backend: 'wasm' }),
      {
        message:
          "fine-tuning: one image needs about 4.0 GB for a training pass, more than wasm's " +
          'memory (2.5 GB) allows here: use a smaller model, or a computer with more memory',
      },
    );
  });

  test("a model's footprint: all its layer outputs, and the largest", () => {
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
    const f = trainingFootprint(model);
    assert.equal(f.activationBytes, activationBytesPerImage(model));
    assert.equal(f.largestBytes, largestActivationBytes(model));
    // The widest layer at full size: 32 x 32 x 4 channels (32 * 0.125) of float32 at least.
    assert.ok(f.largestBytes >= 32 * 32 * 4 * 4 && f.largestBytes < f.activationBytes);
    model.dispose();
  });
});

describe('the backend that trains', () => {
  const swiftshader = { webgpuAdapter: 'google swiftshader', webgpuFallback: true };
  const hardware = { webgpuAdapter: 'nvidia ampere', webgpuFallback: false };
  test('auto: WebGPU on a hardware adapter only, else wasm', () => {
    assert.equal(trainingBackend('auto', hardware), 'webgpu');
    assert.equal(trainingBackend('auto', swiftshader), 'wasm');
    assert.equal(
      trainingBackend('auto', { webgpuAdapter: 'llvmpipe', webgpuFallback: false }),
      'wasm',
    );
    assert.equal(trainingBackend('auto', {}), 'wasm');
  });
  test('a backend asked for runs, software or not', () => {
    assert.equal(trainingBackend('webgpu', swiftshader), 'webgpu');
    assert.equal(trainingBackend('wasm', hardware), 'wasm');
    assert.equal(trainingBackend('cpu', hardware), 'cpu');
    assert.throws(() => trainingBackend('webgl' as 'wasm', hardware), {
      message: "backend must be one of auto, webgpu, wasm, cpu, got 'webgl'",
    });
  });
});

test("the zip's name ends in .zip and holds 'model'", () => {
  assert.equal(
    fineTunedZipName(new Date('2026-12-07T10:00:00Z')),
    'fine-tuned-model-2026-12-07.zip',
  );
});
