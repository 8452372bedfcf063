/**
 * Evaluation of a model end to end, as `ftunet evaluate` runs it: open the model, load the data
 * set and the split, score the test items at their original size (evaluate.ts), and write
 * `metrics.csv` and `summary.json` atomically (files.ts). Two entry points:
 *
 * - `evaluateRun`: a run folder written by `ftunet train`; everything comes from its
 *   config.json, the results go to `RUN_DIR/eval/`;
 * - `evaluateSavedModel`: any saved model (or run folder), or an ensemble of several, on a data
 *   set named by the caller, on one fold's test items of a split file or on every item.
 *
 * Both take test-time augmentation (`tta`) and post-processing (`postprocess`), and warn (once,
 * through `onWarning`) when the test images do not look like the training images the model
 * records (data/input_statistics.ts). Scoring a folder of masks made by any tool,
 * `evaluatePredictions`, is in predictions.ts and exported from here as well.
 *
 * Node-only (fs).
 */
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { DatasetSourceKind, SegmentationDataset } from '../data/dataset.js';
import { DriftCheck, inputStatisticsOf } from '../data/input_statistics.js';
import type { PostprocessOptions } from '../util/components.js';
import type { SurfaceOptions } from '../metrics/surface_policy.js';
import {
  AveragingEngine,
  checkEnsembleInputs,
  commonMirrors,
  DEFAULT_TTA,
  resolveTta,
  type Mirrors,
  type TtaChoice,
  type TtaMode,
} from './ensemble.js';
import { loadDataset, type LoadProgress } from '../data/load.js';
import { loadRunDataset, loadRunFold } from '../run/data.js';
import { UserError } from '../errors.js';
import { activeNumerics } from '../kernels/numerics.js';
import type { Interpolation } from '../util/raster.js';
import type { InferenceEngine } from './engine.js';
import { evaluateModel, modelInputShape, type ImageEvaluation } from './evaluate.js';
import { openModel, runMirrors, sourceMirrors, type OpenedModel } from './model_source.js';
import { startTfjsEngine } from './worker_engine.js';
import { readRunConfig, runPaths, type RunConfig } from '../run/config.js';
import { datasetLayout } from '../data/presets.js';
import { DEFAULT_THRESHOLD } from './score.js';
import { summarizeEvaluation } from './evaluation_summary.js';
import {
  postprocessRecord,
  testItemsOfSplit,
  writeEvaluation,
  type EvaluationReport,
} from './files.js';

export {
  METRICS_CSV,
  SUMMARY_JSON,
  testItemsOfSplit,
  writeEvaluation,
  type EvaluationReport,
} from './files.js';
export {
  evaluatePredictions,
  PREDICTION_STEM_SUFFIXES,
  type EvaluatePredictionsOptions,
} from './predictions.js';

/** Progress: loading the data set (loadDataset's phases), then predicting. */
export interface EvaluationProgress {
  phase: LoadProgress['phase'] | 'predict';
  done: number;
  total: number;
}

