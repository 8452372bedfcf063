/**
 * The flags that several commands share, each written once: its commander flags, its help
 * text and its parser (from parse.ts). A command adds the ones it takes with `addFlags`.
 *
 * No flag has a commander default: a flag that is not given stays undefined and the library
 * fills its default (`train` in src/run/train.ts, `resolveAblationSettings` for a study), so
 * that `--resume` can tell a given flag from a default one. The help texts read those
 * defaults from the library's constants; they never restate a number.
 */
import { Option, type Command } from 'commander';
import {
  ABLATION_METRICS,
  parseTableMetrics,
  TABLE_METRIC_NAMES,
  TABLE_METRICS,
} from '../ablation/table.js';
import { BACKEND_CHOICES } from '../backend/select.js';
import { DEFAULT_CACHE_HELP } from './help.js';
import { DEFAULT_ENGINE, ENGINE_CHOICES } from '../eval/engine.js';
import { DEFAULT_THRESHOLD, parseThreshold } from '../eval/score.js';
import type { DatasetPreset } from '../data/presets.js';
import {
  DATASET_PRESETS,
  DATASET_SOURCE_KINDS,
  parseChannels,
  parseInputSize,
} from '../data/presets.js';
import { DEFAULT_FOLD, DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION } from '../data/splits.js';
import { DEFAULT_SYNTHETIC_COUNT, parseCount } from '../data/synthetic/generate.js';
import { DEFAULT_MAX_PIXELS, parseMaxPixels } from '../io/image.js';
import { DEFAULT_ALPHA, DEFAULT_GAMMA } from '../losses/utils.js';
import {
  DEFAULT_BN_MOMENTUM,
  DEFAULT_MODEL,
  DEFAULT_WIDTH,
  MODEL_NAMES,
} from '../models/options.js';
import { DEFAULT_MICRO_BATCH } from '../train/memory.js';
import {
  DEFAULT_LOSS,
  DEFAULT_OBJECTIVE_SCOPE,
  DEFAULT_WEIGHTING,
  LOSS_NAMES,
  OBJECTIVE_SCOPES,
  WEIGHTINGS,
} from '../train/objective.js';
import {
  DEFAULT_DECAY,
  DEFAULT_LEARNING_RATE,
  DEFAULT_MOMENTUM,
  DEFAULT_OPTIMIZER,
  OPTIMIZER_NAMES,
} from '../train/optimizer.js';
import { QUANTIZATIONS } from '../export/metadata.js';
import { DEFAULT_TTA, TTA_CHOICES } from '../eval/ensemble.js';
import { parseMinSize } from '../util/components.js';
import {
  AUGMENT_LEVELS,
  AUGMENT_TRANSFORMS,
  DEFAULT_AUGMENT_LEVEL,
  parseTransformSetting,
  TRANSFORM_FLAGS,
  TRANSFORM_MAGNITUDES,
  type AugmentTransform,
} from '../data/augment.js';
import {
  DEFAULT_PLATEAU_FACTOR,
  DEFAULT_PLATEAU_PATIENCE,
  DEFAULT_SCHEDULE,
  POLY_EXPONENT,
  SCHEDULE_NAMES,
} from '../train/schedule.js';
import { DEFAULT_INTERPOLATION, INTERPOLATIONS } from '../util/raster.js';
import { DEFAULT_SEED, MAX_SEED, parseSeed } from '../util/rng.js';
import {
  choice,
  fromLibrary,
  integer,
  parseBatchSize,
  parseFold,
  parseFraction,
  parseMicroBatch,
  parseNonNegativeNumber,
  parsePositiveNumber,
  parseRatio,
  parseWeights,
  parseWorkers,
} from './parse.js';

/** One flag: what commander needs to add it. `T` is the parsed value's type. */
export interface FlagSpec<T> {
  /** Commander's flags, e.g. `'--epochs <n>'`; `'--no-x'` negates `'--x'`. */
  flags: string;
  /** The help text, ending in the default the library fills when the flag is left out. */
  description: string;
  /** The value's parser (an `argParser` from parse.ts); absent for switches and plain text. */
  parse?: (text: string) => T;
  /** The allowed values, shown in --help (the parser accepts only these). */
  choices?: readonly string[];
  /** The flag may be given several times; its value is the list of the values given. */
  repeat?: boolean;
}

function flag<T = string>(
  flags: string,
  description: string,
  parse?: (text: string) => T,
  choices?: readonly string[],
): FlagSpec<T> {
  return { flags, description, ...(parse ? { parse } : {}), ...(choices ? { choices } : {}) };
}

