import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  attentionGateNames,
  buildModel,
  modelMetadata,
  outputNames,
  withAttentionMaps,
} from '../../src/models/build.js';
import { summarizeModel } from '../../src/models/model_summary.js';
import { loadModel, saveModel } from '../../src/io/model_files.js';
import { NUMERIC_BACKENDS, expectClose, randomTensor, useBackend } from '../helpers.js';

describe('reference parameter counts (Keras convention, full width)', () => {
  before(() => useBackend('cpu'));
  // Counted by Keras on the reference code (the paper's published Keras models).
  const cases: Array<[string, number, number]> = [
    ['unet', 1, 7_726_433],
    ['unet', 3, 7_727_009],
    ['attn_reg_ds', 1, 5_302_247],
    ['attn_reg_ds', 3, 5_302_823],
    ['attn_reg', 1, 5_638_503],
    ['attn_reg', 3, 5_647_143],
  ];
  for (const [name, channels, params] of cases) {
    test(`${name} with ${channels} channel(s) has ${params} parameters`, () => {
      const model = buildModel(name, { inputShape: [128, 128, channels] });
      assert.equal(model.countParams(), params);
      model.dispose();
    });
  }
  test('parameter count does not depend on the spatial input size', () => {
    const model = buildModel('attn_reg', { inputShape: [192, 256, 3] });
    assert.equal(model.countParams(), 5_647_143);
    model.dispose();
  });
});

describe('network structure', () => {
  before(() => useBackend('cpu'));

  test('outputs and their shapes', () => {
    const shapes = (name: string) => {
      const m = buildModel(name, { inputShape: [64, 96, 3], width: 0.125 });
      const s = summarizeModel(m).outputs.map((o) => `${o.name}:${o.shape.join('x')}`);
      m.dispose();
      return s;
    };
    assert.deepEqual(shapes('unet'), ['final:64x96x1']);
    assert.deepEqual(shapes('attn_unet'), ['final:64x96x1']);
    const ds = ['pred1:8x12x1', 'pred2:16x24x1', 'pred3:32x48x1', 'final:64x96x1'];
    assert.deepEqual(shapes('attn_reg_ds'), ds);
    assert.deepEqual(shapes('attn_reg'), ds);
  });

  test('layer names follow the reference', () => {
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125 });
    const names = new Set(m.layers.map((l) => l.name));
    for (const n of [
      'input_scale1',
      'input_scale4',
      'conv_scale2',
      'conv1_1',
      'conv1_1_bn',
      'conv1_2_act',
      'center_2',
      'g1_conv',
      'g3_bn',
      'xl_1',
      'g_up_3',
      'psi_2',
      'q_attn_conv_3',
      'q_attn_bn_1',
      'up1',
      'up4',
      'conv9_2',
      'pred1',
      'final',
    ]) {
      assert.ok(names.has(n), `missing layer ${n}`);
    }
    assert.deepEqual(outputNames(m), ['pred1', 'pred2', 'pred3', 'final']);
    m.dispose();
  });

  test('the pyramid is the only difference between attn_reg and attn_reg_ds', () => {
    const a = buildModel('attn_reg', { inputShape: [32, 32, 1] });
    const b = buildModel('attn_reg_ds', { inputShape: [32, 32, 1] });
    // conv_scale2..4: 3x3 convs from 1 channel: (9*1+1)*(64+128+256) = 4,480; the concatenation
    // widens conv2_1, conv3_1, conv4_1 by 64, 128, 256 input channels: 9*(64*64+128*128+256*64).
    const extra = 10 * (64 + 128 + 256) + 9 * (64 * 64 + 128 * 128 + 256 * 64);
    assert.equal(a.countParams() - b.countParams(), extra);
    a.dispose();
    b.dispose();
  });

  test('width multiplier scales the filters', () => {
    const m = buildModel('unet', { inputShape: [32, 32, 1], width: 0.5 });
    assert.equal(m.getLayer('conv1_1').outputShape[3], 16);
    assert.equal(m.getLayer('conv5_1').outputShape[3], 256);
    m.dispose();
  });

  test('attention maps come out at half the gated features size', () => {
    const m = buildModel('attn_reg', { inputShape: [64, 64, 1], width: 0.125 });
    assert.deepEqual(attentionGateNames(m), ['psi_sigmoid_1', 'psi_sigmoid_2', 'psi_sigmoid_3']);
    const att = withAttentionMaps(m);
    const x = randomTensor([2, 64, 64, 1], 1);
    const outs = att.predict(x) as tf.Tensor[];
    assert.deepEqual(
      outs.map((o) => o.shape),
      [
        [2, 64, 64, 1],
        [2, 4, 4, 1],
        [2, 8, 8, 1],
        [2, 16, 16, 1],
      ],
    );
    for (const o of outs.slice(1)) {
      const v = o.dataSync();
      assert.ok(
        v.every((p) => p >= 0 && p <= 1),
        'attention coefficients lie in [0, 1]',
      );
    }
    tf.dispose([x, ...outs]);
    m.dispose();
    assert.throws(() => withAttentionMaps(buildModel('unet', { width: 0.125 })), /no attention/);
  });

  test('bad names and shapes are refused with a clear message', () => {
    assert.throws(() => buildModel('vnet'), {
      message:
        "buildModel: unknown model 'vnet'; expected one of unet, attn_unet, attn_reg_ds, attn_reg",
    });
    assert.throws(() => buildModel('unet', { inputShape: [100, 128, 1] }), {
      message:
        'input shape [100,128,1]: height and width must be multiples of 16 (the network halves them four times)',
    });
    assert.throws(() => buildModel('unet', { inputShape: [128, 0, 1] }), /three positive integers/);
    assert.throws(() => buildModel('unet', { width: 0 }), /width multiplier must be a positive/);
  });

  test('same seed, same weights', () => {
    const w = (seed: number) => {
      const m = buildModel('attn_unet', { inputShape: [32, 32, 1], width: 0.25, seed });
      const v = Array.from(m.getLayer('conv2_1').getWeights()[0].dataSync());
      m.dispose();
      return v;
    };
    assert.deepEqual(w(7), w(7));
    assert.notDeepEqual(w(7), w(8));
  });
});

