/**
 * The same seeded run on any machine: 1, 2 and 4 workers and other pass sizes give the same
 * per-epoch validation DSC, best epoch and early-stopping epoch (issue 22).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { train, type TrainRunResult } from '../../src/run/train.js';
import { useBackend } from '../helpers.js';

const PACKAGE = { name: 'focal-tversky-unet', version: 'test' };

/**
 * How far two splits' validation DSCs (and relative training losses) may differ. The splits
 * compute the same BatchNorm statistics and loss sums to the bit (per image, in float64, in
 * image order); what differs is the order in which float32 weight gradients are added (within
 * a worker's pass, then over workers): about 1e-6 of a gradient per step (measured), which
 * training carries along and grows (measured with the paper's SGD here: 1e-8 after two epochs,
 * 5e-5 after six; at a learning rate ten times larger, a few 1e-4 after ten epochs, as for any
 * change of rounding). 1e-4 holds the paper's learning rate over these epochs; a change of
 * statistics (`--bn-group 2`) moves the training loss by several times more than any split
 * of one run does (the last test).
 */
const TOLERANCE = 1e-4;

describe('the same run for any number of workers and pass size', () => {
  let root: string;
  const runs = new Map<string, TrainRunResult>();

  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-any-machine-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const run = async (name: string, machine: Record<string, unknown>): Promise<TrainRunResult> => {
    const result = await train({
      out: path.join(root, name.replace(/\W+/g, '-')),
      dataset: 'synthetic-bus',
      syntheticCount: 16,
      model: 'attn_reg',
      width: 0.125,
      inputSize: [32, 32],
      epochs: 8,
      batchSize: 4,
      patience: 2,
      seed: 7,
      cache: false,
      backend: 'wasm',
      packageInfo: PACKAGE,
      ...machine,
    });
    runs.set(name, result);
    return result;
  };

  const valDsc = (r: TrainRunResult) => r.logs.map((l) => l.val?.outputs.final.dsc ?? NaN);
  const trainLoss = (r: TrainRunResult) => r.logs.map((l) => l.train.loss);
  /** The largest relative difference of training losses between splits of the same run. */
  let lossNoise = 0;

  const splits: Array<[string, Record<string, unknown>]> = [
    ['1 worker, one pass of 4', { workers: 1 }],
    ['2 workers of 2', { workers: 2 }],
    ['4 workers of 1', { workers: 4 }],
    ['1 worker asked for passes of 3 (2 lanes)', { workers: 1, microBatch: 3 }],
  ];
  const ghosts: Array<[string, Record<string, unknown>]> = [
    ['groups of 2: 1 worker, 2 passes in turn', { workers: 1, microBatch: 2, bnGroup: 2 }],
    ['groups of 2: 1 worker, one pass of both', { workers: 1, microBatch: 4, bnGroup: 2 }],
    ['groups of 2: 2 workers', { workers: 2, bnGroup: 2 }],
  ];

  /** Runs `variants` and checks each against the first; returns the largest difference. */
  const same = async (variants: Array<[string, Record<string, unknown>]>): Promise<number> => {
    const reference = await run(variants[0][0], variants[0][1]);
    process.stdout.write(`# reference ${JSON.stringify(valDsc(reference))}\n`);
    assert.ok(reference.stopped !== undefined, 'the run stops early');
    assert.ok(reference.logs.length >= 3, 'after a few epochs');
    const a = valDsc(reference);
    let worst = 0;
    for (const [name, machine] of variants.slice(1)) {
      const other = await run(name, machine);
      const b = valDsc(other);
      process.stdout.write(`# ${name}: ${JSON.stringify(b.map((d, k) => d - a[k]))}\n`);
      assert.equal(b.length, a.length, `${name}: epochs trained (early stop)`);
      b.forEach((d, k) => {
        worst = Math.max(worst, Math.abs(d - a[k]));
        assert.ok(
          Math.abs(d - a[k]) <= TOLERANCE,
          `${name}: epoch ${k + 1} val DSC ${d} vs ${a[k]} (|diff| ${Math.abs(d - a[k])})`,
        );
      });
      trainLoss(other).forEach((l, k) => {
        const want = trainLoss(reference)[k];
        lossNoise = Math.max(lossNoise, Math.abs(l - want) / want);
      });
      assert.equal(other.bestEpoch, reference.bestEpoch, `${name}: best epoch`);
      assert.equal(other.stopped?.epoch, reference.stopped?.epoch, `${name}: early stop`);
    }
    return worst;
  };

  test("the whole batch's statistics: 1, 2 and 4 workers, passes of 4, 2 and 1", async () => {
    const worst = await same(splits);
    const r = runs.get(splits[0][0]) as TrainRunResult;
    process.stdout.write(
      `# whole batch: largest |val DSC difference| ${worst}; val DSC ${JSON.stringify(valDsc(r))}, ` +
        `best epoch ${r.bestEpoch}, stopped after ${r.stopped?.epoch}\n`,
    );
  });

  test('groups of 2 (--bn-group 2): passes in turn, one pass, workers', async () => {
    const worst = await same(ghosts);
    process.stdout.write(`# groups of 2: largest |val DSC difference| ${worst}\n`);
  });

  test('the two are other runs: the check can tell a change of statistics', () => {
    const whole = trainLoss(runs.get(splits[0][0]) as TrainRunResult);
    const ghost = trainLoss(runs.get(ghosts[0][0]) as TrainRunResult);
    const diff = Math.max(...ghost.map((l, k) => Math.abs(l - whole[k]) / whole[k]));
    assert.ok(
      diff > 3 * lossNoise,
      `groups of 2 moved the training loss by ${diff}, splits of one run by up to ${lossNoise}`,
    );
    process.stdout.write(
      `# groups of 2 against the whole batch: training loss moved by ${diff}; splits: ${lossNoise}\n`,
    );
  });
});
