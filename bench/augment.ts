/**
 * `node dist/bench/augment.js`: what augmentation costs. Not a test: speed only.
 *
 *   npm run build && node dist/bench/augment.js [--rounds N] [--steps N] [--workers N]
 *       [--level L] [--json]
 *
 * 1. Augmentation alone, in one thread: milliseconds per item of each level at the quick
 *    start's size (64x64x1), BUS's (128x128x1) and ISIC's (192x256x3), median of 5 passes.
 * 2. Training at the quick start's settings (attn_reg, 64x64x1, width 0.25, batch 8, the
 *    data-parallel workers): images per second of training steps without augmentation and
 *    with `--level` (default `default`), in alternating rounds (ABBA) of `--steps` steps so
 *    that a machine shared with other work slows both alike; and their ratio.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/backend/select.js';
import {
  AUGMENT_LEVELS,
  augmentPair,
  parseAugmentLevel,
  resolveAugmentConfig,
  type AugmentLevel,
} from '../src/data/augment.js';
import { DATASET_PRESETS } from '../src/data/presets.js';
import { synthesizeDataset } from '../src/data/synthetic/generate.js';
import { buildModel, outputNames } from '../src/models/build.js';
import { MODEL_SUPERVISION } from '../src/models/supervision.js';
import { resolveTrainingWorkers, WorkerPool } from '../src/parallel/pool.js';
import { makeObjective } from '../src/train/objective.js';
import { StepRunner, type StepExecutor, type StepOptions } from '../src/train/step.js';
import { Rng } from '../src/util/rng.js';

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function benchTransforms(): Array<{ shape: string; level: AugmentLevel; msPerItem: number }> {
  const out: Array<{ shape: string; level: AugmentLevel; msPerItem: number }> = [];
  for (const [rows, cols, channels] of [
    [64, 64, 1],
    [128, 128, 1],
    [192, 256, 3],
  ] as const) {
    const data = synthesizeDataset({
      kind: channels === 1 ? 'bus' : 'isic',
      count: 16,
      inputSize: [rows, cols],
      channels,
    });
    for (const level of AUGMENT_LEVELS.filter((l) => l !== 'none')) {
      const config = resolveAugmentConfig(level);
      const times: number[] = [];
      for (let pass = 0; pass < 5; pass++) {
        const start = performance.now();
        for (let i = 0; i < data.count; i++) {
          augmentPair(
            { image: data.images[i], mask: data.masks[i] },
            { rows, cols, channels },
            config,
            new Rng(pass * 1000 + i),
          );
        }
        times.push((performance.now() - start) / data.count);
      }
      out.push({ shape: `${rows}x${cols}x${channels}`, level, msPerItem: median(times) });
    }
  }
  return out;
}

async function benchTraining(level: AugmentLevel, rounds: number, steps: number, workers: number) {
  const data = synthesizeDataset({ kind: 'bus', count: 163, inputSize: [64, 64], channels: 1 });
  const model = buildModel('attn_reg', {
    inputShape: [64, 64, 1],
    width: 0.25,
    bnMomentum: 0.9,
    seed: 1,
  });
  const objectiveOptions = {
    loss: 'ftl' as const,
    finalLoss: MODEL_SUPERVISION.attn_reg.finalLoss,
    outputs: outputNames(model),
  };
  const executor: StepExecutor =
    workers > 1
      ? await WorkerPool.start({
          model,
          workers,
          backend: 'wasm',
          dataset: data,
          objective: objectiveOptions,
        })
      : new StepRunner(model, makeObjective(objectiveOptions), data);
  const batch = 8;
  const augment = {
    config: resolveAugmentConfig(level, DATASET_PRESETS['synthetic-bus'].augmentExclude),
    seed: 0,
  };
  const seconds = { none: 0, augmented: 0 };
  let step = 0;
  const run = async (options: StepOptions) => {
    const start = performance.now();
    for (let s = 0; s < steps; s++) {
      const items = Array.from({ length: batch }, (_, k) => (step * batch + k) % data.count);
      const { grads } = await executor.gradients(items, options, { epoch: 1, step: ++step });
      tf.dispose(grads);
    }
    return (performance.now() - start) / 1000;
  };
  await run({ microBatch: batch, scope: 'batch' }); // warm-up
  // Rounds in the order ABBA, so that a trend in the machine's load favours neither.
  for (let r = 0; r < rounds; r++) {
    const plainFirst = r % 2 === 0;
    if (plainFirst) seconds.none += await run({ microBatch: batch, scope: 'batch' });
    seconds.augmented += await run({ microBatch: batch, scope: 'batch', augment });
    if (!plainFirst) seconds.none += await run({ microBatch: batch, scope: 'batch' });
  }
  if (executor instanceof WorkerPool) await executor.close();
  model.dispose();
  const images = rounds * steps * batch;
  return {
    level,
    workers,
    imagesPerSecondWithout: images / seconds.none,
    imagesPerSecondWith: images / seconds.augmented,
    ratio: seconds.none / seconds.augmented,
  };
}

async function main(): Promise<void> {
  await initBackend({ backend: 'wasm' });
  const level = parseAugmentLevel(flag('--level', 'default'), '--level');
  const rounds = Number(flag('--rounds', '4'));
  const steps = Number(flag('--steps', '5'));
  const workers = Number(flag('--workers', String(resolveTrainingWorkers(undefined, 'wasm'))));
  const transforms = benchTransforms();
  const training = await benchTraining(level, rounds, steps, workers);
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ transforms, training }));
    return;
  }
  console.log('augmentation alone, one thread (ms per item):');
  for (const t of transforms) console.log(`  ${t.shape} ${t.level}: ${t.msPerItem.toFixed(2)}`);
  console.log(
    `training, quick start settings, ${training.workers} worker(s), '${training.level}': ` +
      `${training.imagesPerSecondWith.toFixed(2)} img/s with, ` +
      `${training.imagesPerSecondWithout.toFixed(2)} without: ${(100 * training.ratio).toFixed(1)}%`,
  );
}

await main();