for (const backend of NUMERIC_BACKENDS) {
  describe(`save and load round trip on ${backend}`, () => {
    let dir: string;
    before(async () => {
      await useBackend(backend);
      dir = await mkdtemp(join(tmpdir(), 'ftunet-model-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    for (const name of ['unet', 'attn_unet', 'attn_reg_ds', 'attn_reg']) {
      test(`${name} predicts the same numbers after loading`, async () => {
        const model = buildModel(name, { inputShape: [32, 48, 2], width: 0.125, seed: 3 });
        const x = randomTensor([2, 32, 48, 2], 5);
        const before = [model.predict(x)].flat() as tf.Tensor[];
        const folder = join(dir, name);
        await saveModel(model, folder);
        const files = await readdir(folder);
        assert.ok(files.includes('model.json'));
        assert.equal(files.filter((f) => f.endsWith('.bin')).length, 1);
        const loaded = await loadModel(folder);
        assert.deepEqual(modelMetadata(loaded), {
          model: name,
          inputShape: [32, 48, 2],
          width: 0.125,
        });
        assert.deepEqual(outputNames(loaded), outputNames(model));
        const afterLoad = [loaded.predict(x)].flat() as tf.Tensor[];
        assert.equal(afterLoad.length, before.length);
        before.forEach((t, i) => expectClose(afterLoad[i], t, { rtol: 0, atol: 0 }, name));
        // Saving again replaces the weights file and leaves exactly one.
        await saveModel(loaded, folder);
        assert.equal((await readdir(folder)).filter((f) => f.endsWith('.bin')).length, 1);
        tf.dispose([x, ...before, ...afterLoad]);
        model.dispose();
        loaded.dispose();
      });
    }

    test('damaged or missing folders give a clear error', async () => {
      await assert.rejects(
        loadModel(join(dir, 'nothing')),
        /no saved model in .*model.json not found/,
      );
      const bad = join(dir, 'bad');
      const model = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125 });
      await saveModel(model, bad);
      model.dispose();
      const bin = (await readdir(bad)).find((f) => f.endsWith('.bin'))!;
      const data = await readFile(join(bad, bin));
      await writeFile(join(bad, bin), data.subarray(0, data.length - 8));
      await assert.rejects(loadModel(bad), /is damaged: weights hold/);
      await writeFile(join(bad, 'model.json'), '{"modelTopology": ');
      await assert.rejects(loadModel(bad), /is not valid JSON/);
    });
  });
}
