/**
 * The run folder that `ftunet train --out RUN_DIR` writes, as far as evaluation needs it, and a
 * typed reader of its `config.json`:
 *
 * - `config.json`: `{"format": "ftunet-run", "version": 1, "model": {...}, "dataset": {...},
 *   "split": {"file": "split.json", "fold": 0}, ...}` (see `RunConfig`);
 * - the split file named by `split.file` (relative to the run folder);
 * - `best/`: the model with the best validation DSC (a `loadModel` folder);
 * - `eval/`: what `ftunet evaluate --run` writes.
 *
 * `parseRunConfig` checks a parsed value (pure); `readRunConfig` reads the file (Node-only).
 * Fields this module does not know (loss, optimiser, ...) are kept as they are.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { UserError } from '../errors.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import { recordedNumerics, type Numerics } from '../kernels/numerics.js';
import type { ModelName } from '../models/options.js';
import type { InitRecord } from './init_from.js';
import {
  AUGMENT_TRANSFORMS,
  TRANSFORM_SETTING_SCHEMA,
  type AugmentConfig,
} from '../data/augment.js';
import type { Interpolation } from '../util/raster.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned } from '../util/versioned.js';
import { MAX_WORKERS } from '../parallel/pool.js';
import {
  fileVersion,
  inInputOrder,
  settingMigrations,
  settingOf,
  settingsConfigSchema,
  type SettingsConfig,
} from './settings_schema.js';

/** The `format` field of a run's config.json. */
export const RUN_FORMAT = 'ftunet-run';

/**
 * The version of config.json this program writes (and the newest it reads): 2, every field a
 * version-1 file could leave out is written; later, each setting of the schema that is added
 * (`added` in settings_schema.ts; version 2 also records `optimizer.gradClip`).
 */
export const RUN_VERSION = fileVersion('config', 2);

/** File and folder names inside a run folder. */
export const RUN_CONFIG_FILE = 'config.json';
export const RUN_BEST_DIR = 'best';
export const RUN_EVAL_DIR = 'eval';
export const RUN_SPLIT_FILE = 'split.json';
export const RUN_CHECKPOINT_DIR = 'checkpoint';
/** Held by the process that trains the run (`train`, `train --resume`; see src/io/lock.ts). */
export const RUN_LOCK_FILE = 'train.lock';

/** How the network of a run was built. */
export interface RunModelConfig {
  name: ModelName;
  /** [rows, cols, channels]. */
  inputShape: [number, number, number];
  /** Width multiplier. */
  width: number;
}

/** The data set of a run, as `loadDataset` takes it (with `kind` mapped by `datasetLayout`). */
export interface RunDatasetConfig {
  kind: DatasetSourceKind;
  /** Absolute path of the data folder (synthetic sets are written to disk by train). */
  data: string;
  inputSize: [number, number];
  channels: 1 | 3;
  interpolation: Interpolation;
  /** For the 'folder' layout; '' otherwise. */
  maskSuffix: string;
  /** The preprocessing cache folder, or false for none; undefined: the default folder. */
  cache?: string | false;
  /** Synthetic data sets: how many items and the generator's seed (written when missing). */
  synthetic?: { count: number; seed: number };
}

/** Which split and fold a run trained on. */
export interface RunSplitConfig {
  /** The split file, relative to the run folder (or absolute). */
  file: string;
  /** The fold index in that file. */
  fold: number;
}

/** A run's config.json, checked. Unknown fields are kept. */
export interface RunConfig {
  format: typeof RUN_FORMAT;
  version: typeof RUN_VERSION;
  model: RunModelConfig;
  dataset: RunDatasetConfig;
  split: RunSplitConfig;
  seed?: number;
  backend?: string;
  [field: string]: unknown;
}

/** A check with one message, "must be <what>". */
const must = (what: string, test: (x: unknown) => boolean) => v.custom(test, `must be ${what}`);

const positiveInts = (n: number, what: string) =>
  must(
    what,
    (x) => Array.isArray(x) && x.length === n && x.every((k) => Number.isInteger(k) && k > 0),
  );

