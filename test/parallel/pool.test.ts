import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { synthesizeDataset } from '../../src/data/synthetic/generate.js';
import { buildModel, outputNames } from '../../src/models/build.js';
import { checkWorkers, shareItems, WorkerPool } from '../../src/parallel/pool.js';
import {
  makeObjective,
  type ObjectiveOptions,
  type ObjectiveValues,
} from '../../src/train/objective.js';
import { DivergenceError, StepRunner } from '../../src/train/step.js';
import { Trainer } from '../../src/train/trainer.js';
import { expectClose, useBackend } from '../helpers.js';

const SHAPE: [number, number, number] = [16, 16, 1];

function tinyModel() {
  return buildModel('attn_reg', { inputShape: SHAPE, width: 0.125, bnMomentum: 0.9, seed: 3 });
}

function objectiveOf(model: ReturnType<typeof tinyModel>): ObjectiveOptions {
  return { outputs: outputNames(model), loss: 'ftl', finalLoss: 'tl' };
}

/** The values of a step or evaluation as one list: total, then each output's loss and DSC. */
function flat(v: ObjectiveValues): number[] {
  return [v.loss, ...Object.values(v.outputs).flatMap((o) => [o.loss, o.dsc])];
}

const dataset = synthesizeDataset({ kind: 'bus', count: 8, seed: 2, inputSize: [16, 16] });

/** The batch normalisation statistics of `model`, copied. */
function stats(model: ReturnType<typeof tinyModel>): Float32Array[] {
  return model.nonTrainableWeights.map((w) => Float32Array.from(w.read().dataSync()));
}

function setStats(model: ReturnType<typeof tinyModel>, values: Float32Array[]): void {
  model.nonTrainableWeights.forEach((w, k) => {
    const t = tf.tensor(values[k], w.shape as number[]);
    w.write(t);
    t.dispose();
  });
}

