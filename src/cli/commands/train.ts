/**
 * `ftunet train`: trains a network on a data set with the paper's protocol, writing a run
 * folder (see src/run/train.ts); `--resume RUN_DIR` continues a run.
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { UserError } from '../../errors.js';
import { parseChannels, parseInputSize } from '../../data/presets.js';
import { parseModelName, MODEL_NAMES, validateInputShape } from '../../models/options.js';
import { LOSS_NAMES, parseLossName, WEIGHTINGS, type Weighting } from '../../train/objective.js';
import { OPTIMIZER_NAMES, parseOptimizerName } from '../../train/optimizer.js';
import { resume, train, type TrainRunOptions, type TrainRunResult } from '../../run/train.js';
import { interrupts, shellQuote } from '../interrupt.js';
import { trainProgress } from '../train_progress.js';
import { DATASET_SOURCE_KINDS, datasetPreset, parseDatasetSourceKind } from '../../data/presets.js';
import { parseInterpolation } from '../../util/raster.js';
import { parseSeed } from '../../util/rng.js';
import { DEFAULT_CACHE_HELP } from '../help.js';
import {
  MAX_PIXELS_HELP,
  maxPixelsOption,
  parsePositiveNumber,
  WORKERS_HELP,
  workersOption,
} from '../parse.js';
import { packageVersion } from '../version.js';

interface TrainFlags {
  dataset?: string;
  data?: string;
  model: string;
  loss: string;
  out?: string;
  resume?: string;
  epochs?: string;
  batchSize?: string;
  microBatch: string;
  workers?: string;
  inputSize?: string;
  channels?: string;
  width: string;
  bnMomentum: string;
  alpha: string;
  beta?: string;
  gamma: string;
  lossWeights: string;
  optimizer: string;
  lr?: string;
  decay: string;
  momentum: string;
  valFraction?: string;
  testFraction?: string;
  folds?: string;
  split?: string;
  fold: string;
  seed: string;
  backend?: string;
  cache: string | boolean;
  maxPixels?: string;
  maskSuffix?: string;
  interpolation: string;
  count?: string;
  quiet?: boolean;
  json?: boolean;
}

function parseInteger(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isInteger(n) || n < min) {
    throw new UserError(`${flag}: expected an integer >= ${min}, got '${value}'`);
  }
  return n;
}

/** A positive number, also written as a ratio such as 4/3. */
function parseRatio(value: string, flag: string): number {
  const m = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(value);
  return m
    ? parsePositiveNumber(String(Number(m[1]) / Number(m[2])), flag)
    : parsePositiveNumber(value, flag);
}

function parseFraction(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !(n >= 0 && n < 1)) {
    throw new UserError(`${flag}: expected a number in [0, 1), got '${value}'`);
  }
  return n;
}

function parseWeights(value: string): Weighting | number[] {
  if ((WEIGHTINGS as readonly string[]).includes(value)) return value as Weighting;
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new UserError(
      `--loss-weights: expected ${WEIGHTINGS.join(' or ')} or non-negative numbers like 1,1,1,1, got '${value}'`,
    );
  }
  return parts;
}