/** The fields every run shares, as evaluation and the reports read them. */
const RUN_SCHEMA = settingsConfigSchema(
  {
    '': {
      seed: v.optional(v.number('must be a number')),
      backend: v.optional(v.string('must be a string')),
    },
    model: { inputShape: positiveInts(3, 'three positive integers') },
    dataset: {
      cache: v.optional(must('a folder or false', (x) => typeof x === 'string' || x === false)),
      synthetic: v.optional(
        must(
          '{"count": <integer>, "seed": <integer>}',
          (x) =>
            typeof x === 'object' &&
            x !== null &&
            Number.isInteger((x as { count?: unknown }).count) &&
            (x as { count: number }).count > 0 &&
            Number.isInteger((x as { seed?: unknown }).seed),
        ),
      ),
    },
    split: { file: must('a file name', (x) => typeof x === 'string' && x !== '') },
  },
  [
    'model',
    'width',
    'dataset',
    'data',
    'inputSize',
    'channels',
    'interpolation',
    'maskSuffix',
    'fold',
  ],
);

/**
 * Version 1 to 2: every field that a version-1 file could leave out, with the value that
 * reproduces how that run trained (runs from before each field existed). The settings added
 * in version 2 and later are added by `settingMigrations`.
 */
function migrateRunConfigV1(old: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const obj = (x: unknown): Record<string, unknown> | undefined =>
    typeof x === 'object' && x !== null && !Array.isArray(x)
      ? (x as Record<string, unknown>)
      : undefined;
  const c: Record<string, unknown> = { ...old };
  const model = obj(old.model);
  if (model !== undefined) c.model = { ...model, bnMomentum: model.bnMomentum ?? 0.99 };
  const dataset = obj(old.dataset);
  if (dataset !== undefined) {
    c.dataset = {
      ...dataset,
      interpolation: dataset.interpolation ?? 'nearest',
      maskSuffix: dataset.maskSuffix ?? '',
    };
  }
  const optimizer = obj(old.optimizer);
  if (optimizer !== undefined) {
    const name = optimizer.name ?? 'sgd';
    c.optimizer = {
      name,
      learningRate: optimizer.learningRate ?? (name === 'adam' ? 0.001 : 0.01),
      decay: 1e-6,
      momentum: 0.9,
      beta1: 0.9,
      beta2: 0.999,
      ...optimizer,
    };
  }
  if (old.loss !== undefined || old.optimizer !== undefined) {
    // The training fields: runs from before each one trained as its value here says.
    c.seed ??= 0;
    c.schedule = {
      name: 'keras-decay',
      warmupEpochs: 0,
      plateauPatience: 10,
      plateauFactor: 10,
      ...(obj(old.schedule) ?? {}),
    };
    c.augment ??= {
      level: 'none',
      transforms: Object.fromEntries(AUGMENT_TRANSFORMS.map((t) => [t, { p: 0, magnitude: 0 }])),
    };
    c.patience ??= null;
    // Before the exact batch objective, runs computed the loss per pass.
    c.objectiveScope ??= 'pass';
    // Before data-parallel workers, runs trained in the main thread.
    c.workers ??= 1;
  }
  return c;
}

/** config.json's format: its versions and the step from each to the next. */
export const RUN_FILE_FORMAT = defineFileFormat<RunConfig>({
  format: RUN_FORMAT,
  version: RUN_VERSION,
  migrate: settingMigrations(
    'config',
    RUN_VERSION,
    { 1: migrateRunConfigV1 },
    (name) => settingOf(name).config,
  ),
  parse: (value, source) => {
    // In the file's order, `format` and `version` first (a migrated file has them last).
    const ordered = { format: RUN_FORMAT, version: RUN_VERSION, ...value };
    const config = inInputOrder(
      ordered,
      parseWith(RUN_SCHEMA, value, source) as unknown as RunConfig,
    );
    const shape = config.model.inputShape;
    const size = config.dataset.inputSize;
    if (shape[0] !== size[0] || shape[1] !== size[1] || shape[2] !== config.dataset.channels) {
      throw new UserError(
        `${source}: "model.inputShape" [${shape.join(',')}] does not match the data set's input ` +
          `size [${size.join(',')}] and ${String(config.dataset.channels)} channel(s)`,
      );
    }
    return config;
  },
});

/**
 * Checks a parsed config.json of any version (migrated to today's); `source` names the file in
 * messages. Throws a `UserError` naming the first field that is missing or wrong.
 */
export function parseRunConfig(value: unknown, source = RUN_CONFIG_FILE): RunConfig {
  return readVersioned(RUN_FILE_FORMAT, value, source);
}

