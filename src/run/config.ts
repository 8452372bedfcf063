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
import { UserError } from '../errors.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import { DATASET_SOURCE_KINDS } from '../data/presets.js';
import { recordedNumerics, type Numerics } from '../kernels/numerics.js';
import { DEFAULT_BN_MOMENTUM, MODEL_NAMES, type ModelName } from '../models/options.js';
import { MAX_WORKERS } from '../parallel/pool.js';
import {
  LOSS_NAMES,
  OBJECTIVE_SCOPES,
  WEIGHTINGS,
  type LossName,
  type ObjectiveScope,
  type Weighting,
} from '../train/objective.js';
import { resolveOptimizerConfig, type OptimizerConfig } from '../train/optimizer.js';
import { resolveScheduleConfig, type ResolvedScheduleConfig } from '../train/schedule.js';
import {
  AUGMENT_LEVELS,
  checkAugmentConfig,
  resolveAugmentConfig,
  type AugmentConfig,
  type AugmentLevel,
} from '../data/augment.js';
import { INTERPOLATIONS, type Interpolation } from '../util/raster.js';

/** The `format` field of a run's config.json. */
export const RUN_FORMAT = 'ftunet-run';

/** The version of the run config format this program reads. */
export const RUN_VERSION = 1;

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

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isPositiveInts = (v: unknown, n: number): v is number[] =>
  Array.isArray(v) && v.length === n && v.every((x) => Number.isInteger(x) && (x as number) > 0);

/**
 * Checks a parsed config.json; `source` names the file in messages. Throws a `UserError`
 * naming the first field that is missing or wrong.
 */
