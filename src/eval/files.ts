/**
 * The files of an evaluation, shared by scoring a model (`run.ts`) and scoring another tool's
 * masks (`predictions.ts`): the test items of one fold of a split file, and the two files
 * written, `metrics.csv` and `summary.json`, each atomically.
 *
 * Node-only (fs).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { loadSplit } from '../data/split_file.js';
import { resolveSplit } from '../data/splits.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import type { PostprocessOptions } from '../util/components.js';
import type { ImageEvaluation } from './evaluate.js';
import { metricsCsv, type EvaluationSummary } from './evaluation_summary.js';

/** The file names an evaluation writes into its folder. */
export const METRICS_CSV = 'metrics.csv';
export const SUMMARY_JSON = 'summary.json';

/** What an evaluation returns: the summary, the rows and the files written. */
export interface EvaluationReport {
  summary: EvaluationSummary;
  rows: ImageEvaluation[];
  /** The folder written to, and the two files in it. */
  files: { dir: string; metrics: string; summary: string };
}

/** Writes `metrics.csv` then `summary.json` into `dir` (created), each atomically. */
export async function writeEvaluation(
  dir: string,
  rows: readonly ImageEvaluation[],
  summary: EvaluationSummary,
): Promise<EvaluationReport['files']> {
  await mkdir(dir, { recursive: true });
  const files = {
    dir,
    metrics: path.join(dir, METRICS_CSV),
    summary: path.join(dir, SUMMARY_JSON),
  };
  await writeFileAtomic(files.metrics, metricsCsv(rows, summary.surface?.unit));
  await writeFileAtomic(files.summary, `${JSON.stringify(summary, null, 2)}\n`);
  return files;
}

/** The post-processing as summary.json records it: every setting, defaults filled in. */
export function postprocessRecord(postprocess: PostprocessOptions | undefined): {
  keepLargest: boolean;
  minSize: number;
} {
  return {
    keepLargest: postprocess?.keepLargest ?? false,
    minSize: postprocess?.minSize ?? 0,
  };
}

/**
 * The test items of fold `fold` of a split file; with one fold, `fold` may be left out.
 * Throws a `UserError` naming the file for a fold out of range or a split that does not match
 * the data set's names.
 */
export async function testItemsOfSplit(
  file: string,
  names: readonly string[],
  fold: number | undefined,
): Promise<{ fold: number; indices: number[] }> {
  const split = await loadSplit(file);
  const n = split.folds.length;
  if (fold === undefined) {
    if (n !== 1) {
      throw new UserError(`split file ${file} has ${n} folds; choose one (fold 0 to ${n - 1})`);
    }
    fold = 0;
  }
  if (!Number.isInteger(fold) || fold < 0 || fold >= n) {
    throw new UserError(
      `split file ${file} has ${n === 1 ? '1 fold (0)' : `${n} folds (0 to ${n - 1})`}, ` +
        `got fold ${fold}`,
    );
  }
  const indices = resolveSplit(split, names, `split file ${file}`)[fold].test;
  if (indices.length === 0)
    throw new UserError(`split file ${file}: fold ${fold} has no test items`);
  return { fold, indices };
}
