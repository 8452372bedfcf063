/**
 * The checks of a model folder's `model.json` and its weights files, one home for the CLI
 * (`io/model_files.ts`, files on disk) and the web app (`browser/model.ts`, a URL or picked
 * files). A model.json is data, not instructions: before tfjs-layers sees it,
 *
 * - its graph must be one tfjs-layers can build (`checkModelTopology`: a cycle or a missing
 *   layer would make it spin forever);
 * - its weights manifest must be as tfjs reads it, and each weights path a relative path
 *   inside the model's folder: no absolute path, no `..` segment (nor `%2e%2e`, which a URL
 *   reads as `..`), no backslash, no URL scheme or drive letter (`checkWeightsPath`);
 * - each group's weights files must hold, together, the bytes its weight specs describe (by
 *   dtype, quantization and shape), checked on their sizes before any is read;
 * - each weights file must match its SHA-256 recorded in `weightsSha256` (written by
 *   `saveModel`, so by training and `ftunet export`), or for a file from elsewhere without one,
 *   the digest in its name where it has one (`weights-<16 hex digits>.bin`).
 *
 * Reading the files is the caller's (`WeightsReader`): on disk, the files must also be regular
 * files whose real path lies inside the folder. Writing them too: `modelFolderFiles` makes the
 * two files of a model folder (`model.json` and `weights-<16 hex digits>.bin`) from a model's
 * save artifacts, for `saveModel` (on disk) and the web app (a zip). Pure: no Node-only API.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DamagedFileError, UserError } from '../errors.js';
import { sha256Hex } from '../util/sha256.js';
import { checkModelTopology } from './model_topology.js';
import { QUANTIZED_BYTES, quantizeWeights, type WeightQuantization } from './quantize.js';

export const MODEL_JSON = 'model.json';
/** The name `saveModel` gives a weights file: the first 16 hex digits of its SHA-256. */
export const WEIGHTS_PATTERN = /^weights-([0-9a-f]{16})\.bin$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** The message of a weights file whose content is not what was written. */
export const HASH_MISMATCH = 'its content does not match the hash recorded when it was written';

/** model.json as `saveModel` writes it: the tfjs format plus the weights' digests. */
export interface SavedModelJSON extends tf.io.ModelJSON {
  /** Full SHA-256 (hex) of each weights file, by the name in the manifest. */
  weightsSha256?: Record<string, string>;
}

/** A weights file opened for reading: its size is known before its bytes are read. */
export interface WeightsFile {
  size: number;
  /** All `size` bytes. */
  read(): Promise<Uint8Array>;
  /** Releases the file (called whether or not it was read). */
  close(): Promise<void>;
}

/** Where the weights files named by a model.json come from. */
export interface WeightsReader {
  /**
   * Opens the weights file at `path` (as model.json names it, checked by `checkWeightsPath`).
   * Throws a `UserError` when it is missing or not a file of the model's folder.
   */
  open(path: string): Promise<WeightsFile>;
  /** The file at `path` as messages name it (e.g. its path on disk). */
  name(path: string): string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Parses and checks the text of a model.json (see the module's comment); `file` names it in
 * messages. Throws a `UserError` (a `DamagedFileError` naming the field) for anything amiss.
 */
export function parseModelJson(text: string, file: string): SavedModelJSON {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`'${file}' is not valid JSON: the saved model is damaged`);
  }
  if (!isObject(json) || json.modelTopology == null || !Array.isArray(json.weightsManifest)) {
    throw new UserError(`'${file}' is not a TensorFlow.js layers model`);
  }
  checkModelTopology(json.modelTopology, file);
  checkManifest(json.weightsManifest, file);
  const digests = json.weightsSha256 ?? {};
  if (
    !isObject(digests) ||
    !Object.values(digests).every((d) => typeof d === 'string' && SHA256_HEX.test(d))
  ) {
    throw new DamagedFileError(
      file,
      '"weightsSha256" must map file names to SHA-256 digests (64 hex digits)',
    );
  }
  return json as unknown as SavedModelJSON;
}

/**
 * Throws a `DamagedFileError` naming model.json (`file`) unless `path` is a relative path that
 * stays inside the model's folder, on disk and as a URL alike.
 */
export function checkWeightsPath(path: string, file: string): void {
  const segments = path.split('/');
  const outside =
    path.startsWith('/') ||
    path.includes('\\') ||
    segments[0].includes(':') ||
    segments.some((s) => s.replace(/%2e/gi, '.') === '..');
  if (outside) {
    throw new DamagedFileError(file, `weights file '${path}' is not inside the model folder`);
  }
}

