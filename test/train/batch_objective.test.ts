/**
 * The exact batch objective: a batch split into passes (and among workers) has the gradient
 * of the whole batch in one pass, for every loss, with deep supervision. The network has no
 * batch normalisation (which normalises per pass, so its gradients differ by design); the
 * reference gradient comes from the public loss functions on the whole batch, a path that
 * shares nothing with the summed statistics but the losses' formulas.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { makeBatch } from '../../src/data/batch.js';
import { synthesizeDataset } from '../../src/data/synthetic/generate.js';
import { WorkerPool } from '../../src/parallel/pool.js';
import { variableGradsLowMemory } from '../../src/train/gradients.js';
import {
  makeObjective,
  type LossName,
  type ObjectiveOptions,
  type ObjectiveValues,
} from '../../src/train/objective.js';
import { StepRunner, type StepGradients } from '../../src/train/step.js';
import { NUMERIC_BACKENDS, expectClose, relativeError, useBackend } from '../helpers.js';

const SIZE = 16;
const BATCH = [0, 1, 2, 3, 4, 5, 6, 7];
const PLACE = { epoch: 1, step: 1 };

/**
 * Gradients of split batches must equal the whole batch's to float32 rounding: 1e-5 of the
 * largest element of each weight's gradient (2e-5: a split batch's sums are read per image and
 * added in float64, the reference's in float32 over the whole batch, so the coefficients of
 * the backward pass differ by the float32 rounding of the sums).
 */
const EXACT = 2e-5;
/** The per-pass objective must miss by far more than rounding. */
const DIFFERENT = 1e-3;

/**
 * A tiny functional network without batch normalisation, with four sigmoid outputs at 1/8,
 * 1/4, 1/2 and full size named as the deep-supervision models' (pred1, pred2, pred3, final).
 */
function tinyDeepSupervised(): tfl.LayersModel {
  const init = (seed: number) => tfl.initializers.glorotNormal({ seed });
  const conv = (filters: number, kernel: number, seed: number, name?: string) =>
    tfl.layers.conv2d({
      filters,
      kernelSize: kernel,
      padding: 'same',
      activation: name === undefined ? 'relu' : 'sigmoid',
      kernelInitializer: init(seed),
      biasInitializer: tfl.initializers.constant({ value: name === undefined ? 0.01 : -0.5 }),
      name,
    });
  const input = tfl.input({ shape: [SIZE, SIZE, 1] });
  const f1 = conv(4, 3, 1).apply(input) as tfl.SymbolicTensor;
  const f2 = conv(4, 3, 2).apply(
    tfl.layers.averagePooling2d({ poolSize: 2 }).apply(f1),
  ) as tfl.SymbolicTensor;
  const f3 = conv(4, 3, 3).apply(
    tfl.layers.averagePooling2d({ poolSize: 2 }).apply(f2),
  ) as tfl.SymbolicTensor;
  const f4 = conv(4, 3, 4).apply(
    tfl.layers.averagePooling2d({ poolSize: 2 }).apply(f3),
  ) as tfl.SymbolicTensor;
  const outputs = [
    conv(1, 1, 5, 'pred1').apply(f4),
    conv(1, 1, 6, 'pred2').apply(f3),
    conv(1, 1, 7, 'pred3').apply(f2),
    conv(1, 1, 8, 'final').apply(f1),
  ] as tfl.SymbolicTensor[];
  return tfl.model({ inputs: input, outputs });
}

const OUTPUTS = ['pred1', 'pred2', 'pred3', 'final'];
const dataset = synthesizeDataset({ kind: 'bus', count: 8, seed: 4, inputSize: [SIZE, SIZE] });

/** The loss cases: each loss on all four outputs, and attn_reg's rule (Tversky on final). */
const CASES: Array<{ name: string; options: ObjectiveOptions }> = [
  ...(['ftl', 'tl', 'dl', 'bce-dice'] as LossName[]).map((loss) => ({
    name: loss,
    options: { outputs: OUTPUTS, loss },
  })),
  { name: 'ftl + tl on final', options: { outputs: OUTPUTS, loss: 'ftl', finalLoss: 'tl' } },
];

