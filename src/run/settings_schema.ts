/**
 * The training settings, each defined once: its group, type and check, default, flag and help
 * text, its place in `train`'s options and in a run's config.json, whether `--resume` may
 * change it and whether an ablation study and its extra rows may set it. Everything else is
 * derived from `TRAIN_SETTINGS`:
 *
 * - the CLI flags and their help (src/cli/flags.ts turns each into a commander option);
 * - the options `train` takes (`TrainSettingOptions`, part of `TrainRunOptions`) and the
 *   mapping of flags to them (src/cli/commands/train.ts);
 * - the defaults of a new run (`resolveSettingValues`, used by settings.ts) and the
 *   config.json type and checker (`SettingsConfig`, `settingsConfigSchema`, used by config.ts);
 * - the flags `--resume` takes (`resume: true`);
 * - a study's settings (src/ablation/settings.ts: every setting with `study`), and the
 *   modifiers of its extra rows (`+<flag>=<value>`, src/ablation/variants.ts: `study: 'row'`).
 *
 * Adding a training option: an entry here and the code where it acts; the flag, config.json,
 * the study and the public types follow. Pure (no file I/O).
 */
import * as v from 'valibot';
import { UserError } from '../errors.js';
import {
  AUGMENT_LEVELS,
  AUGMENT_TRANSFORMS,
  DEFAULT_AUGMENT_LEVEL,
  parseTransformSetting,
  TRANSFORM_MAGNITUDES,
  type AugmentTransform,
} from '../data/augment.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import {
  DATASET_PRESETS,
  DATASET_SOURCE_KINDS,
  MAX_INPUT_SIDE,
  parseChannels,
  parseInputSize,
  type DatasetPreset,
  type SyntheticKind,
} from '../data/presets.js';
import { DEFAULT_FOLD, DEFAULT_TEST_FRACTION, DEFAULT_VAL_FRACTION } from '../data/splits.js';
import {
  DEFAULT_SYNTHETIC_COUNT,
  MAX_SYNTHETIC_COUNT,
  parseCount,
} from '../data/synthetic/generate.js';
import { DEFAULT_MAX_PIXELS, parseMaxPixels } from '../io/image.js';
import { DEFAULT_ALPHA, DEFAULT_GAMMA, defaultBeta } from '../losses/utils.js';
import {
  DEFAULT_BN_MOMENTUM,
  DEFAULT_MODEL,
  DEFAULT_WIDTH,
  MODEL_NAMES,
} from '../models/options.js';
import { DEFAULT_FREEZE, FREEZE_PARTS, type FreezePart } from '../models/freeze.js';
import { MODELS } from '../models/registry.js';
import { DEFAULT_TRAINING_WORKERS, MAX_WORKERS } from '../parallel/pool.js';
import { DEFAULT_MICRO_BATCH } from '../train/memory.js';
import { DEFAULT_BN_GROUP } from '../train/batch_norm.js';
import {
  DEFAULT_LOSS,
  DEFAULT_OBJECTIVE_SCOPE,
  DEFAULT_WEIGHTING,
  LOSS_NAMES,
  OBJECTIVE_SCOPES,
  WEIGHTINGS,
  type Weighting,
} from '../train/objective.js';
import {
  DEFAULT_DECAY,
  DEFAULT_LEARNING_RATE,
  DEFAULT_MOMENTUM,
  DEFAULT_OPTIMIZER,
  OPTIMIZER_NAMES,
} from '../train/optimizer.js';
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
  integer,
  invalidValue,
  parseFraction,
  parseNonNegativeNumber,
  parsePositiveNumber,
  parseRatio,
} from '../util/flag_values.js';

/**
 * The groups of settings. `evaluation` has none yet (the threshold and the recipe are the
 * model's, recorded with its export); `numerics` has none: the backend's numerical choices
 * (convolution algorithm, relaxed SIMD, filter-gradient path) are defined in
 * kernels/numerics.ts, given when a backend starts and recorded in config.json's `numerics` as
 * the run used them; `machine` settings are not recorded (or recorded as resolved).
 */
export const SETTING_GROUPS = [
  'data',
  'model',
  'loss',
  'optimizer',
  'schedule',
  'augmentation',
  'stopping',
  'evaluation',
  'numerics',
  'machine',
] as const;
export type SettingGroup = (typeof SETTING_GROUPS)[number];

/** What the defaults of a run depend on besides the other settings: its data set. */
export interface SettingContext {
  preset: DatasetPreset;
  /** The synthetic generator of the data set, or undefined for real data. */
  synthetic: SyntheticKind | undefined;
}

/** One setting. `T` is its value's type; `F` its flag, `O` its place in `train`'s options. */
export interface Setting<
  T,
  F extends string = string,
  O extends string = string,
  C extends string | undefined = string | undefined,
