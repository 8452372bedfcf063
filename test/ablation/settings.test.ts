/** A study's settings: defaults of a new study, and a later invocation's flags against them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  checkAblationSettings,
  resolveAblationSettings,
  settingDifferences,
} from '../../src/ablation/settings.js';

describe('resolveAblationSettings', () => {
  test("a new bus study: the paper's protocol, every training setting as train fills it", () => {
    assert.deepEqual(resolveAblationSettings({ dataset: 'bus', data: '/d/bus' }), {
      dataset: 'bus',
      data: '/d/bus',
      folds: 5,
      seed: 0,
      valFraction: 0.15,
      syntheticCount: null,
      inputSize: [128, 128],
      channels: 1,
      width: 1,
      bnGroup: 0,
      bnMomentum: 0.99,
      epochs: 100,
      batchSize: 16,
      optimizer: 'sgd',
      learningRate: 0.01,
      decay: 1e-6,
      momentum: 0.9,
      beta1: 0.9,
      beta2: 0.999,
      gradClip: null,
      alpha: 0.7,
      beta: 0.3,
      gamma: 4 / 3,
      weights: 'equal',
      objectiveScope: 'batch',
      schedule: 'keras-decay',
      warmupEpochs: 0,
      plateauPatience: 10,
      plateauFactor: 10,
      patience: null,
      augment: 'none',
      interpolation: 'nearest',
      maskSuffix: '',
      extraVariants: [],
    });
  });

  test('every training setting but the network and loss can be set: patience, warm-up, weights, scope', () => {
    const s = resolveAblationSettings({
      dataset: 'bus',
      data: '/d',
      patience: 5,
      warmupEpochs: 2,
      weights: [1, 1, 1, 2],
      objectiveScope: 'pass',
      beta: 0.5,
      gradClip: 1,
      augFlipH: { p: 0.5 },
    });
    assert.deepEqual(
      [s.patience, s.warmupEpochs, s.weights, s.objectiveScope, s.beta, s.gradClip, s.augFlipH],
      [5, 2, [1, 1, 1, 2], 'pass', 0.5, 1, { p: 0.5 }],
    );
    assert.throws(() => resolveAblationSettings({ dataset: 'bus', data: '/d', patience: 0 }), {
      name: 'UserError',
      message: '--patience: must be an integer >= 1 or null, got 0',
    });
  });

  test('extra rows: variants of the paper rows, each once, never a paper row', () => {
    const s = resolveAblationSettings({
      dataset: 'bus',
      data: '/d',
      extraVariants: ['attn-mi-ftl+aug-default', 'attn-mi-ftl+poly'],
    });
    assert.deepEqual(s.extraVariants, ['attn-mi-ftl+aug-default', 'attn-mi-ftl+poly']);
    const refused: Array<[string[], string]> = [
      [
        ['attn-mi-ftl'],
        "--extra-variant: 'attn-mi-ftl' is one of the paper's rows, always in a study",
      ],
      [['unet-dl+poly', 'unet-dl+poly'], "--extra-variant: 'unet-dl+poly' is named twice"],
      [
        ['attn-mi-ftl+aug-none'],
        "--extra-variant: 'attn-mi-ftl+aug-none' trains as the paper's row 'attn-mi-ftl': name " +
          'another augmentation or schedule',
      ],
      [
        ['attn-mi-ftl+sgd'],
        "--extra-variant: unknown modifier '+sgd' in 'attn-mi-ftl+sgd'; expected one of " +
          'unet-dl, unet-tl, unet-ftl, attn-dl, attn-mi-dl, attn-mi-tl, attn-mi-ftl, optionally followed by +aug-<none|light|default|heavy>, +<keras-decay|poly|cosine|plateau> and +<setting>=<value>',
      ],
    ];
    for (const [extraVariants, message] of refused) {
      assert.throws(() => resolveAblationSettings({ dataset: 'bus', data: '/d', extraVariants }), {
        message,
      });
    }
  });

  test('synthetic ISIC: its preset, 200 items in the default data folder; Adam at 0.001', () => {
    const s = resolveAblationSettings({ dataset: 'synthetic-isic', optimizer: 'adam' }, '/s/data');
    assert.equal(s.data, '/s/data');
    assert.equal(s.syntheticCount, 200);
    assert.deepEqual([s.inputSize, s.channels, s.epochs, s.batchSize], [[192, 256], 3, 50, 8]);
    assert.equal(s.learningRate, 0.001);
  });

  const errors: Array<[string, Parameters<typeof resolveAblationSettings>[0], string | RegExp]> = [
    ['no data set', {}, '--dataset is required to make a new study'],
    [
      'real data without --data',
      { dataset: 'isic2018' },
      '--data is required for --dataset isic2018',
    ],
    [
      '--count on real data',
      { dataset: 'bus', data: '/d', syntheticCount: 10 },
      '--count: applies to synthetic-bus and synthetic-isic only, not bus',
    ],
    [
      'one fold',
      { dataset: 'bus', data: '/d', folds: 1 },
      '--folds: expected an integer >= 2, got 1',
    ],
    [
      'a validation fraction of 1',
      { dataset: 'bus', data: '/d', valFraction: 1 },
      '--val-fraction: must be a number in [0, 1), got 1',
    ],
    [
      'an input size not a multiple of 16',
      { dataset: 'bus', data: '/d', inputSize: [40, 40] },
      /^--input-size \[40,40,1\]/,
    ],
  ];
  for (const [what, input, message] of errors) {
    test(`refused: ${what}`, () => {
      assert.throws(() => resolveAblationSettings(input, '/s/data'), { name: /Error$/, message });
    });
  }
});

describe('checkAblationSettings', () => {
  const recorded = resolveAblationSettings(
    { dataset: 'synthetic-bus', syntheticCount: 60, folds: 3, epochs: 8, inputSize: [64, 64] },
    '/s/data',
  );

  test('left-out settings take the recorded values; equal ones pass', () => {
    assert.deepEqual(checkAblationSettings(recorded, {}, 'the study in /s'), recorded);
    assert.deepEqual(
      checkAblationSettings(recorded, { folds: 3, inputSize: [64, 64], data: '/s/data' }, 'x'),
      recorded,
    );
  });

  test('a different setting is refused, naming every flag, given and recorded value', () => {
    assert.deepEqual(settingDifferences(recorded, { epochs: 10, inputSize: [64, 64] }), [
      ['epochs', 8, 10],
    ]);
    assert.throws(
      () =>
        checkAblationSettings(recorded, { epochs: 10, inputSize: [128, 128] }, 'the study in /s'),
      {
        name: 'UserError',
        message:
          'the study in /s was made with other settings: --epochs 10 (the study has 8), ' +
          "--input-size 128,128 (the study has 64,64). A study's settings are fixed when it is " +
          'made; leave these flags out to use the recorded ones, or choose another --out. Only ' +
          '--variant, --fold, --shard, --backend, --micro-batch, --cache and --lock-timeout may ' +
          'change between invocations.',
      },
    );
  });
});