/** Options both entry points take. */
export interface CommonEvaluationOptions {
  /** Lesion where p > threshold. Default 0.5. */
  threshold?: number;
  /** Also score at the input size. Default false. */
  inputSizeMetrics?: boolean;
  /** Images predicted at once. Default 8. */
  batchSize?: number;
  /**
   * Test-time augmentation (see ensemble.ts): a mode, or 'auto' for the mirrors the model was
   * trained with. A mode with a mirror outside them warns through `onWarning`. Default 'none'.
   */
  tta?: TtaChoice;
  /**
   * The mirrors the model (every model of an ensemble) was trained with, for `tta`. Default:
   * from config.json when the model is a run folder or lies in one (`sourceMirrors`); otherwise
   * unknown (an export records its own: pass `trainedMirrors` of export/read.ts).
   */
  trainedMirrors?: Mirrors;
  /** Post-processing of each original-size prediction before scoring. Default: none. */
  postprocess?: PostprocessOptions;
  /**
   * The surface metrics' policy for images with an empty mask and the pixel spacing that puts
   * their distances in mm (metrics/surface_policy.ts), recorded in summary.json's `surface`.
   * Default: skip, pixels.
   */
  surface?: SurfaceOptions;
  /** Receives progress. Default: none. */
  onProgress?: (progress: EvaluationProgress) => void;
  /**
   * Receives warnings of the data set loader, and one when the test images do not look like
   * the model's training images. Default: none.
   */
  onWarning?: (message: string) => void;
  /** The most pixels an image or mask may have (see `loadDataset`). Default 100 megapixels. */
  maxPixels?: number;
  /**
   * Data-parallel workers that share each batch, on this thread's backend. Default: one per
   * core (1 on the tensorflow backend).
   */
  workers?: number;
  /**
   * Makes the engine that predicts the model's `final` output for `images` images, e.g.
   * ONNX Runtime (`openInferenceEngine` in export/onnx_engine.ts); called once per model of an
   * ensemble; the evaluation disposes of it. Its `name` is recorded in summary.json as `engine`. Default: TensorFlow.js on
   * `workers` worker threads (`startTfjsEngine`).
   */
  engine?: (model: tfl.LayersModel, images: number) => Promise<InferenceEngine>;
  /**
   * Receives the description of what predicts, once it runs: 'onnxruntime (2 threads), ensemble
   * of 3 models, tta flips'. Default: none.
   */
  onEngine?: (description: string) => void;
}

/** Options of `evaluateRun`. */
export interface EvaluateRunOptions extends CommonEvaluationOptions {
  /** The run folder. Required. */
  run: string;
  /**
   * The data folder, in place of the one config.json records (for a run folder moved to
   * another machine). Default: the recorded one.
   */
  data?: string;
  /** The preprocessing cache folder or false. Default: the run's (config.json). */
  cache?: string | false;
  /** Where to write. Default `RUN_DIR/eval`. */
  out?: string;
}

/** Options of `evaluateSavedModel`. */
export interface EvaluateSavedModelOptions extends CommonEvaluationOptions {
  /**
   * A model folder, or a run folder (its best model); several make an ensemble (the mean of
   * their probabilities), which must agree on input size and channels. Required.
   */
  model: string | readonly string[];
  /** The data set's kind (synthetic kinds are read in their layout). Required. */
  dataset: DatasetSourceKind;
  /** The data folder. Required. */
  data: string;
  /** A split file; its fold `fold` gives the test items. Default: every item is scored. */
  split?: string;
  /** The fold of `split`. Default 0 when the split has one fold; required otherwise. */
  fold?: number;
  /** Where to write `metrics.csv` and `summary.json`. Required. */
  out: string;
  /** Image resizing. Default: the run's when `model` is a run folder, else 'nearest'. */
  interpolation?: Interpolation;
  /** For the 'folder' layout: the suffix of a mask's stem. Default ''. */
  maskSuffix?: string;
  /** The preprocessing cache folder or false. Default: loadDataset's default folder. */
  cache?: string | false;
}

interface ScoreAndWriteArgs extends CommonEvaluationOptions {
  /** The models, an ensemble when several; the first one's statistics are checked. */
  models: readonly tfl.LayersModel[];
  modelName: string;
  dataset: SegmentationDataset;
  indices: readonly number[];
  fold: number | null;
  out: string;
  extra: Record<string, unknown>;
}

/** The settings a summary records of how predictions were made and cleaned. */
function inferenceRecord(a: CommonEvaluationOptions, tta: TtaMode): Record<string, unknown> {
  return { tta, postprocess: postprocessRecord(a.postprocess) };
}

/** Warns once when the test images are unlike the training images `model` records. */
function checkDrift(a: ScoreAndWriteArgs): void {
  const stats = inputStatisticsOf(a.models[0].getUserDefinedMetadata());
  if (stats === undefined || stats.channels !== a.dataset.channels) return;
  const check = new DriftCheck(stats);
  for (const i of a.indices) check.add(a.dataset.images[i]);
  const warning = check.warning();
  if (warning !== undefined) a.onWarning?.(warning);
}