> {
  group: SettingGroup;
  /**
   * Commander's flags, e.g. `'--patience <n>'`, or '' for a setting that only the library and
   * the files set.
   */
  flags: F;
  /** The help text, ending in the default (read from the library's constants). */
  help: string;
  /**
   * The flag's value from its text; throws a `UserError` saying what was expected (it may name
   * the flag and the value: the CLI cuts them, see src/cli/parse.ts).
   */
  parse: (text: string) => T;
  /** The allowed values, listed by --help. */
  choices?: readonly string[];
  /** The check of a value given in code or read from a file; its messages start "must be". */
  check: v.GenericSchema<unknown, T>;
  /** Where `TrainRunOptions` holds it: `'patience'`, `'optimizer.learningRate'`. */
  option: O;
  /**
   * Where config.json records it (`'loss.alpha'`); absent: not recorded as given (a machine
   * setting, or one the run records resolved, as augmentation).
   */
  config?: C;
  /**
   * The value when none is given, from the settings before it (in `TRAIN_SETTINGS`' order)
   * and the data set; absent: none (the setting stays undefined, and config.json, if it
   * records it, does not).
   */
  default?: (before: Readonly<Record<string, unknown>>, context: SettingContext) => T;
  /** Whether `train --resume` may change it (otherwise the run's config.json holds). */
  resume: boolean;
  /**
   * Who in an ablation study may set it: `'row'` the study and each extra row (`+flag=value`),
   * `'study'` the study as a whole (data and split), false neither (the row's network and loss,
   * the machine's settings).
   */
  study: 'row' | 'study' | false;
  /**
   * For a setting added after the first versions of the files: the versions of config.json and
   * study.json that first record it, and the value that files written before it read as (the
   * one that reproduces how their runs trained: for an option that is off by default, off).
   * The files' versions and migration steps follow from it (`fileVersion`, `addSettings`).
   */
  added?: { config: number; study: number; before: T };
}

function setting<
  T,
  const F extends string,
  const O extends string,
  const C extends string | undefined = undefined,
>(spec: Setting<T, F, O, C>): Setting<T, F, O, C> & { config: C } {
  return spec as Setting<T, F, O, C> & { config: C };
}

/** The networks whose `final` output has its own loss, for `--loss`'s help (MODELS). */
function fixedFinalLosses(): string {
  return MODEL_NAMES.flatMap((n) => {
    const loss = MODELS[n].supervision.finalLoss;
    return loss === undefined ? [] : [`${n}: on pred1..3, ${loss} on final`];
  }).join('; ');
}

/** A value check with one message: "must be <what>". */
function must<T>(what: string, test: (x: unknown) => boolean): v.GenericSchema<unknown, T> {
  return v.custom<T>(test, `must be ${what}`) as unknown as v.GenericSchema<unknown, T>;
}

const isInteger = (x: unknown, min: number, max = Number.MAX_SAFE_INTEGER): boolean =>
  Number.isSafeInteger(x) && (x as number) >= min && (x as number) <= max;
const isNumber = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

const integerAtLeast = (min: number) =>
  must<number>(`an integer >= ${min}`, (x) => isInteger(x, min));
const positiveNumber = must<number>('a positive number', (x) => isNumber(x) && x > 0);
const nonNegativeNumber = must<number>('a number >= 0', (x) => isNumber(x) && x >= 0);
const fraction = must<number>('a number in [0, 1)', (x) => isNumber(x) && x >= 0 && x < 1);
const oneOf = <T extends string>(values: readonly T[]) =>
  must<T>(`one of ${values.join(', ')}`, (x) => (values as readonly unknown[]).includes(x));
/** A setting that is off by default: its value, or null for off. */
const orNull = <T>(schema: v.GenericSchema<unknown, T>, what: string) =>
  must<T | null>(`${what} or null`, (x) => x === null || v.is(schema, x));

/** `--micro-batch`'s and `--batch-size`'s bound (a sanity bound against typos). */
export const MAX_BATCH_SIZE = 4096;

/** A batch size: an integer from 1 to 4096. */
export const parseBatchSize = integer(1, MAX_BATCH_SIZE);

/** `--workers`: an integer from 1 to 256. */
export const parseWorkers = integer(1, MAX_WORKERS);

/** `--micro-batch`: 'auto' or a batch size. */
export function parseMicroBatch(text: string): number | 'auto' {
  if (text.trim() === 'auto') return 'auto';
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= MAX_BATCH_SIZE)) {
    invalidValue(`Expected 'auto' or an integer from 1 to ${MAX_BATCH_SIZE}.`);
  }
  return n;
}