/** A choice among `values`, listed by --help and checked with "did you mean" suggestions. */
function choiceFlag<T extends string>(
  flags: string,
  description: string,
  values: readonly T[],
): FlagSpec<T> {
  return flag(flags, description, choice(values), values);
}

/**
 * "default: bus 100, isic2018 50, folder 100" from the data set presets; a synthetic data set
 * is named only where it differs from the real one it stands in for.
 */
export function presetDefaults(value: (preset: DatasetPreset) => string): string {
  const parts = DATASET_SOURCE_KINDS.filter((kind) => {
    const p = DATASET_PRESETS[kind];
    return p.synthetic === undefined || value(p) !== value(DATASET_PRESETS[p.layout]);
  }).map((kind) => `${kind} ${value(DATASET_PRESETS[kind])}`);
  return `default: ${parts.join(', ')}`;
}

const syntheticCounts = Object.entries(DEFAULT_SYNTHETIC_COUNT)
  .map(([kind, n]) => `synthetic-${kind} ${n}`)
  .join(', ');

/** The shared flags, by the name of the value commander stores (`opts()`). */
export const FLAGS = {
  dataset: choiceFlag('--dataset <name>', 'data set', DATASET_SOURCE_KINDS),
  data: flag(
    '--data <dir>',
    'data folder (synthetic data sets: where to write them, default: data inside --out)',
  ),
  count: flag(
    '--count <n>',
    `synthetic data sets: number of items (default: ${syntheticCounts})`,
    fromLibrary(parseCount, '--count'),
  ),
  maskSuffix: flag(
    '--mask-suffix <s>',
    "folder data sets: mask file stem suffix, e.g. '_segmentation'",
  ),
  inputSize: flag(
    '--input-size <h,w>',
    `network input rows,cols (${presetDefaults((p) => p.inputSize.join(','))})`,
    fromLibrary(parseInputSize, '--input-size'),
  ),
  channels: flag(
    '--channels <c>',
    `1 (grey) or 3 (RGB) (${presetDefaults((p) => String(p.channels))})`,
    fromLibrary(parseChannels, '--channels'),
  ),
  threshold: flag(
    '--threshold <t>',
    'a pixel is lesion when its probability is above this (default: the threshold an ' +
      `exported model records, else ${DEFAULT_THRESHOLD})`,
    fromLibrary(parseThreshold, '--threshold'),
  ),
  quantize: choiceFlag(
    '--quantize <dtype>',
    "store the model's weights as float16 (half the size) or uint8 (a quarter), as " +
      "TensorFlow.js's converter does (default none: float32)",
    QUANTIZATIONS,
  ),
  interpolation: choiceFlag(
    '--interpolation <mode>',
    `image resizing (default ${DEFAULT_INTERPOLATION})`,
    INTERPOLATIONS,
  ),
  cache: flag<string | false>(
    '--cache <dir>',
    `preprocessing cache folder (default: ${DEFAULT_CACHE_HELP})`,
  ),
  noCache: flag<never>('--no-cache', 'do not use the preprocessing cache'),
  maxPixels: flag(
    '--max-pixels <n>',
    'refuse images and masks with more pixels than this, read from the file header before ' +
      `decoding (default ${DEFAULT_MAX_PIXELS}, ${DEFAULT_MAX_PIXELS / 1e6} megapixels)`,
    fromLibrary(parseMaxPixels, '--max-pixels'),
  ),
  valFraction: flag(
    '--val-fraction <f>',
    `fraction of the training items held out for validation (default ${DEFAULT_VAL_FRACTION})`,
    parseFraction,
  ),
  testFraction: flag(
    '--test-fraction <f>',
    `fraction of the items held out for testing (default ${DEFAULT_TEST_FRACTION})`,
    parseFraction,
  ),
  fold: flag('--fold <k>', `which fold of the split to train (default ${DEFAULT_FOLD})`, parseFold),
  seed: flag(
    '--seed <s>',
    `seed of the split, weights, order and synthetic data, 0 to ${MAX_SEED} (default ${DEFAULT_SEED})`,
    fromLibrary(parseSeed, '--seed'),
  ),
  model: choiceFlag('--model <name>', `network (default ${DEFAULT_MODEL})`, MODEL_NAMES),
  width: flag(
    '--width <multiplier>',
    `width multiplier of every filter count (default ${DEFAULT_WIDTH})`,
    parsePositiveNumber,
  ),
  bnMomentum: flag(
    '--bn-momentum <m>',
    `BatchNormalization momentum (default ${DEFAULT_BN_MOMENTUM}, as Keras; short runs: 0.9)`,
    parseFraction,
  ),
  loss: choiceFlag(
    '--loss <name>',
    `loss (default ${DEFAULT_LOSS}; attn_reg: on pred1..3, Tversky on final)`,
    LOSS_NAMES,
  ),
  alpha: flag(
    '--alpha <a>',
    `Tversky weight of false negatives (default ${DEFAULT_ALPHA})`,
    parseFraction,
  ),
  beta: flag('--beta <b>', 'Tversky weight of false positives (default 1 - alpha)', parseFraction),
  gamma: flag(
    '--gamma <g>',
    'focal parameter: FTL = (1 - TI)^(1/gamma), a number or a ratio such as 4/3 ' +
      `(default ${Number(DEFAULT_GAMMA.toFixed(6))})`,
    parseRatio,
  ),
  lossWeights: flag(
    '--loss-weights <w>',
    `deep supervision weights: ${WEIGHTINGS.join(', ')} or a,b,c,d (default ${DEFAULT_WEIGHTING})`,
    parseWeights,
  ),
  objectiveScope: choiceFlag(
    '--objective-scope <scope>',
    'where each loss index is computed: batch (one over the whole batch, as the reference) or ' +
      `pass (per forward pass, summed; faster when a batch is split) (default ${DEFAULT_OBJECTIVE_SCOPE})`,
    OBJECTIVE_SCOPES,
  ),
  optimizer: choiceFlag(
    '--optimizer <name>',
    `optimizer (default ${DEFAULT_OPTIMIZER})`,
    OPTIMIZER_NAMES,
  ),
  lr: flag(
    '--lr <rate>',
    `initial learning rate (default: ${OPTIMIZER_NAMES.map(
      (name) => `${name} ${DEFAULT_LEARNING_RATE[name]}`,
    ).join(', ')})`,
    parsePositiveNumber,
  ),
  decay: flag(
    '--decay <d>',
    `Keras time decay per update: lr / (1 + decay * t) (default ${DEFAULT_DECAY})`,
    parseNonNegativeNumber,
  ),
  momentum: flag('--momentum <m>', `SGD momentum (default ${DEFAULT_MOMENTUM})`, parseFraction),
  schedule: choiceFlag(
    '--schedule <name>',
    'learning-rate schedule: keras-decay (the paper: lr / (1 + decay * t) per update), poly ' +
      `(nnU-Net: lr * (1 - epoch/epochs)^${POLY_EXPONENT}), cosine (to zero), plateau (divided ` +
      `when the validation DSC stops improving) (default ${DEFAULT_SCHEDULE})`,
    SCHEDULE_NAMES,
  ),
  warmup: flag(
    '--warmup <epochs>',
    'epochs of linear learning-rate warm-up before the schedule (default 0)',
    integer(0),
  ),
  plateauPatience: flag(
    '--plateau-patience <n>',
    `--schedule plateau: epochs without improvement before the rate is divided (default ${DEFAULT_PLATEAU_PATIENCE})`,
    integer(1),
  ),
  plateauFactor: flag(
    '--plateau-factor <f>',
    `--schedule plateau: what the rate is divided by, > 1 (default ${DEFAULT_PLATEAU_FACTOR})`,
    parsePositiveNumber,
  ),
  patience: flag(
    '--patience <n>',
    'early stopping: end training when the validation DSC of final has not improved for n ' +
      'epochs (default: none, train every epoch)',
    integer(1),
  ),
  augment: choiceFlag(
    '--augment <level>',
    'augmentation of the training images (never validation or test): none (the paper), light, ' +
      "default (nnU-Net's kinds) or heavy; the data set's preset leaves out what does not fit " +
      `(bus: no vertical flip or quarter turn) (default ${DEFAULT_AUGMENT_LEVEL})`,
    AUGMENT_LEVELS,
  ),
  ...augmentTransformFlags(),
  epochs: flag('--epochs <n>', `epochs (${presetDefaults((p) => String(p.epochs))})`, integer(1)),
  batchSize: flag(
    '--batch-size <n>',
    `images per update (${presetDefaults((p) => String(p.batchSize))})`,
    parseBatchSize,
  ),
  microBatch: flag(
    '--micro-batch <n>',
    `images per forward/backward pass, or 'auto': what fits in memory (default ${DEFAULT_MICRO_BATCH})`,
    parseMicroBatch,
  ),
  workers: flag(
    '--workers <n>',
    'data-parallel worker threads, each with its own backend and model replica (default: one ' +
      'per core; 1 on the tensorflow backend)',
    parseWorkers,
  ),
  backend: choiceFlag(
    '--backend <name>',
    'TensorFlow.js backend (default: $FTUNET_BACKEND, else auto)',
    BACKEND_CHOICES,
  ),
  engine: choiceFlag(
    '--engine <name>',
    `inference engine: onnx (ONNX Runtime on the model exported in memory), tfjs, or auto: ` +
      `onnx when onnxruntime-node is installed and the model exports, else tfjs ` +
      `(default ${DEFAULT_ENGINE})`,
    ENGINE_CHOICES,
  ),
  threads: flag('--threads <n>', 'ONNX Runtime threads (default: one per core)', parseWorkers),
  // Stored as `model` by commander, like the network's --model of train (never both on one command).
  modelFolders: {
    ...flag(
      '--model <dir>',
      'a saved model folder, or a run folder (its best model); give it several times for an ' +
        "ensemble: the mean of the models' probabilities",
    ),
    repeat: true,
  } as FlagSpec<string[]>,
  tta: choiceFlag(
    '--tta <mode>',
    'test-time augmentation: the mean probability over the image and its mirrors, hflip ' +
      '(horizontal), vflip (vertical), flips (horizontal, vertical and both) or auto (the ' +
      "mirrors of the model's training augmentation; a mirror it was not trained with warns) " +
      `(default ${DEFAULT_TTA})`,
    TTA_CHOICES,
  ),
  keepLargest: flag<boolean>(
    '--keep-largest',
    "keep only the largest 8-connected component of each mask (nnU-Net's post-processing)",
  ),
  minSize: flag(
    '--min-size <n>',
    'drop 8-connected components of fewer than n pixels from each mask (default 0: keep all)',
    fromLibrary(parseMinSize, '--min-size'),
  ),
  metrics: flag(
    '--metrics <list>',
    'columns of the ablation table, comma-separated, from ' +
      `${TABLE_METRICS.map((m) => TABLE_METRIC_NAMES[m].replace(/_/g, '-')).join(', ')} ` +
      `(default ${ABLATION_METRICS.join(',')}: the paper's)`,
    fromLibrary(parseTableMetrics, '--metrics'),
  ),
  quiet: flag<boolean>('--quiet', 'print nothing but errors'),
  json: flag<boolean>('--json', 'print one JSON line per epoch on stdout'),
};

