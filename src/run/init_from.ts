/**
 * `train --init-from MODEL`: a new run starts from another model's weights instead of the
 * seed's, to fine-tune it (on a corrected set exported from the web app, say). Every weight of
 * the run's network is taken from the weight of the same name (`conv1_1/kernel`) and shape in
 * the model; a weight it lacks or holds in another shape is an error that names it, so a run
 * never starts half initialised. One exception: a model exported with its `final` output alone
 * (`ftunet export`, `ftunet app`) lacks the layers that only the deep supervision's side
 * outputs use; those start from the seed (`InitRecord.seeded`), since `final` does not depend
 * on them. BatchNorm's moving statistics are weights too: they come with the model. The run records where the weights came from and their digest (`InitRecord`,
 * config.json's `init`), and a run started again from the beginning (killed before its first
 * epoch finished) loads them again and refuses a model that changed since. Node-only.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { finalOutputIndex, outputNames } from '../models/build.js';
import { UserError } from '../errors.js';
import { loadModel } from '../io/model_files.js';
import { weightsDigest } from '../io/model_json.js';
import { resolveModelSource } from './model_source.js';

/** What config.json records of the weights a run started from. */
export interface InitRecord {
  /** The model folder the weights were read from (absolute; a run folder's best model). */
  modelDir: string;
  /** SHA-256 of the weights' values (io/model_json.ts `weightsDigest`). */
  weightsSha256: string;
  /** How many weights were copied. */
  weights: number;
  /**
   * How many weights start from the seed: those of the layers only the side outputs use, when
   * the model holds its `final` output alone (absent: none).
   */
  seeded?: number;
}

const shapeText = (shape: readonly number[]): string => `[${shape.join(',')}]`;

/** The names of the weights that `model`'s `final` output depends on. */
function finalWeightNames(model: tfl.LayersModel): Set<string> {
  if (model.outputs.length === 1) return new Set(model.weights.map((w) => w.originalName));
  // A model of the same layers with `final` alone: its weights are those `final` uses.
  const net = tfl.model({ inputs: model.inputs, outputs: model.outputs[finalOutputIndex(model)] });
  return new Set(net.weights.map((w) => w.originalName));
}

/**
 * The weights of `source` that `target`'s weights take, in `target.weights` order (undefined:
 * from the seed, see the module comment); throws a `UserError` naming the first few that
 * `source` lacks or holds in another shape.
 */
function matchWeights(
  target: tfl.LayersModel,
  source: tfl.LayersModel,
  from: string,
): (tf.Tensor | undefined)[] {
  const byName = new Map(source.weights.map((w) => [w.originalName, w]));
  const finalOnly = outputNames(source).join() === 'final';
  const ofFinal = finalOnly ? finalWeightNames(target) : undefined;
  const missing: string[] = [];
  const reshaped: string[] = [];
  const values: (tf.Tensor | undefined)[] = [];
  for (const w of target.weights) {
    const found = byName.get(w.originalName);
    if (found === undefined && ofFinal !== undefined && !ofFinal.has(w.originalName)) {
      values.push(undefined);
    } else if (found === undefined) missing.push(w.originalName);
    else if (shapeText(found.shape as number[]) !== shapeText(w.shape as number[])) {
      reshaped.push(
        `${w.originalName} is ${shapeText(found.shape as number[])} there, ` +
          `${shapeText(w.shape as number[])} here`,
      );
    } else values.push(found.read());
  }
  if (missing.length > 0 || reshaped.length > 0) {
    // Shapes hold commas: the entries are parted by semicolons.
    const few = (list: string[]) =>
      list.length <= 4
        ? list.join('; ')
        : `${list.slice(0, 4).join('; ')} and ${list.length - 4} more`;
    const why = [
      ...(missing.length > 0
        ? [
            `${missing.length} of its ${target.weights.length} weights are not in it (${few(missing)})`,
          ]
        : []),
      ...(reshaped.length > 0 ? [`${reshaped.length} differ in shape (${few(reshaped)})`] : []),
    ].join('; ');
    throw new UserError(
      `--init-from ${from}: the model does not fit the run's network: ${why}. Start from a ` +
        'model of the same network, width, input size and channels',
    );
  }
  return values;
}

/**
 * Sets `model`'s weights from the model in `from` (a model folder or a run folder); with
 * `expected`, the weights' digest must be that one (a run started again). Returns the record.
 */
export async function initWeightsFrom(
  model: tfl.LayersModel,
  from: string,
  expected?: string,
): Promise<InitRecord> {
  const source = await resolveModelSource(from);
  const loaded = await loadModel(source.modelDir);
  try {
    const weightsSha256 = await weightsDigest(loaded);
    if (expected !== undefined && weightsSha256 !== expected) {
      throw new UserError(
        `--init-from ${from}: the model's weights changed since the run started from them ` +
          `(SHA-256 ${weightsSha256.slice(0, 16)}…, the run recorded ${expected.slice(0, 16)}…); ` +
          'put the model back, or start a new run',
      );
    }
    const values = matchWeights(model, loaded, from);
    model.weights.forEach((w, i) => {
      const value = values[i];
      if (value !== undefined) w.write(value);
    });
    const seeded = values.filter((x) => x === undefined).length;
    return {
      modelDir: source.modelDir,
      weightsSha256,
      weights: values.length - seeded,
      ...(seeded > 0 ? { seeded } : {}),
    };
  } finally {
    loaded.dispose();
  }
}
