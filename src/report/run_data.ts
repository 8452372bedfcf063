/**
 * Everything a run's report shows, gathered from the run folder: config.json, log.jsonl, the
 * evaluation (`eval/summary.json` and `eval/metrics.csv`, which must exist: the report shows an
 * evaluation, it does not make one), and what only the model can give: the pixel-level
 * precision-recall curve of the test images at the input size, and the pictures of the best,
 * median and worst test images with the prediction and the attention maps.
 *
 * Node-only (fs, sharp).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { indexByName, type SegmentationDataset } from '../data/dataset.js';
import type { LoadProgress } from '../data/load.js';
import { loadRunDataset, loadRunFold } from '../run/data.js';
import { UserError } from '../errors.js';
import {
  DEFAULT_EVAL_BATCH_SIZE,
  finalOutputModel,
  predictProbabilities,
} from '../eval/evaluate.js';
import { TfjsEngine } from '../eval/engine.js';
import { openModel } from '../eval/model_source.js';
import { METRICS_CSV, SUMMARY_JSON } from '../eval/run.js';
import { readEvaluationSummary, type EvaluationSummary } from '../eval/evaluation_summary.js';
import { attentionGateNames } from '../models/build.js';
import { Predictor } from '../predict/predictor.js';
import { readRunConfig, runPaths, type RunConfig } from '../run/config.js';
import { EPOCH_LOG_FILE, readEpochLogs } from '../run/log.js';
import type { EpochLog } from '../train/trainer.js';
import { ftunetCommand } from '../util/shell.js';
import { MAX_CASES_PER_GROUP, selectCases, type CaseGroup } from './cases.js';
import { casePanels, DEFAULT_THUMBNAIL_SIZE, type CasePanels } from './images.js';
import { parseMetricsCsv, type MetricsCsvRow } from './metrics_csv.js';
import {
  DEFAULT_PR_BINS,
  PrecisionRecallAccumulator,
  type PrecisionRecallCurve,
} from './pr_curve.js';

/** The default number of images shown per group (best, median, worst). */
export const DEFAULT_CASES_PER_GROUP = 2;

/** Progress: loading the data set (loadDataset's phases), predicting, drawing the cases. */
export interface RunReportProgress {
  phase: LoadProgress['phase'] | 'predict' | 'cases';
  done: number;
  total: number;
}

/** Options of `collectRunReport` (and of `writeRunReport`). */
export interface RunReportOptions {
  /** The run folder. Required. */
  run: string;
  /** The evaluation folder to show. Default `RUN_DIR/eval`. */
  evalDir?: string;
  /** The data folder, in place of the one config.json records. Default: the recorded one. */
  data?: string;
  /** The preprocessing cache folder or false. Default: the run's (config.json). */
  cache?: string | false;
  /** The most pixels an image or mask may have (see `loadDataset`). Default 100 megapixels. */
  maxPixels?: number;
  /** Images shown for each of best, median and worst. Default 2. */
  casesPerGroup?: number;
  /** Histogram bins of the precision-recall curve. Default 1000. */
  bins?: number;
  /** The longest side of the pictures, in pixels. Default 140. */
  thumbnailSize?: number;
  /** Images predicted at once for the precision-recall curve. Default 8. */
  batchSize?: number;
  /** Receives progress. Default: none. */
  onProgress?: (progress: RunReportProgress) => void;
  /** Receives warnings of the data set loader. Default: none. */
  onWarning?: (message: string) => void;
}

/** One pictured test image. */
export interface RunReportCase {
  group: CaseGroup;
  /** 1 = the highest DSC of the test images. */
  rank: number;
  row: MetricsCsvRow;
  panels: CasePanels;
}

/** What the report of a run shows. */
export interface RunReportData {
  /** The run folder (absolute). */
  runDir: string;
  config: RunConfig;
  /** One entry per finished epoch (empty when the run has no log). */
  logs: EpochLog[];
  summary: EvaluationSummary;
  /** The per-image metrics, in the order of metrics.csv. */
  rows: MetricsCsvRow[];
  /** The precision-recall curve of the test pixels at the input size, at summary.threshold. */
  pr: PrecisionRecallCurve;
  /** The pictured images per group (best, median, worst); a group may be empty. */
  cases: Array<{ group: CaseGroup; cases: RunReportCase[] }>;
  /** The attention gates' layer names (empty for models without gates). */
  gates: string[];
  model: { name: string; params: number };
  /** Items in each part of the run's fold. */
  split: { fold: number; train: number; val: number; test: number };
  /** The files read. */
  files: { evalDir: string; summary: string; metrics: string; log: string };
}

async function readText(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`${what}: ${file} not found`);
    }
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Checks the fields of summary.json that the report reads; `file` names it in errors. */
export function parseEvaluationSummary(
  value: unknown,
  file: string,
): EvaluationSummary & { threshold: number } {
  const s = readEvaluationSummary(value, file);
  if (s.threshold === null) {
    throw new UserError(`${file}: expected "threshold": a number from 0 to 1`);
  }
  return s as EvaluationSummary & { threshold: number };
}

