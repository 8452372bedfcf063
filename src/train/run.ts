/**
 * A training run in a folder: everything `ftunet train` does besides parsing flags.
 *
 *   RUN_DIR/config.json    everything needed to repeat the run (written before training)
 *   RUN_DIR/split.json     the split (names per fold and part)
 *   RUN_DIR/log.jsonl      one JSON line per epoch; RUN_DIR/log.csv the same as a table
 *   RUN_DIR/checkpoint/    the last finished epoch (see src/io/checkpoint.ts)
 *   RUN_DIR/best/          the model with the best validation DSC of `final`
 *
 * Node-only (files).
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DiskFullError, UserError } from '../errors.js';
import type { DatasetSourceKind, SegmentationDataset } from '../data/dataset.js';
import { defaultCacheDir } from '../data/cache.js';
import { loadDataset } from '../data/load.js';
import { loadSplit, saveSplit } from '../data/split_file.js';
import { holdoutSplit, kFoldSplit, resolveSplit, type Split } from '../data/splits.js';
import { SYNTH_MANIFEST, writeSyntheticDataset } from '../data/synthetic/write.js';
import { pathExists, sweepStaleTemporaries, writeFileAtomic } from '../io/atomic.js';
import { findCheckpoint, loadCheckpoint, saveCheckpoint } from '../io/checkpoint.js';
import { faultPoint } from '../io/faults.js';
import { saveModel } from '../io/model_files.js';
import { buildModel, outputNames } from '../models/build.js';
import type { ModelName } from '../models/options.js';
import { MODEL_SUPERVISION } from '../models/supervision.js';
import type { Interpolation } from '../util/raster.js';
import { checkMicroBatch, trainingMicroBatch } from './memory.js';
import {
  datasetLayout,
  readRunConfig,
  RUN_BEST_DIR,
  RUN_EVAL_DIR,
  RUN_FORMAT,
  RUN_VERSION,
  type RunConfig,
} from './run_config.js';
import { LOSS_NAMES, WEIGHTINGS, type LossName, type Weighting } from './objective.js';
import { resolveOptimizerConfig, type OptimizerConfig } from './optimizer.js';
import {
  DivergenceError,
  Trainer,
  type EpochLog,
  type StepProgress,
  type TrainState,
} from './trainer.js';
import { resolveWorkers, WorkerPool } from '../parallel/pool.js';

/** The paper's settings per data set (REFERENCE.md §3). */
export const TRAINING_PRESETS: Readonly<
  Record<
    DatasetSourceKind,
    { inputSize: [number, number]; channels: 1 | 3; epochs: number; batchSize: number }
  >
> = {
  bus: { inputSize: [128, 128], channels: 1, epochs: 100, batchSize: 16 },
  'synthetic-bus': { inputSize: [128, 128], channels: 1, epochs: 100, batchSize: 16 },
  isic2018: { inputSize: [192, 256], channels: 3, epochs: 50, batchSize: 8 },
  'synthetic-isic': { inputSize: [192, 256], channels: 3, epochs: 50, batchSize: 8 },
  folder: { inputSize: [128, 128], channels: 3, epochs: 100, batchSize: 16 },
};

/** The contents of RUN_DIR/config.json as `train` writes it. */
export interface TrainRunConfig extends RunConfig {
  model: RunConfig['model'] & { bnMomentum: number };
  package: { name: string; version: string };
  createdAt: string;
  backend: string;
  seed: number;
  dataset: RunConfig['dataset'] & {
    cache: string | false;
    /** Synthetic data sets: how many items and the generator seed. */
    synthetic?: { count: number; seed: number };
  };
  loss: {
    name: LossName;
    alpha: number;
    beta: number;
    gamma: number;
    weights: Weighting | number[];
  };
  optimizer: Required<OptimizerConfig>;
  epochs: number;
  batchSize: number;
  microBatch: number;
  /** Data-parallel workers of the run (1: in the main thread); a resumed run may use another number. */
  workers: number;
}

