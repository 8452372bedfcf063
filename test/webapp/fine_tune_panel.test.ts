/**
 * The fine-tune panel's pure parts without a browser: which images have a mask to learn from
 * and which are held out (the split `fineTune` makes of the same images in the same order),
 * why the button cannot start, the progress line's words and share, durations, and the curves'
 * SVG paths checked point by point against coordinates worked by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FINE_TUNE_DEFAULTS, fineTuneSplit } from '../../src/browser/fine_tune_settings.js';
import {
  blockedReason,
  curvePaths,
  curvesWords,
  durationWords,
  fineTuneSet,
  learnable,
  nameList,
  progressWords,
  setWords,
  stepFraction,
} from '../../src/webapp/fine_tune_panel.js';
import { rect, workImage } from './work_fixtures.js';

const IDLE = { model: true, busy: false, running: false };

describe('the images fine-tuning learns from', () => {
  test('a reviewed mask in force: corrected, accepted or imported; not unreviewed, not maskless', () => {
    assert.equal(
      learnable(
        workImage('a.png', { status: 'corrected', correction: rect(12, 10, [1, 5, 1, 5]) }),
      ),
      true,
    );
    assert.equal(
      learnable(workImage('b.png', { status: 'accepted' })),
      true,
      "the model's mask, accepted",
    );
    assert.equal(learnable(workImage('c.png', { status: 'unreviewed' })), false);
    assert.equal(
      learnable(workImage('d.png', { status: 'accepted', model: null })),
      false,
      'no mask',
    );
  });

  test("the held-out names are fineTuneSplit's indices into the learnable images, in the work's order", () => {
    const images = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k'].map((n, i) =>
      workImage(`${n}.png`, {
        status: i === 3 ? 'unreviewed' : i % 2 === 0 ? 'accepted' : 'corrected',
      }),
    );
    const set = fineTuneSet(images, FINE_TUNE_DEFAULTS);
    const chosen = images.filter((_, i) => i !== 3).map((i) => i.name);
    assert.deepEqual(
      set.images.map((i) => i.name),
      chosen,
    );
    const split = fineTuneSplit(10, FINE_TUNE_DEFAULTS.valFraction, FINE_TUNE_DEFAULTS.seed);
    assert.deepEqual(
      set.validation,
      split.val.map((i) => chosen[i]),
    );
    assert.deepEqual(
      set.training,
      split.train.map((i) => chosen[i]),
    );
    assert.equal(set.validation.length, 2, 'a fifth of 10');
    assert.equal(set.validation.length + set.training.length, 10);
    assert.notDeepEqual(
      fineTuneSet(images, { valFraction: 0.2, seed: 2 }).validation,
      set.validation,
    );
  });

  test('the sentence names the held-out images; fewer than 2 images say how to get them', () => {
    const two = [
      workImage('a.png', { status: 'accepted' }),
      workImage('b.png', { status: 'corrected', correction: rect(12, 10, [1, 5, 1, 5]) }),
    ];
    const set = fineTuneSet(two, FINE_TUNE_DEFAULTS);
    assert.equal(set.validation.length, 1);
    assert.equal(
      setWords(set),
      `2 images have a mask to learn from (corrected, accepted or imported): 1 to train on, 1 held out to validate (${set.validation[0]}).`,
    );
    assert.equal(blockedReason(set, IDLE), undefined);
    const one = fineTuneSet(two.slice(0, 1), FINE_TUNE_DEFAULTS);
    assert.equal(one.validation.length, 0);
    assert.equal(
      setWords(one),
      '1 image has a mask to learn from (corrected, accepted or imported).',
    );
    assert.match(blockedReason(one, IDLE)!, /at least 2 images .*the work has 1\.$/);
    assert.match(
      setWords(fineTuneSet([], FINE_TUNE_DEFAULTS)),
      /^No image has a mask .*NAME_mask\.png/,
    );
  });

  test('the button waits for a model, for the images being predicted, and for a run to end', () => {
    const set = fineTuneSet(
      [workImage('a.png', { status: 'accepted' }), workImage('b.png', { status: 'accepted' })],
      FINE_TUNE_DEFAULTS,
    );
    assert.equal(
      blockedReason(set, { ...IDLE, model: false }),
      'No model is loaded: open one first.',
    );
    assert.equal(
      blockedReason(set, { ...IDLE, busy: true }),
      'Wait until the images being predicted are done.',
    );
    assert.equal(blockedReason(set, { ...IDLE, running: true }), 'A fine-tuning is running.');
  });

  test('a long list of names is cut after six', () => {
    assert.equal(nameList(['a', 'b']), 'a, b');
    assert.equal(nameList(['1', '2', '3', '4', '5', '6', '7', '8']), '1, 2, 3, 4, 5, 6 and 2 more');
  });
});

describe('the progress line', () => {
  test('durations in words', () => {
    assert.equal(durationWords(0), '0 s');
    assert.equal(durationWords(44.6), '45 s');
    assert.equal(durationWords(185), '3 min 05 s');
    assert.equal(durationWords(3725), '1 h 02 min');
    assert.equal(durationWords(Number.POSITIVE_INFINITY), '-');
    assert.equal(durationWords(Number.NaN), '-');
  });

  test('the share done and the words: epoch and step are 1-based counts of what finished', () => {
    const p = { epoch: 3, epochs: 20, step: 2, steps: 4, imagesPerSecond: 5.06, secondsLeft: 80 };
    assert.equal(stepFraction(p), (2 + 0.5) / 20);
    assert.equal(stepFraction({ ...p, epoch: 20, step: 4 }), 1);
    assert.equal(stepFraction({ ...p, steps: 0 }), 0);
    assert.equal(
      progressWords(p),
      'Epoch 3 of 20, step 2 of 4 · 5.1 images/s · about 1 min 20 s left',
    );
    assert.equal(
      progressWords({ ...p, imagesPerSecond: 12.4, secondsLeft: 9 }),
      'Epoch 3 of 20, step 2 of 4 · 12 images/s · about 9 s left',
    );
  });
});

describe('the curves', () => {
  const box = { width: 110, height: 60, pad: 5 };

  test('points worked by hand: x by epoch over the run, loss from 0 to its largest, DSC from 0 to 1', () => {
    // Inner box 100 x 50; 4 epochs: x = 5 + 25 * epoch; y = 5 + 50 * (1 - v / max).
    const c = curvePaths(
      [
        { epoch: 1, loss: 0.8, valDsc: 0.4, best: true },
        { epoch: 2, loss: 0.4, valDsc: 0.6, best: true },
        { epoch: 3, loss: 0.2, valDsc: 0.5, best: false },
      ],
      4,
      box,
    );
    assert.equal(c.lossMax, 0.8);
    assert.equal(c.loss, 'M30 5 L55 30 L80 42.5');
    assert.equal(c.dsc, 'M30 35 L55 25 L80 30');
    assert.deepEqual(c.best, { x: 55, y: 25 });
  });

  test('a missing or non-finite value breaks the curve; no epoch draws nothing', () => {
    const c = curvePaths(
      [
        { epoch: 1, loss: 1, valDsc: 0.5, best: false },
        { epoch: 2, loss: Number.NaN, best: false },
        { epoch: 3, loss: 0.5, valDsc: 1, best: false },
      ],
      4,
      box,
    );
    assert.equal(c.loss, 'M30 5 M80 30');
    assert.equal(c.dsc, 'M30 30 M80 5');
    assert.equal(c.best, undefined);
    assert.deepEqual(curvePaths([], 20, box), { loss: '', dsc: '', lossMax: 1e-9 });
  });

  test('the curves in words', () => {
    assert.equal(curvesWords([], 20), 'Loss and validation DSC per epoch: none of 20 done yet.');
    assert.equal(
      curvesWords(
        [
          { epoch: 1, loss: 0.8, valDsc: 0.4, best: true },
          { epoch: 2, loss: 0.4, valDsc: 0.61, best: true },
          { epoch: 3, loss: 0.2, valDsc: 0.5, best: false },
        ],
        20,
      ),
      'Loss and validation DSC per epoch, 3 of 20 epochs: loss from 0.800 to 0.200, validation DSC from 0.400 to 0.500; best epoch 2.',
    );
  });
});