export function parseRunConfig(value: unknown, source = RUN_CONFIG_FILE): RunConfig {
  const fail = (why: string): never => {
    throw new UserError(`${source}: ${why}`);
  };
  const got = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
  if (!isObject(value)) return fail('expected a JSON object');
  if (value.format !== RUN_FORMAT) {
    fail(`expected "format": "${RUN_FORMAT}", got ${got(value.format)}`);
  }
  if (value.version !== RUN_VERSION) {
    fail(`unsupported version ${got(value.version)} (this program reads version ${RUN_VERSION})`);
  }

  const m = value.model;
  if (!isObject(m)) return fail('"model" must be an object');
  if (!(MODEL_NAMES as readonly unknown[]).includes(m.name)) {
    fail(`"model.name" must be one of ${MODEL_NAMES.join(', ')}, got ${got(m.name)}`);
  }
  if (!isPositiveInts(m.inputShape, 3)) {
    fail(`"model.inputShape" must be three positive integers, got ${got(m.inputShape)}`);
  }
  if (typeof m.width !== 'number' || !(m.width > 0) || !Number.isFinite(m.width)) {
    fail(`"model.width" must be a positive number, got ${got(m.width)}`);
  }

  const d = value.dataset;
  if (!isObject(d)) return fail('"dataset" must be an object');
  if (!(DATASET_SOURCE_KINDS as readonly unknown[]).includes(d.kind)) {
    fail(`"dataset.kind" must be one of ${DATASET_SOURCE_KINDS.join(', ')}, got ${got(d.kind)}`);
  }
  if (typeof d.data !== 'string' || d.data === '') {
    fail(`"dataset.data" must be the data folder's path, got ${got(d.data)}`);
  }
  if (!isPositiveInts(d.inputSize, 2)) {
    fail(`"dataset.inputSize" must be two positive integers, got ${got(d.inputSize)}`);
  }
  if (d.channels !== 1 && d.channels !== 3) {
    fail(`"dataset.channels" must be 1 or 3, got ${got(d.channels)}`);
  }
  const interpolation = d.interpolation ?? 'nearest';
  if (!(INTERPOLATIONS as readonly unknown[]).includes(interpolation)) {
    fail(
      `"dataset.interpolation" must be one of ${INTERPOLATIONS.join(', ')}, got ${got(interpolation)}`,
    );
  }
  const maskSuffix = d.maskSuffix ?? '';
  if (typeof maskSuffix !== 'string') fail(`"dataset.maskSuffix" must be a string`);
  if (d.cache !== undefined && d.cache !== false && typeof d.cache !== 'string') {
    fail(`"dataset.cache" must be a folder or false, got ${got(d.cache)}`);
  }
  const synthetic = d.synthetic as { count?: unknown; seed?: unknown } | undefined;
  if (
    synthetic !== undefined &&
    !(isPositiveInts([synthetic.count], 1) && Number.isInteger(synthetic.seed))
  ) {
    fail(
      `"dataset.synthetic" must be {"count": <integer>, "seed": <integer>}, got ${got(synthetic)}`,
    );
  }
  const shape = m.inputShape as [number, number, number];
  const size = d.inputSize as [number, number];
  if (shape[0] !== size[0] || shape[1] !== size[1] || shape[2] !== d.channels) {
    fail(
      `"model.inputShape" [${shape.join(',')}] does not match the data set's input size ` +
        `[${size.join(',')}] and ${String(d.channels)} channel(s)`,
    );
  }

  const s = value.split;
  if (!isObject(s)) return fail('"split" must be an object');
  if (typeof s.file !== 'string' || s.file === '') {
    fail(`"split.file" must be a file name, got ${got(s.file)}`);
  }
  if (!Number.isInteger(s.fold) || (s.fold as number) < 0) {
    fail(`"split.fold" must be an integer >= 0, got ${got(s.fold)}`);
  }
  if (value.seed !== undefined && typeof value.seed !== 'number') {
    fail(`"seed" must be a number, got ${got(value.seed)}`);
  }
  if (value.backend !== undefined && typeof value.backend !== 'string') {
    fail(`"backend" must be a string, got ${got(value.backend)}`);
  }

  return {
    ...value,
    format: RUN_FORMAT,
    version: RUN_VERSION,
    model: { ...m, name: m.name as ModelName, inputShape: [...shape], width: m.width as number },
    dataset: {
      ...d,
      kind: d.kind as DatasetSourceKind,
      data: d.data as string,
      inputSize: [...size],
      channels: d.channels as 1 | 3,
      interpolation: interpolation as Interpolation,
      maskSuffix: maskSuffix as string,
      ...(d.cache !== undefined ? { cache: d.cache as string | false } : {}),
    },
    split: { ...s, file: s.file as string, fold: s.fold as number },
  };
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

/** The settings of a training run that do not depend on the machine (see `TrainRunConfig`). */
export interface TrainRunSettings extends RunConfig {
  model: RunConfig['model'] & { bnMomentum: number };
  package: { name: string; version: string };
  createdAt: string;
  backend: string;
  seed: number;
  dataset: RunConfig['dataset'] & { cache: string | false };
  loss: {
    name: LossName;
    alpha: number;
    beta: number;
    gamma: number;
    weights: Weighting | number[];
  };
  optimizer: Required<OptimizerConfig>;
  /** The learning-rate schedule. Runs written before schedules record none: keras-decay. */
  schedule: ResolvedScheduleConfig;
  /**
   * Augmentation of the training items: the level asked for and every transform's setting
   * after the data set's preset and single flags. Runs written before it record none: none.
   */
  augment: { level: AugmentLevel; transforms: AugmentConfig };
  /** Early stopping's patience in epochs; null: none (older runs record nothing). */
  patience: number | null;
  epochs: number;
  batchSize: number;
  /**
   * Where each loss index is computed: 'batch' (one index over the whole batch, as the
   * reference) or 'pass' (one per forward pass, summed; faster when a batch is split). Runs
   * written before this field trained per pass.
   */
  objectiveScope: ObjectiveScope;
}

/** The contents of RUN_DIR/config.json as `train` writes it. */
export interface TrainRunConfig extends TrainRunSettings {
  /** Images per forward/backward pass (chosen for the machine's memory when 'auto'). */
  microBatch: number;
  /** Data-parallel workers of the run (1: in the main thread); resume uses them unless told. */
  workers: number;
  /** The backend's numerics (kernels/numerics.ts). Runs written before them record none: defaults. */
  numerics: Numerics;
}

/**
 * The training fields of a run's config.json, checked (the fields every run shares are
 * checked by `readRunConfig`). `source` names the file in messages.
 */
export function parseTrainRunConfig(config: RunConfig, source: string): TrainRunConfig {
  const fail = (field: string, expected: string, got: unknown): never => {
    const text = got === undefined ? 'nothing' : JSON.stringify(got);
    throw new UserError(`${source}: "${field}" must be ${expected}, got ${text}`);
  };
  const isPositiveInt = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0;
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const field of ['epochs', 'batchSize', 'microBatch'] as const) {
    if (!isPositiveInt(config[field])) fail(field, 'a positive integer', config[field]);
  }
  // Runs from before data-parallel workers record none: they ran in the main thread.
  const workers = config.workers ?? 1;
  if (!isPositiveInt(workers) || workers > MAX_WORKERS) {
    fail('workers', `an integer from 1 to ${MAX_WORKERS}`, config.workers);
  }
  const seed = config.seed ?? 0;
  // Runs from before the exact batch objective record none: they trained per pass.
  const objectiveScope = config.objectiveScope ?? 'pass';
  if (!(OBJECTIVE_SCOPES as readonly unknown[]).includes(objectiveScope)) {
    fail('objectiveScope', `one of ${OBJECTIVE_SCOPES.join(', ')}`, config.objectiveScope);
  }
  if (!Number.isInteger(seed)) fail('seed', 'an integer', config.seed);
  const bnMomentum = (config.model as { bnMomentum?: unknown }).bnMomentum ?? DEFAULT_BN_MOMENTUM;
  if (typeof bnMomentum !== 'number' || !(bnMomentum >= 0 && bnMomentum < 1)) {
    fail('model.bnMomentum', 'a number in [0, 1)', bnMomentum);
  }
  const loss = config.loss;
  if (!isObject(loss)) return fail('loss', 'an object', loss);
  if (!(LOSS_NAMES as readonly unknown[]).includes(loss.name)) {
    fail('loss.name', `one of ${LOSS_NAMES.join(', ')}`, loss.name);
  }
  for (const field of ['alpha', 'beta', 'gamma'] as const) {
    if (typeof loss[field] !== 'number' || !Number.isFinite(loss[field])) {
      fail(`loss.${field}`, 'a number', loss[field]);
    }
  }
  const weights = loss.weights;
  if (
    !(WEIGHTINGS as readonly unknown[]).includes(weights) &&
    !(Array.isArray(weights) && weights.every((w) => typeof w === 'number' && w >= 0))
  ) {
    fail('loss.weights', `${WEIGHTINGS.join(' or ')} or a list of numbers`, weights);
  }
  if (!isObject(config.optimizer)) return fail('optimizer', 'an object', config.optimizer);
  let optimizer: Required<OptimizerConfig>;
  try {
    optimizer = resolveOptimizerConfig(config.optimizer as OptimizerConfig);
  } catch (err) {
    throw new UserError(`${source}: "optimizer": ${(err as Error).message}`);
  }
  let schedule: ResolvedScheduleConfig;
  if (config.schedule !== undefined && !isObject(config.schedule)) {
    return fail('schedule', 'an object', config.schedule);
  }
  try {
    schedule = resolveScheduleConfig(config.schedule ?? {}, 'schedule');
  } catch (err) {
    throw new UserError(`${source}: "schedule": ${(err as Error).message}`);
  }
  const augment = config.augment ?? { level: 'none', transforms: resolveAugmentConfig('none') };
  if (!isObject(augment) || !(AUGMENT_LEVELS as readonly unknown[]).includes(augment.level)) {
    fail('augment', `{"level": ${AUGMENT_LEVELS.join('|')}, "transforms": {...}}`, augment);
  }
  const transforms = checkAugmentConfig((augment as { transforms?: unknown }).transforms, source);
  const patience = config.patience ?? null;
  if (patience !== null && !isPositiveInt(patience)) {
    fail('patience', 'a positive integer or null', patience);
  }
  return {
    ...(config as TrainRunConfig),
    schedule,
    augment: { level: (augment as { level: AugmentLevel }).level, transforms },
    patience: patience as number | null,
    model: { ...config.model, bnMomentum: bnMomentum as number },
    seed: seed as number,
    workers: workers as number,
    objectiveScope: objectiveScope as ObjectiveScope,
    backend: typeof config.backend === 'string' ? config.backend : 'unknown',
    optimizer,
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