async function scoreAndWrite(a: ScoreAndWriteArgs): Promise<EvaluationReport> {
  const threshold = a.threshold ?? DEFAULT_THRESHOLD;
  checkDrift(a);
  const tta = resolveTta(a.tta ?? DEFAULT_TTA, a.trainedMirrors);
  if (tta.warning !== undefined) a.onWarning?.(tta.warning);
  const engines: InferenceEngine[] = [];
  let engine: InferenceEngine;
  try {
    for (const model of a.models) {
      engines.push(
        a.engine
          ? await a.engine(model, a.indices.length)
          : await startTfjsEngine(model, {
              ...(a.workers !== undefined ? { workers: a.workers } : {}),
              images: a.indices.length,
            }),
      );
    }
    engine = new AveragingEngine(engines, tta.mode);
    a.onEngine?.(engine.description);
  } catch (err) {
    for (const e of engines) await e.dispose();
    throw err;
  }
  let rows: ImageEvaluation[];
  try {
    rows = await evaluateModel(a.models[0], a.dataset, a.indices, {
      threshold,
      ...(a.inputSizeMetrics !== undefined ? { inputSizeMetrics: a.inputSizeMetrics } : {}),
      ...(a.batchSize !== undefined ? { batchSize: a.batchSize } : {}),
      ...(a.postprocess !== undefined ? { postprocess: a.postprocess } : {}),
      ...(a.surface !== undefined ? { surface: a.surface } : {}),
      onProgress: (p) => a.onProgress?.({ phase: 'predict', ...p }),
      engine,
    });
  } finally {
    await engine.dispose();
  }
  const summary = summarizeEvaluation(rows, {
    threshold,
    fold: a.fold,
    model: a.modelName,
    inputSize: a.dataset.inputSize,
    ...(a.surface !== undefined ? { surface: a.surface } : {}),
    extra: {
      ...a.extra,
      engine: engine.name,
      ...inferenceRecord(a, tta.mode),
      // What the tfjs kernels computed with (an onnxruntime engine has its own).
      ...(engine.name.startsWith('tfjs-') ? { numerics: activeNumerics() } : {}),
    },
  });
  const files = await writeEvaluation(a.out, rows, summary);
  return { summary, rows, files };
}

/**
 * Evaluates a run folder's best model on the test items of the run's fold, with the data set
 * settings recorded in its config.json; writes into `RUN_DIR/eval` (or `out`).
 */
export async function evaluateRun(options: EvaluateRunOptions): Promise<EvaluationReport> {
  const runDir = path.resolve(options.run);
  const config: RunConfig = await readRunConfig(runDir);
  const paths = runPaths(runDir, config);
  const d = config.dataset;
  const opened = await openModel(runDir);
  try {
    checkModelMatchesRun(opened.model, config, runDir);
    const dataset = await loadRunDataset(d, {
      ...(options.data !== undefined ? { data: options.data } : {}),
      ...(options.cache !== undefined ? { cache: options.cache } : {}),
      ...loaderCallbacks(options),
    });
    const fold = config.split.fold;
    const indices = (await loadRunFold(paths.split, dataset.names, fold, paths.config)).test;
    if (indices.length === 0) {
      throw new UserError(`split file ${paths.split}: fold ${fold} has no test items`);
    }
    return await scoreAndWrite({
      ...options,
      // The mirrors matter to test-time augmentation only (an old config.json is not read for them).
      ...((options.tta ?? DEFAULT_TTA) !== 'none'
        ? { trainedMirrors: options.trainedMirrors ?? runMirrors(config, paths.config) }
        : {}),
      models: [opened.model],
      modelName: opened.name,
      dataset,
      indices,
      fold,
      out: path.resolve(options.out ?? paths.eval),
      extra: {
        modelDir: opened.modelDir,
        dataset: { kind: d.kind, data: dataset.source.root ?? options.data ?? d.data },
        split: paths.split,
      },
    });
  } finally {
    opened.model.dispose();
  }
}

