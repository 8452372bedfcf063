/**
 * `ftunet train`'s own parsing: each flag's parsed value reaches `train()`'s options, a flag
 * left out stays out (the library fills its default), a bad value is one line with exit code
 * 2 (with "did you mean" for a close one), and --help shows the defaults the library fills.
 * Everything runs in this process and stops before a backend or a data set is touched.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Command } from 'commander';
import { DATASET_PRESETS } from '../../src/data/presets.js';
import {
  DEFAULT_FOLD,
  DEFAULT_TEST_FRACTION,
  DEFAULT_VAL_FRACTION,
} from '../../src/data/splits.js';
import { DEFAULT_SYNTHETIC_COUNT } from '../../src/data/synthetic/generate.js';
import { DEFAULT_MAX_PIXELS } from '../../src/io/image.js';
import { DEFAULT_ALPHA, DEFAULT_GAMMA } from '../../src/losses/utils.js';
import { DEFAULT_BN_MOMENTUM, DEFAULT_MODEL, DEFAULT_WIDTH } from '../../src/models/options.js';
import { DEFAULT_MICRO_BATCH } from '../../src/train/memory.js';
import { DEFAULT_LOSS, DEFAULT_WEIGHTING } from '../../src/train/objective.js';
import {
  DEFAULT_DECAY,
  DEFAULT_LEARNING_RATE,
  DEFAULT_MOMENTUM,
  DEFAULT_OPTIMIZER,
} from '../../src/train/optimizer.js';
import { DEFAULT_INTERPOLATION } from '../../src/util/raster.js';
import { DEFAULT_SEED } from '../../src/util/rng.js';
import {
  trainOptionsFromFlags,
  type TrainFlagOptions,
  type TrainFlags,
} from '../../src/cli/commands/train.js';
import { buildProgram, main } from '../../src/cli/program.js';

/** The train command of a fresh program whose action only records the parsed flags. */
function trainCommand(): { program: Command; train: Command; parsed: () => TrainFlags } {
  const program = buildProgram();
  const train = program.commands.find((c) => c.name() === 'train')!;
  let flags: TrainFlags | undefined;
  train.action((f: TrainFlags) => {
    flags = f;
  });
  return { program, train, parsed: () => flags! };
}

/** `train()`'s options from a command line of `ftunet train`. */
async function optionsOf(args: string[]): Promise<TrainFlagOptions> {
  const { program, parsed } = trainCommand();
  await program.parseAsync(['train', ...args], { from: 'user' });
  return trainOptionsFromFlags(parsed());
}

/** Runs `ftunet ARGS` in this process, capturing stderr (these fail before printing to stdout). */
async function runMain(args: string[]): Promise<{ code: number; stderr: string }> {
  const err: string[] = [];
  const { stderr } = process;
  const writeErr = stderr.write;
  stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof stderr.write;
  try {
    const code = await main(args);
    return { code, stderr: err.join('') };
  } finally {
    stderr.write = writeErr;
  }
}

const BASE = ['--dataset', 'synthetic-bus', '--out', 'run'];
const BASE_OPTIONS = { out: 'run', dataset: 'synthetic-bus' };

