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
import { BatchStatistics } from '../../src/train/batch_norm.js';
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

    test("batch objective: two lanes with the whole batch's statistics equal one pass in this thread", async () => {
      const start = stats(model);
      const runner = new StepRunner(model, makeObjective(objectiveOf(model)), dataset);
      const place = { epoch: 1, step: 1 };
      const step = { microBatch: 4, scope: 'batch' as const };
      // One thread: the batch in one pass, BatchNorm over its four images.
      const whole = await runner.gradients([0, 1, 2, 3], step, place);
      const afterWhole = stats(model);
      setStats(model, start);

      const tensorsBefore = tf.memory().numTensors;
      // Two workers of two images each, exchanging their BatchNorm sums.
      const parallel = await pool.gradients([0, 1, 2, 3], step, place);
      // atol: the biases of convolutions before a BatchNorm have a gradient of zero, of
      // which float32 rounding leaves a few 1e-6 (the other gradients are of order 1).
      parallel.grads.forEach((g, k) => {
        expectClose(g, whole.grads[k], { rtol: 1e-4, atol: 2e-5 }, `gradient ${k}`);
      });
      expectClose(flat(parallel.values), flat(whole.values), { rtol: 1e-6 }, 'values');
      assert.deepEqual(Object.keys(parallel.values.outputs), outputNames(model));
      stats(model).forEach((s, k) => {
        expectClose(s, afterWhole[k], { rtol: 1e-6, atol: 1e-7 }, `statistic ${k}`);
      });
      assert.notDeepEqual(stats(model)[0], start[0], 'the statistics moved');
      tf.dispose(parallel.grads);
      assert.equal(tf.memory().numTensors, tensorsBefore);
      tf.dispose(whole.grads);
      await pool.pushWeights();
    });

    test('pass objective with BatchNorm groups: the sums of the passes, each weighted by its share', async () => {
      const ghost = await WorkerPool.start({
        model,
        workers: 2,
        backend,
        dataset,
        objective: objectiveOf(model),
        bnGroup: 2,
      });
      try {
        const start = stats(model);
        const runner = new StepRunner(
          model,
          makeObjective(objectiveOf(model)),
          dataset,
          new BatchStatistics(model, 2),
        );
        const place = { epoch: 1, step: 1 };
        const first = await runner.passGradients([0, 1], 2, { offset: 0, batch: 4 }, place);
        const second = await runner.passGradients([2, 3], 2, { offset: 2, batch: 4 }, place);
        setStats(model, start);
        const tensorsBefore = tf.memory().numTensors;
        const parallel = await ghost.gradients(
          [0, 1, 2, 3],
          { microBatch: 2, scope: 'pass' },
          place,
        );
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
      } finally {
        await ghost.close();
      }
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

      // The same batches of 2 ([0, 1], [2, 3], [4, 5]) whatever the workers hold.
      const runner = new StepRunner(model, makeObjective(objectiveOf(model)), dataset);
      const all = await runner.evaluationSums([0, 1, 2, 3, 4, 5], 2);
      const sums = await pool.evaluationSums([0, 1, 2, 3, 4, 5], 2);
      assert.equal(sums.images, 6);
      expectClose(flat(sums.sum), flat(all.sum), { rtol: 1e-6 }, 'sums');
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
    // 32x32: at 16x16 the deepest BatchNorm normalises 4 numbers per channel, where float32
    // rounding is amplified beyond any useful tolerance.
    const data32 = synthesizeDataset({ kind: 'bus', count: 8, seed: 2, inputSize: [32, 32] });
    const run = async (workers: number) => {
      const model = buildModel('attn_reg', {
        inputShape: [32, 32, 1],
        width: 0.125,
        bnMomentum: 0.9,
        seed: 3,
      });
      const objective = { loss: 'ftl' as const, finalLoss: 'tl' as const };
      const pool =
        workers > 1
          ? await WorkerPool.start({
              model,
              workers,
              backend: 'wasm',
              dataset: data32,
              objective: objectiveOf(model),
            })
          : undefined;
      const trainer = new Trainer(
        model,
        data32,
        { train: [0, 1, 2, 3, 4, 5, 6, 7], val: [] },
        {
          epochs: 2,
          batchSize: 4,
          microBatch: workers > 1 ? 2 : 4,
          seed: 1,
          objective,
          // SGD (the paper's): Adam's normalised steps would amplify the rounding noise of the
          // zero gradients of biases before a BatchNorm.
          optimizer: { name: 'sgd', learningRate: 0.01 },
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
    // Each step runs as two lanes of two images, which normalise with the whole batch's
    // statistics: the training losses and weights are those of one thread.
    expectClose(two.losses, one.losses, { rtol: 1e-5 }, 'losses');
    // atol: the first kernel's gradient adds terms that cancel (a BatchNorm follows), so its
    // float32 rounding in another order is of order 1e-5; four steps at learning rate 0.01.
    expectClose(two.weights[0], one.weights[0], { rtol: 1e-4, atol: 5e-5 }, 'weights');
    assert.equal(two.counts[0], two.counts[1], 'live tensors after each epoch');
  });
});