/** Throws a `DamagedFileError` naming the first manifest entry that is not as tfjs reads it. */
function checkManifest(manifest: unknown[], file: string): void {
  manifest.forEach((group: unknown, i) => {
    const g = group as { paths?: unknown; weights?: unknown } | null;
    const where = `"weightsManifest[${i}]`;
    if (!Array.isArray(g?.paths) || !g.paths.every((p) => typeof p === 'string' && p !== '')) {
      throw new DamagedFileError(file, `${where}.paths" must be a list of file names`);
    }
    for (const path of g.paths as string[]) checkWeightsPath(path, file);
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
      weightByteSize(spec as tf.io.WeightsManifestEntry, file);
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

/**
 * The weights of a checked model.json (`parseModelJson`), read through `reader`: each group's
 * files are opened, their sizes checked against the manifest, then read and their digests
 * checked. Throws a `DamagedFileError` naming the first file that is not as described.
 */
export async function readWeights(
  json: SavedModelJSON,
  file: string,
  reader: WeightsReader,
): Promise<{ specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer[] }> {
  const digests = json.weightsSha256 ?? {};
  const specs: tf.io.WeightsManifestEntry[] = [];
  const data: ArrayBuffer[] = [];
  for (const [i, group] of json.weightsManifest.entries()) {
    const opened: WeightsFile[] = [];
    try {
      for (const path of group.paths) opened.push(await reader.open(path));
      const holds = opened.reduce((n, f) => n + f.size, 0);
      const describes = group.weights.reduce((n, s) => n + weightByteSize(s, file), 0);
      if (holds !== describes) {
        // One file is named; the shards of a group are named by model.json's entry.
        throw new DamagedFileError(
          group.paths.length === 1 ? reader.name(group.paths[0]) : file,
          `weights hold ${holds} bytes` +
            (group.paths.length === 1 ? '' : ` in the files of "weightsManifest[${i}]"`) +
            `, ${MODEL_JSON} describes ${describes}`,
        );
      }
      for (const [k, path] of group.paths.entries()) {
        const bytes = await opened[k].read();
        const recorded = Object.hasOwn(digests, path)
          ? digests[path]
          : WEIGHTS_PATTERN.exec(path.slice(path.lastIndexOf('/') + 1))?.[1];
        if (recorded !== undefined && !(await sha256Hex(bytes)).startsWith(recorded)) {
          throw new DamagedFileError(reader.name(path), HASH_MISMATCH);
        }
        data.push(
          bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
            ? (bytes.buffer as ArrayBuffer)
            : (bytes.slice().buffer as ArrayBuffer),
        );
      }
    } finally {
      await Promise.all(opened.map((f) => f.close()));
    }
    specs.push(...group.weights);
  }
  return { specs, data };
}

/**
 * A tfjs `IOHandler` that loads the model of a checked model.json (`parseModelJson`; `file`
 * names it), its weights read and checked through `reader`.
 */
export function checkedModelHandler(
  json: SavedModelJSON,
  file: string,
  reader: WeightsReader,
): tf.io.IOHandler {
  return {
    load: () =>
      tf.io.getModelArtifactsForJSON(json, async () => {
        const { specs, data } = await readWeights(json, file, reader);
        return [specs, data];
      }),
  };
}

/** The two files of a model folder, as `modelFolderFiles` makes them. */
export interface ModelFolderFiles {
  /** `weights-<first 16 hex digits of its SHA-256>.bin`. */
  weightsName: string;
  weights: Uint8Array;
  /** model.json, with the weights' whole digest in `weightsSha256`. */
  json: SavedModelJSON;
}

/**
 * The files of a model folder holding `artifacts` (what a tfjs `IOHandler`'s save receives):
 * one weights file named by its content hash, quantized when asked (io/quantize.ts), and the
 * model.json that names it and records its SHA-256.
 */
export async function modelFolderFiles(
  artifacts: tf.io.ModelArtifacts,
  quantization: WeightQuantization | 'none' = 'none',
): Promise<ModelFolderFiles> {
  if (artifacts.modelTopology instanceof ArrayBuffer) {
    throw new Error('model folders hold JSON model topologies, not binary ones');
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
  const digest = await sha256Hex(weights);
  const weightsName = `weights-${digest.slice(0, 16)}.bin`;
  const json: SavedModelJSON = {
    modelTopology: artifacts.modelTopology ?? {},
    weightsManifest: [{ paths: [weightsName], weights: weightSpecs }],
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
    ...(artifacts.userDefinedMetadata
      ? { userDefinedMetadata: artifacts.userDefinedMetadata }
      : {}),
    weightsSha256: { [weightsName]: digest },
  };
  return { weightsName, weights, json };
}

/** The artifacts `model.save` gives (no file is written). */
export async function modelArtifacts(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  return saved!;
}

/**
 * SHA-256 of a model's weights: each weight's name, a NUL, and its float32 values
 * (little-endian), in name order. It names the values, not the files (the same weights saved
 * quantized or sharded otherwise give another file but, once loaded, the same digest): the
 * identity a run started `--init-from` a model and a model fine-tuned in the page record of
 * their parent.
 */
export async function weightsDigest(model: tfl.LayersModel): Promise<string> {
  const weights = [...model.weights].sort((a, b) =>
    a.originalName < b.originalName ? -1 : a.originalName > b.originalName ? 1 : 0,
  );
  const parts: Uint8Array[] = [];
  const encoder = new TextEncoder();
  for (const w of weights) {
    parts.push(encoder.encode(`${w.originalName}\0`));
    const values = Float32Array.from(await w.read().data());
    parts.push(new Uint8Array(values.buffer));
  }
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return sha256Hex(bytes);
}