/** Deep supervision weights: a named weighting or one non-negative number per output. */
export function parseWeights(text: string): Weighting | number[] {
  if ((WEIGHTINGS as readonly string[]).includes(text)) return text as Weighting;
  const parts = text.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (parts.some((n) => !Number.isFinite(n) || n < 0)) {
    invalidValue(`Expected ${WEIGHTINGS.join(' or ')} or non-negative numbers such as 1,1,1,1.`);
  }
  return parts;
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

/** A transform's name as its flag spells it: `flipH` → `flip-h`. */
const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The setting of one augmentation transform: `--aug-rotate P[:MAGNITUDE]`. */
function transformSetting<N extends AugmentTransform>(name: N) {
  const flag = `--aug-${kebab(name)}` as `--aug-${string}`;
  return setting({
    group: 'augmentation',
    flags: `${flag} <p[:m]>`,
    help:
      `probability of this transform (0: off), with --augment's level or alone; magnitude m: ` +
      TRANSFORM_MAGNITUDES[name],
    parse: (text) => parseTransformSetting(text, flag),
    check: must<{ p: number; magnitude?: number }>(
      '{"p": <0 to 1>, "magnitude": <number >= 0, optional>}',
      (x) => {
        const s = x as { p?: unknown; magnitude?: unknown } | null;
        return (
          typeof s === 'object' &&
          s !== null &&
          isNumber(s.p) &&
          s.p >= 0 &&
          s.p <= 1 &&
          (s.magnitude === undefined || (isNumber(s.magnitude) && s.magnitude >= 0))
        );
      },
    ),
    option: `augmentTransforms.${name}`,
    resume: false,
    study: 'row',
  });
}

/** The settings of every transform, by their names (`augFlipH`, ...): see `transformSetting`. */
function transformSettings() {
  const out = {} as {
    [N in AugmentTransform as `aug${Capitalize<N>}`]: ReturnType<typeof transformSetting<N>>;
  };
  for (const name of AUGMENT_TRANSFORMS) {
    const key =
      `aug${name[0].toUpperCase()}${name.slice(1)}` as `aug${Capitalize<AugmentTransform>}`;
    (out as Record<string, unknown>)[key] = transformSetting(name);
  }
  return out;
}

/**
 * Every training setting, by its name (the name a study's settings use). The order is the
 * order of --help, and of the defaults: a default reads only the settings before it.
 */
export const TRAIN_SETTINGS = {
  dataset: setting({
    group: 'data',
    flags: '--dataset <name>',
    help: 'data set',
    parse: choice(DATASET_SOURCE_KINDS),
    choices: DATASET_SOURCE_KINDS,
    check: oneOf<DatasetSourceKind>(DATASET_SOURCE_KINDS),
    option: 'dataset',
    config: 'dataset.kind',
    resume: false,
    study: 'study',
  }),
  data: setting({
    group: 'data',
    flags: '--data <dir>',
    help: 'data folder (synthetic data sets: where to write them, default: data inside --out)',
    parse: (text) => text,
    check: must<string>("the data folder's path", (x) => typeof x === 'string' && x !== ''),
    option: 'data',
    config: 'dataset.data',
    resume: false,
    study: 'study',
  }),
  model: setting({
    group: 'model',
    flags: '--model <name>',
    help: `network (default ${DEFAULT_MODEL})`,
    parse: choice(MODEL_NAMES),
    choices: MODEL_NAMES,
    check: oneOf(MODEL_NAMES),
    default: () => DEFAULT_MODEL,
    option: 'model',
    config: 'model.name',
    resume: false,
    study: false,
  }),
  loss: setting({
    group: 'loss',
    flags: '--loss <name>',
    help: `loss (default ${DEFAULT_LOSS}; ${fixedFinalLosses()})`,
    parse: choice(LOSS_NAMES),
    choices: LOSS_NAMES,
    check: oneOf(LOSS_NAMES),
    default: () => DEFAULT_LOSS,
    option: 'loss',
    config: 'loss.name',
    resume: false,
    study: false,
  }),
  epochs: setting({
    group: 'stopping',
    flags: '--epochs <n>',
    help: `epochs (${presetDefaults((p) => String(p.epochs))})`,
    parse: integer(1),
    check: integerAtLeast(1),
    default: (_, c) => c.preset.epochs,
    option: 'epochs',
    config: 'epochs',
    resume: true,
    study: 'row',
  }),
  batchSize: setting({
    group: 'optimizer',
    flags: '--batch-size <n>',
    help: `images per update (${presetDefaults((p) => String(p.batchSize))})`,
    parse: parseBatchSize,
    check: integerAtLeast(1),
    default: (_, c) => c.preset.batchSize,
    option: 'batchSize',
    config: 'batchSize',
    resume: false,
    study: 'row',
  }),
  microBatch: setting({
    group: 'machine',
    flags: '--micro-batch <n>',
    help: `images per forward/backward pass, or 'auto': what fits in memory (default ${DEFAULT_MICRO_BATCH})`,
    parse: parseMicroBatch,
    check: must<number | 'auto'>(
      `'auto' or an integer from 1 to ${MAX_BATCH_SIZE}`,
      (x) => x === 'auto' || isInteger(x, 1, MAX_BATCH_SIZE),
    ),
    option: 'microBatch',
    resume: false,
    study: false,
  }),
  workers: setting({
    group: 'machine',
    flags: '--workers <n>',
    help:
      'data-parallel worker threads, each with its own backend and model replica (default ' +
      `${DEFAULT_TRAINING_WORKERS} on every machine, so that a seeded run is the same anywhere; ` +
      'more use more cores and change the last bits; 1 on the tensorflow backend)',
    parse: parseWorkers,
    check: must<number>(`an integer from 1 to ${MAX_WORKERS}`, (x) => isInteger(x, 1, MAX_WORKERS)),
    option: 'workers',
    resume: true,
    study: false,
  }),
  inputSize: setting({
    group: 'data',
    flags: '--input-size <h,w>',
    help: `network input rows,cols (${presetDefaults((p) => p.inputSize.join(','))})`,
    parse: (text) => parseInputSize(text, '--input-size'),
    check: must<[number, number]>(
      `two integers from 1 to ${MAX_INPUT_SIDE}`,
      (x) => Array.isArray(x) && x.length === 2 && x.every((n) => isInteger(n, 1, MAX_INPUT_SIDE)),
    ),
    default: (_, c) => [...c.preset.inputSize] as [number, number],
    option: 'inputSize',
    config: 'dataset.inputSize',
    resume: false,
    study: 'study',
  }),
  channels: setting({
    group: 'data',
    flags: '--channels <c>',
    help: `1 (grey) or 3 (RGB) (${presetDefaults((p) => String(p.channels))})`,
    parse: (text) => parseChannels(text, '--channels'),
    check: must<1 | 3>('1 or 3', (x) => x === 1 || x === 3),
    default: (_, c) => c.preset.channels,
    option: 'channels',
    config: 'dataset.channels',
    resume: false,
    study: 'study',
  }),
  width: setting({
    group: 'model',
    flags: '--width <multiplier>',
    help: `width multiplier of every filter count (default ${DEFAULT_WIDTH})`,
    parse: parsePositiveNumber,
    check: positiveNumber,
    default: () => DEFAULT_WIDTH,
    option: 'width',
    config: 'model.width',
    resume: false,
    study: 'row',
  }),
  bnMomentum: setting({
    group: 'model',
    flags: '--bn-momentum <m>',
    help: `BatchNormalization momentum (default ${DEFAULT_BN_MOMENTUM}, as Keras; short runs: 0.9)`,
    parse: parseFraction,
    check: fraction,
    default: () => DEFAULT_BN_MOMENTUM,
    option: 'bnMomentum',
    config: 'model.bnMomentum',
    resume: false,
    study: 'row',
  }),
  bnGroup: setting({
    group: 'model',
    flags: '--bn-group <n>',
    help:
      "images per BatchNorm statistics group in training: 0, the whole batch's statistics as " +
      'the reference, however the batch is split among workers and passes (default 0); n: ' +
      'ghost batch normalisation over groups of n images from the batch start',
    parse: integer(0),
    check: integerAtLeast(0),
    default: () => DEFAULT_BN_GROUP,
    option: 'bnGroup',
    config: 'model.bnGroup',
    resume: false,
    study: 'row',
    added: { config: 3, study: 3, before: DEFAULT_BN_GROUP },
  }),
  initFrom: setting({
    group: 'model',
    flags: '--init-from <dir>',
    help:
      'start from the weights of this model (a model folder, or a run folder: its best model), ' +
      'every weight matched by layer name and shape, to fine-tune it (default: none, weights ' +
      'from the seed)',
    parse: (text) => text,
    check: orNull(
      must<string>("a model folder's path", (x) => typeof x === 'string' && x !== ''),
      "a model folder's path",
    ),
    default: () => null,
    option: 'initFrom',
    config: 'model.initFrom',
    resume: false,
    study: false,
    added: { config: 4, study: 3, before: null },
  }),
  freeze: setting({
    group: 'model',
    flags: '--freeze <part>',
    help:
      'layers held fixed in training: none, or encoder (the contracting path and bottleneck; ' +
      `their BatchNorm keeps its moving statistics) (default ${DEFAULT_FREEZE})`,
    parse: choice(FREEZE_PARTS),
    choices: FREEZE_PARTS,
    check: oneOf<FreezePart>(FREEZE_PARTS),
    default: () => DEFAULT_FREEZE,
    option: 'freeze',
    config: 'model.freeze',
    resume: false,
    study: false,
    added: { config: 4, study: 3, before: DEFAULT_FREEZE },
  }),
  alpha: setting({
    group: 'loss',
    flags: '--alpha <a>',
    help: `Tversky weight of false negatives (default ${DEFAULT_ALPHA})`,
    parse: parseFraction,
    check: fraction,
    default: () => DEFAULT_ALPHA,
    option: 'alpha',
    config: 'loss.alpha',
    resume: false,
    study: 'row',
  }),
  beta: setting({
    group: 'loss',
    flags: '--beta <b>',
    help: 'Tversky weight of false positives (default 1 - alpha)',
    parse: parseFraction,
    check: fraction,
    default: (s) => defaultBeta(s.alpha as number),
    option: 'beta',
    config: 'loss.beta',
    resume: false,
    study: 'row',
  }),
  gamma: setting({
    group: 'loss',
    flags: '--gamma <g>',
    help:
      'focal parameter: FTL = (1 - TI)^(1/gamma), a number or a ratio such as 4/3 ' +
      `(default ${Number(DEFAULT_GAMMA.toFixed(6))})`,
    parse: parseRatio,
    check: positiveNumber,
    default: () => DEFAULT_GAMMA,
    option: 'gamma',
    config: 'loss.gamma',
    resume: false,
    study: 'row',
  }),
  weights: setting({
    group: 'loss',
    flags: '--loss-weights <w>',
    help: `deep supervision weights: ${WEIGHTINGS.join(', ')} or a,b,c,d (default ${DEFAULT_WEIGHTING})`,
    parse: parseWeights,
    check: must<Weighting | number[]>(
      `${WEIGHTINGS.join(' or ')} or a list of numbers >= 0`,
      (x) =>
        (WEIGHTINGS as readonly unknown[]).includes(x) ||
        (Array.isArray(x) && x.every((w) => isNumber(w) && w >= 0)),
    ),
    default: () => DEFAULT_WEIGHTING,
    option: 'weights',
    config: 'loss.weights',
    resume: false,
    study: 'row',
  }),
  objectiveScope: setting({
    group: 'loss',
    flags: '--objective-scope <scope>',
    help:
      'where each loss index is computed: batch (one over the whole batch, as the reference) or ' +
      `pass (per forward pass, summed; faster when a batch is split) (default ${DEFAULT_OBJECTIVE_SCOPE})`,
    parse: choice(OBJECTIVE_SCOPES),
    choices: OBJECTIVE_SCOPES,
    check: oneOf(OBJECTIVE_SCOPES),
    default: () => DEFAULT_OBJECTIVE_SCOPE,
    option: 'objectiveScope',
    config: 'objectiveScope',
    resume: false,
    study: 'row',
  }),
  optimizer: setting({
    group: 'optimizer',
    flags: '--optimizer <name>',
    help: `optimizer (default ${DEFAULT_OPTIMIZER})`,
    parse: choice(OPTIMIZER_NAMES),
    choices: OPTIMIZER_NAMES,
    check: oneOf(OPTIMIZER_NAMES),
    default: () => DEFAULT_OPTIMIZER,
    option: 'optimizer.name',
    config: 'optimizer.name',
    resume: false,
    study: 'row',
  }),
  learningRate: setting({
    group: 'optimizer',
    flags: '--lr <rate>',
    help: `initial learning rate (default: ${OPTIMIZER_NAMES.map(
      (name) => `${name} ${DEFAULT_LEARNING_RATE[name]}`,
    ).join(', ')})`,
    parse: parsePositiveNumber,
    check: positiveNumber,
    default: (s) => DEFAULT_LEARNING_RATE[s.optimizer as (typeof OPTIMIZER_NAMES)[number]],
    option: 'optimizer.learningRate',
    config: 'optimizer.learningRate',
    resume: false,
    study: 'row',
  }),
  decay: setting({
    group: 'optimizer',
    flags: '--decay <d>',
    help: `Keras time decay per update: lr / (1 + decay * t) (default ${DEFAULT_DECAY})`,
    parse: parseNonNegativeNumber,
    check: nonNegativeNumber,
    default: () => DEFAULT_DECAY,
    option: 'optimizer.decay',
    config: 'optimizer.decay',
    resume: false,
    study: 'row',
  }),
  momentum: setting({
    group: 'optimizer',
    flags: '--momentum <m>',
    help: `SGD momentum (default ${DEFAULT_MOMENTUM})`,
    parse: parseFraction,
    check: fraction,
    default: () => DEFAULT_MOMENTUM,
    option: 'optimizer.momentum',
    config: 'optimizer.momentum',
    resume: false,
    study: 'row',
  }),
  beta1: setting({
    group: 'optimizer',
    flags: '',
    help: "Adam's beta1 (default 0.9)",
    parse: parseFraction,
    check: fraction,
    default: () => 0.9,
    option: 'optimizer.beta1',
    config: 'optimizer.beta1',
    resume: false,
    study: 'row',
  }),
  beta2: setting({
    group: 'optimizer',
    flags: '',
    help: "Adam's beta2 (default 0.999)",
    parse: parseFraction,
    check: fraction,
    default: () => 0.999,
    option: 'optimizer.beta2',
    config: 'optimizer.beta2',
    resume: false,
    study: 'row',
  }),
  gradClip: setting({
    group: 'optimizer',
    flags: '--grad-clip <n>',
    help:
      "clip the gradient's global norm (over every weight, of the whole batch) to n before " +
      'each update (default: none)',
    parse: parsePositiveNumber,
    check: orNull(positiveNumber, 'a positive number'),
    default: () => null,
    option: 'optimizer.gradClip',
    config: 'optimizer.gradClip',
    resume: false,
    study: 'row',
    added: { config: 2, study: 2, before: null },
  }),
  schedule: setting({
    group: 'schedule',
    flags: '--schedule <name>',
    help:
      'learning-rate schedule: keras-decay (the paper: lr / (1 + decay * t) per update), poly ' +
      `(nnU-Net: lr * (1 - epoch/epochs)^${POLY_EXPONENT}), cosine (to zero), plateau (divided ` +
      `when the validation DSC stops improving) (default ${DEFAULT_SCHEDULE})`,
    parse: choice(SCHEDULE_NAMES),
    choices: SCHEDULE_NAMES,
    check: oneOf(SCHEDULE_NAMES),
    default: () => DEFAULT_SCHEDULE,
    option: 'schedule.name',
    config: 'schedule.name',
    resume: false,
    study: 'row',
  }),
  warmupEpochs: setting({
    group: 'schedule',
    flags: '--warmup <epochs>',
    help: 'epochs of linear learning-rate warm-up before the schedule (default 0)',
    parse: integer(0),
    check: integerAtLeast(0),
    default: () => 0,
    option: 'schedule.warmupEpochs',
    config: 'schedule.warmupEpochs',
    resume: false,
    study: 'row',
  }),
  plateauPatience: setting({
    group: 'schedule',
    flags: '--plateau-patience <n>',
    help: `--schedule plateau: epochs without improvement before the rate is divided (default ${DEFAULT_PLATEAU_PATIENCE})`,
    parse: integer(1),
    check: integerAtLeast(1),
    default: () => DEFAULT_PLATEAU_PATIENCE,
    option: 'schedule.plateauPatience',
    config: 'schedule.plateauPatience',
    resume: false,
    study: 'row',
  }),
  plateauFactor: setting({
    group: 'schedule',
    flags: '--plateau-factor <f>',
    help: `--schedule plateau: what the rate is divided by, > 1 (default ${DEFAULT_PLATEAU_FACTOR})`,
    parse: parsePositiveNumber,
    check: must<number>('a number > 1', (x) => isNumber(x) && x > 1),
    default: () => DEFAULT_PLATEAU_FACTOR,
    option: 'schedule.plateauFactor',
    config: 'schedule.plateauFactor',
    resume: false,
    study: 'row',
  }),
  patience: setting({
    group: 'stopping',
    flags: '--patience <n>',
    help:
      'early stopping: end training when the validation DSC of final has not improved for n ' +
      'epochs (default: none, train every epoch)',
    parse: integer(1),
    check: orNull(integerAtLeast(1), 'an integer >= 1'),
    default: () => null,
    option: 'patience',
    config: 'patience',
    resume: false,
    study: 'row',
  }),
  augment: setting({
    group: 'augmentation',
    flags: '--augment <level>',
    help:
      'augmentation of the training images (never validation or test): none (the paper), light, ' +
      "default (nnU-Net's kinds) or heavy; the data set's preset leaves out what does not fit " +
      `(bus: no vertical flip or quarter turn) (default ${DEFAULT_AUGMENT_LEVEL})`,
    parse: choice(AUGMENT_LEVELS),
    choices: AUGMENT_LEVELS,
    check: oneOf(AUGMENT_LEVELS),
    default: () => DEFAULT_AUGMENT_LEVEL,
    option: 'augment',
    config: 'augment.level',
    resume: false,
    study: 'row',
  }),
  ...transformSettings(),
  valFraction: setting({
    group: 'data',
    flags: '--val-fraction <f>',
    help: `fraction of the training items held out for validation (default ${DEFAULT_VAL_FRACTION})`,
    parse: parseFraction,
    check: fraction,
    option: 'valFraction',
    resume: false,
    study: 'study',
  }),
  testFraction: setting({
    group: 'data',
    flags: '--test-fraction <f>',
    help: `fraction of the items held out for testing (default ${DEFAULT_TEST_FRACTION})`,
    parse: parseFraction,
    check: fraction,
    option: 'testFraction',
    resume: false,
    study: false,
  }),
  fold: setting({
    group: 'data',
    flags: '--fold <k>',
    help: `which fold of the split to train (default ${DEFAULT_FOLD})`,
    parse: integer(0),
    check: integerAtLeast(0),
    default: () => DEFAULT_FOLD,
    option: 'fold',
    config: 'split.fold',
    resume: false,
    study: false,
  }),
  seed: setting({
    group: 'data',
    flags: '--seed <s>',
    help: `seed of the split, weights, order and synthetic data, 0 to ${MAX_SEED} (default ${DEFAULT_SEED})`,
    parse: (text) => parseSeed(text, '--seed'),
    check: must<number>(`an integer from 0 to ${MAX_SEED}`, (x) => isInteger(x, 0, MAX_SEED)),
    default: () => DEFAULT_SEED,
    option: 'seed',
    config: 'seed',
    resume: false,
    study: 'study',
  }),
  cache: setting({
    group: 'machine',
    flags: '--cache <dir>',
    help: 'preprocessing cache folder',
    parse: (text): string | false => text,
    check: must<string | false>('a folder or false', (x) => typeof x === 'string' || x === false),
    option: 'cache',
    resume: false,
    study: false,
  }),
  maskSuffix: setting({
    group: 'data',
    flags: '--mask-suffix <s>',
    help: "folder data sets: mask file stem suffix, e.g. '_segmentation'",
    parse: (text) => text,
    check: must<string>('a string', (x) => typeof x === 'string'),
    default: () => '',
    option: 'maskSuffix',
    config: 'dataset.maskSuffix',
    resume: false,
    study: 'study',
  }),
  interpolation: setting({
    group: 'data',
    flags: '--interpolation <mode>',
    help: `image resizing (default ${DEFAULT_INTERPOLATION})`,
    parse: choice(INTERPOLATIONS),
    choices: INTERPOLATIONS,
    check: oneOf(INTERPOLATIONS),
    default: () => DEFAULT_INTERPOLATION,
    option: 'interpolation',
    config: 'dataset.interpolation',
    resume: false,
    study: 'study',
  }),
  maxPixels: setting({
    group: 'machine',
    flags: '--max-pixels <n>',
    help:
      'refuse images and masks with more pixels than this, read from the file header before ' +
      `decoding (default ${DEFAULT_MAX_PIXELS}, ${DEFAULT_MAX_PIXELS / 1e6} megapixels)`,
    parse: (text) => parseMaxPixels(text, '--max-pixels'),
    check: must<number>('a positive integer', (x) => isInteger(x, 1)),
    option: 'maxPixels',
    resume: true,
    study: false,
  }),
  syntheticCount: setting({
    group: 'data',
    flags: '--count <n>',
    help: `synthetic data sets: number of items (default: ${syntheticCounts})`,
    parse: (text) => parseCount(text, '--count'),
    check: must<number>(`a whole number from 1 to ${MAX_SYNTHETIC_COUNT}`, (x) =>
      isInteger(x, 1, MAX_SYNTHETIC_COUNT),
    ),
    default: (_, c) =>
      (c.synthetic === undefined ? undefined : DEFAULT_SYNTHETIC_COUNT[c.synthetic]) as number,
    option: 'syntheticCount',
    resume: false,
    study: 'study',
  }),
};

export type TrainSettings = typeof TRAIN_SETTINGS;
export type SettingName = keyof TrainSettings;

/** The value type of a setting. */
export type SettingValue<S> =
  S extends Setting<infer T, string, string, string | undefined> ? T : never;

/** Every setting's value (undefined: none given and no default). */
export type SettingValues = { [K in SettingName]: SettingValue<TrainSettings[K]> };

/** The names of the settings, in their order. */
export const SETTING_NAMES = Object.keys(TRAIN_SETTINGS) as SettingName[];

/** A setting by name, typed loosely (for code that walks every setting). */
export function settingOf(name: SettingName): Setting<unknown> {
  return TRAIN_SETTINGS[name] as Setting<unknown>;
}

// ---------------------------------------------------------------------------------------------
// The options of `train`, derived: a setting at `'patience'` is `options.patience`, one at
// `'optimizer.learningRate'` is `options.optimizer.learningRate`.

type OptionOf<K extends SettingName> = TrainSettings[K]['option'];
type TopOptions = {
  [
    K in SettingName as OptionOf<K> extends `${string}.${string}` ? never : OptionOf<K>
  ]?: SettingValue<TrainSettings[K]>;
};
type Containers = {
  [K in SettingName]: OptionOf<K> extends `${infer P}.${string}` ? P : never;
}[SettingName];
type ContainerOptions<P extends string> = {
  [K in SettingName as OptionOf<K> extends `${P}.${infer R}` ? R : never]?: SettingValue<
    TrainSettings[K]
  >;
};

/** The settings `train` takes, every one optional (see `TRAIN_SETTINGS` for the defaults). */
export type TrainSettingOptions = TopOptions & { [P in Containers]?: ContainerOptions<P> };

/** The value at a dotted `path` of `object`, or undefined. */
export function getPath(object: unknown, path: string): unknown {
  let at: unknown = object;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/** Sets the value at a dotted `path` of `object`, making the objects on the way. */
export function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at = object;
  for (const key of keys.slice(0, -1)) {
    if (typeof at[key] !== 'object' || at[key] === null) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[keys[keys.length - 1]] = value;
}

/** The settings given in `options` (train's options), by name: undefined ones left out. */
export function settingsOfOptions(options: object): Partial<SettingValues> {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const value = getPath(options, TRAIN_SETTINGS[name].option);
    if (value !== undefined) out[name] = value;
  }
  return out as Partial<SettingValues>;
}

/** `train`'s options holding `values` (undefined ones left out). */
export function optionsOfSettings(values: Partial<SettingValues>): TrainSettingOptions {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const value = values[name];
    if (value !== undefined) setPath(out, TRAIN_SETTINGS[name].option, value);
  }
  return out as TrainSettingOptions;
}

