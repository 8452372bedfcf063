/**
 * Reading the export metadata of a model folder from its model.json alone (no weights, no
 * backend), so that `predict` and `evaluate` can take their defaults from an exported folder
 * before a backend starts. Node-only (fs).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { Mirrors } from '../eval/ensemble.js';
import { sourceMirrors, type ModelSource } from '../eval/model_source.js';
import { MODEL_JSON } from '../io/model_files.js';
import { exportMetadataOf, type ExportMetadata } from './metadata.js';

/**
 * The checked `userDefinedMetadata.ftunetExport` of `modelDir/model.json`; undefined for a
 * folder that has none (a model saved by training). A damaged value throws a `UserError`
 * naming the file and the field.
 */
export async function readExportMetadata(modelDir: string): Promise<ExportMetadata | undefined> {
  const file = path.join(modelDir, MODEL_JSON);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) {
      throw new UserError(`'${file}' is not valid JSON: the saved model is damaged`);
    }
    throw new UserError(`cannot read '${file}': ${(err as Error).message}`);
  }
  const meta = (json as { userDefinedMetadata?: unknown } | null)?.userDefinedMetadata;
  return exportMetadataOf(meta, file);
}

/**
 * The mirrors the model of `source` was trained with (its flip augmentation): its run's
 * (`sourceMirrors`), else what its export records; undefined when neither says.
 */
export async function trainedMirrors(source: ModelSource): Promise<Mirrors | undefined> {
  return (
    (await sourceMirrors(source)) ?? (await readExportMetadata(source.modelDir))?.training?.mirrors
  );
}