/** What `train` needs beyond the defaults (see `resolveTrainOptions` for each default). */
export interface TrainRunOptions {
  out: string;
  dataset: DatasetSourceKind;
  /** Required except for synthetic data sets (default: `<out>/data`). */
  data?: string;
  model?: ModelName;
  width?: number;
  /** BatchNormalization momentum. Default 0.99 (Keras). */
  bnMomentum?: number;
  inputSize?: [number, number];
  channels?: 1 | 3;
  interpolation?: Interpolation;
  maskSuffix?: string;
  cache?: string | false;
  loss?: LossName;
  alpha?: number;
  beta?: number;
  gamma?: number;
  weights?: Weighting | number[];
  optimizer?: OptimizerConfig;
  epochs?: number;
  batchSize?: number;
  /** Images per forward/backward pass, or 'auto' (default: what fits the backend's memory). */
  microBatch?: number | 'auto';
  /** Data-parallel worker threads. Default: one per core (1 on the tensorflow backend). */
  workers?: number;
  seed?: number;
  /** A split file to use; default: a new split (holdout, or k-fold with `folds`). */
  splitFile?: string;
  /** Number of folds of a new k-fold split; default: a 75/25 holdout. */
  folds?: number;
  fold?: number;
  valFraction?: number;
  testFraction?: number;
  /** Synthetic data sets: number of items. Default 163 (bus) or 200 (isic). */
  syntheticCount?: number;
  /**
   * Images with more pixels are refused from their header before decoding (a guard on
   * memory, not a training setting: not recorded). Default: `DEFAULT_MAX_PIXELS`.
   */
  maxPixels?: number;
  /** The backend that runs (recorded in config.json). */
  backend: string;
  packageInfo: { name: string; version: string };
}

export interface TrainRunCallbacks {
  onInfo?: (line: string) => void;
  onWarning?: (line: string) => void;
  onStep?: (progress: StepProgress) => void;
  onEpoch?: (log: EpochLog) => void;
  onDataProgress?: (done: number, total: number, phase: string) => void;
  /** See `TrainCallbacks.shouldStop`: asked before each step; true stops with an `InterruptedError`. */
  shouldStop?: () => boolean;
}

export interface TrainRunResult {
  config: TrainRunConfig;
  logs: EpochLog[];
  bestEpoch: number;
  bestScore: number;
}

const SYNTHETIC: Partial<Record<DatasetSourceKind, 'bus' | 'isic'>> = {
  'synthetic-bus': 'bus',
  'synthetic-isic': 'isic',
};

/** Writes a synthetic data set to `dir` unless the same one (kind, count, seed) is there. */
async function ensureSynthetic(
  kind: 'bus' | 'isic',
  dir: string,
  count: number,
  seed: number,
  callbacks: TrainRunCallbacks,
): Promise<void> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, SYNTH_MANIFEST), 'utf8')) as {
      kind?: string;
      count?: number;
      seed?: number;
    };
    if (m.kind === kind && m.count === count && m.seed === seed) return;
  } catch {
    // Not there yet (or not ours): write it.
  }
  callbacks.onInfo?.(`writing a synthetic ${kind} data set of ${count} items to ${dir}`);
  const result = await writeSyntheticDataset({
    kind,
    out: dir,
    count,
    seed,
    onProgress: (done, total) => callbacks.onDataProgress?.(done, total, 'synth'),
  });
  callbacks.onInfo?.(
    `synthetic lesion area ${(100 * result.lesionArea.mean).toFixed(2)}% ± ` +
      `${(100 * result.lesionArea.std).toFixed(2)}%`,
  );
}

