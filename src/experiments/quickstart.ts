/**
 * The quick start (`npm start`): the paper's model on built-in synthetic BUS-like data, in a
 * configuration small enough to finish in minutes on two cores, evaluated on held-out images
 * at their original size, with the run's HTML report (RUN_DIR/report.html).
 *
 * The configuration differs from the paper's in size only (64x64 input, a quarter of the
 * filters, 20 epochs) and in two settings that a run of a few hundred updates needs: Adam
 * (learning rate 0.003) instead of SGD, and BatchNormalization momentum 0.9 instead of 0.99,
 * whose moving statistics would otherwise still lean on their initial values when inference
 * uses them. Node-only.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { evaluateRun, type EvaluationReport } from '../eval/run.js';
import { writeRunReport, type RunReportResult } from '../report/run_report.js';
import {
  train,
  type TrainRunCallbacks,
  type TrainRunOptions,
  type TrainRunResult,
} from '../train/run.js';

/** The quick configuration (see the file's doc comment). */
export const QUICKSTART_SETTINGS = {
  dataset: 'synthetic-bus',
  syntheticCount: 163,
  model: 'attn_reg',
  loss: 'ftl',
  inputSize: [64, 64],
  width: 0.25,
  epochs: 20,
  batchSize: 8,
  bnMomentum: 0.9,
  optimizer: { name: 'adam', learningRate: 0.003 },
  seed: 0,
} as const satisfies Partial<TrainRunOptions>;

export interface QuickstartOptions {
  /** The run folder. Default `runs/quickstart`. */
  out?: string;
  backend: string;
  /** Data-parallel workers. Default: one per core (1 on the tensorflow backend). */
  workers?: number;
  packageInfo: { name: string; version: string };
  /** Epochs (for tests). Default 20. */
  epochs?: number;
  /** Synthetic items (for tests). Default 163, as BUS dataset B. */
  count?: number;
}

export interface QuickstartResult {
  out: string;
  train: TrainRunResult;
  evaluation: EvaluationReport;
  /** RUN_DIR/report.html. */
  report: RunReportResult;
  seconds: number;
}

/**
 * Removes an earlier quick-start run from `out` (keeping its synthetic data, which is reused
 * when unchanged); refuses a folder that holds something else.
 */
async function clearEarlierRun(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch {
    return;
  }
  const ours = new Set([
    'config.json',
    'split.json',
    'log.jsonl',
    'log.csv',
    'best',
    'checkpoint',
    'eval',
    'data',
    'report.html',
    'report',
  ]);
  const foreign = entries.filter((e) => !ours.has(e));
  if (foreign.length > 0) {
    throw new UserError(
      `${out} holds files that are not a quick-start run (${foreign.slice(0, 3).join(', ')}): ` +
        'choose another --out',
    );
  }
  for (const e of entries) {
    if (e !== 'data') await rm(path.join(out, e), { recursive: true, force: true });
  }
}

export async function quickstart(
  options: QuickstartOptions,
  callbacks: TrainRunCallbacks = {},
): Promise<QuickstartResult> {
  const start = Date.now();
  const out = path.resolve(options.out ?? path.join('runs', 'quickstart'));
  await clearEarlierRun(out);
  const s = QUICKSTART_SETTINGS;
  const trainResult = await train(
    {
      out,
      dataset: s.dataset,
      syntheticCount: options.count ?? s.syntheticCount,
      model: s.model,
      loss: s.loss,
      inputSize: [...s.inputSize],
      width: s.width,
      epochs: options.epochs ?? s.epochs,
      batchSize: s.batchSize,
      bnMomentum: s.bnMomentum,
      optimizer: { ...s.optimizer },
      seed: s.seed,
      backend: options.backend,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      packageInfo: options.packageInfo,
    },
    callbacks,
  );
  const evaluation = await evaluateRun({
    run: out,
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
  });
  const report = await writeRunReport({
    run: out,
    generator: `${options.packageInfo.name} ${options.packageInfo.version}`,
    ...(callbacks.onWarning ? { onWarning: callbacks.onWarning } : {}),
  });
  return { out, train: trainResult, evaluation, report, seconds: (Date.now() - start) / 1000 };
}
