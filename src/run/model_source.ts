/**
 * Where a saved model comes from: a model folder (`model.json` + weights, see
 * io/model_files.ts) or a run folder (`config.json`), whose best model is `RUN_DIR/best`.
 * Here, below evaluation, because training reads models too (`train --init-from`). Node-only
 * (fs).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { MODEL_JSON } from '../io/model_files.js';
import { isRunFolder, readRunConfig, runPaths, type RunConfig } from './config.js';

/** A resolved model folder, and the run it belongs to when it was given as a run folder. */
export interface ModelSource {
  /** The folder holding model.json (absolute). */
  modelDir: string;
  /** The run folder (absolute), when one was given. */
  runDir?: string;
  /** The run's config, when a run folder was given. */
  run?: RunConfig;
}

async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/**
 * Resolves `dir`: a folder with model.json is a model folder; a folder with config.json is a
 * run folder and gives its `best/` model. Throws a `UserError` otherwise.
 */
export async function resolveModelSource(dir: string): Promise<ModelSource> {
  const abs = path.resolve(dir);
  let isDir = false;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch {
    throw new UserError(`model folder '${dir}' does not exist`);
  }
  if (!isDir) throw new UserError(`'${dir}' is a file, expected a model folder or a run folder`);
  if (await isFile(path.join(abs, MODEL_JSON))) return { modelDir: abs };
  if (await isRunFolder(abs)) {
    const run = await readRunConfig(abs);
    const best = runPaths(abs, run).best;
    if (!(await isFile(path.join(best, MODEL_JSON)))) {
      throw new UserError(
        `run folder '${dir}' has no best model yet: ` +
          `${path.join(path.basename(best), MODEL_JSON)} not found`,
      );
    }
    return { modelDir: best, runDir: abs, run };
  }
  throw new UserError(
    `no saved model in '${dir}': expected ${MODEL_JSON} (a model folder) or config.json (a run folder)`,
  );
}
