/**
 * Saving and loading tfjs-layers models in a folder on disk, without `@tensorflow/tfjs-node`.
 *
 * The folder holds the standard TensorFlow.js layers format: `model.json` (topology and
 * weights manifest) and one weights file, so `tf.loadLayersModel()` in a browser (over
 * HTTP) and tfjs-node's `file://` loader read it too. Saving is atomic: the weights go to a
 * new file named by their content hash, then `model.json` is replaced by a rename, then
 * weights files no longer referenced are removed; a process killed at any moment leaves a
 * folder whose `model.json` names a complete weights file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export const MODEL_JSON = 'model.json';
const WEIGHTS_PATTERN = /^weights-[0-9a-f]{16}\.bin$/;

/** An IOHandler that saves to and loads from a folder. */
export function folderHandler(dir: string): tf.io.IOHandler {
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('folderHandler: binary model topologies are not supported');
      }
      await mkdir(dir, { recursive: true });
      const weights = new Uint8Array(
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
      );
      const hash = createHash('sha256').update(weights).digest('hex').slice(0, 16);
      const weightsName = `weights-${hash}.bin`;
      await writeFileAtomic(join(dir, weightsName), weights);
      const manifest: tf.io.WeightsManifestConfig = [
        { paths: [weightsName], weights: artifacts.weightSpecs ?? [] },
      ];
      const json: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: manifest,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata
          ? { userDefinedMetadata: artifacts.userDefinedMetadata }
          : {}),
      };
      await writeFileAtomic(join(dir, MODEL_JSON), JSON.stringify(json));
      for (const name of await readdir(dir)) {
        if (WEIGHTS_PATTERN.test(name) && name !== weightsName) {
          await rm(join(dir, name), { force: true });
        }
      }
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    },

    load: async (): Promise<tf.io.ModelArtifacts> => {
      const jsonPath = join(dir, MODEL_JSON);
      let text: string;
      try {
        text = await readFile(jsonPath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new UserError(`no saved model in '${dir}': ${MODEL_JSON} not found`);
        }
        throw new UserError(`cannot read '${jsonPath}': ${(err as Error).message}`);
      }
      let json: tf.io.ModelJSON;
      try {
        json = JSON.parse(text) as tf.io.ModelJSON;
      } catch {
        throw new UserError(`'${jsonPath}' is not valid JSON: the saved model is damaged`);
      }
      if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
        throw new UserError(`'${jsonPath}' is not a TensorFlow.js layers model`);
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            const file = join(dir, path);
            let data: Buffer;
            try {
              data = await readFile(file);
            } catch {
              throw new UserError(`saved model in '${dir}' is missing its weights file ${path}`);
            }
            buffers.push(new Uint8Array(data).buffer);
          }
        }
        const weightData = tf.io.CompositeArrayBuffer.join(buffers);
        const expected = specs.reduce((n, s) => n + weightByteSize(s), 0);
        if (weightData.byteLength !== expected) {
          throw new UserError(
            `saved model in '${dir}' is damaged: weights hold ${weightData.byteLength} bytes, ` +
              `model.json describes ${expected}`,
          );
        }
        return [specs, weightData];
      });
    },
  };
}

function weightByteSize(spec: tf.io.WeightsManifestEntry): number {
  if (spec.quantization !== undefined) {
    throw new UserError(`quantized weights (${spec.name}) are not supported`);
  }
  const n = spec.shape.reduce((a, b) => a * b, 1);
  switch (spec.dtype) {
    case 'float32':
    case 'int32':
      return 4 * n;
    case 'bool':
      return n;
    default:
      throw new UserError(`weights of type ${spec.dtype} (${spec.name}) are not supported`);
  }
}

/** Saves a layers model into `dir` (created if needed). */
export async function saveModel(model: tfl.LayersModel, dir: string): Promise<void> {
  await model.save(folderHandler(dir));
}

/** Loads a layers model saved by `saveModel` (or any TensorFlow.js layers model folder). */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  return tfl.loadLayersModel(folderHandler(dir));
}
