/**
 * The ensemble a study suggests once it ends: the folds of the variant with the highest mean
 * DSC among those whose folds have all finished, and the `predict` command that averages them
 * on new images (src/eval/ensemble_command.ts).
 *
 * Node-only (path).
 */
import { ensemblePredictCommand } from '../eval/ensemble_command.js';
import { unitDir } from './study.js';
import type { AblationTable } from './table.js';
import { listUnits } from './units.js';
import type { AblationVariantId } from './variants.js';

/** The suggested ensemble of a study. */
export interface StudyEnsemble {
  variant: AblationVariantId;
  /** The variant's mean DSC over its folds. */
  dsc: number;
  /** Its unit folders, in fold order (under the study folder as given). */
  modelDirs: string[];
  /** The command that ensembles them on new images. */
  command: string;
}

/**
 * The ensemble of the complete variant (every fold finished) with the highest mean DSC (the
 * first in study order on a tie); undefined while no variant is complete. `studyDir` is written
 * into the command as given.
 */
export function studyEnsemble(table: AblationTable, studyDir: string): StudyEnsemble | undefined {
  let best: { variant: AblationVariantId; dsc: number } | undefined;
  for (const r of table.rows) {
    if (r.dsc === null || r.folds.done < r.folds.total) continue;
    if (best === undefined || r.dsc.mean > best.dsc) best = { variant: r.variant, dsc: r.dsc.mean };
  }
  if (best === undefined) return undefined;
  const modelDirs = listUnits(table.folds, [best.variant]).map((u) => unitDir(studyDir, u));
  return { ...best, modelDirs, command: ensemblePredictCommand(modelDirs) };
}

/**
 * "ensemble of the 5 folds of attn-mi-ftl (the highest mean DSC of the complete variants, 0.812)
 * for new images: ftunet predict --model … IMAGES --out PREDICTIONS".
 */
export function describeStudyEnsemble(e: StudyEnsemble): string {
  return (
    `ensemble of the ${e.modelDirs.length} folds of ${e.variant} (the highest mean DSC of the ` +
    `complete variants, ${e.dsc.toFixed(3)}) for new images: ${e.command}`
  );
}