/** The flag of a setting, without its argument: `--patience` ('' for none). */
export function flagName(name: SettingName): string {
  return TRAIN_SETTINGS[name].flags.split(' ')[0];
}

/** How a setting is named in messages: its flag, else its name. */
export function settingLabel(name: SettingName): string {
  return flagName(name) || name;
}

/** Checks one setting's value; throws a `UserError` "<flag>: must be ..., got X". */
export function checkSetting<K extends SettingName>(name: K, value: unknown): SettingValues[K] {
  const result = v.safeParse(TRAIN_SETTINGS[name].check, value);
  if (result.success) return result.output as SettingValues[K];
  const got = value === undefined ? 'nothing' : JSON.stringify(value);
  throw new UserError(`${settingLabel(name)}: ${result.issues[0].message}, got ${got}`);
}

/**
 * The settings with every default filled in (in `TRAIN_SETTINGS`' order) and every value
 * checked; `names` limits it to some settings (e.g. a study's). Throws a `UserError` naming the
 * flag of the first bad value.
 */
export function resolveSettingValues(
  given: Partial<SettingValues>,
  context: SettingContext,
  names: readonly SettingName[] = SETTING_NAMES,
): Partial<SettingValues> {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    if (!names.includes(name)) continue;
    const s = settingOf(name);
    const value = given[name] ?? (given[name] === null ? null : s.default?.(out, context));
    if (value === undefined) continue;
    out[name] = checkSetting(name, value);
  }
  return out as Partial<SettingValues>;
}