describe('ftunet train: flags to train() options', () => {
  test('no training flag: only --dataset and --out, every default left to the library', async () => {
    assert.deepEqual(await optionsOf(BASE), BASE_OPTIONS);
  });

  // [flags, the fields they add to train()'s options]
  const cases: Array<[string[], Partial<TrainFlagOptions>]> = [
    [['--data', 'd'], { data: 'd' }],
    [['--model', 'unet'], { model: 'unet' }],
    [['--loss', 'tl'], { loss: 'tl' }],
    [['--epochs', '3'], { epochs: 3 }],
    [['--batch-size', '4'], { batchSize: 4 }],
    [['--micro-batch', '2'], { microBatch: 2 }],
    [['--micro-batch', 'auto'], { microBatch: 'auto' }],
    [['--workers', '2'], { workers: 2 }],
    [['--input-size', '64,96'], { inputSize: [64, 96] }],
    [['--input-size', '192x256'], { inputSize: [192, 256] }],
    [['--channels', '3'], { channels: 3 }],
    [['--width', '0.25'], { width: 0.25 }],
    [['--bn-momentum', '0.9'], { bnMomentum: 0.9 }],
    [['--bn-group', '2'], { bnGroup: 2 }],
    [['--init-from', 'runs/parent'], { initFrom: 'runs/parent' }],
    [['--freeze', 'encoder'], { freeze: 'encoder' }],
    [['--alpha', '0.3'], { alpha: 0.3 }],
    [['--beta', '0.5'], { beta: 0.5 }],
    [['--gamma', '4/3'], { gamma: 4 / 3 }],
    [['--gamma', '2'], { gamma: 2 }],
    [['--loss-weights', 'nnunet'], { weights: 'nnunet' }],
    [['--loss-weights', '1,0.5,0.25,0'], { weights: [1, 0.5, 0.25, 0] }],
    [['--objective-scope', 'pass'], { objectiveScope: 'pass' }],
    [['--objective-scope', 'batch'], { objectiveScope: 'batch' }],
    [['--optimizer', 'adam'], { optimizer: { name: 'adam' } }],
    [['--lr', '0.1'], { optimizer: { learningRate: 0.1 } }],
    [['--decay', '0'], { optimizer: { decay: 0 } }],
    [['--momentum', '0.5'], { optimizer: { momentum: 0.5 } }],
    [['--grad-clip', '1.5'], { optimizer: { gradClip: 1.5 } }],
    [
      ['--optimizer', 'sgd', '--lr', '0.02', '--decay', '1e-4', '--momentum', '0.8'],
      { optimizer: { name: 'sgd', learningRate: 0.02, decay: 1e-4, momentum: 0.8 } },
    ],
    [['--val-fraction', '0.2'], { valFraction: 0.2 }],
    [['--test-fraction', '0'], { testFraction: 0 }],
    [['--folds', '5'], { folds: 5 }],
    [['--split', 'split.json'], { splitFile: 'split.json' }],
    [['--fold', '2'], { fold: 2 }],
    [['--seed', '7'], { seed: 7 }],
    [['--cache', 'c'], { cache: 'c' }],
    [['--no-cache'], { cache: false }],
    [['--mask-suffix', '_s'], { maskSuffix: '_s' }],
    [['--interpolation', 'bilinear'], { interpolation: 'bilinear' }],
    [['--interpolation', 'Bilinear'], { interpolation: 'bilinear' }],
    [['--max-pixels', '3e8'], { maxPixels: 3e8 }],
    [['--count', '20'], { syntheticCount: 20 }],
    [['--schedule', 'poly'], { schedule: { name: 'poly' } }],
    [
      [
        '--schedule',
        'plateau',
        '--plateau-patience',
        '3',
        '--plateau-factor',
        '5',
        '--warmup',
        '2',
      ],
      { schedule: { name: 'plateau', plateauPatience: 3, plateauFactor: 5, warmupEpochs: 2 } },
    ],
    [['--patience', '7'], { patience: 7 }],
    [['--augment', 'default'], { augment: 'default' }],
    [
      ['--augment', 'light', '--aug-flip-v', '0.5', '--aug-rotate', '0.3:20'],
      {
        augment: 'light',
        augmentTransforms: { flipV: { p: 0.5 }, rotate: { p: 0.3, magnitude: 20 } },
      },
    ],
    [['--aug-elastic', '1:2'], { augmentTransforms: { elastic: { p: 1, magnitude: 2 } } }],
    [
      [
        ...['--aug-flip-h', '0', '--aug-rot90', '1', '--aug-scale', '0.1', '--aug-noise', '0.2'],
        ...['--aug-blur', '0.3', '--aug-brightness', '0.4', '--aug-contrast', '0.5'],
        ...['--aug-gamma', '0.6:0.1'],
      ],
      {
        augmentTransforms: {
          flipH: { p: 0 },
          rot90: { p: 1 },
          scale: { p: 0.1 },
          noise: { p: 0.2 },
          blur: { p: 0.3 },
          brightness: { p: 0.4 },
          contrast: { p: 0.5 },
          gamma: { p: 0.6, magnitude: 0.1 },
        },
      },
    ],
  ];
  for (const [args, fields] of cases) {
    test(args.join(' '), async () => {
      assert.deepEqual(await optionsOf([...BASE, ...args]), { ...BASE_OPTIONS, ...fields });
    });
  }

  test('every flag of train is in the table above (or only prints, or picks the backend)', () => {
    const covered = new Set(cases.flatMap(([args]) => args.filter((a) => a.startsWith('--'))));
    const notOptions = ['--out', '--dataset', '--resume', '--backend', '--quiet', '--json'];
    const { train } = trainCommand();
    const missing = train.options
      .map((o) => o.long!)
      .filter((flag) => !covered.has(flag) && !notOptions.includes(flag));
    assert.deepEqual(missing, []);
  });
});

