/**
 * What a run trained on one fold of a k-fold split says when it ends: how to train the other
 * folds on the same split and the command that ensembles the k runs on new images
 * (src/eval/ensemble_command.ts). Node-only (reads the run's split file).
 */
import path from 'node:path';
import { loadSplit } from '../data/split_file.js';
import { ensemblePredictCommand } from './ensemble_command.js';
import { commandLine } from '../util/shell.js';
import type { RunConfig } from '../run/config.js';

/** The placeholder of the run folder of fold `k` in the printed command. */
export const foldRunPlaceholder = (k: number): string => `RUN_OF_FOLD_${k}`;

/**
 * "fold 0 of a 3-fold split: train the other folds with the same flags and --split
 * runs/a/split.json --fold K, then ensemble the 3 runs for new images: ftunet predict --model
 * runs/a --model RUN_OF_FOLD_1 --model RUN_OF_FOLD_2 IMAGES --out PREDICTIONS"; undefined for a
 * holdout split. `runDir` is written as given.
 */
export async function foldEnsembleHint(
  runDir: string,
  config: Pick<RunConfig, 'split'>,
): Promise<string | undefined> {
  const file = config.split.file;
  const splitFile = path.isAbsolute(file) ? file : path.join(runDir, file);
  const split = await loadSplit(splitFile);
  if (split.method !== 'kfold') return undefined;
  const k = split.folds.length;
  const fold = config.split.fold;
  const runs = split.folds.map((_, i) => (i === fold ? runDir : foldRunPlaceholder(i)));
  return (
    `fold ${fold} of a ${k}-fold split: train the other folds with the same flags and ` +
    `${commandLine(['--split', splitFile])} --fold K, ` +
    `then ensemble the ${k} runs for new images: ${ensemblePredictCommand(runs)}`
  );
}