/** The context of a data set's defaults. */
export function settingContext(dataset: DatasetSourceKind): SettingContext {
  const preset = (DATASET_PRESETS as Partial<Record<string, DatasetPreset>>)[dataset];
  if (preset === undefined) {
    throw new UserError(
      `--dataset: unknown data set '${String(dataset)}'; expected one of ${DATASET_SOURCE_KINDS.join(', ')}`,
    );
  }
  return { preset, synthetic: preset.synthetic };
}

// ---------------------------------------------------------------------------------------------
// config.json, derived: a setting at config path 'loss.alpha' is `config.loss.alpha`.

/** A setting's config path, or `'-'` for one that config.json does not record. */
type ConfigOf<K extends SettingName> = TrainSettings[K]['config'] extends infer C extends string
  ? C
  : '-';
type ConfigTop = {
  [
    K in SettingName as ConfigOf<K> extends `${string}.${string}` | '-' ? never : ConfigOf<K>
  ]: SettingValue<TrainSettings[K]>;
};
type ConfigContainers = {
  [K in SettingName]: ConfigOf<K> extends `${infer P}.${string}` ? P : never;
}[SettingName];
type ConfigContainer<P extends string> = {
  [K in SettingName as ConfigOf<K> extends `${P}.${infer R}` ? R : never]: SettingValue<
    TrainSettings[K]
  >;
};