function positiveInt(value: number, what: string): number {
  if (!Number.isInteger(value) || value <= 0) {
    throw new UserError(`${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/** Loads the data set a config describes (writing a synthetic one first if needed). */
export async function loadRunDataset(
  config: TrainRunConfig,
  callbacks: TrainRunCallbacks = {},
  options: { maxPixels?: number } = {},
): Promise<SegmentationDataset> {
  const d = config.dataset;
  const synth = SYNTHETIC[d.kind];
  if (synth !== undefined && d.synthetic !== undefined) {
    await ensureSynthetic(synth, d.data, d.synthetic.count, d.synthetic.seed, callbacks);
  }
  return loadDataset({
    dataset: datasetLayout(d.kind),
    data: d.data,
    inputSize: d.inputSize,
    channels: d.channels,
    interpolation: d.interpolation,
    maskSuffix: d.maskSuffix,
    cache: d.cache,
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    onWarning: callbacks.onWarning,
    onProgress: (p) => callbacks.onDataProgress?.(p.done, p.total, p.phase),
  });
}

/** Removes temporary files that killed processes left in a run folder and its model folders. */
async function sweepRunFolder(out: string): Promise<void> {
  for (const dir of [out, path.join(out, RUN_BEST_DIR), path.join(out, RUN_EVAL_DIR)]) {
    await sweepStaleTemporaries(dir);
  }
}

/** Starts a new run in `options.out` (which must not hold a run already). */
export async function train(
  options: TrainRunOptions,
  callbacks: TrainRunCallbacks = {},
): Promise<TrainRunResult> {
  const out = path.resolve(options.out);
  if (await pathExists(path.join(out, 'config.json'))) {
    throw new UserError(
      `${out} already holds a run: continue it with --resume ${options.out}, or choose another --out`,
    );
  }
  const preset = TRAINING_PRESETS[options.dataset];
  if (preset === undefined) throw new UserError(`unknown data set '${options.dataset}'`);
  const synth = SYNTHETIC[options.dataset];
  if (options.data === undefined && synth === undefined) {
    throw new UserError(`--data is required for --dataset ${options.dataset}`);
  }
  const seed = options.seed ?? 0;
  const inputSize = options.inputSize ?? preset.inputSize;
  const channels = options.channels ?? preset.channels;
  const modelName = options.model ?? 'attn_reg';
  const lossName = options.loss ?? 'ftl';
  const alpha = options.alpha ?? 0.7;
  const config: TrainRunConfig = {
    format: RUN_FORMAT,
    version: RUN_VERSION,
    package: options.packageInfo,
    createdAt: new Date().toISOString(),
    backend: options.backend,
    seed,
    model: {
      name: modelName,
      inputShape: [inputSize[0], inputSize[1], channels],
      width: options.width ?? 1,
      bnMomentum: options.bnMomentum ?? 0.99,
    },
    dataset: {
      kind: options.dataset,
      data: path.resolve(options.data ?? path.join(out, 'data')),
      inputSize: [inputSize[0], inputSize[1]],
      channels,
      interpolation: options.interpolation ?? 'nearest',
      maskSuffix: options.maskSuffix ?? '',
      cache: options.cache === false ? false : path.resolve(options.cache ?? defaultCacheDir()),
      ...(synth !== undefined
        ? { synthetic: { count: options.syntheticCount ?? (synth === 'bus' ? 163 : 200), seed } }
        : {}),
    },
    split: { file: 'split.json', fold: options.fold ?? 0 },
    loss: {
      name: lossName,
      alpha,
      beta: options.beta ?? 1 - alpha,
      gamma: options.gamma ?? 4 / 3,
      weights: options.weights ?? 'equal',
    },
    optimizer: resolveOptimizerConfig(options.optimizer),
    epochs: positiveInt(options.epochs ?? preset.epochs, '--epochs'),
    batchSize: positiveInt(options.batchSize ?? preset.batchSize, '--batch-size'),
    microBatch: 0,
    workers: resolveWorkers(options.workers, options.backend),
  };
  const model = buildRunModel(config);
  try {
    const mb = options.microBatch ?? 'auto';
    config.microBatch =
      mb === 'auto'
        ? trainingMicroBatch(model, config.batchSize, options.backend, config.workers)
        : positiveInt(mb, '--micro-batch');
    checkMicroBatch(model, config.microBatch, options.backend);

    const dataset = await loadRunDataset(config, callbacks, options);
    let split: Split;
    if (options.splitFile !== undefined) {
      split = await loadSplit(options.splitFile);
    } else if (options.folds !== undefined) {
      split = kFoldSplit(dataset.names, {
        k: options.folds,
        seed,
        valFraction: options.valFraction,
      });
    } else {
      split = holdoutSplit(dataset.names, {
        seed,
        testFraction: options.testFraction,
        valFraction: options.valFraction,
      });
    }
    const folds = resolveSplit(split, dataset.names, options.splitFile ?? 'split');
    if (!(
      config.split.fold >= 0 &&
      config.split.fold < folds.length &&
      Number.isInteger(config.split.fold)
    )) {
      throw new UserError(
        `--fold ${config.split.fold}: the split has folds 0 to ${folds.length - 1}`,
      );
    }
    await mkdir(out, { recursive: true });
    await sweepRunFolder(out);
    await saveSplit(path.join(out, config.split.file), split);
    await writeFileAtomic(path.join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
    faultPoint('run:config-written');
    return await runTrainer(
      out,
      config,
      model,
      dataset,
      folds[config.split.fold],
      [],
      undefined,
      callbacks,
    );
  } finally {
    model.dispose();
  }
}

/** The network of a run as `train` builds it before the first epoch (weights from the seed). */
function buildRunModel(config: TrainRunConfig): tfl.LayersModel {
  return buildModel(config.model.name, {
    inputShape: config.model.inputShape,
    width: config.model.width,
    bnMomentum: config.model.bnMomentum,
    seed: config.seed,
  });
}

/** What `resume` may change; every other setting is the run's own (its config.json). */
export interface ResumeOptions {
  /**
   * Data-parallel workers. Default: the number the run recorded, so that the resumed run is
   * bit-identical to an uninterrupted one (another number changes batch normalisation's
   * micro-batches).
   */
  workers?: number;
  /**
   * Train to this many epochs in total, extending a finished or running run (at least the
   * epochs already finished). The learning rate's time decay counts updates, not epochs, so
   * an extended run is the same as one started with `epochs` epochs.
   */
  epochs?: number;
  /** See `TrainRunOptions.maxPixels`. */
  maxPixels?: number;
}

/**
 * Continues the run in `runDir` from its last finished epoch, or, when no epoch had finished
 * (a run killed, stopped by a full disk or diverged during its first epoch), starts it again
 * from the beginning with its recorded config.
 */
export async function resume(
  runDir: string,
  backend: string,
  callbacks: TrainRunCallbacks = {},
  options: ResumeOptions = {},
): Promise<TrainRunResult> {
  const out = path.resolve(runDir);
  const configFile = path.join(out, 'config.json');
  const saved = parseTrainRunConfig(await readRunConfig(out), `'${configFile}'`);
  const config: TrainRunConfig = {
    ...saved,
    workers: resolveWorkers(options.workers ?? saved.workers, backend),
  };
  if (config.backend !== backend) {
    callbacks.onWarning?.(
      `the run was started on backend '${config.backend}' and continues on '${backend}': ` +
        'numbers will differ slightly from an uninterrupted run',
    );
  }
  if (saved.workers !== config.workers) {
    callbacks.onWarning?.(
      `the run was started with ${saved.workers} worker(s) and continues with ` +
        `${config.workers}: batch normalisation sees other micro-batches, numbers will differ ` +
        'slightly from an uninterrupted run',
    );
  }
  config.backend = backend;
  await sweepRunFolder(out);
  const checkpointDir = path.join(out, 'checkpoint');
  let folder = await findCheckpoint(checkpointDir);
  let model: tfl.LayersModel;
  let state: TrainState | undefined;
  if (folder === undefined) {
    callbacks.onInfo?.(
      `${out} has no checkpoint (no epoch had finished): starting the run again from the ` +
        'beginning with its recorded config',
    );
    model = buildRunModel(config);
  } else {
    // A damaged checkpoint is skipped for the newest intact one, with a warning.
    ({ model, state, folder } = await loadCheckpoint(checkpointDir, {
      onWarning: callbacks.onWarning,
    }));
  }
  try {
    const done = state?.epoch ?? 0;
    if (options.epochs !== undefined) {
      const epochs = positiveInt(options.epochs, '--epochs');
      if (epochs < done) {
        throw new UserError(
          `--epochs ${epochs}: the run has finished ${done} epochs already; give at least ${done}`,
        );
      }
      if (epochs !== config.epochs) {
        callbacks.onInfo?.(`training to ${epochs} epochs (the run was set to ${config.epochs})`);
        config.epochs = epochs;
      }
    } else if (done > config.epochs) {
      throw new UserError(
        `${path.join(folder ?? checkpointDir, 'state.json')}: "epoch" ${done} is beyond the ` +
          `run's ${config.epochs} epochs ("epochs" in config.json): the checkpoint does not ` +
          'belong to this run',
      );
    }
    const dataset = await loadRunDataset(config, callbacks, options);
    const splitFile = path.join(out, config.split.file);
    const split = await loadSplit(splitFile);
    const folds = resolveSplit(split, dataset.names, splitFile);
    if (config.split.fold >= folds.length) {
      throw new UserError(
        `'${configFile}': "split.fold" ${config.split.fold} does not exist: ${splitFile} has ` +
          `folds 0 to ${folds.length - 1}`,
      );
    }
    const logs = await readLogs(out, done, callbacks);
    if (config.epochs !== saved.epochs) {
      await writeFileAtomic(configFile, `${JSON.stringify(config, null, 2)}\n`);
    }
    if (done >= config.epochs) {
      callbacks.onInfo?.(
        `${out} has finished all ${config.epochs} epochs: nothing to train (give --epochs N ` +
          'to train it further)',
      );
    } else if (done > 0) {
      callbacks.onInfo?.(`resuming ${out} after epoch ${done} of ${config.epochs}`);
    }
    return await runTrainer(
      out,
      config,
      model,
      dataset,
      folds[config.split.fold],
      logs,
      state,
      callbacks,
    );
  } finally {
    model.dispose();
  }
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
  if (!isPositiveInt(workers)) fail('workers', 'a positive integer', config.workers);
  const seed = config.seed ?? 0;
  if (!Number.isInteger(seed)) fail('seed', 'an integer', config.seed);
  const bnMomentum = (config.model as { bnMomentum?: unknown }).bnMomentum ?? 0.99;
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
  return {
    ...(config as TrainRunConfig),
    model: { ...config.model, bnMomentum: bnMomentum as number },
    seed: seed as number,
    workers: workers as number,
    backend: typeof config.backend === 'string' ? config.backend : 'unknown',
    optimizer,
  };
}

