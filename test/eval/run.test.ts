import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { openModel, resolveModelSource } from '../../src/eval/model_source.js';
import { evaluateRun, evaluateSavedModel, testItemsOfSplit } from '../../src/eval/run.js';
import { saveModel } from '../../src/io/model_files.js';
import { listTree, makeTemp, removeTemp } from '../data/fixtures.js';
import { DEFAULT_NUMERICS } from '../../src/kernels/numerics.js';
import { expectClose, useBackend } from '../helpers.js';
import {
  EVAL_SPLIT,
  runConfig,
  thresholdModel,
  writeBusItems,
  writeRunFolder,
} from './fixtures.js';

let root: string;
let data: string;
let runDir: string;
let modelDir: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-evalrun-');
  data = path.join(root, 'bus');
  runDir = path.join(root, 'run');
  modelDir = path.join(root, 'model');
  await writeBusItems(data);
  const model = thresholdModel();
  await writeRunFolder(runDir, data, model);
  await saveModel(model, modelDir);
  model.dispose();
});
after(() => removeTemp(root));

describe('resolveModelSource and openModel', () => {
  test('a model folder, and a run folder (its best model with its config)', async () => {
    assert.deepEqual(await resolveModelSource(modelDir), { modelDir });
    const run = await resolveModelSource(runDir);
    assert.equal(run.modelDir, path.join(runDir, 'best'));
    assert.equal(run.runDir, runDir);
    assert.equal(run.run?.dataset.kind, 'synthetic-bus');
    const before = tf.memory().numTensors;
    const opened = await openModel(runDir);
    assert.equal(opened.name, 'threshold_net');
    opened.model.dispose();
    assert.equal(tf.memory().numTensors, before);
  });

  test('a missing folder, a run without a best model, a folder with neither', async () => {
    const missing = path.join(root, 'nope');
    await assert.rejects(resolveModelSource(missing), {
      name: 'UserError',
      message: `model folder '${missing}' does not exist`,
    });
    const fresh = path.join(root, 'fresh-run');
    await mkdir(fresh);
    await writeFile(path.join(fresh, 'config.json'), JSON.stringify(runConfig(data)));
    await assert.rejects(resolveModelSource(fresh), {
      message: `run folder '${fresh}' has no best model yet: best/model.json not found`,
    });
    await assert.rejects(resolveModelSource(data), {
      message: `no saved model in '${data}': expected model.json (a model folder) or config.json (a run folder)`,
    });
  });
});

describe('evaluateRun', () => {
  test("scores the run's test fold at the original size and writes RUN/eval atomically", async () => {
    const dataBefore = await listTree(data);
    const tensors = tf.memory().numTensors;
    const phases = new Set<string>();
    const report = await evaluateRun({ run: runDir, onProgress: (p) => phases.add(p.phase) });
    assert.equal(tf.memory().numTensors, tensors);
    assert.deepEqual([...phases].sort(), ['decode', 'predict']);
    assert.deepEqual(report.files, {
      dir: path.join(runDir, 'eval'),
      metrics: path.join(runDir, 'eval', 'metrics.csv'),
      summary: path.join(runDir, 'eval', 'summary.json'),
    });
    // No temporary files are left next to the results.
    assert.deepEqual((await readdir(report.files.dir)).sort(), ['metrics.csv', 'summary.json']);
    const s = JSON.parse(await readFile(report.files.summary, 'utf8')) as typeof report.summary;
    assert.deepEqual(s, JSON.parse(JSON.stringify(report.summary)));
    // Items 1-3 (see evaluate.test.ts): DSC 321/359, 1/51 and 1.
    expectClose([s.dsc.mean], [(321 / 359 + 1 / 51 + 1) / 3]);
    assert.deepEqual([s.count, s.threshold, s.fold, s.model], [3, 0.5, 0, 'threshold_net']);
    assert.deepEqual(s.dataset, { kind: 'synthetic-bus', data });
    assert.equal(s.modelDir, path.join(runDir, 'best'));
    // The numerics of the tfjs kernels that predicted (the backend's, today's defaults here).
    assert.equal(s.engine, 'tfjs-cpu');
    assert.deepEqual(s.numerics, DEFAULT_NUMERICS);
    const csv = (await readFile(report.files.metrics, 'utf8')).trim().split('\n');
    assert.deepEqual(
      csv.map((l) => l.split(',')[0]),
      ['name', '000001.png', '000002.png', '000003.png'],
    );
    assert.deepEqual(await listTree(data), dataBefore);
  });

  test('--out and a moved data folder; a data folder that is not there', async () => {
    const out = path.join(root, 'elsewhere');
    const report = await evaluateRun({ run: runDir, data, out, threshold: 0.9 });
    assert.equal(report.files.dir, out);
    assert.equal(report.summary.threshold, 0.9);
    const gone = path.join(root, 'gone');
    await assert.rejects(evaluateRun({ run: runDir, data: gone }), {
      name: 'DataError',
      message: `bus: data folder ${gone} does not exist`,
    });
  });
});