/**
 * Evaluates a saved model on a data set: one fold's test items of a split file, or every
 * item. The data set is loaded at the model's input size and channels.
 */
export async function evaluateSavedModel(
  options: EvaluateSavedModelOptions,
): Promise<EvaluationReport> {
  if (options.fold !== undefined && options.split === undefined) {
    throw new UserError('fold: applies to a split file, and none was given');
  }
  const dirs = typeof options.model === 'string' ? [options.model] : [...options.model];
  if (dirs.length === 0) throw new UserError('model: no model given');
  const opened: OpenedModel[] = [];
  try {
    for (const dir of dirs) opened.push(await openModel(dir));
    const shapes = opened.map((o, k) => ({
      name: dirs[k],
      inputShape: modelInputShape(o.model, dirs[k]),
    }));
    checkEnsembleInputs(shapes);
    const [h, w, c] = shapes[0].inputShape;
    if (c !== 1 && c !== 3) {
      throw new UserError(
        `${dirs[0]}: the model takes ${c}-channel images; only 1 (grey) and 3 (RGB) are read`,
      );
    }
    const first = opened[0];
    const interpolation = options.interpolation ?? first.run?.dataset.interpolation ?? 'nearest';
    const dataset = await loadDataset({
      dataset: datasetLayout(options.dataset),
      data: options.data,
      inputSize: [h, w],
      channels: c,
      interpolation,
      ...(options.maskSuffix !== undefined ? { maskSuffix: options.maskSuffix } : {}),
      ...(options.cache !== undefined ? { cache: options.cache } : {}),
      ...loaderCallbacks(options),
    });
    let fold: number | null = null;
    let indices = dataset.names.map((_, i) => i);
    let split: string | null = null;
    if (options.split !== undefined) {
      split = path.resolve(options.split);
      ({ fold, indices } = await testItemsOfSplit(split, dataset.names, options.fold));
    }
    const names = [...new Set(opened.map((o) => o.name))].join(' + ');
    const mirrors: Array<Mirrors | undefined> = [];
    if ((options.tta ?? DEFAULT_TTA) !== 'none' && options.trainedMirrors === undefined) {
      for (const o of opened) mirrors.push(await sourceMirrors(o));
    }
    const trained =
      options.trainedMirrors ?? (mirrors.length > 0 ? commonMirrors(mirrors) : undefined);
    return await scoreAndWrite({
      ...options,
      ...(trained !== undefined ? { trainedMirrors: trained } : {}),
      models: opened.map((o) => o.model),
      modelName: opened.length > 1 ? `ensemble of ${opened.length} (${names})` : first.name,
      dataset,
      indices,
      fold,
      out: path.resolve(options.out),
      extra: {
        modelDir: first.modelDir,
        ...(opened.length > 1 ? { modelDirs: opened.map((o) => o.modelDir) } : {}),
        dataset: { kind: options.dataset, data: dataset.source.root ?? options.data },
        split,
      },
    });
  } finally {
    for (const o of opened) o.model.dispose();
  }
}

function loaderCallbacks(options: CommonEvaluationOptions): {
  maxPixels?: number;
  onWarning?: (m: string) => void;
  onProgress?: (p: LoadProgress) => void;
} {
  return {
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.onProgress ? { onProgress: (p: LoadProgress) => options.onProgress?.(p) } : {}),
  };
}

/** Throws unless the best model's input matches the input shape config.json records. */
function checkModelMatchesRun(model: tfl.LayersModel, config: RunConfig, runDir: string): void {
  const shape = modelInputShape(model, `run ${runDir}`);
  const want = config.model.inputShape;
  if (shape.some((v, i) => v !== want[i])) {
    throw new UserError(
      `run ${runDir}: the best model takes [${shape.join(',')}] inputs but config.json records ` +
        `[${want.join(',')}]`,
    );
  }
}
