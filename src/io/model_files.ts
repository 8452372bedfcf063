/**
 * Saving and loading tfjs-layers models in a folder on disk, without `@tensorflow/tfjs-node`.
 *
 * The folder holds the standard TensorFlow.js layers format: `model.json` (topology and
 * weights manifest) and one weights file, so `tf.loadLayersModel()` in a browser (over
 * HTTP) and tfjs-node's `file://` loader read it too. Saving is atomic: the weights go to a
 * new file named by their content hash, then `model.json` is replaced by a rename, then
 * weights files no longer referenced are removed; a process killed at any moment leaves a
 * folder whose `model.json` names a complete weights file. Both files are fsynced before they are
 * published (see `writeFileAtomic`), and a full disk is a `DiskFullError`.
 *
 * Weights are stored as float32 as trained, or quantized by TensorFlow.js's converter rules
 * (`io/quantize.ts`: a weight spec's `quantization` field, which tfjs-core's `decodeWeights`
 * reads back, so a quantized folder loads here and in stock TensorFlow.js alike).
 *
 * Integrity: the weights file is named by the first 16 hex digits of its SHA-256, and
 * `model.json` records the whole digest in a top-level `"weightsSha256": {FILE: HEX}` field
 * (stock TensorFlow.js ignores fields it does not know). Loading checks each weights file
 * against its recorded digest, or, for a file from elsewhere without one, against the digest in
 * its name where it has one; a mismatch is a `DamagedFileError` naming the file. The graph in
 * `model.json` is checked before tfjs-layers builds it (`checkModelTopology`), so a layer removed
 * from the file is an error naming it rather than an endless loop.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DamagedFileError, UserError } from '../errors.js';
import { diskFullAs, sweepStaleTemporaries, writeFileAtomic } from './atomic.js';
import { checkModelTopology } from './model_topology.js';
import { QUANTIZED_BYTES, quantizeWeights, type WeightQuantization } from './quantize.js';

export const MODEL_JSON = 'model.json';
const WEIGHTS_PATTERN = /^weights-([0-9a-f]{16})\.bin$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The message of a weights file whose content is not what was written. */
export const HASH_MISMATCH = 'its content does not match the hash recorded when it was written';

/** model.json as this module writes it: the tfjs format plus the weights' digests. */
interface SavedModelJSON extends tf.io.ModelJSON {
  /** Full SHA-256 (hex) of each weights file, by the name in the manifest. */
  weightsSha256?: Record<string, string>;
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Options of `saveModel` and `folderHandler`. */
export interface SaveModelOptions {
  /** How weights are stored (see io/quantize.ts). Default 'none': float32 as trained. */
  quantization?: WeightQuantization | 'none';
}

/** An IOHandler that saves to and loads from a folder. */
export function folderHandler(dir: string, options: SaveModelOptions = {}): tf.io.IOHandler {
  const quantization = options.quantization ?? 'none';
  return {
    save: async (artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('folderHandler: binary model topologies are not supported');
      }
      try {
        await mkdir(dir, { recursive: true });
        await sweepStaleTemporaries(dir);
      } catch (err) {
        throw diskFullAs(err, dir);
      }
      let weightData =
        artifacts.weightData === undefined
          ? new ArrayBuffer(0)
          : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      let weightSpecs = artifacts.weightSpecs ?? [];
      if (quantization !== 'none') {
        ({ specs: weightSpecs, data: weightData } = quantizeWeights(
          weightSpecs,
          weightData,
          quantization,
        ));
      }
      const weights = new Uint8Array(weightData);
      const digest = sha256(weights);
      const weightsName = `weights-${digest.slice(0, 16)}.bin`;
      await writeFileAtomic(join(dir, weightsName), weights);
      const manifest: tf.io.WeightsManifestConfig = [
        { paths: [weightsName], weights: weightSpecs },
      ];
      const json: SavedModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        weightsManifest: manifest,
        format: artifacts.format ?? 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        ...(artifacts.userDefinedMetadata
          ? { userDefinedMetadata: artifacts.userDefinedMetadata }
          : {}),
        weightsSha256: { [weightsName]: digest },
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
      let json: SavedModelJSON;
      try {
        json = JSON.parse(text) as SavedModelJSON;
      } catch {
        throw new UserError(`'${jsonPath}' is not valid JSON: the saved model is damaged`);
      }
      if (json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
        throw new UserError(`'${jsonPath}' is not a TensorFlow.js layers model`);
      }
      checkModelTopology(json.modelTopology, jsonPath);
      checkManifest(json.weightsManifest, jsonPath);
      const digests = json.weightsSha256 ?? {};
      if (
        typeof digests !== 'object' ||
        Array.isArray(digests) ||
        !Object.values(digests).every((d) => typeof d === 'string' && SHA256_HEX.test(d))
      ) {
        throw new DamagedFileError(
          jsonPath,
          '"weightsSha256" must map file names to SHA-256 digests (64 hex digits)',
        );
      }
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const files: Array<{ path: string; data: Uint8Array<ArrayBuffer> }> = [];
        for (const group of manifest) {
          for (const path of group.paths) {
            try {
              files.push({ path, data: new Uint8Array(await readFile(join(dir, path))) });
            } catch {
              throw new UserError(`saved model in '${dir}' is missing its weights file ${path}`);
            }
          }
        }
        const weightData = tf.io.CompositeArrayBuffer.join(files.map((f) => f.data.buffer));
        const expected = specs.reduce((n, s) => n + weightByteSize(s, jsonPath), 0);
        if (weightData.byteLength !== expected) {
          throw new UserError(
            `saved model in '${dir}' is damaged: weights hold ${weightData.byteLength} bytes, ` +
              `model.json describes ${expected}`,
          );
        }
        for (const { path, data } of files) {
          const recorded = Object.hasOwn(digests, path)
            ? digests[path]
            : WEIGHTS_PATTERN.exec(basename(path))?.[1];
          if (recorded !== undefined && !sha256(data).startsWith(recorded)) {
            throw new DamagedFileError(join(dir, path), HASH_MISMATCH);
          }
        }
        return [specs, weightData];
      });
    },
  };
}