describe('evaluateSavedModel', () => {
  test('every item when no split is given (fold null), at the input size too', async () => {
    const out = path.join(root, 'all');
    const report = await evaluateSavedModel({
      model: modelDir,
      dataset: 'bus',
      data,
      out,
      cache: false,
      inputSizeMetrics: true,
    });
    assert.deepEqual(
      [report.summary.count, report.summary.fold, report.summary.split],
      [4, null, null],
    );
    // Item 4 comes back shifted by one row and one column: DSC 1293/1401.
    expectClose([report.rows[3].metrics.dsc], [1293 / 1401]);
    assert.deepEqual(report.summary.atInputSize?.size, [32, 32]);
  });

  test('one fold of a split file; fold errors name the file', async () => {
    const split = path.join(runDir, 'split.json');
    const out = path.join(root, 'fold');
    const report = await evaluateSavedModel({
      model: runDir,
      dataset: 'bus',
      data,
      out,
      split,
      fold: 0,
      cache: false,
    });
    assert.deepEqual(
      [report.summary.count, report.summary.fold, report.summary.split],
      [3, 0, split],
    );
    await assert.rejects(
      evaluateSavedModel({
        model: modelDir,
        dataset: 'bus',
        data,
        out,
        split,
        fold: 1,
        cache: false,
      }),
      { name: 'UserError', message: `split file ${split} has 1 fold (0), got fold 1` },
    );
    await assert.rejects(
      evaluateSavedModel({ model: modelDir, dataset: 'bus', data, out, fold: 1, cache: false }),
      { message: 'fold: applies to a split file, and none was given' },
    );
  });
});

describe('testItemsOfSplit', () => {
  test('several folds need a fold; an unknown name is a DataError', async () => {
    const file = path.join(root, 'kfold.json');
    const folds = [
      { train: ['000003.png', '000004.png'], val: [], test: ['000001.png', '000002.png'] },
      { train: ['000001.png', '000002.png'], val: [], test: ['000003.png', '000004.png'] },
    ];
    await writeFile(file, JSON.stringify({ ...EVAL_SPLIT, method: 'kfold', k: 2, folds }));
    const names = ['000001.png', '000002.png', '000003.png', '000004.png'];
    assert.deepEqual(await testItemsOfSplit(file, names, 1), { fold: 1, indices: [2, 3] });
    await assert.rejects(testItemsOfSplit(file, names, undefined), {
      message: `split file ${file} has 2 folds; choose one (fold 0 to 1)`,
    });
    await assert.rejects(testItemsOfSplit(file, names, 2), {
      message: `split file ${file} has 2 folds (0 to 1), got fold 2`,
    });
    await assert.rejects(
      testItemsOfSplit(file, ['000001.png', '000002.png', '000003.png', 'x.png'], 0),
      {
        name: 'DataError',
      },
    );
  });
});
