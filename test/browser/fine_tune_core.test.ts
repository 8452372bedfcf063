/**
 * The fine-tuning that the web app runs (src/browser/fine_tune.ts), in Node.js on the wasm
 * backend: the split is reproducible and holds out at least one image; the model ends with the
 * weights of the epoch it reports as best (copied at each epoch here), scored as
 * `evaluateModel` scores them; a cancel keeps the best so far; a frozen encoder is unchanged;
 * fresh input statistics are recorded; no tensor is left behind.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import {
  examplesDataset,
  fineTune,
  type FineTuneCheckpoint,
  fineTuneSettings,
  fineTuneSplit,
  type FineTuneExample,
} from '../../src/browser/fine_tune.js';
import { inputStatisticsOf } from '../../src/data/input_statistics.js';
import { predictionRecipe } from '../../src/data/recipe.js';
import { generatePair } from '../../src/data/synthetic/generate.js';
import { evaluateModel } from '../../src/eval/evaluate.js';
import { buildModel } from '../../src/models/build.js';
import { isEncoderLayer } from '../../src/models/freeze.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  FINE_TUNING_KEY,
  modelFolderEntries,
  recordFineTuning,
} from '../../src/browser/fine_tune.js';
import { encodeImagePng, encodeMaskPng } from '../../src/browser/png.js';
import { weightsDigest } from '../../src/io/model_json.js';
import { runCli } from '../cli/run.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

const RECIPE = predictionRecipe({ inputShape: [32, 32, 1] });

function examples(n: number): FineTuneExample[] {
  return Array.from({ length: n }, (_, i) => {
    const pair = generatePair('bus', i, { seed: 9, look: 'dim' });
    return { name: `dim_${i}.png`, image: pair.image, mask: pair.mask };
  });
}

const weightsOf = (model: ReturnType<typeof buildModel>): Float32Array[] =>
  model.weights.map((w) => Float32Array.from(w.read().dataSync()));

describe('fine-tuning', () => {
  before(() => useBackend('wasm'));

  test('the split: reproducible, at least one image held out, every image once', () => {
    const a = fineTuneSplit(10, 0.2, 1);
    assert.deepEqual(fineTuneSplit(10, 0.2, 1), a);
    assert.equal(a.val.length, 2);
    assert.deepEqual(
      [...a.train, ...a.val].sort((x, y) => x - y),
      [...Array(10).keys()],
    );
    assert.notDeepEqual(fineTuneSplit(10, 0.2, 2), a, 'another seed, another split');
    assert.deepEqual(fineTuneSplit(2, 0.2, 1).val.length, 1);
    assert.equal(fineTuneSplit(3, 0.9, 1).train.length, 1, 'at least one image trains');
    assert.throws(() => fineTuneSplit(1, 0.2, 1), /at least 2 images with masks/);
  });

  test('settings: defaults, and one sentence for a bad one', () => {
    assert.equal(fineTuneSettings().learningRate, 1e-3);
    assert.throws(() => fineTuneSettings({ epochs: 0 }), /epochs must be an integer from 1/);
    assert.throws(
      () => fineTuneSettings({ freeze: 'decoder' as 'none' }),
      /freeze must be one of none, encoder/,
    );
    assert.throws(() => fineTuneSettings({ valFraction: 1 }), /validation share/);
  });

  test("the model ends with the best epoch's weights, scored as evaluate scores them", async () => {
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 5 });
    const initial = weightsOf(model);
    const tensors = tf.memory().numTensors;
    const copies: Float32Array[][] = [];
    const data = examples(6);
    const result = await fineTune(
      model,
      RECIPE,
      data,
      { settings: { epochs: 3, learningRate: 3e-3, batchSize: 2 } },
      { onEpoch: () => copies.push(weightsOf(model)) },
    );
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.equal(result.logs.length, 3);
    assert.equal(result.cancelled, false);
    assert.deepEqual(result.validation, ['dim_4.png']);
    assert.equal(result.training.length, 5);
    const expected = result.bestEpoch === 0 ? initial : copies[result.bestEpoch - 1];
    assert.deepEqual(weightsOf(model), expected, `the weights of epoch ${result.bestEpoch}`);
    const rows = await evaluateModel(model, examplesDataset(RECIPE, data), [4], { quality: false });
    assert.equal(result.after.dsc, rows[0].metrics.dsc);
    assert.equal(result.after.images[0].name, 'dim_4.png');
    const stats = inputStatisticsOf(model.getUserDefinedMetadata());
    assert.equal(stats?.images, 5, 'input statistics of the five training images');
    model.dispose();
  });

  test('cancelled after the first epoch: that epoch or the model as it was, and said', async () => {
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 6 });
    const initial = weightsOf(model);
    const stop = new AbortController();
    let first: Float32Array[] = [];
    const result = await fineTune(
      model,
      RECIPE,
      examples(4),
      { settings: { epochs: 5, batchSize: 2 } },
      {
        signal: stop.signal,
        onEpoch: () => {
          first = weightsOf(model);
          stop.abort();
        },
      },
    );
    assert.equal(result.cancelled, true);
    assert.equal(result.logs.length, 1);
    assert.deepEqual(weightsOf(model), result.bestEpoch === 1 ? first : initial);
    model.dispose();
  });

  test('a run that goes on from a checkpoint ends as the run that never stopped, bit for bit', async () => {
    const settings = {
      epochs: 4,
      batchSize: 2,
      augment: 'light' as const,
      freeze: 'encoder' as const,
    };
    const data = examples(5);
    const whole = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 8 });
    const wholeResult = await fineTune(whole, RECIPE, data, { settings });
    // The same run, its checkpoint after epoch 2 kept with the model's weights then; stopped.
    const cut = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 8 });
    const stop = new AbortController();
    let kept: { checkpoint: FineTuneCheckpoint; weights: Map<string, Float32Array> } | undefined;
    await fineTune(
      cut,
      RECIPE,
      data,
      { settings },
      {
        signal: stop.signal,
        onCheckpoint: (checkpoint, model) => {
          if (checkpoint.state.epoch !== 2) return;
          // Through a structured clone, as IndexedDB keeps it.
          // By name: while the encoder is frozen, the model lists its weights in another order.
          const weights = new Map(
            model.weights.map((w) => [w.originalName, Float32Array.from(w.read().dataSync())]),
          );
          kept = { checkpoint: structuredClone(checkpoint), weights };
          stop.abort();
        },
      },
    );
    cut.dispose();
    assert.ok(kept !== undefined);
    assert.equal(kept.checkpoint.logs.length, 2);
    // A new page: the model as saved after epoch 2, and the checkpoint.
    const again = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 99 });
    tf.tidy(() => {
      for (const w of again.weights) {
        w.write(tf.tensor(kept!.weights.get(w.originalName)!, w.shape as number[]));
      }
    });
    const tensors = tf.memory().numTensors;
    const epochs: number[] = [];
    const resumed = await fineTune(
      again,
      RECIPE,
      data,
      { settings, resume: kept.checkpoint },
      { onEpoch: (log) => epochs.push(log.epoch) },
    );
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks');
    assert.deepEqual(epochs, [3, 4]);
    assert.deepEqual(
      resumed.logs,
      wholeResult.logs.map((l, i) => ({ ...l, seconds: resumed.logs[i].seconds })),
    );
    assert.deepEqual(resumed.before, wholeResult.before);
    assert.equal(resumed.bestEpoch, wholeResult.bestEpoch);
    assert.deepEqual(weightsOf(again), weightsOf(whole));
    whole.dispose();
    again.dispose();
  });

  test('a frozen encoder ends as it began; the rest learns', async () => {
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 7 });
    const names = model.weights.map((w) => w.originalName);
    const initial = weightsOf(model);
    // Every epoch kept: no epoch can lose to the model as it was when the bar is beaten once.
    const result = await fineTune(model, RECIPE, examples(4), {
      settings: { epochs: 2, batchSize: 3, freeze: 'encoder', learningRate: 1e-2 },
    });
    const now = weightsOf(model);
    let changed = 0;
    names.forEach((name, i) => {
      if (isEncoderLayer(name.slice(0, name.indexOf('/')))) {
        assert.deepEqual(now[i], initial[i], `${name} is frozen`);
      } else if (now[i].some((x, k) => x !== initial[i][k])) changed++;
    });
    assert.ok(result.bestEpoch === 0 || changed > 20, `${changed} weights changed`);
    assert.ok(
      model.layers.every((l) => l.trainable),
      'the layers are trainable again afterwards',
    );
    model.dispose();
  });

  test('the fine-tuned model as the model folder of a zip: evaluate reads it and gives the validation DSC', async () => {
    const root = await makeTemp('ftunet-finetuned-');
    try {
      const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 5 });
      const parent = await weightsDigest(model);
      const data = examples(6);
      const result = await fineTune(model, RECIPE, data, {
        settings: { epochs: 2, learningRate: 3e-3, batchSize: 2 },
      });
      const record = recordFineTuning(model, result, parent, new Date('2026-12-07T12:00:00Z'));
      const entries = await modelFolderEntries(model);
      assert.deepEqual(
        Object.keys(entries).map((n) => n.replace(/[0-9a-f]{16}/, 'H')),
        ['model/model.json', 'model/weights-H.bin'],
      );
      for (const [name, bytes] of Object.entries(entries)) {
        await mkdir(path.dirname(path.join(root, name)), { recursive: true });
        await writeFile(path.join(root, name), bytes);
      }
      model.dispose();
      // The validation images as a folder data set, losslessly.
      const dataDir = path.join(root, 'data');
      await mkdir(path.join(dataDir, 'images'), { recursive: true });
      await mkdir(path.join(dataDir, 'masks'), { recursive: true });
      for (const e of data.filter((d) => result.validation.includes(d.name))) {
        await writeFile(path.join(dataDir, 'images', e.name), encodeImagePng(e.image));
        await writeFile(path.join(dataDir, 'masks', e.name), encodeMaskPng(e.mask));
      }
      const out = path.join(root, 'eval');
      const r = runCli([
        'evaluate',
        '--model',
        path.join(root, 'model'),
        '--dataset',
        'folder',
        '--data',
        dataDir,
        '--out',
        out,
        '--backend',
        'wasm',
        '--quiet',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
      assert.equal(summary.count, result.validation.length);
      assert.ok(
        Math.abs(summary.dsc.mean - result.after.dsc) < 1e-9,
        `evaluate ${summary.dsc.mean}, fine-tuning ${result.after.dsc}`,
      );
      const json = JSON.parse(await readFile(path.join(root, 'model', 'model.json'), 'utf8'));
      assert.deepEqual(
        json.userDefinedMetadata[FINE_TUNING_KEY],
        JSON.parse(JSON.stringify(record)),
      );
      assert.equal(record.parentWeightsSha256, parent);
      assert.equal(json.userDefinedMetadata.inputStatistics.images, result.training.length);
    } finally {
      await removeTemp(root);
    }
  });
});