/** Gathers everything the report of a run shows (see the module doc). */
export async function collectRunReport(options: RunReportOptions): Promise<RunReportData> {
  const runDir = path.resolve(options.run);
  const config = await readRunConfig(runDir);
  const paths = runPaths(runDir, config);
  const evalDir = path.resolve(options.evalDir ?? paths.eval);
  const files = {
    evalDir,
    summary: path.join(evalDir, SUMMARY_JSON),
    metrics: path.join(evalDir, METRICS_CSV),
    log: path.join(runDir, EPOCH_LOG_FILE),
  };
  const evaluate = ftunetCommand(['evaluate', '--run', options.run]);
  const notEvaluated = `run ${runDir} has no evaluation to report (evaluate it first: ${evaluate})`;
  const summaryText = await readText(files.summary, notEvaluated);
  let summaryValue: unknown;
  try {
    summaryValue = JSON.parse(summaryText);
  } catch {
    throw new UserError(`${files.summary} is not valid JSON: evaluate the run again`);
  }
  const summary = parseEvaluationSummary(summaryValue, files.summary);
  const rows = parseMetricsCsv(await readText(files.metrics, notEvaluated), files.metrics);
  if (rows.length === 0) throw new UserError(`${files.metrics}: no images were scored`);
  const logs = await readEpochLogs(runDir);

  const casesPerGroup = options.casesPerGroup ?? DEFAULT_CASES_PER_GROUP;
  if (!(
    Number.isInteger(casesPerGroup) &&
    casesPerGroup >= 1 &&
    casesPerGroup <= MAX_CASES_PER_GROUP
  )) {
    throw new UserError(
      `casesPerGroup must be an integer from 1 to ${MAX_CASES_PER_GROUP}, got ${casesPerGroup}`,
    );
  }
  const thumbnail = options.thumbnailSize ?? DEFAULT_THUMBNAIL_SIZE;
  const accumulator = new PrecisionRecallAccumulator(
    summary.threshold,
    options.bins ?? DEFAULT_PR_BINS,
  );

  const opened = await openModel(runDir);
  try {
    const d = config.dataset;
    const dataset = await loadRunDataset(d, {
      ...(options.data !== undefined ? { data: options.data } : {}),
      ...(options.cache !== undefined ? { cache: options.cache } : {}),
      ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
      ...(options.onProgress ? { onProgress: (p: LoadProgress) => options.onProgress?.(p) } : {}),
    });
    const fold = await loadRunFold(paths.split, dataset.names, config.split.fold, paths.config);
    const byName = indexByName(dataset);
    const indexOf = (row: MetricsCsvRow): number => {
      const i = byName.get(row.name);
      if (i === undefined) {
        throw new UserError(
          `${files.metrics} names '${row.name}', which is not in the data set at ${dataset.source.root ?? d.data}: evaluate the run again`,
        );
      }
      return i;
    };
    rows.forEach(indexOf);

    await accumulatePrecisionRecall(opened.model, dataset, fold.test, accumulator, {
      batchSize: options.batchSize ?? DEFAULT_EVAL_BATCH_SIZE,
      onProgress: (done, total) => options.onProgress?.({ phase: 'predict', done, total }),
    });

    const gates = attentionGateNames(opened.model);
    const predictor = new Predictor(opened.model, {
      threshold: summary.threshold,
      interpolation: d.interpolation,
      attention: gates.length > 0,
    });
    const selection = selectCases(rows, (r) => r.metrics.dsc, casesPerGroup);
    const total = selection.reduce((n, g) => n + g.cases.length, 0);
    let done = 0;
    const cases: RunReportData['cases'] = [];
    for (const g of selection) {
      const pictured: RunReportCase[] = [];
      for (const c of g.cases) {
        const index = indexOf(c.item);
        const image = await dataset.loadOriginalImage(index);
        const truth = await dataset.loadOriginalMask(index);
        const prediction = await predictor.predict(image);
        const panels = await casePanels(
          { image, truth, prediction: prediction.mask, attention: prediction.attention },
          thumbnail,
        );
        pictured.push({ group: g.group, rank: c.rank, row: c.item, panels });
        options.onProgress?.({ phase: 'cases', done: ++done, total });
      }
      cases.push({ group: g.group, cases: pictured });
    }
    return {
      runDir,
      config,
      logs,
      summary,
      rows,
      pr: accumulator.curve(),
      cases,
      gates,
      model: { name: opened.name, params: opened.model.countParams() },
      split: {
        fold: config.split.fold,
        train: fold.train.length,
        val: fold.val.length,
        test: fold.test.length,
      },
      files,
    };
  } finally {
    opened.model.dispose();
  }
}

/**
 * Predicts the items at `indices` with the model's `final` output, in batches, and adds their
 * probabilities against their masks (both at the input size) to `accumulator`.
 */
export async function accumulatePrecisionRecall(
  model: tfl.LayersModel,
  dataset: SegmentationDataset,
  indices: readonly number[],
  accumulator: PrecisionRecallAccumulator,
  options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<void> {
  const batchSize = options.batchSize ?? DEFAULT_EVAL_BATCH_SIZE;
  const engine = new TfjsEngine(finalOutputModel(model));
  const pixels = dataset.inputSize[0] * dataset.inputSize[1];
  for (let start = 0; start < indices.length; start += batchSize) {
    const batch = indices.slice(start, start + batchSize);
    const values = await predictProbabilities(engine, dataset, batch);
    batch.forEach((index, k) => {
      accumulator.add(values.subarray(k * pixels, (k + 1) * pixels), dataset.masks[index]);
    });
    options.onProgress?.(Math.min(start + batchSize, indices.length), indices.length);
  }
}
