/**
 * Learning-rate schedules give their formula's value epoch by epoch, in `scheduleFactor` and in
 * the learning rate a trainer logs; plateau divides when the score stalls; early stopping ends
 * at the right epoch and a restored trainer knows it is finished. The trainer runs on a
 * scripted executor (zero gradients, validation scores given in advance), so the scores and
 * therefore the epochs are exact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { resolveAugmentConfig } from '../../src/data/augment.js';
import type { SegmentationDataset } from '../../src/data/dataset.js';
import { buildModel, outputNames } from '../../src/models/build.js';
import {
  nextScheduleState,
  resolveScheduleConfig,
  scheduleFactor,
  type ScheduleConfig,
} from '../../src/train/schedule.js';
import type { StepExecutor, StepGradients, StepOptions, ValueSums } from '../../src/train/step.js';
import { Trainer, type TrainerOptions } from '../../src/train/trainer.js';
import { expectClose, useBackend } from '../helpers.js';

describe('scheduleFactor, epoch by epoch', () => {
  const factors = (config: ScheduleConfig, epochs: number) =>
    Array.from({ length: epochs }, (_, e) =>
      scheduleFactor(resolveScheduleConfig(config), e + 1, epochs),
    );

  test('keras-decay is exactly 1 (the optimiser decays per update)', () => {
    assert.deepEqual(factors({}, 4), [1, 1, 1, 1]);
  });

  test("poly is nnU-Net's (1 - i/E)^0.9 with i = epoch - 1", () => {
    expectClose(factors({ name: 'poly' }, 5), [1, 0.8 ** 0.9, 0.6 ** 0.9, 0.4 ** 0.9, 0.2 ** 0.9], {
      rtol: 1e-12,
    });
  });

  test('cosine is (1 + cos(pi i/E)) / 2', () => {
    const c = (i: number) => (1 + Math.cos((Math.PI * i) / 4)) / 2;
    expectClose(factors({ name: 'cosine' }, 4), [1, c(1), c(2), c(3)], { rtol: 1e-12 });
  });

  test('warm-up rises linearly over W epochs, then the schedule runs over the other E - W', () => {
    expectClose(
      factors({ name: 'poly', warmupEpochs: 2 }, 6),
      [0.5, 1, 1, 0.75 ** 0.9, 0.5 ** 0.9, 0.25 ** 0.9],
      { rtol: 1e-12 },
    );
    assert.deepEqual(factors({ warmupEpochs: 4 }, 5), [0.25, 0.5, 0.75, 1, 1]);
  });

  test('plateau divides by its factor after `patience` epochs without improvement', () => {
    const config = resolveScheduleConfig({ name: 'plateau', plateauPatience: 2, plateauFactor: 4 });
    let state = { scale: 1, wait: 0 };
    const seen: Array<[number, number]> = [];
    for (const improved of [true, false, false, false, true, false, false]) {
      state = nextScheduleState(config, state, improved);
      seen.push([state.scale, state.wait]);
    }
    assert.deepEqual(seen, [
      [1, 0],
      [1, 1],
      [0.25, 0],
      [0.25, 1],
      [0.25, 0],
      [0.25, 1],
      [0.0625, 0],
    ]);
  });

  test('bad settings name the setting', () => {
    assert.throws(
      () => resolveScheduleConfig({ name: 'step' as never }, '--schedule'),
      /^UserError: --schedule\.name: unknown schedule 'step'; expected one of keras-decay, poly, cosine, plateau$/,
    );
    assert.throws(
      () => resolveScheduleConfig({ plateauFactor: 1 }),
      /^UserError: schedule: plateau factor must be > 1, got 1$/,
    );
  });
});

/** Zero gradients, and the validation DSC of `final` of epoch e is `scores[e - 1]`. */
class ScriptedExecutor implements StepExecutor {
  readonly options: StepOptions[] = [];
  private epoch = 0;
  constructor(
    private readonly model: tfl.LayersModel,
    private readonly scores: readonly number[],
  ) {}

  private values(dsc: number) {
    const outputs = Object.fromEntries(
      outputNames(this.model).map((n) => [n, { loss: 1 - dsc, dsc }]),
    );
    return { loss: 1 - dsc, outputs };
  }

  async gradients(_: readonly number[], options: StepOptions): Promise<StepGradients> {
    this.options.push(options);
    return {
      values: this.values(0.5),
      grads: this.model.trainableWeights.map((w) => tf.zerosLike(w.read())),
    };
  }

  async pushWeights(): Promise<void> {}

  async evaluationSums(items: readonly number[]): Promise<ValueSums> {
    const dsc = this.scores[this.epoch++];
    const v = this.values(dsc);
    const scale = (x: number) => x * items.length;
    return {
      images: items.length,
      sum: {
        loss: scale(v.loss),
        outputs: Object.fromEntries(
          Object.entries(v.outputs).map(([n, o]) => [
            n,
            { loss: scale(o.loss), dsc: scale(o.dsc) },
          ]),
        ),
      },
    };
  }
}