/** One flag per augmentation transform: `--aug-rotate P[:MAGNITUDE]`. */
function augmentTransformFlags(): Record<
  AugmentFlagName,
  FlagSpec<{ p: number; magnitude?: number }>
> {
  const out = {} as Record<AugmentFlagName, FlagSpec<{ p: number; magnitude?: number }>>;
  for (const name of AUGMENT_TRANSFORMS) {
    const long = TRANSFORM_FLAGS[name];
    out[augmentFlagName(name)] = flag(
      `${long} <p[:m]>`,
      `probability of this transform (0: off), with --augment's level or alone; magnitude m: ` +
        TRANSFORM_MAGNITUDES[name],
      fromLibrary(parseTransformSetting, long),
    );
  }
  return out;
}

/** The commander name of a transform's flag: `augRotate` for `--aug-rotate`. */
export type AugmentFlagName = `aug${Capitalize<AugmentTransform>}`;

export function augmentFlagName(name: AugmentTransform): AugmentFlagName {
  return `aug${name[0].toUpperCase()}${name.slice(1)}` as AugmentFlagName;
}

/** The names of the transforms' flags, in the transforms' order. */
export const AUGMENT_FLAG_NAMES: readonly AugmentFlagName[] =
  AUGMENT_TRANSFORMS.map(augmentFlagName);

