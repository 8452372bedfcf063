import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { formatDuration, formatEpoch, trainProgress } from '../../src/cli/train_progress.js';
import type { EpochLog, StepProgress } from '../../src/train/trainer.js';

function epochLog(epoch: number, val: boolean): EpochLog {
  const phase = (loss: number, dsc: number) => ({ loss, outputs: { final: { loss, dsc } } });
  return {
    epoch,
    epochs: 3,
    learningRate: 0.01,
    train: phase(0.5, 0.25),
    ...(val ? { val: phase(0.75, 0.125) } : {}),
    score: 0.125,
    best: epoch === 1,
    seconds: 7,
  };
}

/** A stream that keeps what is written; a terminal when `isTTY`. */
class Capture extends Writable {
  text = '';
  columns = 200;
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Drives 2 epochs of 3 steps (2 s each; validation and files 1 s) with a fake clock. */
function drive(isTTY: boolean, flags = {}) {
  const stderr = new Capture(isTTY);
  const stdout = new Capture(false);
  let ms = 0;
  const progress = trainProgress(flags, 'ftunet train', { stderr, stdout, now: () => ms });
  for (const epoch of [1, 2]) {
    for (const s of [1, 2, 3]) {
      ms += 2000;
      const p: StepProgress = {
        epoch,
        epochs: 3,
        step: s,
        steps: 3,
        loss: 0.5,
        dsc: 0.25,
        images: 4 * s,
      };
      progress.onStep?.(p);
    }
    ms += 1000;
    progress.onEpoch?.(epochLog(epoch, true));
  }
  progress.close();
  return { stderr: stderr.text, stdout: stdout.text };
}

describe('training progress', () => {
  test('formatEpoch says which DSC it shows', () => {
    assert.equal(
      formatEpoch(epochLog(1, true)),
      'epoch 1/3  loss 0.5000 soft dsc (final) 0.2500  val loss 0.7500 soft dsc (final) 0.1250  7.0s  (best)',
    );
    assert.equal(
      formatEpoch(epochLog(2, false)),
      'epoch 2/3  loss 0.5000 soft dsc (final) 0.2500  7.0s',
    );
  });

  test('formatDuration', () => {
    const cases: Array<[number, string]> = [
      [0, '0s'],
      [59.4, '59s'],
      [59.6, '1m 00s'],
      [185, '3m 05s'],
      [3600, '1h 00m'],
      [7380, '2h 03m'],
    ];
    for (const [s, text] of cases) assert.equal(formatDuration(s), text, String(s));
  });

  test('the bar never shows a template placeholder and its rates come from the clock', () => {
    const { stderr } = drive(true);
    assert.doesNotMatch(stderr, /\{[a-z]+\}/);
    // Epoch 1 starts at its first step: no rate until a second step has been timed.
    assert.ok(
      stderr.includes('epoch 1/3 ') &&
        stderr.includes('1/3 | loss 0.5000 | soft dsc (final) 0.2500 | - img/s | left -'),
      JSON.stringify(stderr),
    );
    // Its last step: 8 images in 4 s; no epoch left; 2 epochs of 3 steps of 2 s.
    assert.ok(
      stderr.includes(
        '3/3 | loss 0.5000 | soft dsc (final) 0.2500 | 2.00 img/s | left 0s epoch, 12s run',
      ),
      stderr,
    );
    // Epoch 2 is timed from the end of epoch 1: its first step already has a rate.
    assert.ok(
      stderr.includes(
        '1/3 | loss 0.5000 | soft dsc (final) 0.2500 | 2.00 img/s | left 4s epoch, 10s run',
      ),
      stderr,
    );
    assert.ok(stderr.includes(`${formatEpoch(epochLog(2, true))}\n`));
    assert.ok(stderr.lastIndexOf('\x1b[?25h') > stderr.lastIndexOf('\x1b[?25l'), 'cursor shown');
  });

  test('off a terminal: one line per epoch, or JSON lines on stdout', () => {
    assert.equal(
      drive(false).stderr,
      `${formatEpoch(epochLog(1, true))}\n${formatEpoch(epochLog(2, true))}\n`,
    );
    const json = drive(false, { json: true });
    assert.equal(json.stderr, '');
    assert.deepEqual(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as EpochLog).epoch),
      [1, 2],
    );
  });
});
