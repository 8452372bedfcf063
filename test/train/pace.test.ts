import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TrainingPace, type PaceEstimate } from '../../src/train/pace.js';
import type { StepProgress } from '../../src/train/trainer.js';

/** A step of 4 images out of 3 per epoch, 3 epochs in all. */
function step(epoch: number, s: number): StepProgress {
  return { epoch, epochs: 3, step: s, steps: 3, loss: 0.5, dsc: 0.25, images: 4 * s };
}

describe('TrainingPace', () => {
  test('estimates from completed steps over their time, then from whole epochs (worked by hand)', () => {
    let ms = 0;
    const pace = new TrainingPace(() => ms);
    // Each step takes 2 s, validation and saving 1 s. [time ms, event, expected estimate]
    const cases: Array<[number, StepProgress | number, PaceEstimate | undefined]> = [
      // Epoch 1: its start is unknown, so it is measured from the end of its first step.
      [1000, step(1, 1), {}],
      // 1 step in 2 s: 4 img / 2 s; 1 step left (2 s); 2 epochs of 3 steps (6 s each) left.
      [3000, step(1, 2), { imagesPerSecond: 2, epochSecondsLeft: 2, runSecondsLeft: 14 }],
      [5000, step(1, 3), { imagesPerSecond: 2, epochSecondsLeft: 0, runSecondsLeft: 12 }],
      [6000, 1, undefined],
      // Epoch 2 is measured from the end of epoch 1; no whole epoch measured yet (6 s each).
      [8000, step(2, 1), { imagesPerSecond: 2, epochSecondsLeft: 4, runSecondsLeft: 10 }],
      [10000, step(2, 2), { imagesPerSecond: 2, epochSecondsLeft: 2, runSecondsLeft: 8 }],
      [12000, step(2, 3), { imagesPerSecond: 2, epochSecondsLeft: 0, runSecondsLeft: 6 }],
      [13000, 2, undefined],
      // Epoch 2 took 7 s whole; epoch 3 is the last.
      [15000, step(3, 1), { imagesPerSecond: 2, epochSecondsLeft: 4, runSecondsLeft: 4 }],
    ];
    for (const [t, event, expected] of cases) {
      ms = t;
      if (typeof event === 'number') {
        pace.epochEnd({ epoch: event });
        continue;
      }
      assert.deepEqual(pace.step(event), expected, `at ${t} ms`);
    }
  });

  test('whole epochs set the pace of the remaining ones', () => {
    let ms = 0;
    const pace = new TrainingPace(() => ms);
    const epochs = 5;
    const at = (t: number, e: number, s: number) => {
      ms = t;
      return pace.step({ ...step(e, s), epochs, steps: 2 });
    };
    at(1000, 1, 1);
    at(2000, 1, 2);
    ms = 10_000;
    pace.epochEnd({ epoch: 1 });
    at(11_000, 2, 1);
    at(12_000, 2, 2);
    ms = 30_000; // a slow validation: epoch 2 took 20 s whole
    pace.epochEnd({ epoch: 2 });
    // Epoch 3, step 1 after 1 s: 1 step left (1 s) and 2 epochs of 20 s.
    assert.deepEqual(at(31_000, 3, 1), {
      imagesPerSecond: 4,
      epochSecondsLeft: 1,
      runSecondsLeft: 41,
    });
  });

  test('a resumed run (no epoch end seen before) waits for a second step', () => {
    let ms = 5000;
    const pace = new TrainingPace(() => ms);
    assert.deepEqual(pace.step(step(2, 1)), {});
    ms = 5000; // no time has passed: still no rate rather than an infinite one
    assert.deepEqual(pace.step(step(2, 2)), {});
  });
});
