/**
 * The flags that several commands share, each written once: its commander flags, its help
 * text and its parser (from parse.ts). The training settings' flags are not written here: they
 * come from the settings schema (`TRAIN_SETTINGS`, src/run/settings_schema.ts), which defines
 * each one's flag, help and parser. A command adds the ones it takes with `addFlags`.
 *
 * No flag has a commander default: a flag that is not given stays undefined and the library
 * fills its default (`train` in src/run/train.ts, `resolveAblationSettings` for a study), so
 * that `--resume` can tell a given flag from a default one. The help texts read those
 * defaults from the library's constants; they never restate a number.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
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
import { QUANTIZATIONS } from '../export/metadata.js';
import { DEFAULT_TTA, TTA_CHOICES } from '../eval/ensemble.js';
import { parseMinSize } from '../util/components.js';
import {
  parseEmptyDistance,
  parseSpacing,
  type SurfaceOptions,
} from '../metrics/surface_policy.js';
import {
  SETTING_NAMES,
  TRAIN_SETTINGS,
  flagName,
  type Setting,
  type SettingName,
  type SettingValue,
  type TrainSettings,
} from '../run/settings_schema.js';
import { UserError } from '../errors.js';
import { choice, fromLibrary, parseWorkers, withoutFlagAndValue } from './parse.js';

export { presetDefaults } from '../run/settings_schema.js';

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

/** A flag's name as commander stores its value: `--loss-weights` → `lossWeights`. */
type Camel<S extends string> = S extends `${infer A}-${infer B}`
  ? `${A}${Camel<Capitalize<B>>}`
  : S;
type AttributeOf<F extends string> = F extends `--${infer N} ${string}`
  ? Camel<N>
  : F extends `--${infer N}`
    ? Camel<N>
    : never;

/** The name commander stores a setting's flag under (`lossWeights`), or undefined for none. */
export function settingAttribute(name: SettingName): string | undefined {
  const flag = flagName(name);
  if (flag === '') return undefined;
  return flag.slice(2).replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The flags of the training settings, by commander's names (see `settingAttribute`). */
type SettingFlags = {
  [K in SettingName as AttributeOf<TrainSettings[K]['flags']>]: FlagSpec<
    Exclude<SettingValue<TrainSettings[K]>, null>
  >;
};

/**
 * A setting's parser as an `argParser`: commander's error with what was expected (a library
 * parser's "--flag: expected x, got 'v'" loses the flag and the value, which commander names).
 */
function settingParser<T>(parse: (text: string) => T, flag: string): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      const m = err.message;
      throw new InvalidArgumentError(m.startsWith(flag) ? withoutFlagAndValue(m, flag, text) : m);
    }
  };
}

/** The flag of each training setting that has one, from the settings schema. */
function settingFlags(): SettingFlags {
  const out: Record<string, FlagSpec<unknown>> = {};
  for (const name of SETTING_NAMES) {
    const attribute = settingAttribute(name);
    if (attribute === undefined) continue;
    const s = TRAIN_SETTINGS[name] as Setting<unknown>;
    out[attribute] = flag(s.flags, s.help, settingParser(s.parse, flagName(name)), s.choices);
  }
  return out as SettingFlags;
}

/** The settings with a flag, by commander's name of the flag. */
export const SETTING_ATTRIBUTES: ReadonlyMap<string, SettingName> = new Map(
  SETTING_NAMES.flatMap((name) => {
    const attribute = settingAttribute(name);
    return attribute === undefined ? [] : [[attribute, name] as const];
  }),
);

/** The shared flags, by the name of the value commander stores (`opts()`). */
export const FLAGS = {
  ...settingFlags(),
  cache: flag<string | false>(
    '--cache <dir>',
    `preprocessing cache folder (default: ${DEFAULT_CACHE_HELP})`,
  ),
  noCache: flag<never>('--no-cache', 'do not use the preprocessing cache'),
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
  emptyDistance: flag(
    '--empty-distance <policy>',
    'HD95, ASSD and NSD of an image whose prediction or ground truth is empty: skip (left out ' +
      "of their means, counted), nan (MONAI's values: HD95 NaN, left out; ASSD inf where one " +
      'mask is empty, NaN where both are; NSD 0 and NaN) or penalty:N (N, in pixels or with ' +
      '--spacing in mm, where one mask is empty, 0 where both are; NSD 0 and 1), recorded in ' +
      'summary.json (default skip)',
    fromLibrary(parseEmptyDistance, '--empty-distance'),
  ),
  spacing: flag(
    '--spacing <sy,sx>',
    "a pixel's height and width in mm at the original size (one number for both): HD95 and " +
      'ASSD in mm, NSD within 2 pixels of the coarser axis (default: none, distances in pixels)',
    fromLibrary(parseSpacing, '--spacing'),
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

export type FlagName = keyof typeof FLAGS;

/** The parsed values of the shared flags; a flag not given is undefined. */
export type FlagValues = {
  [K in Exclude<FlagName, 'noCache'>]?: (typeof FLAGS)[K] extends FlagSpec<infer T> ? T : never;
};

/** The surface metrics' options of `--empty-distance` and `--spacing` (given ones only). */
export function surfaceOptionsFromFlags(
  f: Pick<FlagValues, 'emptyDistance' | 'spacing'>,
): SurfaceOptions {
  return {
    ...(f.emptyDistance !== undefined ? { emptyDistance: f.emptyDistance } : {}),
    ...(f.spacing !== undefined ? { spacing: f.spacing } : {}),
  };
}

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
