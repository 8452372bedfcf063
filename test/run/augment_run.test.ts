/**
 * Training runs beyond the paper's protocol: a seeded run with augmentation (and a schedule)
 * gives the same weights twice and after a stop and resume, as the paper's does; it differs
 * from the run without augmentation; early stopping is recorded in the checkpoint and resume
 * knows the run is finished; config.json records the settings.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/run/checkpoint.js';
import { readTrainRunConfig } from '../../src/run/config.js';
import { resume, train, type TrainRunOptions } from '../../src/run/train.js';
import { useBackend } from '../helpers.js';

const PACKAGE = { name: 'focal-tversky-unet', version: 'test' };

describe('runs with augmentation, schedules and early stopping', () => {
  let root: string;
  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-augment-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const options = (out: string, extra: Partial<TrainRunOptions> = {}): TrainRunOptions => ({
    out: path.join(root, out),
    dataset: 'synthetic-bus',
    syntheticCount: 10,
    data: path.join(root, 'data'),
    model: 'attn_reg_ds',
    width: 0.125,
    inputSize: [32, 32],
    epochs: 3,
    batchSize: 4,
    workers: 1,
    seed: 5,
    cache: false,
    optimizer: { name: 'adam', learningRate: 0.01 },
    augment: 'heavy',
    augmentTransforms: { flipV: { p: 0.5 } },
    schedule: { name: 'poly', warmupEpochs: 1 },
    backend: 'wasm',
    packageInfo: PACKAGE,
    ...extra,
  });

  /** The weights and optimiser slots of a run's last checkpoint. */
  async function finalWeights(out: string): Promise<Float32Array[]> {
    const { model, state } = await loadCheckpoint(path.join(root, out, 'checkpoint'));
    const weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
    model.dispose();
    return [...weights, ...Object.values(state.optimizer.slots).map((s) => s.values)];
  }

  let reference: Float32Array[];
  test('config.json records the augmentation, the schedule and no patience', async () => {
    const result = await train(options('a'));
    assert.equal(result.logs.length, 3);
    const config = await readTrainRunConfig(path.join(root, 'a'));
    assert.equal(config.augment.level, 'heavy');
    assert.deepEqual(config.augment.transforms.flipV, { p: 0.5, magnitude: 0 });
    assert.deepEqual(config.augment.transforms.rot90, { p: 0, magnitude: 0 }, "BUS's preset");
    assert.equal(config.schedule.name, 'poly');
    assert.equal(config.schedule.warmupEpochs, 1);
    assert.equal(config.patience, null);
    reference = await finalWeights('a');
  });

  test('the same seeded run again gives the same bytes', async () => {
    await train(options('b'));
    assert.deepEqual(await finalWeights('b'), reference);
  });

  test('stopped inside epoch 2 and resumed: the same bytes as the uninterrupted run', async () => {
    await assert.rejects(
      train(options('c'), {
        onStep: (p) => {
          if (p.epoch === 2 && p.step === 2) throw new Error('killed in epoch 2');
        },
      }),
      /killed in epoch 2/,
    );
    const resumed = await resume(path.join(root, 'c'), 'wasm');
    assert.deepEqual(
      resumed.logs.map((l) => l.epoch),
      [1, 2, 3],
    );
    assert.deepEqual(await finalWeights('c'), reference);
  });

  test('without augmentation the weights differ (the augmentation took effect)', async () => {
    await train(options('d', { augment: 'none', augmentTransforms: {} }));
    assert.notDeepEqual(await finalWeights('d'), reference);
  });

  test('with 2 workers (each augments its share): the same bytes twice and after a resume', async () => {
    await train(options('w1', { workers: 2 }));
    const first = await finalWeights('w1');
    // That it is the run of one worker, to float rounding, is test/run/any_machine.test.ts's.
    await assert.rejects(
      train(options('w2', { workers: 2 }), {
        onStep: (p) => {
          if (p.epoch === 3 && p.step === 1) throw new Error('killed in epoch 3');
        },
      }),
      /killed in epoch 3/,
    );
    await resume(path.join(root, 'w2'), 'wasm');
    assert.deepEqual(await finalWeights('w2'), first);
  });

  test('early stopping is recorded in the checkpoint; resume knows the run is finished', async () => {
    // With patience 1 the validation DSC stalls within a few epochs (pinned for this seed).
    const result = await train(
      options('e', {
        epochs: 8,
        patience: 1,
        augment: 'none',
        augmentTransforms: {},
        schedule: {},
      }),
    );
    assert.ok(result.stopped !== undefined, 'the run stopped early');
    const stop = result.stopped;
    assert.equal(result.logs.length, stop.epoch);
    assert.ok(stop.epoch < 8);
    assert.equal(stop.epoch - stop.bestEpoch, 1);
    const { state, model } = await loadCheckpoint(path.join(root, 'e', 'checkpoint'));
    model.dispose();
    assert.deepEqual(state.stopped, stop);
    const infos: string[] = [];
    const resumed = await resume(path.join(root, 'e'), 'wasm', { onInfo: (l) => infos.push(l) });
    assert.equal(resumed.logs.length, stop.epoch, 'nothing more was trained');
    assert.ok(
      infos.some((l) => /is finished: stopped early after epoch \d+: .*; nothing to train/.test(l)),
      infos.join('\n'),
    );
  });
});