export function register(program: Command): void {
  program
    .command('train')
    .description("train a network with the paper's protocol; writes a run folder")
    .option('--dataset <name>', `data set: ${DATASET_SOURCE_KINDS.join(', ')}`)
    .option(
      '--data <dir>',
      'data folder (synthetic data sets: where to write them, default RUN_DIR/data)',
    )
    .option('--model <name>', `network: ${MODEL_NAMES.join(', ')}`, 'attn_reg')
    .option(
      '--loss <name>',
      `loss: ${LOSS_NAMES.join(', ')} (attn_reg: on pred1..3, Tversky on final)`,
      'ftl',
    )
    .option('--out <dir>', 'run folder to create')
    .option(
      '--resume <dir>',
      'continue the run in this folder from its last finished epoch (from the start if none ' +
        'finished), with its recorded settings and worker count',
    )
    .option(
      '--epochs <n>',
      'epochs (default: bus 100, isic2018 50); with --resume: train the run to n epochs',
    )
    .option('--batch-size <n>', 'images per update (default: bus 16, isic2018 8)')
    .option(
      '--micro-batch <n>',
      "images per forward/backward pass, or 'auto' (what fits in memory)",
      'auto',
    )
    .option('--workers <n>', WORKERS_HELP)
    .option(
      '--input-size <h,w>',
      'network input rows,cols (default: bus 128,128; isic2018 192,256)',
    )
    .option('--channels <c>', '1 (grey) or 3 (RGB) (default: bus 1, isic2018 3)')
    .option('--width <multiplier>', 'width multiplier of every filter count', '1')
    .option(
      '--bn-momentum <m>',
      'BatchNormalization momentum (Keras 0.99; short runs: 0.9)',
      '0.99',
    )
    .option('--alpha <a>', 'Tversky weight of false negatives', '0.7')
    .option('--beta <b>', 'Tversky weight of false positives (default 1 - alpha)')
    .option('--gamma <g>', 'focal parameter: FTL = (1 - TI)^(1/gamma), a number or a ratio', '4/3')
    .option(
      '--loss-weights <w>',
      `deep supervision weights: ${WEIGHTINGS.join(', ')} or a,b,c,d`,
      'equal',
    )
    .option('--optimizer <name>', `optimizer: ${OPTIMIZER_NAMES.join(', ')}`, 'sgd')
    .option('--lr <rate>', 'initial learning rate (default: sgd 0.01, adam 0.001)')
    .option('--decay <d>', 'Keras time decay per update: lr / (1 + decay * t)', '1e-6')
    .option('--momentum <m>', 'SGD momentum', '0.9')
    .option(
      '--val-fraction <f>',
      'fraction of the training items held out for validation (default 0.15)',
    )
    .option('--test-fraction <f>', 'fraction of the items held out for testing (default 0.25)')
    .option('--folds <k>', 'make a k-fold split instead of the 75/25 holdout')
    .option('--split <file>', 'use this split file (from an earlier run or ablation)')
    .option('--fold <k>', 'which fold of the split to train', '0')
    .option('--seed <s>', 'seed of weights, split and order', '0')
    .option('--backend <name>', 'auto, wasm, cpu or tensorflow (default: $FTUNET_BACKEND or auto)')
    .option('--cache <dir>', `preprocessing cache folder (default: ${DEFAULT_CACHE_HELP})`)
    .option('--no-cache', 'do not use the preprocessing cache')
    .option('--mask-suffix <s>', "folder data sets: mask file stem suffix, e.g. '_segmentation'")
    .option('--interpolation <mode>', 'image resizing: nearest or bilinear', 'nearest')
    .option('--max-pixels <n>', MAX_PIXELS_HELP)
    .option('--count <n>', 'synthetic data sets: number of items (default: bus 163, isic 200)')
    .option('--quiet', 'print nothing but errors')
    .option('--json', 'print one JSON line per epoch on stdout')
    .action(async (flags: TrainFlags, command: Command) => {
      const report = flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
      if (flags.resume !== undefined) {
        refuseChangedSettings(command);
        const options = {
          ...workersOption(flags.workers),
          ...maxPixelsOption(flags.maxPixels),
          ...(flags.epochs !== undefined
            ? { epochs: parseInteger(flags.epochs, '--epochs', 1) }
            : {}),
        };
        const backend = await initBackend({
          ...(flags.backend ? { backend: flags.backend } : {}),
          report,
        });
        const progress = interrupts.stoppable(
          trainProgress(flags),
          `ftunet train --resume ${shellQuote(flags.resume)}`,
        );
        const result = await resume(flags.resume, backend.name, progress, options);
        finish(result, flags);
        return;
      }
      if (flags.dataset === undefined)
        throw new UserError('--dataset is required (or --resume RUN_DIR)');
      if (flags.out === undefined)
        throw new UserError('--out is required: the run folder to create');
      const dataset = parseDatasetSourceKind(flags.dataset, '--dataset');
      const model = parseModelName(flags.model, '--model');
      const loss = parseLossName(flags.loss, '--loss');
      const inputSize = flags.inputSize ? parseInputSize(flags.inputSize) : undefined;
      const channels = flags.channels ? parseChannels(flags.channels) : undefined;
      const preset = datasetPreset(dataset);
      validateInputShape(
        [...(inputSize ?? preset.inputSize), channels ?? preset.channels],
        '--input-size',
      );
      const optimizer = parseOptimizerName(flags.optimizer);
      const options: Omit<TrainRunOptions, 'backend'> = {
        out: flags.out,
        dataset,
        ...(flags.data !== undefined ? { data: flags.data } : {}),
        model,
        width: parsePositiveNumber(flags.width, '--width'),
        bnMomentum: parseFraction(flags.bnMomentum, '--bn-momentum'),
        ...(inputSize ? { inputSize } : {}),
        ...(channels ? { channels } : {}),
        interpolation: parseInterpolation(flags.interpolation),
        ...(flags.maskSuffix !== undefined ? { maskSuffix: flags.maskSuffix } : {}),
        cache:
          flags.cache === false ? false : typeof flags.cache === 'string' ? flags.cache : undefined,
        loss,
        alpha: parseFraction(flags.alpha, '--alpha'),
        ...(flags.beta !== undefined ? { beta: parseFraction(flags.beta, '--beta') } : {}),
        gamma: parseRatio(flags.gamma, '--gamma'),
        weights: parseWeights(flags.lossWeights),
        optimizer: {
          name: optimizer,
          ...(flags.lr !== undefined
            ? { learningRate: parsePositiveNumber(flags.lr, '--lr') }
            : {}),
          decay:
            Number(flags.decay) >= 0 ? Number(flags.decay) : parseFraction(flags.decay, '--decay'),
          momentum: parseFraction(flags.momentum, '--momentum'),
        },
        ...(flags.epochs !== undefined
          ? { epochs: parseInteger(flags.epochs, '--epochs', 1) }
          : {}),
        ...(flags.batchSize !== undefined
          ? { batchSize: parseInteger(flags.batchSize, '--batch-size', 1) }
          : {}),
        microBatch:
          flags.microBatch === 'auto' ? 'auto' : parseInteger(flags.microBatch, '--micro-batch', 1),
        ...workersOption(flags.workers),
        seed: parseSeed(flags.seed),
        ...(flags.split !== undefined ? { splitFile: flags.split } : {}),
        ...(flags.folds !== undefined ? { folds: parseInteger(flags.folds, '--folds', 2) } : {}),
        fold: parseInteger(flags.fold, '--fold', 0),
        ...(flags.valFraction !== undefined
          ? { valFraction: parseFraction(flags.valFraction, '--val-fraction') }
          : {}),
        ...(flags.testFraction !== undefined
          ? { testFraction: parseFraction(flags.testFraction, '--test-fraction') }
          : {}),
        ...(flags.count !== undefined
          ? { syntheticCount: parseInteger(flags.count, '--count', 1) }
          : {}),
        ...maxPixelsOption(flags.maxPixels),
        packageInfo: { name: 'focal-tversky-unet', version: packageVersion() },
      };
      // Every flag is checked before the backend starts (and prints its line).
      const backend = await initBackend({
        ...(flags.backend ? { backend: flags.backend } : {}),
        report,
      });
      const progress = interrupts.stoppable(
        trainProgress(flags),
        `ftunet train --resume ${shellQuote(flags.out)}`,
      );
      const result = await train({ ...options, backend: backend.name }, progress);
      finish(result, flags);
    });
}

/** The flags that `--resume` takes; every other setting is the run's own (its config.json). */
const RESUME_FLAGS = new Set([
  'resume',
  'epochs',
  'workers',
  'backend',
  'maxPixels',
  'quiet',
  'json',
]);

/** Refuses training flags given with --resume, naming them. */
function refuseChangedSettings(command: Command): void {
  const given = command.options
    .filter((o) => !RESUME_FLAGS.has(o.attributeName()))
    .filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli')
    .map((o) => o.long ?? o.flags);
  if (given.length > 0) {
    throw new UserError(
      `--resume continues a run with the settings in its config.json: ` +
        `${[...new Set(given)].join(', ')} cannot be changed (with --resume: ` +
        '--epochs N to train to N epochs, --workers, --backend, --max-pixels, --quiet, --json)',
    );
  }
}

function finish(result: TrainRunResult, flags: TrainFlags): void {
  if (flags.quiet || flags.json) return;
  process.stderr.write(
    `ftunet train: done; best validation DSC ${result.bestScore.toFixed(4)} at epoch ${result.bestEpoch}\n`,
  );
}
