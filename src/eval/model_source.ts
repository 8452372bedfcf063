/**
 * Where a saved model comes from: a model folder (`model.json` + weights, see
 * io/model_files.ts) or a run folder (`config.json`), whose best model is `RUN_DIR/best`:
 * resolved by run/model_source.ts (re-exported here), loaded and described here. Node-only
 * (fs).
 */
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { checkAugmentConfig } from '../data/augment.js';
import { datasetPreset } from '../data/presets.js';
import { UserError } from '../errors.js';
import { loadModel } from '../io/model_files.js';
import { modelMetadata } from '../models/build.js';
import { isRunFolder, readRunConfig, runPaths, type RunConfig } from '../run/config.js';
import { resolveModelSource, type ModelSource } from '../run/model_source.js';
import type { Mirrors } from './ensemble.js';

export { resolveModelSource, type ModelSource };

/** A loaded model and where it came from. The caller disposes of `model`. */
export interface OpenedModel extends ModelSource {
  model: tfl.LayersModel;
  /** The network's name: the build metadata's (e.g. 'attn_reg'), else the tfjs model name. */
  name: string;
}

/**
 * Loads the model of `from`: a folder, resolved first (see `resolveModelSource`), or a source
 * resolved before (so a command can check its folder before it starts a backend).
 */
export async function openModel(from: string | ModelSource): Promise<OpenedModel> {
  const source = typeof from === 'string' ? await resolveModelSource(from) : from;
  const model = await loadModel(source.modelDir);
  return { ...source, model, name: modelMetadata(model)?.model ?? model.name };
}

/**
 * The mirrors that suit a run's model: the flips of config.json's `augment` (a run written
 * before augmentation records none), and those natural to its data set (its preset's
 * `naturalMirrors`: left-right for ultrasound, any for dermoscopy).
 */
export function runMirrors(run: RunConfig, source = 'config.json'): Mirrors {
  const natural = datasetPreset(run.dataset.kind).naturalMirrors;
  const augment = run.augment as { transforms?: unknown } | undefined;
  if (augment === undefined) return { ...natural };
  const transforms = checkAugmentConfig(augment.transforms, source);
  return {
    horizontal: natural.horizontal || transforms.flipH.p > 0,
    vertical: natural.vertical || transforms.flipV.p > 0,
  };
}

/**
 * The mirrors that suit the model of `source` (`runMirrors`), as far as its run says: a run folder's,
 * or those of the run that holds the folder (`RUN/best`, or a checkpoint under
 * `RUN/checkpoint`); undefined for a folder outside a run (an export records its own:
 * export/read.ts).
 */
export async function sourceMirrors(source: ModelSource): Promise<Mirrors | undefined> {
  if (source.run !== undefined) {
    return runMirrors(source.run, path.join(source.runDir ?? '', 'config.json'));
  }
  for (const up of [1, 2]) {
    const runDir = path.resolve(source.modelDir, ...Array<string>(up).fill('..'));
    if (!(await isRunFolder(runDir))) continue;
    try {
      const run = await readRunConfig(runDir);
      const paths = runPaths(runDir, run);
      const inside =
        source.modelDir === paths.best || path.dirname(source.modelDir) === paths.checkpoint;
      if (inside) return runMirrors(run, paths.config);
    } catch (err) {
      // A run around the folder whose config.json cannot be read says nothing: unknown.
      if (!(err instanceof UserError)) throw err;
    }
  }
  return undefined;
}