describe('the trainer with schedules and early stopping', () => {
  let model: tfl.LayersModel;
  const dataset = {} as SegmentationDataset;
  // 6 training items in batches of 2: 3 updates per epoch.
  const indices = { train: [0, 1, 2, 3, 4, 5], val: [6, 7] };
  before(async () => {
    await useBackend('cpu');
    model = buildModel('unet', { inputShape: [16, 16, 1], width: 0.0625, seed: 1 });
  });
  after(() => model.dispose());

  async function trainScripted(
    scores: number[],
    options: Partial<TrainerOptions>,
  ): Promise<{
    trainer: Trainer;
    executor: ScriptedExecutor;
    logs: Awaited<ReturnType<Trainer['run']>>;
  }> {
    const executor = new ScriptedExecutor(model, scores);
    const trainer = new Trainer(model, dataset, indices, {
      epochs: scores.length,
      batchSize: 2,
      objective: { loss: 'ftl', finalLoss: 'tl', weights: 'equal' },
      optimizer: { name: 'sgd', learningRate: 0.1, decay: 0.01 },
      executor,
      ...options,
    });
    const logs = await trainer.run();
    return { trainer, executor, logs };
  }

  test('keras-decay logs lr / (1 + decay * t) after each epoch, t = 3 updates per epoch', async () => {
    const { trainer, logs } = await trainScripted([0.1, 0.2, 0.3], {});
    expectClose(
      logs.map((l) => l.learningRate),
      [1, 2, 3].map((e) => 0.1 / (1 + 0.01 * 3 * e)),
      { rtol: 1e-12 },
    );
    trainer.dispose();
  });

  test('poly and cosine log lr times their factor (the time decay is off)', async () => {
    for (const name of ['poly', 'cosine'] as const) {
      const { trainer, logs } = await trainScripted([0.1, 0.2, 0.3, 0.4], { schedule: { name } });
      const config = resolveScheduleConfig({ name });
      expectClose(
        logs.map((l) => l.learningRate),
        [1, 2, 3, 4].map((e) => 0.1 * scheduleFactor(config, e, 4)),
        { rtol: 1e-12 },
      );
      trainer.dispose();
    }
  });

  test('plateau divides the logged rate when the score stalls', async () => {
    const { trainer, logs } = await trainScripted([0.5, 0.4, 0.4, 0.6, 0.5, 0.5, 0.5], {
      schedule: { name: 'plateau', plateauPatience: 2, plateauFactor: 10 },
    });
    expectClose(
      logs.map((l) => l.learningRate),
      [0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.001],
      { rtol: 1e-12 },
    );
    assert.deepEqual((await trainer.state()).schedule, { scale: 0.01, wait: 1 });
    trainer.dispose();
  });

  test('early stopping ends after `patience` epochs without improvement, and stays finished', async () => {
    const scores = [0.5, 0.6, 0.55, 0.58, 0.59, 0.7, 0.8, 0.9];
    const { trainer, logs } = await trainScripted(scores, { patience: 3 });
    assert.deepEqual(
      logs.map((l) => l.epoch),
      [1, 2, 3, 4, 5],
    );
    assert.equal(
      logs[4].stopped,
      'stopped early after epoch 5: the validation DSC of final has not improved for 3 ' +
        'epoch(s) (best at epoch 2)',
    );
    assert.ok(logs.slice(0, 4).every((l) => l.stopped === undefined));
    const state = await trainer.state();
    assert.deepEqual(state.stopped, { reason: 'patience', epoch: 5, bestEpoch: 2, patience: 3 });
    trainer.dispose();

    const executor = new ScriptedExecutor(model, scores);
    const restored = new Trainer(model, dataset, indices, {
      epochs: scores.length,
      batchSize: 2,
      objective: { loss: 'ftl', finalLoss: 'tl', weights: 'equal' },
      executor,
      patience: 3,
    });
    restored.restore(state);
    assert.deepEqual(await restored.run(), [], 'a finished run trains nothing');
    assert.equal(executor.options.length, 0);
    restored.dispose();
  });

  test('improving scores never stop; patience 1 stops at the first stall', async () => {
    const a = await trainScripted([0.1, 0.2, 0.3, 0.4], { patience: 1 });
    assert.equal(a.logs.length, 4);
    a.trainer.dispose();
    const b = await trainScripted([0.1, 0.2, 0.2, 0.4], { patience: 1 });
    assert.equal(b.logs.length, 3);
    b.trainer.dispose();
  });

  test('augmentation reaches the executor with the run seed; none leaves the step plain', async () => {
    const config = resolveAugmentConfig('default');
    const a = await trainScripted([0.1], { augment: config, seed: 9 });
    assert.ok(
      a.executor.options.every((o) => o.augment?.config === config && o.augment.seed === 9),
    );
    a.trainer.dispose();
    const b = await trainScripted([0.1], { augment: resolveAugmentConfig('none') });
    assert.ok(b.executor.options.every((o) => !('augment' in o)));
    b.trainer.dispose();
  });
});