/** Whether `dir` holds a run's config.json (a cheap test, no parsing). */
export async function isRunFolder(dir: string): Promise<boolean> {
  try {
    return (await stat(path.join(dir, RUN_CONFIG_FILE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Reads and checks `RUN_DIR/config.json`. Throws a `UserError` for a missing folder, a missing
 * or unreadable file, invalid JSON and a config that `parseRunConfig` rejects.
 */
export async function readRunConfig(runDir: string): Promise<RunConfig> {
  let isDir = false;
  try {
    isDir = (await stat(runDir)).isDirectory();
  } catch {
    throw new UserError(`run folder '${runDir}' does not exist`);
  }
  if (!isDir) throw new UserError(`'${runDir}' is a file, expected a run folder`);
  const file = path.join(runDir, RUN_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`no run in '${runDir}': ${RUN_CONFIG_FILE} not found`);
    }
    throw new UserError(`cannot read '${file}': ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`'${file}' is not valid JSON: the run's config is damaged`);
  }
  return parseRunConfig(value, `'${file}'`);
}

/** The paths of a run folder's parts. */
export interface RunPaths {
  config: string;
  /** The split file named by the config (resolved against the run folder). */
  split: string;
  best: string;
  eval: string;
  checkpoint: string;
  /** The lock of the process training the run. */
  lock: string;
}

/**
 * Where a run's files are; without a config, the split file is the one `train` writes.
 * (The epoch log's files are named in log.ts.)
 */
export function runPaths(runDir: string, config?: Pick<RunConfig, 'split'>): RunPaths {
  return {
    config: path.join(runDir, RUN_CONFIG_FILE),
    split: path.resolve(runDir, config?.split.file ?? RUN_SPLIT_FILE),
    best: path.join(runDir, RUN_BEST_DIR),
    eval: path.join(runDir, RUN_EVAL_DIR),
    checkpoint: path.join(runDir, RUN_CHECKPOINT_DIR),
    lock: path.join(runDir, RUN_LOCK_FILE),
  };
}

/**
 * The settings of a training run that do not depend on the machine: the recorded settings of
 * the settings schema (`SettingsConfig`, settings_schema.ts) and what the run adds to them.
 */
export type TrainRunSettings = RunConfig &
  SettingsConfig & {
    package: { name: string; version: string };
    createdAt: string;
    backend: string;
    seed: number;
    dataset: RunConfig['dataset'] & { cache: string | false };
    /** Augmentation: the level's transforms after the data set's preset and single flags. */
    augment: { transforms: AugmentConfig };
  };

/** The contents of RUN_DIR/config.json as `train` writes it. */
export type TrainRunConfig = TrainRunSettings & {
  /** Images per forward/backward pass (chosen for the machine's memory when 'auto'). */
  microBatch: number;
  /** Data-parallel workers of the run (1: in the main thread); resume uses them unless told. */
  workers: number;
  /** The backend's numerics (kernels/numerics.ts). Runs written before them record none: defaults. */
  numerics: Numerics;
  /** Where the weights came from with `--init-from` (run/init_from.ts); absent: the seed. */
  init?: InitRecord;
};

/** The training fields of config.json: every recorded setting and what the run adds. */
const TRAIN_RUN_SCHEMA = settingsConfigSchema({
  '': {
    microBatch: must('a positive integer', (x) => Number.isInteger(x) && (x as number) > 0),
    workers: must(
      `an integer from 1 to ${MAX_WORKERS}`,
      (x) => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= MAX_WORKERS,
    ),
    init: v.optional(
      v.object(
        {
          modelDir: v.string('must be a folder'),
          weightsSha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 in hex')),
          weights: v.pipe(v.number(), v.integer('must be an integer')),
          seeded: v.optional(v.pipe(v.number(), v.integer('must be an integer'))),
        },
        'must be {"modelDir", "weightsSha256", "weights", "seeded" (optional)}',
      ),
    ),
  },
  augment: {
    transforms: v.object(
      Object.fromEntries(AUGMENT_TRANSFORMS.map((t) => [t, TRANSFORM_SETTING_SCHEMA])),
      'must be an object',
    ),
  },
});

/**
 * The training fields of a run's config.json, checked (the fields every run shares are
 * checked by `readRunConfig`). `source` names the file in messages.
 */
export function parseTrainRunConfig(config: RunConfig, source: string): TrainRunConfig {
  const checked = inInputOrder(
    config,
    parseWith(TRAIN_RUN_SCHEMA, config, source) as unknown as TrainRunConfig,
  );
  return {
    ...checked,
    backend: typeof config.backend === 'string' ? config.backend : 'unknown',
    numerics: recordedNumerics(config.numerics, source),
  };
}

/** Reads and checks a run's config.json, training fields included (see `parseTrainRunConfig`). */
export async function readTrainRunConfig(runDir: string): Promise<TrainRunConfig> {
  return parseTrainRunConfig(
    await readRunConfig(runDir),
    `'${path.join(runDir, RUN_CONFIG_FILE)}'`,
  );
}