describe('shareItems', () => {
  test('contiguous, near-equal, non-empty parts in order', () => {
    assert.deepEqual(shareItems([1, 2, 3, 4, 5], 2), [
      [1, 2, 3],
      [4, 5],
    ]);
    assert.deepEqual(shareItems([1, 2, 3, 4, 5, 6, 7], 3), [
      [1, 2, 3],
      [4, 5],
      [6, 7],
    ]);
    assert.deepEqual(shareItems([1], 4), [[1]]);
    assert.deepEqual(shareItems([], 2), []);
  });

  test('checkWorkers refuses zero, fractions, too many and workers on the tensorflow backend', () => {
    assert.throws(() => checkWorkers(0, 'wasm'), /must be an integer from 1 to 256, got 0$/);
    assert.throws(() => checkWorkers(1.5, 'cpu'), /must be an integer from 1 to 256, got 1.5$/);
    assert.throws(() => checkWorkers(257, 'cpu'), /must be an integer from 1 to 256, got 257$/);
    assert.throws(() => checkWorkers(2, 'tensorflow'), /uses every core itself/);
    checkWorkers(1, 'tensorflow');
    checkWorkers(3, 'wasm');
  });
});

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`worker pool (${backend})`, () => {
    let model: ReturnType<typeof tinyModel>;
    let pool: WorkerPool;

    before(async () => {
      await useBackend(backend);
      model = tinyModel();
      pool = await WorkerPool.start({
        model,
        workers: 2,
        backend,
        dataset,
        objective: objectiveOf(model),
      });
    });

    after(async () => {
      await pool.close();
      model.dispose();
    });

    test('batch objective: gradients and values equal one thread over the same passes; statistics are averaged', async () => {
      const start = stats(model);
      const runner = new StepRunner(model, makeObjective(objectiveOf(model)), dataset);
      const place = { epoch: 1, step: 1 };
      const step = { microBatch: 2, scope: 'batch' as const };
      // The statistics each worker leaves: its one pass ([0, 1] and [2, 3] of a batch of 4)
      // from the same starting values.
      const first = await runner.gradients([0, 1], step, place);
      const afterFirst = stats(model);
      setStats(model, start);
      const second = await runner.gradients([2, 3], step, place);
      const afterSecond = stats(model);
      setStats(model, start);
      // One thread, the same two passes: the batch's gradients and values.
      const whole = await runner.gradients([0, 1, 2, 3], step, place);
      setStats(model, start);

      const tensorsBefore = tf.memory().numTensors;
      const parallel = await pool.gradients([0, 1, 2, 3], step, place);
      parallel.grads.forEach((g, k) => {
        expectClose(g, whole.grads[k], { rtol: 1e-5, atol: 1e-7 }, `gradient ${k}`);
      });
      expectClose(flat(parallel.values), flat(whole.values), { rtol: 1e-6 }, 'values');
      assert.deepEqual(Object.keys(parallel.values.outputs), outputNames(model));
      stats(model).forEach((s, k) => {
        const mean = s.map((_, i) => (afterFirst[k][i] + afterSecond[k][i]) / 2);
        expectClose(s, mean, { rtol: 1e-6, atol: 1e-7 }, `statistic ${k}`);
      });
      assert.notDeepEqual(stats(model)[0], start[0], 'the statistics moved');
      tf.dispose(parallel.grads);
      assert.equal(tf.memory().numTensors, tensorsBefore);
      tf.dispose([...first.grads, ...second.grads, ...whole.grads]);
      await pool.pushWeights();
    });

    test('pass objective: gradients and values are the sums of the passes, each weighted by its share', async () => {
      const start = stats(model);
      const runner = new StepRunner(model, makeObjective(objectiveOf(model)), dataset);
      const place = { epoch: 1, step: 1 };
      const first = await runner.passGradients([0, 1], 2, 4, place);
      setStats(model, start);
      const second = await runner.passGradients([2, 3], 2, 4, place);
      setStats(model, start);
      const tensorsBefore = tf.memory().numTensors;
      const parallel = await pool.gradients([0, 1, 2, 3], { microBatch: 2, scope: 'pass' }, place);
      parallel.grads.forEach((g, k) => {
        const expected = tf.add(first.grads[k], second.grads[k]);
        expectClose(g, expected, { rtol: 1e-6, atol: 1e-7 }, `gradient ${k}`);
        expected.dispose();
      });
      expectClose(
        flat(parallel.values),
        flat(first.values).map((v, k) => v + flat(second.values)[k]),
        {},
        'values',
      );
      tf.dispose(parallel.grads);
      assert.equal(tf.memory().numTensors, tensorsBefore);
      tf.dispose([...first.grads, ...second.grads]);
      await pool.pushWeights();
    });

    test('predict and evaluation match the model in this thread', async () => {
      await pool.pushWeights();
      const xs = tf.randomUniform([5, ...SHAPE], 0, 1, 'float32', 7) as tf.Tensor4D;
      const got = await pool.predict(xs, 2);
      const expected = [model.predict(xs)].flat() as tf.Tensor[];
      assert.equal(got.length, expected.length);
      got.forEach((t, k) => {
        assert.deepEqual(t.shape, expected[k].shape);
        expectClose(t, expected[k], { rtol: 1e-5, atol: 1e-6 }, `output ${k}`);
      });
      tf.dispose([xs, ...got, ...expected]);

      const runner = new StepRunner(model, makeObjective(objectiveOf(model)), dataset);
      const a = await runner.evaluationSums([0, 1, 2], 2);
      const b = await runner.evaluationSums([3, 4, 5], 2);
      const sums = await pool.evaluationSums([0, 1, 2, 3, 4, 5], 2);
      assert.equal(sums.images, 6);
      expectClose(
        flat(sums.sum),
        flat(a.sum).map((v, k) => v + flat(b.sum)[k]),
        { rtol: 1e-5 },
        'sums',
      );
    });

    test('a worker reports divergence as this thread would', async () => {
      const weight = model.trainableWeights[0];
      const saved = weight.read().clone();
      const nan = tf.fill(weight.shape as number[], Number.NaN);
      weight.write(nan);
      await pool.pushWeights();
      for (const scope of ['batch', 'pass'] as const) {
        const step = { microBatch: 1, scope };
        await assert.rejects(
          pool.gradients([0, 1], step, { epoch: 2, step: 5 }),
          (err: unknown) => {
            assert.ok(err instanceof DivergenceError);
            assert.match(err.message, /epoch 2, step 5/);
            return true;
          },
        );
      }
      weight.write(saved);
      tf.dispose([saved, nan]);
      await pool.pushWeights();
    });
  });
}

describe('Trainer with workers', () => {
  before(() => useBackend('wasm'));

  test('the training loss curve equals one thread; no tensor leaks; weights in step', async () => {
    const run = async (workers: number) => {
      const model = tinyModel();
      const objective = { loss: 'ftl' as const, finalLoss: 'tl' as const };
      const pool =
        workers > 1
          ? await WorkerPool.start({
              model,
              workers,
              backend: 'wasm',
              dataset,
              objective: objectiveOf(model),
            })
          : undefined;
      const trainer = new Trainer(
        model,
        dataset,
        { train: [0, 1, 2, 3, 4, 5, 6, 7], val: [] },
        {
          epochs: 2,
          batchSize: 4,
          microBatch: 2,
          seed: 1,
          objective,
          optimizer: { name: 'adam', learningRate: 0.01 },
          executor: pool,
        },
      );
      const counts: number[] = [];
      const logs = await trainer.run({
        onEpochEnd: () => {
          counts.push(tf.memory().numTensors);
        },
      });
      const weights = model.trainableWeights.map((w) => w.read().dataSync().slice());
      trainer.dispose();
      await pool?.close();
      model.dispose();
      return { losses: logs.map((l) => l.train.loss), counts, weights };
    };
    const one = await run(1);
    const two = await run(2);
    // Each step runs the same two passes of two images, in a worker each: the training
    // losses and weights are those of one thread.
    expectClose(two.losses, one.losses, { rtol: 1e-5 }, 'losses');
    expectClose(two.weights[0], one.weights[0], { rtol: 1e-4, atol: 1e-6 }, 'weights');
    assert.equal(two.counts[0], two.counts[1], 'live tensors after each epoch');
  });
});
