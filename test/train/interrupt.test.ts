import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { synthesizeDataset } from '../../src/data/synthetic/generate.js';
import { InterruptedError, UserError } from '../../src/errors.js';
import { buildModel } from '../../src/models/build.js';
import { Trainer } from '../../src/train/trainer.js';
import { useBackend } from '../helpers.js';

/** Trains 3 epochs of 2 steps, asking to stop once `stopAfterSteps` steps have finished. */
async function stopAfter(stopAfterSteps: number) {
  const ds = synthesizeDataset({ kind: 'bus', count: 4, seed: 3, inputSize: [32, 32] });
  const model = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125, seed: 1 });
  const trainer = new Trainer(
    model,
    ds,
    { train: [0, 1, 2, 3], val: [] },
    { epochs: 3, batchSize: 2, objective: { loss: 'tl' } },
  );
  const steps: string[] = [];
  const ended: number[] = [];
  let error: unknown;
  try {
    await trainer.run({
      onStep: (p) => void steps.push(`${p.epoch}.${p.step}`),
      onEpochEnd: async (log) => {
        // A file written between epochs finishes before the stop (here: one timer later).
        await new Promise((resolve) => setTimeout(resolve, 5));
        ended.push(log.epoch);
      },
      shouldStop: () => steps.length >= stopAfterSteps,
    });
  } catch (err) {
    error = err;
  } finally {
    trainer.dispose();
    model.dispose();
  }
  return { steps, ended, error, epochsFinished: trainer.epochsFinished };
}

describe('Trainer.run with shouldStop', () => {
  before(() => useBackend('wasm'));

  test('a stop asked in an epoch abandons it before its next step', async () => {
    const r = await stopAfter(3);
    assert.deepEqual(r.steps, ['1.1', '1.2', '2.1']);
    assert.deepEqual(r.ended, [1]);
    assert.ok(r.error instanceof InterruptedError);
    assert.ok(!(r.error instanceof UserError), 'an ablation must not record it as a failed unit');
    assert.equal(r.error.message, 'interrupted at epoch 2');
    assert.equal(r.error.epoch, 2);
    assert.equal(r.error.epochsFinished, 1);
    assert.equal(r.epochsFinished, 1);
  });

  test('a stop asked after the last step of an epoch lets the epoch end (and be saved) first', async () => {
    const r = await stopAfter(2);
    assert.deepEqual(r.steps, ['1.1', '1.2']);
    assert.deepEqual(r.ended, [1]);
    assert.ok(r.error instanceof InterruptedError);
    assert.equal(r.error.epoch, 2);
    assert.equal(r.error.epochsFinished, 1);
  });

  test('without a stop it trains every epoch', async () => {
    const r = await stopAfter(Infinity);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.ended, [1, 2, 3]);
    assert.equal(r.steps.length, 6);
  });
});