/** Whether a parsed log line looks like an `EpochLog`. */
function isEpochLog(v: unknown): v is EpochLog {
  const l = v as Partial<EpochLog> | null;
  return (
    typeof l === 'object' &&
    l !== null &&
    Number.isInteger(l.epoch) &&
    (l.epoch as number) >= 1 &&
    typeof l.train === 'object' &&
    l.train !== null &&
    typeof l.score === 'number'
  );
}

/**
 * The log lines of epochs 1 to `epochs` (the checkpoint's); lines past it belong to an epoch
 * whose checkpoint was never written and are dropped. A damaged line is never skipped
 * silently: when an epoch's line is missing and a line is damaged, resume refuses and says
 * how to go on.
 */
async function readLogs(
  out: string,
  epochs: number,
  callbacks: TrainRunCallbacks,
): Promise<EpochLog[]> {
  const file = path.join(out, 'log.jsonl');
  let text = '';
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
    }
  }
  const byEpoch = new Map<number, EpochLog>();
  const damaged: number[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const value: unknown = JSON.parse(line);
      if (isEpochLog(value)) byEpoch.set(value.epoch, value);
      else damaged.push(i + 1);
    } catch {
      damaged.push(i + 1);
    }
  });
  const missing: number[] = [];
  for (let e = 1; e <= epochs; e++) if (!byEpoch.has(e)) missing.push(e);
  if (missing.length > 0 && damaged.length > 0) {
    throw new UserError(
      `${file}: line ${damaged[0]} is damaged (${damaged.length} damaged line(s); epoch(s) ` +
        `${missing.join(', ')} have no valid line): repair it, or move log.jsonl and log.csv ` +
        `away to resume without the history of epochs 1 to ${epochs}`,
    );
  }
  if (missing.length > 0) {
    callbacks.onWarning?.(
      `${file} has no line for epoch(s) ${missing.join(', ')}: the run's history starts ` +
        'after them',
    );
  }
  if (damaged.length > 0) {
    callbacks.onWarning?.(
      `${file}: ignoring ${damaged.length} damaged line(s); epochs 1 to ${epochs} are all there`,
    );
  }
  return [...byEpoch.values()].filter((l) => l.epoch <= epochs).sort((a, b) => a.epoch - b.epoch);
}

