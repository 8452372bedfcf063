import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { synthesizeDataset } from '../../src/data/synthetic/generate.js';
import { loadCheckpoint } from '../../src/run/checkpoint.js';
import { loadModel } from '../../src/io/model_files.js';
import { MODEL_SUPERVISION } from '../../src/models/supervision.js';
import { buildModel } from '../../src/models/build.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { resume, train } from '../../src/run/train.js';
import { DivergenceError, OutOfMemoryError, Trainer } from '../../src/train/trainer.js';
import { expectClose, useBackend } from '../helpers.js';

const PACKAGE = { name: 'focal-tversky-unet', version: 'test' };

describe('optimizer arithmetic (Keras)', () => {
  before(() => useBackend('cpu'));

  test('SGD with momentum and time decay, worked by hand', () => {
    const w = tf.variable(tf.tensor1d([1, -2]));
    const opt = new Optimizer({ name: 'sgd', learningRate: 0.1, momentum: 0.9, decay: 0.5 });
    const g = tf.tensor1d([2, 4]);
    opt.applyGradients([{ name: 'w', variable: w }], [g]);
    // t=0: lr 0.1; v = -0.1*g = [-0.2, -0.4]; w = [0.8, -2.4]
    expectClose(w, [0.8, -2.4]);
    expectClose(opt.currentLearningRate(), 0.1 / 1.5);
    opt.applyGradients([{ name: 'w', variable: w }], [g]);
    // t=1: lr 0.1/1.5; v = 0.9*v - lr*g = [-0.18 - 0.1333.., -0.36 - 0.2666..]
    const lr1 = 0.1 / 1.5;
    expectClose(w, [0.8 - 0.18 - 2 * lr1, -2.4 - 0.36 - 4 * lr1], { rtol: 1e-6 });
    assert.equal(opt.iterations, 2);
    tf.dispose([w, g]);
    opt.dispose();
  });

  test('Adam first step moves each weight by about lr against the gradient sign', () => {
    const w = tf.variable(tf.tensor1d([0, 0]));
    const opt = new Optimizer({ name: 'adam', learningRate: 0.01, decay: 0 });
    const g = tf.tensor1d([3, -0.5]);
    opt.applyGradients([{ name: 'w', variable: w }], [g]);
    // m = 0.1 g, v = 0.001 g^2, lr_t = 0.01 sqrt(0.001)/0.1: step = lr_t m/(sqrt(v)+1e-7) ≈ 0.01 sign(g)
    expectClose(w, [-0.01, 0.01], { rtol: 1e-4 });
    tf.dispose([w, g]);
    opt.dispose();
  });

  test('state round trip continues identically', async () => {
    const make = () => tf.variable(tf.tensor1d([1, 2, 3]));
    const g = tf.tensor1d([0.5, -1, 2]);
    const a = make();
    const optA = new Optimizer({ name: 'adam', learningRate: 0.1 });
    for (let i = 0; i < 3; i++) optA.applyGradients([{ name: 'w', variable: a }], [g]);
    const b = make();
    const optB = new Optimizer({ name: 'adam', learningRate: 0.1 });
    optB.applyGradients([{ name: 'w', variable: b }], [g]);
    const optC = new Optimizer({ name: 'adam', learningRate: 0.1 });
    optC.setState(await optB.getState());
    for (let i = 0; i < 2; i++) optC.applyGradients([{ name: 'w', variable: b }], [g]);
    expectClose(b, a, { rtol: 0, atol: 0 });
    tf.dispose([a, b, g]);
    [optA, optB, optC].forEach((o) => o.dispose());
  });
});

describe('training on wasm', () => {
  before(() => useBackend('wasm'));

  test('the loss goes down on a tiny synthetic batch and no tensor leaks', async () => {
    const ds = synthesizeDataset({ kind: 'bus', count: 4, seed: 3, inputSize: [32, 32] });
    const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
    const trainer = new Trainer(
      model,
      ds,
      { train: [0, 1, 2, 3], val: [] },
      {
        epochs: 12,
        batchSize: 4,
        microBatch: 2,
        bnGroup: 2,
        seed: 1,
        objective: { loss: 'ftl', finalLoss: MODEL_SUPERVISION.attn_reg.finalLoss },
        optimizer: { name: 'adam', learningRate: 0.01 },
      },
    );
    const losses: number[] = [];
    const tensors: number[] = [];
    await trainer.run({
      onEpochEnd: (log) => {
        losses.push(log.train.loss);
        tensors.push(tf.memory().numTensors);
      },
    });
    assert.equal(losses.length, 12);
    assert.ok(
      losses[11] < losses[0] - 0.2,
      `loss should fall by more than 0.2: ${losses.map((l) => l.toFixed(3)).join(' ')}`,
    );
    assert.ok(
      tensors.every((n) => n === tensors[0]),
      `live tensors per epoch: ${tensors.join(' ')}`,
    );
    trainer.dispose();
    model.dispose();
  });

  test('a NaN loss stops training naming the epoch and step', async () => {
    const ds = synthesizeDataset({ kind: 'bus', count: 4, seed: 3, inputSize: [32, 32] });
    const model = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
    const layer = model.getLayer('final');
    const [kernel, bias] = layer.getWeights();
    layer.setWeights([tf.fill(kernel.shape, NaN), bias]);
    const trainer = new Trainer(
      model,
      ds,
      { train: [0, 1, 2, 3], val: [] },
      { epochs: 2, batchSize: 2, objective: { loss: 'tl' } },
    );
    let epochsEnded = 0;
    await assert.rejects(
      trainer.run({ onEpochEnd: () => void (epochsEnded += 1) }),
      (err: unknown) =>
        err instanceof DivergenceError &&
        /^diverged at epoch 1, step 1: the loss is NaN$/.test(err.message),
    );
    assert.equal(epochsEnded, 0, 'no checkpoint is written for the diverged epoch');
    trainer.dispose();
    model.dispose();
  });
});