/** What config.json records of the settings (see `TRAIN_SETTINGS`' `config`). */
export type SettingsConfig = ConfigTop & { [P in ConfigContainers]: ConfigContainer<P> };

/** The settings that config.json records, in their order. */
export const RECORDED_SETTINGS = SETTING_NAMES.filter((n) => settingOf(n).config !== undefined);

/** `config` with every recorded setting of `values` placed at its path. */
export function placeSettings(
  config: Record<string, unknown>,
  values: Partial<SettingValues>,
): void {
  for (const name of RECORDED_SETTINGS) {
    const value = values[name];
    if (value !== undefined) setPath(config, settingOf(name).config as string, value);
  }
}

/**
 * A valibot object of `entries` whose unknown fields are kept; a missing field is reported with
 * its own check's message ("must be ..."), not the object's, and something not an object with
 * "must be <what>".
 */
export function fieldsObject(
  entries: Readonly<Record<string, v.GenericSchema>>,
  what = 'an object',
): v.GenericSchema<unknown, Record<string, unknown>> {
  const schema = v.looseObject(entries, (issue) => {
    const key = issue.path?.[issue.path.length - 1]?.key;
    const entry = typeof key === 'string' && issue.input === undefined ? entries[key] : undefined;
    const e = entry as { missing?: unknown; message?: unknown } | undefined;
    const message = e?.missing ?? e?.message;
    return typeof message === 'string' ? message : `must be ${what}`;
  });
  // What a parent object says when this one is missing.
  return Object.assign(schema, { missing: `must be ${what}` }) as unknown as v.GenericSchema<
    unknown,
    Record<string, unknown>
  >;
}