/** Throws a `DamagedFileError` naming the first manifest entry that is not as tfjs reads it. */
function checkManifest(manifest: unknown[], file: string): void {
  manifest.forEach((group: unknown, i) => {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    const where = `"weightsManifest[${i}]`;
    if (!Array.isArray(g?.paths) || !g.paths.every((p) => typeof p === 'string' && p !== '')) {
      throw new DamagedFileError(file, `${where}.paths" must be a list of file names`);
    }
    if (!Array.isArray(g.weights)) {
      throw new DamagedFileError(file, `${where}.weights" must be a list`);
    }
    g.weights.forEach((w: unknown, j) => {
      const spec = w as { name?: unknown; shape?: unknown; dtype?: unknown } | null;
      if (
        typeof spec?.name !== 'string' ||
        typeof spec.dtype !== 'string' ||
        !Array.isArray(spec.shape) ||
        !spec.shape.every((n) => Number.isInteger(n) && (n as number) >= 0)
      ) {
        throw new DamagedFileError(
          file,
          `${where}.weights[${j}]" must have a "name", a "dtype" and a "shape" of sizes >= 0`,
        );
      }
    });
  });
}

/** The bytes a weight takes in the weights file (quantized or not); `file` names model.json. */
function weightByteSize(spec: tf.io.WeightsManifestEntry, file: string): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization as Record<string, unknown> | undefined;
  if (q !== undefined) {
    const bytes = typeof q?.dtype === 'string' ? QUANTIZED_BYTES[q.dtype] : undefined;
    if (bytes === undefined) {
      throw new DamagedFileError(
        file,
        `weight ${spec.name}: quantization dtype must be one of ` +
          `${Object.keys(QUANTIZED_BYTES).join(', ')}, got ${JSON.stringify(q?.dtype)}`,
      );
    }
    if (q.dtype !== 'float16' && !(Number.isFinite(q.min) && Number.isFinite(q.scale))) {
      throw new DamagedFileError(
        file,
        `weight ${spec.name}: ${String(q.dtype)} quantization needs a numeric "min" and "scale"`,
      );
    }
    return bytes * n;
  }
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

/** Saves a layers model into `dir` (created if needed), its weights quantized if asked. */
export async function saveModel(
  model: tfl.LayersModel,
  dir: string,
  options: SaveModelOptions = {},
): Promise<void> {
  await model.save(folderHandler(dir, options));
}

/**
 * Loads a layers model saved by `saveModel` (or any TensorFlow.js layers model folder). A
 * model.json that tfjs-layers cannot build (an unknown layer class, a bad layer setting, a
 * weight of the wrong shape: its `ValueError`s) is a `DamagedFileError` naming the file.
 */
export async function loadModel(dir: string): Promise<tfl.LayersModel> {
  try {
    return await tfl.loadLayersModel(folderHandler(dir));
  } catch (err) {
    if (err instanceof Error && err.constructor.name === 'ValueError') {
      // Its first sentence: tfjs adds paragraphs of possible reasons.
      const why = err.message.split('\n')[0].replace(/(\.)\s.*$/, '$1');
      throw new DamagedFileError(join(dir, MODEL_JSON), `tfjs-layers cannot build it: ${why}`);
    }
    const mismatch =
      err instanceof Error ? /^Shape mismatch: (\[.*?\]) vs\. (\[.*?\])/.exec(err.message) : null;
    if (mismatch !== null) {
      // tfjs names the layer's shape, then the weight file's (an edited input shape).
      throw new DamagedFileError(
        join(dir, MODEL_JSON),
        `its weights do not fit the layers it describes (a weight of shape ${mismatch[2]} ` +
          `where the layers take ${mismatch[1]})`,
      );
    }
    throw err;
  }
}