/** The log as CSV: one row per epoch, a column per output, phase and quantity. */
export function logsToCsv(logs: readonly EpochLog[]): string {
  if (logs.length === 0) return '';
  const outputs = Object.keys(logs[0].train.outputs);
  const phases = ['train', 'val'] as const;
  const header = ['epoch', 'learning_rate', 'seconds'];
  for (const phase of phases) {
    header.push(`${phase}_loss`);
    for (const o of outputs) header.push(`${phase}_${o}_loss`, `${phase}_${o}_dsc`);
  }
  const rows = logs.map((l) => {
    const cells: Array<number | string> = [l.epoch, l.learningRate, l.seconds];
    for (const phase of phases) {
      const m = l[phase];
      cells.push(m?.loss ?? '');
      for (const o of outputs) cells.push(m?.outputs[o]?.loss ?? '', m?.outputs[o]?.dsc ?? '');
    }
    return cells.join(',');
  });
  return `${header.join(',')}\n${rows.join('\n')}\n`;
}

/**
 * `err` with what the run keeps: the checkpoint of `saved` (its last saved epoch). Divergence
 * and a full disk are the faults that a user can mend and then resume.
 */
function explainStop(err: unknown, saved: number): unknown {
  const kept =
    saved > 0
      ? `the checkpoint of epoch ${saved} is kept`
      : 'no epoch had finished, so nothing was saved';
  if (err instanceof DivergenceError) {
    return new DivergenceError(
      `${err.message}; ${kept}. Start a new run (another --out) with a lower --lr`,
    );
  }
  if (err instanceof DiskFullError) {
    return new DiskFullError(err.path, {
      cause: err,
      message: `${err.message}; ${kept}. Free some space, then continue with --resume`,
    });
  }
  return err;
}

