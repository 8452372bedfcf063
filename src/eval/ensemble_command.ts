/**
 * The command that ensembles trained models on new images (`predict` with `--model` given once
 * per model: the mean of their probabilities), as `ablation` and k-fold training print it for
 * their folds. Images no fold trained on are the ensemble's fair test: every image of a k-fold
 * split is in the training part of k - 1 folds. Pure.
 */
import { ftunetCommand } from '../util/shell.js';

/** What the printed command names the images to predict and the folder to write. */
export const ENSEMBLE_PLACEHOLDERS = { images: 'IMAGES', out: 'PREDICTIONS' } as const;

/**
 * "npx ftunet predict --model A --model B IMAGES --out PREDICTIONS" (or "ftunet ...", see
 * `ftunetCommand`) for the model or run folders `modelDirs`, in order, each quoted for a shell
 * where needed (the placeholders are left bare).
 */
export function ensemblePredictCommand(modelDirs: readonly string[]): string {
  const { images, out } = ENSEMBLE_PLACEHOLDERS;
  return `${ftunetCommand(['predict', ...modelDirs.flatMap((d) => ['--model', d])])} ${images} --out ${out}`;
}