describe('out of memory', () => {
  before(() => useBackend('wasm'));

  test('a trap of the wasm machine in a pass ends with advice, not a crash', async () => {
    const ds = synthesizeDataset({ kind: 'bus', count: 2, seed: 3, inputSize: [32, 32] });
    const model = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
    // What a wasm instance that cannot grow its memory throws from inside a kernel.
    model.apply = () => {
      throw new WebAssembly.RuntimeError('divide by zero');
    };
    const trainer = new Trainer(
      model,
      ds,
      { train: [0, 1], val: [] },
      { epochs: 1, batchSize: 2, objective: { loss: 'tl' } },
    );
    const before = tf.memory().numTensors;
    await assert.rejects(trainer.run(), (err: unknown) => {
      assert.ok(err instanceof OutOfMemoryError);
      assert.match(
        err.message,
        /^out of memory on backend 'wasm' in a training pass of 2 image\(s\) \(divide by zero\): use a smaller --micro-batch/,
      );
      return true;
    });
    assert.equal(tf.memory().numTensors, before, 'the failed pass leaks no tensor');
    trainer.dispose();
    model.dispose();
  });

  test('other errors pass through unchanged', async () => {
    const ds = synthesizeDataset({ kind: 'bus', count: 2, seed: 3, inputSize: [32, 32] });
    const model = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
    model.apply = () => {
      throw new TypeError('a bug');
    };
    const trainer = new Trainer(
      model,
      ds,
      { train: [0, 1], val: [] },
      { epochs: 1, batchSize: 2, objective: { loss: 'tl' } },
    );
    await assert.rejects(trainer.run(), { name: 'TypeError', message: 'a bug' });
    trainer.dispose();
    model.dispose();
  });
});

describe('training runs on disk', () => {
  let root: string;
  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-train-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const options = (out: string) => ({
    out,
    dataset: 'synthetic-bus' as const,
    syntheticCount: 10,
    model: 'attn_reg_ds' as const,
    width: 0.125,
    inputSize: [32, 32] as [number, number],
    epochs: 3,
    batchSize: 4,
    microBatch: 2,
    seed: 5,
    cache: false as const,
    optimizer: { name: 'adam' as const, learningRate: 0.01 },
    backend: 'wasm',
    packageInfo: PACKAGE,
  });

  test('an interrupted run resumed gives the same weights as an uninterrupted one', async () => {
    const straight = path.join(root, 'straight');
    const result = await train(options(straight));
    assert.equal(result.logs.length, 3);

    const broken = path.join(root, 'broken');
    await assert.rejects(
      train(options(broken), {
        onEpoch: (log) => {
          if (log.epoch === 2) throw new Error('killed after epoch 2');
        },
      }),
      /killed after epoch 2/,
    );
    const resumed = await resume(broken, 'wasm');
    assert.deepEqual(
      resumed.logs.map((l) => l.epoch),
      [1, 2, 3],
    );

    const a = await loadCheckpoint(path.join(straight, 'checkpoint'));
    const b = await loadCheckpoint(path.join(broken, 'checkpoint'));
    assert.equal(a.state.epoch, 3);
    assert.equal(b.state.epoch, 3);
    const wa = a.model.getWeights();
    const wb = b.model.getWeights();
    assert.equal(wa.length, wb.length);
    wa.forEach((w, i) => expectClose(wb[i], w, { rtol: 0, atol: 0 }, a.model.weights[i].name));
    a.model.dispose();
    b.model.dispose();

    // The run folder holds everything a later step needs.
    const files = await readdir(straight);
    for (const f of ['config.json', 'split.json', 'log.jsonl', 'log.csv', 'best', 'checkpoint']) {
      assert.ok(files.includes(f), `missing ${f}`);
    }
    const lines = (await readFile(path.join(straight, 'log.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 3);
    const csv = (await readFile(path.join(straight, 'log.csv'), 'utf8')).trim().split('\n');
    assert.match(
      csv[0],
      /^epoch,learning_rate,seconds,train_loss,train_pred1_loss,train_pred1_dsc,/,
    );
    assert.equal(csv.length, 4);
    const best = await loadModel(path.join(straight, 'best'));
    assert.equal(best.outputs.length, 4);
    best.dispose();
  });

  test('a second train into the same folder is refused', async () => {
    const out = path.join(root, 'straight');
    await assert.rejects(train(options(out)), /already holds a run: continue it with --resume/);
  });
});