export type FlagName = keyof typeof FLAGS;

/** The parsed values of the shared flags; a flag not given is undefined. */
export type FlagValues = {
  [K in Exclude<FlagName, 'noCache'>]?: (typeof FLAGS)[K] extends FlagSpec<infer T> ? T : never;
};

/** The commander option of a shared flag. */
export function flagOption(name: FlagName, description?: string): Option {
  const spec: FlagSpec<unknown> = FLAGS[name];
  const option = new Option(spec.flags, description ?? spec.description);
  // `choices` makes --help list the values; the parser after it adds the suggestions.
  if (spec.choices) option.choices(spec.choices);
  if (spec.repeat) {
    const parse = spec.parse ?? ((text: string) => text);
    option.argParser((text: string, previous: unknown) => [
      ...((previous as unknown[] | undefined) ?? []),
      parse(text),
    ]);
  } else if (spec.parse) option.argParser(spec.parse);
  return option;
}

/**
 * Adds the named shared flags to `command`, in the order given (`cache` before `noCache`).
 * `descriptions` replaces a flag's help text where a command gives it another meaning.
 */
export function addFlags(
  command: Command,
  names: readonly FlagName[],
  descriptions: Partial<Record<FlagName, string>> = {},
): Command {
  for (const name of names) command.addOption(flagOption(name, descriptions[name]));
  return command;
}