/**
 * `output` (a checked copy of `input`) with its fields in `input`'s order, at every depth
 * (valibot lists an object's known fields first); fields `input` lacks come last.
 */
export function inInputOrder<T>(input: unknown, output: T): T {
  const isObject = (x: unknown): x is Record<string, unknown> =>
    typeof x === 'object' && x !== null && !Array.isArray(x);
  if (!isObject(input) || !isObject(output)) return output;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(input)) {
    if (key in output) out[key] = inInputOrder(input[key], output[key]);
  }
  for (const key of Object.keys(output)) if (!(key in out)) out[key] = output[key];
  return out as T;
}

/**
 * The valibot schema of the recorded settings in config.json: an object per container, each
 * setting's check at its path; `extra` adds checks of fields that are not settings (by
 * container, '' for the top level). Unknown fields are kept.
 */
export function settingsConfigSchema(
  extra: Readonly<Record<string, Readonly<Record<string, v.GenericSchema>>>> = {},
  names: readonly SettingName[] = RECORDED_SETTINGS,
): v.GenericSchema<unknown, Record<string, unknown>> {
  const top: Record<string, v.GenericSchema> = { ...(extra[''] ?? {}) };
  const nested: Record<string, Record<string, v.GenericSchema>> = {};
  for (const name of names) {
    const [head, rest] = (settingOf(name).config as string).split('.');
    if (rest === undefined) top[head] = settingOf(name).check;
    else (nested[head] ??= {})[rest] = settingOf(name).check;
  }
  for (const [container, fields] of Object.entries(extra)) {
    if (container !== '') nested[container] = { ...(nested[container] ?? {}), ...fields };
  }
  for (const [container, fields] of Object.entries(nested)) {
    top[container] = fieldsObject(fields);
  }
  return fieldsObject(top, 'a JSON object');
}

