import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { decodeImage } from '../../src/io/image.js';
import { buildModel } from '../../src/models/build.js';
import { collectInputs, outputFileNames, predictFiles } from '../../src/predict/files.js';
import { makeTemp, rectMask, removeTemp, rgbPattern, scale, writeRaw } from '../data/fixtures.js';
import { thresholdModel } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';

let root: string;
let inputs: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-predict-');
  inputs = path.join(root, 'in');
  await writeRaw(
    path.join(inputs, 'a.png'),
    scale(rectMask(30, 45, [0, 8, 0, 20]), 255),
    30,
    45,
    1,
  );
  await writeRaw(path.join(inputs, 'folder', 'b.jpg'), rgbPattern(37, 23), 37, 23, 3, 'jpeg');
  await writeRaw(
    path.join(inputs, 'folder', 'c.png'),
    scale(rectMask(17, 9, [2, 9, 1, 5]), 255),
    17,
    9,
    1,
  );
  await writeFile(path.join(inputs, 'folder', 'notes.txt'), 'not an image');
  await writeFile(path.join(inputs, 'broken.png'), Buffer.from('\x89PNG\r\n\x1a\n garbage'));
  await mkdir(path.join(inputs, 'empty'));
});
after(() => removeTemp(root));

describe('collectInputs', () => {
  test('files as given, folders expanded (sorted), missing paths and empty folders failed', async () => {
    const a = path.join(inputs, 'a.png');
    const folder = path.join(inputs, 'folder');
    const missing = path.join(inputs, 'missing.png');
    const empty = path.join(inputs, 'empty');
    const c = await collectInputs([a, folder, missing, empty, a]);
    assert.deepEqual(c.files, [a, path.join(folder, 'b.jpg'), path.join(folder, 'c.png')]);
    assert.deepEqual(c.failed, [
      { input: missing, reason: 'no such file or folder' },
      { input: empty, reason: 'no images in this folder' },
    ]);
    assert.deepEqual(c.skipped, [`${folder}/notes.txt`]);
  });

  test('two inputs with the same stem are refused before anything runs', async () => {
    const other = path.join(root, 'other');
    await writeRaw(path.join(other, 'a.jpg'), rgbPattern(4, 4), 4, 4, 3, 'jpeg');
    await assert.rejects(collectInputs([path.join(inputs, 'a.png'), other]), {
      name: 'UserError',
      message:
        `1 name would be written twice (inputs with the same stem): ` +
        `a (${path.join(inputs, 'a.png')}, ${path.join(other, 'a.jpg')})`,
    });
  });

  test('output names', () => {
    assert.deepEqual(outputFileNames('x.y', 2), {
      mask: 'x.y_mask.png',
      overlay: 'x.y_overlay.png',
      probabilities: 'x.y_prob.png',
      attention: ['x.y_attention_1.png', 'x.y_attention_2.png'],
    });
  });
});

describe('predictFiles', () => {
  test('mask, overlay at the original size; unreadable inputs reported and skipped', async () => {
    const model = thresholdModel();
    const out = path.join(root, 'out');
    const failures: string[] = [];
    const progress: string[] = [];
    const tensors = tf.memory().numTensors;
    const broken = path.join(inputs, 'broken.png');
    const result = await predictFiles({
      model,
      inputs: [path.join(inputs, 'a.png'), broken, path.join(inputs, 'folder')],
      out,
      onFailure: (f) => failures.push(`${f.input}: ${f.reason}`),
      onProgress: (p) => progress.push(`${p.done}/${p.total}`),
    });
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(failures.length, 1);
    assert.ok(failures[0].startsWith(`${broken}: `), failures[0]);
    assert.deepEqual(progress, ['1/4', '2/4', '3/4', '4/4']);
    assert.deepEqual(
      result.predicted.map((p) => [path.basename(p.input), p.size]),
      [
        ['a.png', [30, 45]],
        ['b.jpg', [37, 23]],
        ['c.png', [17, 9]],
      ],
    );
    assert.deepEqual((await readdir(out)).sort(), [
      'a_mask.png',
      'a_overlay.png',
      'b_mask.png',
      'b_overlay.png',
      'c_mask.png',
      'c_overlay.png',
    ]);
    for (const p of result.predicted) {
      const meta = await sharp(p.mask).metadata();
      assert.deepEqual([meta.height, meta.width, meta.channels], [...p.size, 1], p.mask);
      const ov = await sharp(p.overlay).metadata();
      assert.deepEqual([ov.height, ov.width, ov.channels], [...p.size, 3], p.overlay);
      const mask = await decodeImage(p.mask, 1);
      assert.ok(
        mask.data.every((v) => v === 0 || v === 255),
        `${p.mask} is not 0/255`,
      );
    }
    // a.png: the white rectangle comes back as rows 0-8, cols 0-21 (see score.test.ts).
    const a = await decodeImage(result.predicted[0].mask, 1);
    assert.deepEqual([...a.data], [...scale(rectMask(30, 45, [0, 9, 0, 22]), 255)]);
    assert.equal(result.predicted[0].lesionArea, 198 / 1350);
    // The overlay of a.png: the outline is green, the inside keeps the image's white.
    const ov = await decodeImage(result.predicted[0].overlay, 3);
    assert.deepEqual([...ov.data.subarray(0, 3)], [0, 255, 0]);
    const inside = (4 * 45 + 4) * 3;
    assert.deepEqual([...ov.data.subarray(inside, inside + 3)], [255, 255, 255]);
    model.dispose();
  });

  test('attention heat maps at the image size; none for a model without gates', async () => {
    const model = buildModel('attn_unet', { inputShape: [32, 32, 3], width: 0.125, seed: 1 });
    const out = path.join(root, 'attn');
    const result = await predictFiles({
      model,
      inputs: [path.join(inputs, 'folder', 'b.jpg')],
      out,
      attention: true,
      overlay: { style: 'tint' },
    });
    assert.deepEqual(
      result.predicted[0].attention.map((f) => path.basename(f)),
      ['b_attention_1.png', 'b_attention_2.png', 'b_attention_3.png'],
    );
    for (const f of result.predicted[0].attention) {
      const meta = await sharp(f).metadata();
      assert.deepEqual([meta.height, meta.width, meta.channels], [37, 23, 3], f);
    }
    model.dispose();
    const unet = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125 });
    await assert.rejects(
      predictFiles({
        model: unet,
        inputs: [inputs],
        out: path.join(root, 'never'),
        attention: true,
      }),
      { name: 'UserError', message: /has no attention gates/ },
    );
    await assert.rejects(readdir(path.join(root, 'never')), { code: 'ENOENT' });
    unet.dispose();
  });
});