/** The gradient and values of the whole batch in one pass, through the public losses. */
function wholeBatch(model: tfl.LayersModel, options: ObjectiveOptions) {
  const objective = makeObjective(options);
  const { xs, ys } = makeBatch(dataset, BATCH);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = variableGradsLowMemory(() => {
    const preds = [model.apply(xs, { training: true }) as tf.Tensor[]].flat();
    return objective.compute(ys, preds).total;
  }, vars);
  const values = tf.tidy(() => {
    const preds = [model.apply(xs, { training: true }) as tf.Tensor[]].flat();
    const { total, perOutput } = objective.compute(ys, preds);
    const dsc = objective.dsc(ys, preds);
    return [total, ...perOutput, ...dsc].map((t) => t.dataSync()[0]);
  });
  const result = { values, grads: vars.map((v) => grads[v.name]) };
  tf.dispose([xs, ys, value]);
  return result;
}

/** A step's values in the order of `wholeBatch`'s: total, each output's loss, each DSC. */
function flat(v: ObjectiveValues): number[] {
  return [
    v.loss,
    ...OUTPUTS.map((o) => v.outputs[o].loss),
    ...OUTPUTS.map((o) => v.outputs[o].dsc),
  ];
}

/** The largest relative error over the weights (each weight's error relative to its size). */
function worstError(got: readonly tf.Tensor[], want: readonly tf.Tensor[]): number {
  assert.equal(got.length, want.length);
  return Math.max(...got.map((g, k) => relativeError(g, want[k])));
}

function check(step: StepGradients, whole: ReturnType<typeof wholeBatch>, what: string): void {
  const error = worstError(step.grads, whole.grads);
  assert.ok(error <= EXACT, `${what}: gradient relative error ${error} > ${EXACT}`);
  expectClose(flat(step.values), whole.values, { rtol: 1e-5, atol: 1e-7 }, `${what}: values`);
}

for (const backend of NUMERIC_BACKENDS) {
  describe(`the batch objective in passes on ${backend}`, () => {
    let model: tfl.LayersModel;

    before(async () => {
      await useBackend(backend);
      model = tinyDeepSupervised();
    });

    after(() => model.dispose());

    test('the network has four outputs at 1/8, 1/4, 1/2 and full size and no batch normalisation', () => {
      assert.deepEqual(
        model.outputs.map((o) => [o.sourceLayer.name, ...o.shape.slice(1)]),
        [
          ['pred1', 2, 2, 1],
          ['pred2', 4, 4, 1],
          ['pred3', 8, 8, 1],
          ['final', 16, 16, 1],
        ],
      );
      assert.equal(model.nonTrainableWeights.length, 0);
    });

    for (const { name, options } of CASES) {
      test(`${name}: 4 passes give the whole batch's gradient; per-pass indices do not`, async () => {
        const whole = wholeBatch(model, options);
        const runner = new StepRunner(model, makeObjective(options), dataset);
        const before = tf.memory().numTensors;
        const exact = await runner.gradients(BATCH, { microBatch: 2, scope: 'batch' }, PLACE);
        check(exact, whole, 'batch objective');
        const perPass = await runner.gradients(BATCH, { microBatch: 2, scope: 'pass' }, PLACE);
        const error = worstError(perPass.grads, whole.grads);
        assert.ok(error > DIFFERENT, `per-pass objective: relative error only ${error}`);
        tf.dispose([...exact.grads, ...perPass.grads]);
        assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
        // One pass of the whole batch: both scopes are the reference's.
        const one = await runner.gradients(BATCH, { microBatch: 8, scope: 'pass' }, PLACE);
        check(one, whole, 'one pass');
        tf.dispose([...one.grads, ...whole.grads]);
      });
    }

    test("2 workers x 2 passes give the whole batch's gradient", async () => {
      for (const { name, options } of CASES) {
        const whole = wholeBatch(model, options);
        const pool = await WorkerPool.start({
          model,
          workers: 2,
          backend,
          dataset,
          objective: options,
        });
        try {
          const before = tf.memory().numTensors;
          const exact = await pool.gradients(BATCH, { microBatch: 2, scope: 'batch' }, PLACE);
          check(exact, whole, `${name}: workers`);
          const perPass = await pool.gradients(BATCH, { microBatch: 2, scope: 'pass' }, PLACE);
          const error = worstError(perPass.grads, whole.grads);
          assert.ok(error > DIFFERENT, `${name}: per-pass objective, relative error only ${error}`);
          tf.dispose([...exact.grads, ...perPass.grads]);
          assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
        } finally {
          await pool.close();
          tf.dispose(whole.grads);
        }
      }
    });
  });
}