// ---------------------------------------------------------------------------------------------
// Settings added to the files: their versions and migration steps follow from `added`.

/** The files that record settings: a run's config.json and a study's study.json. */
export type SettingsFile = 'config' | 'study';

/**
 * The version of `file` this program writes: `base` (the file's own version, for changes that
 * are not a setting's), or the latest version that adds a setting.
 */
export function fileVersion(file: SettingsFile, base: number): number {
  return Math.max(base, ...SETTING_NAMES.map((n) => settingOf(n).added?.[file] ?? 0));
}

/**
 * The migration steps of `file` up to `version`: each version's step of `steps` (none: no
 * change), then the settings that version adds, set to their `before` values where the file
 * lacks them. `place` gives a setting's place in the file (a dotted path).
 */
export function settingMigrations(
  file: SettingsFile,
  version: number,
  steps: Readonly<
    Record<number, (old: Readonly<Record<string, unknown>>) => Record<string, unknown>>
  >,
  place: (name: SettingName) => string | undefined,
): Record<number, (old: Readonly<Record<string, unknown>>) => Record<string, unknown>> {
  const out: Record<number, (old: Readonly<Record<string, unknown>>) => Record<string, unknown>> =
    {};
  for (let from = 1; from < version; from++) {
    out[from] = (old) => {
      const next = structuredClone(steps[from]?.(old) ?? { ...old });
      for (const name of SETTING_NAMES) {
        const added = settingOf(name).added;
        const at = place(name);
        if (added?.[file] !== from + 1 || at === undefined) continue;
        // Only into a group the file has (a file without an optimiser records no training).
        const parent = at.includes('.') ? getPath(next, at.slice(0, at.lastIndexOf('.'))) : next;
        if (typeof parent !== 'object' || parent === null) continue;
        if (getPath(next, at) === undefined) setPath(next, at, added.before);
      }
      return next;
    };
  }
  return out;
}
