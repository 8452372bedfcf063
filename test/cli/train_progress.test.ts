import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import {
  DSC_LEGEND,
  formatDuration,
  formatEpoch,
  trainProgress,
} from '../../src/cli/train_progress.js';
import type { EpochLog, StepProgress } from '../../src/train/trainer.js';

function epochLog(epoch: number, val: boolean, epochs = 3): EpochLog {
  const phase = (loss: number, dsc: number) => ({ loss, outputs: { final: { loss, dsc } } });
  return {
    epoch,
    epochs,
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

/**
 * Drives 2 epochs of 3 steps (2 s each; validation and files 1 s) with a fake clock; `steps`
 * numbers them as the last steps of a longer epoch.
 */
function drive(isTTY: boolean, flags = {}, epochs = 3, steps = 3) {
  const stderr = new Capture(isTTY);
  const stdout = new Capture(false);
  let ms = 0;
  const progress = trainProgress(flags, 'ftunet train', { stderr, stdout, now: () => ms });
  for (const epoch of [1, 2]) {
    for (const s of [1, 2, 3]) {
      ms += 2000;
      const p: StepProgress = {
        epoch,
        epochs,
        step: steps - 3 + s,
        steps,
        loss: 0.5,
        dsc: 0.25,
        images: 4 * s,
      };
      progress.onStep?.(p);
    }
    ms += 1000;
    progress.onEpoch?.(epochLog(epoch, true, epochs));
  }
  progress.close();
  return { stderr: stderr.text, stdout: stdout.text };
}

describe('training progress', () => {
  test('formatEpoch: one line of at most 80 columns; the legend says which DSC it shows', () => {
    assert.equal(
      formatEpoch(epochLog(1, true)),
      'epoch 1/3  loss 0.5000 dsc 0.2500  val loss 0.7500 dsc 0.1250  7.0s  best',
    );
    assert.equal(formatEpoch(epochLog(2, false)), 'epoch 2/3  loss 0.5000 dsc 0.2500  7.0s');
    const longest = { ...epochLog(999, true, 999), seconds: 9999.94, best: true };
    assert.equal(
      formatEpoch(longest),
      'epoch 999/999  loss 0.5000 dsc 0.2500  val loss 0.7500 dsc 0.1250  9999.9s  best',
    );
    assert.ok(formatEpoch(longest).length <= 80);
    assert.equal(
      DSC_LEGEND,
      'dsc: the soft DSC of the output final (on probabilities, not thresholded)',
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
    assert.ok(stderr.startsWith(`ftunet train: ${DSC_LEGEND}\n`), JSON.stringify(stderr));
    // Epoch 1 starts at its first step: no rate until a second step has been timed.
    assert.ok(
      stderr.includes('epoch 1/3 ') && stderr.includes('1/3 loss 0.5000 dsc 0.2500 - img/s - left'),
      JSON.stringify(stderr),
    );
    // Its last step: 8 images in 4 s; 2 epochs of 3 steps of 2 s left in the run.
    assert.ok(stderr.includes('3/3 loss 0.5000 dsc 0.2500 2.00 img/s 12s left'), stderr);
    // Epoch 2 is timed from the end of epoch 1: its first step already has a rate.
    assert.ok(stderr.includes('1/3 loss 0.5000 dsc 0.2500 2.00 img/s 10s left'), stderr);
    assert.ok(stderr.includes(`${formatEpoch(epochLog(2, true))}\n`));
    assert.ok(stderr.lastIndexOf('\x1b[?25h') > stderr.lastIndexOf('\x1b[?25l'), 'cursor shown');
  });

  test('the bar fits 80 columns at epoch 999/999, step 999/999', () => {
    const { stderr } = drive(true, {}, 999, 999);
    // Each frame of the bar: what follows a return to column 1, without escape sequences.
    const esc = String.fromCharCode(27);
    const frames = stderr
      .split(new RegExp(`\\r|\\n|${esc}\\[1G`))
      .map((f) => f.replace(new RegExp(`${esc}\\[[0-9;?]*[A-Za-z]`, 'g'), ''))
      .filter((f) => f.startsWith('epoch 1/999 ') || f.startsWith('epoch 2/999 '));
    assert.ok(frames.length >= 2, JSON.stringify(stderr));
    for (const f of frames) assert.ok(f.length <= 80, `${f.length} columns: ${f}`);
    assert.ok(
      frames.some((f) => f.includes(' 999/999 loss ')),
      JSON.stringify(frames),
    );
  });

  test('data progress lines clear the rest of the line and end with the last', () => {
    const stderr = new Capture(true);
    const progress = trainProgress({}, 'ftunet train', { stderr, stdout: new Capture(false) });
    progress.onDataProgress?.(148, 148, 'decode');
    progress.onDataProgress?.(47, 48, 'decode');
    progress.onDataProgress?.(48, 48, 'decode');
    assert.equal(
      stderr.text,
      '\rftunet train: decode 148/148\x1b[K\n' +
        '\rftunet train: decode 47/48\x1b[K' +
        '\rftunet train: decode 48/48\x1b[K\n',
    );
  });

  test('off a terminal: one line per epoch, or JSON lines on stdout', () => {
    assert.equal(
      drive(false).stderr,
      `ftunet train: ${DSC_LEGEND}\n` +
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