describe('ftunet train: a bad value is one line, exit code 2', () => {
  const invalid = (flag: string, value: string, message: string) =>
    `ftunet train: option '${flag}' argument '${value}' is invalid. ${message} (see --help)\n`;
  const cases: Array<[string[], string]> = [
    [
      ['--model', 'attn_rg'],
      invalid(
        '--model <name>',
        'attn_rg',
        'Allowed choices are unet, attn_unet, attn_reg_ds, attn_reg. (Did you mean attn_reg?)',
      ),
    ],
    [
      ['--model', 'segformer'],
      invalid(
        '--model <name>',
        'segformer',
        'Allowed choices are unet, attn_unet, attn_reg_ds, attn_reg.',
      ),
    ],
    [
      ['--loss', 'ftll'],
      invalid(
        '--loss <name>',
        'ftll',
        'Allowed choices are dl, tl, ftl, bce-dice. (Did you mean ftl?)',
      ),
    ],
    [
      ['--dataset', 'synthetic-bsu'],
      invalid(
        '--dataset <name>',
        'synthetic-bsu',
        'Allowed choices are bus, isic2018, folder, synthetic-bus, synthetic-isic. ' +
          '(Did you mean synthetic-bus?)',
      ),
    ],
    [
      ['--optimizer', 'adma'],
      invalid('--optimizer <name>', 'adma', 'Allowed choices are sgd, adam. (Did you mean adam?)'),
    ],
    [
      ['--interpolation', 'bilinaer'],
      invalid(
        '--interpolation <mode>',
        'bilinaer',
        'Allowed choices are nearest, bilinear. (Did you mean bilinear?)',
      ),
    ],
    [
      ['--backend', 'wsam'],
      invalid(
        '--backend <name>',
        'wsam',
        'Allowed choices are auto, wasm, cpu, tensorflow. (Did you mean wasm?)',
      ),
    ],
    [['--epochs', '0'], invalid('--epochs <n>', '0', 'Expected an integer >= 1.')],
    [
      ['--schedule', 'polly'],
      invalid(
        '--schedule <name>',
        'polly',
        'Allowed choices are keras-decay, poly, cosine, plateau. (Did you mean poly?)',
      ),
    ],
    [
      ['--augment', 'strong'],
      invalid('--augment <level>', 'strong', 'Allowed choices are none, light, default, heavy.'),
    ],
    [
      ['--aug-rotate', '2'],
      invalid(
        '--aug-rotate <p[:m]>',
        '2',
        "Expected a probability in [0, 1], optionally ':' and a magnitude >= 0 (e.g. 0.5 or 0.2:15).",
      ),
    ],
    [['--patience', '0'], invalid('--patience <n>', '0', 'Expected an integer >= 1.')],
    [['--epochs', '2.5'], invalid('--epochs <n>', '2.5', 'Expected an integer >= 1.')],
    [
      ['--batch-size', '0'],
      invalid('--batch-size <n>', '0', 'Expected an integer from 1 to 4096.'),
    ],
    [
      ['--micro-batch', 'many'],
      invalid('--micro-batch <n>', 'many', "Expected 'auto' or an integer from 1 to 4096."),
    ],
    [['--workers', '0'], invalid('--workers <n>', '0', 'Expected an integer from 1 to 256.')],
    [['--alpha', '1'], invalid('--alpha <a>', '1', 'Expected a number in [0, 1).')],
    [
      ['--gamma', '0'],
      invalid('--gamma <g>', '0', 'Expected a positive number or a ratio such as 4/3.'),
    ],
    [['--decay', '-1'], invalid('--decay <d>', '-1', 'Expected a number >= 0.')],
    [['--lr', 'fast'], invalid('--lr <rate>', 'fast', 'Expected a positive number.')],
    [
      ['--loss-weights', '1,x'],
      invalid(
        '--loss-weights <w>',
        '1,x',
        'Expected equal or nnunet or non-negative numbers such as 1,1,1,1.',
      ),
    ],
    [
      ['--input-size', '7'],
      invalid(
        '--input-size <h,w>',
        '7',
        'Expected rows,cols such as 128,128 or 192x256 (each 1 to 4096).',
      ),
    ],
    [['--channels', '2'], invalid('--channels <c>', '2', 'Expected 1 (grey) or 3 (RGB).')],
    [['--seed', '-1'], invalid('--seed <s>', '-1', 'Expected an integer from 0 to 4294967295.')],
    [['--folds', '1'], invalid('--folds <k>', '1', 'Expected an integer >= 2.')],
    [['--count', '0'], invalid('--count <n>', '0', 'Expected a whole number from 1 to 100000.')],
    [
      ['--modle', 'unet'],
      "ftunet train: unknown option '--modle' (Did you mean --model?) (see --help)\n",
    ],
    [['--out', 'run'], 'ftunet: --dataset is required (or --resume RUN_DIR)\n'],
    [['--dataset', 'bus'], 'ftunet: --out is required: the run folder to create\n'],
    [
      [...BASE, '--input-size', '100,128'],
      'ftunet: --input-size [100,128,1]: height and width must be multiples of 16 (the ' +
        'network halves them four times)\n',
    ],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const r = await runMain(['train', ...args]);
      assert.deepEqual([r.code, r.stderr], [2, message]);
    });
  }
});

