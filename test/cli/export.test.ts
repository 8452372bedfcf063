/**
 * `ftunet export`: model.onnx that ONNX Runtime runs to tfjs's output, a tfjs copy, and exit 2
 * naming the layer that ONNX cannot express (with no file written).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { loadModel, saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { expectClose, useBackend } from '../helpers.js';
import { runCli } from './run.js';

describe('ftunet export', () => {
  let dir: string;
  let modelDir: string;
  before(async () => {
    await useBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'ftunet-export-'));
    modelDir = join(dir, 'model');
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 5 });
    await saveModel(m, modelDir);
    m.dispose();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--format onnx writes model.onnx that ONNX Runtime runs to tfjs output (1e-4)', async () => {
    const out = join(dir, 'onnx');
    const r = runCli(['export', '--model', modelDir, '--format', 'onnx', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { file: string; outputs: string[]; model: string };
    assert.equal(result.file, join(out, 'model.onnx'));
    assert.deepEqual(result.outputs, ['final']);
    assert.equal(result.model, 'attn_reg');
    const session = await ort.InferenceSession.create(await readFile(result.file));
    const meta = await loadModel(modelDir);
    const x = tf.randomUniform([3, 32, 32, 1], 0, 1, 'float32', 9);
    const got = await session.run({
      input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape),
    });
    const expected = ([meta.predict(x)].flat() as tf.Tensor[]).at(-1)!;
    expectClose(got.final.data as Float32Array, expected.dataSync(), { rtol: 0, atol: 1e-4 });
    await session.release();
    tf.dispose([x, expected]);
    meta.dispose();
  });

  test('--format tfjs writes a LayersModel folder', () => {
    const out = join(dir, 'tfjs');
    const r = runCli(['export', '--model', modelDir, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /exported attn_reg to .*model\.json \(TensorFlow\.js LayersModel\)/);
    assert.ok(existsSync(join(out, 'model.json')));
  });

  test('a layer ONNX cannot express: exit 2 naming it, no file', async () => {
    const flatDir = join(dir, 'flat');
    const input = tfl.input({ shape: [4, 4, 1] });
    const m = tfl.model({
      inputs: input,
      outputs: tfl.layers.flatten({ name: 'flat' }).apply(input) as tfl.SymbolicTensor,
    });
    await saveModel(m, flatDir);
    m.dispose();
    const out = join(dir, 'flat-onnx');
    const r = runCli([
      'export',
      '--model',
      flatDir,
      '--format',
      'onnx',
      '--outputs',
      'all',
      '--out',
      out,
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "ftunet: layer 'flat' cannot be exported: layer type Flatten has no ONNX export\n",
    );
    assert.ok(!existsSync(join(out, 'model.onnx')));
  });
});