async function runTrainer(
  out: string,
  config: TrainRunConfig,
  model: tfl.LayersModel,
  dataset: SegmentationDataset,
  fold: { train: number[]; val: number[] },
  previousLogs: EpochLog[],
  state: TrainState | undefined,
  callbacks: TrainRunCallbacks,
): Promise<TrainRunResult> {
  if (fold.train.every((i) => dataset.lesionArea[i] === 0)) {
    callbacks.onWarning?.(
      `every mask of the ${fold.train.length} training images is empty: the network can only ` +
        'learn to predict no lesion (check the masks, or --mask-suffix for folder data sets)',
    );
  }
  const objective = {
    loss: config.loss.name,
    finalLoss: MODEL_SUPERVISION[config.model.name].finalLoss,
    lossOptions: { alpha: config.loss.alpha, beta: config.loss.beta, gamma: config.loss.gamma },
    weights: config.loss.weights,
  };
  callbacks.onInfo?.(
    `batch ${config.batchSize}: ${config.workers === 1 ? 'in this thread' : `${config.workers} workers`}, ` +
      `passes of at most ${Math.min(config.microBatch, config.batchSize)} image(s)`,
  );
  const workers =
    config.workers > 1
      ? await WorkerPool.start({
          model,
          workers: config.workers,
          backend: config.backend,
          dataset,
          objective: { ...objective, outputs: outputNames(model) },
        })
      : undefined;
  const trainer = new Trainer(model, dataset, fold, {
    epochs: config.epochs,
    batchSize: config.batchSize,
    microBatch: config.microBatch,
    seed: config.seed,
    objective,
    optimizer: config.optimizer,
    executor: workers,
  });
  if (state !== undefined) trainer.restore(state);
  const logs = [...previousLogs];
  let saved = state?.epoch ?? 0;
  try {
    await trainer.run({
      onStep: callbacks.onStep,
      shouldStop: callbacks.shouldStop,
      onEpochEnd: async (log, trainState) => {
        logs.push(log);
        if (log.best) {
          model.setUserDefinedMetadata({
            ...(model.getUserDefinedMetadata() ?? {}),
            training: { epoch: log.epoch, score: log.score },
          });
          await saveModel(model, path.join(out, 'best'));
          faultPoint('run:best-saved');
        }
        // Logs first, then the checkpoint: a resumed run drops log lines past its checkpoint.
        await writeFileAtomic(
          path.join(out, 'log.jsonl'),
          logs.map((l) => JSON.stringify(l)).join('\n') + '\n',
        );
        await writeFileAtomic(path.join(out, 'log.csv'), logsToCsv(logs));
        faultPoint('run:logs-written');
        await saveCheckpoint(path.join(out, 'checkpoint'), model, trainState);
        saved = trainState.epoch;
        callbacks.onEpoch?.(log);
      },
    });
    const final = await trainer.state();
    return { config, logs, bestEpoch: final.bestEpoch, bestScore: final.bestScore };
  } catch (err) {
    throw explainStop(err, saved);
  } finally {
    trainer.dispose();
    await workers?.close();
  }
}