describe('ftunet train --help: the defaults the library fills', () => {
  const { train } = trainCommand();
  const help = (flag: string) => train.options.find((o) => o.long === flag)!.description;
  const perDataset = (value: (p: (typeof DATASET_PRESETS)['bus']) => string) =>
    `default: bus ${value(DATASET_PRESETS.bus)}, isic2018 ${value(DATASET_PRESETS.isic2018)}, ` +
    `folder ${value(DATASET_PRESETS.folder)}`;
  const cases: Array<[string, string]> = [
    ['--model', `(default ${DEFAULT_MODEL})`],
    ['--loss', `(default ${DEFAULT_LOSS};`],
    ['--epochs', `(${perDataset((p) => String(p.epochs))})`],
    ['--batch-size', `(${perDataset((p) => String(p.batchSize))})`],
    ['--input-size', `(${perDataset((p) => p.inputSize.join(','))})`],
    ['--channels', `(${perDataset((p) => String(p.channels))})`],
    ['--micro-batch', `(default ${DEFAULT_MICRO_BATCH})`],
    ['--width', `(default ${DEFAULT_WIDTH})`],
    ['--bn-momentum', `(default ${DEFAULT_BN_MOMENTUM},`],
    ['--alpha', `(default ${DEFAULT_ALPHA})`],
    ['--gamma', `(default ${Number(DEFAULT_GAMMA.toFixed(6))})`],
    ['--loss-weights', `(default ${DEFAULT_WEIGHTING})`],
    ['--optimizer', `(default ${DEFAULT_OPTIMIZER})`],
    ['--lr', `(default: sgd ${DEFAULT_LEARNING_RATE.sgd}, adam ${DEFAULT_LEARNING_RATE.adam})`],
    ['--decay', `(default ${DEFAULT_DECAY})`],
    ['--momentum', `(default ${DEFAULT_MOMENTUM})`],
    ['--val-fraction', `(default ${DEFAULT_VAL_FRACTION})`],
    ['--test-fraction', `(default ${DEFAULT_TEST_FRACTION})`],
    ['--fold', `(default ${DEFAULT_FOLD})`],
    ['--seed', `(default ${DEFAULT_SEED})`],
    ['--interpolation', `(default ${DEFAULT_INTERPOLATION})`],
    ['--max-pixels', `(default ${DEFAULT_MAX_PIXELS},`],
    [
      '--count',
      `(default: synthetic-bus ${DEFAULT_SYNTHETIC_COUNT.bus}, synthetic-isic ${DEFAULT_SYNTHETIC_COUNT.isic})`,
    ],
  ];
  for (const [flag, text] of cases) {
    test(`${flag}: ${text}`, () => {
      assert.ok(help(flag).includes(text), help(flag));
    });
  }

  test('the choices of --model are listed', () => {
    assert.match(
      train.helpInformation(),
      /--model <name> +network \(default attn_reg\) \(choices: "unet",\s+"attn_unet", "attn_reg_ds", "attn_reg"\)/,
    );
  });

  test('no flag of train or ablation has a commander default (the library fills it)', () => {
    for (const name of ['train', 'ablation']) {
      const command = buildProgram().commands.find((c) => c.name() === name)!;
      const withDefault = command.options
        .filter((o) => o.defaultValue !== undefined)
        .map((o) => o.long);
      assert.deepEqual(withDefault, [], name);
    }
  });
});
