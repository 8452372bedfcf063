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
 * from the file is an error naming it rather than an endless loop. These checks live in
 * `io/model_json.ts`, shared with the web app.
 *
 * A model folder is data, not instructions: the weights files its model.json names must lie in
 * the folder (no `..`, no absolute path, no link whose real path is outside), be regular files
 * (not a FIFO, a device or a folder: each is opened without blocking and checked on the open
 * file), and hold the bytes the manifest describes, checked on their sizes before they are read.
 * Anything else is a `DamagedFileError` naming model.json, and no outside file is read.
 */
import { constants, type Stats } from 'node:fs';
import { mkdir, open, readdir, realpath, rm, type FileHandle } from 'node:fs/promises';
import { join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { DamagedFileError, UserError } from '../errors.js';
import { diskFullAs, sweepStaleTemporaries, writeFileAtomic } from './atomic.js';
import {
  checkedModelHandler,
  MODEL_JSON,
  modelFolderFiles,
  parseModelJson,
  WEIGHTS_PATTERN,
  type WeightsReader,
} from './model_json.js';
import type { WeightQuantization } from './quantize.js';

export { HASH_MISMATCH, MODEL_JSON } from './model_json.js';

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
      const { weightsName, weights, json } = await modelFolderFiles(artifacts, quantization);
      try {
        await mkdir(dir, { recursive: true });
        await sweepStaleTemporaries(dir);
      } catch (err) {
        throw diskFullAs(err, dir);
      }
      await writeFileAtomic(join(dir, weightsName), weights);
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
      const json = parseModelJson(await readModelJson(dir), jsonPath);
      return checkedModelHandler(json, jsonPath, folderReader(dir)).load!();
    },
  };
}

/** The text of `dir`'s model.json, a regular file (a FIFO there must not hang the process). */
async function readModelJson(dir: string): Promise<string> {
  const jsonPath = join(dir, MODEL_JSON);
  let handle: FileHandle;
  try {
    handle = await open(jsonPath, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`no saved model in '${dir}': ${MODEL_JSON} not found`);
    }
    throw new UserError(`cannot read '${jsonPath}': ${(err as Error).message}`);
  }
  try {
    const kind = fileKind(await handle.stat());
    if (kind !== undefined) throw new UserError(`'${jsonPath}' is not a regular file (${kind})`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** What a file that is not a regular file is, in words; undefined for a regular file. */
function fileKind(s: Stats): string | undefined {
  if (s.isFile()) return undefined;
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  return 'not a file';
}

/**
 * The weights files of the model folder `dir`: regular files whose real path (links followed)
 * lies inside the folder's, opened without blocking (a FIFO) and checked on the open file, so
 * that what is read is what was checked.
 */
function folderReader(dir: string): WeightsReader {
  const jsonPath = join(dir, MODEL_JSON);
  let root: Promise<string> | undefined;
  return {
    name: (path) => join(dir, path),
    open: async (path) => {
      root ??= realpath(dir);
      const inside = await root;
      let real: string;
      try {
        real = await realpath(join(dir, path));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          throw new UserError(`saved model in '${dir}' is missing its weights file ${path}`);
        }
        throw new UserError(`cannot read ${join(dir, path)}: ${(err as Error).message}`);
      }
      if (!real.startsWith(inside + sep)) {
        throw new DamagedFileError(
          jsonPath,
          `weights file '${path}' is a link to a file outside the model folder`,
        );
      }
      let handle: FileHandle;
      try {
        handle = await open(
          real,
          constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0),
        );
      } catch (err) {
        throw new UserError(`cannot read ${join(dir, path)}: ${(err as Error).message}`);
      }
      const stats = await handle.stat().catch(async (err: unknown) => {
        await handle.close();
        throw err;
      });
      const kind = fileKind(stats);
      if (kind !== undefined) {
        await handle.close();
        throw new DamagedFileError(
          jsonPath,
          `weights file '${path}' is not a regular file (${kind})`,
        );
      }
      const size = stats.size;
      return {
        size,
        read: async () => {
          const bytes = new Uint8Array(size);
          let got = 0;
          while (got < size) {
            const { bytesRead } = await handle.read(bytes, got, size - got, got);
            if (bytesRead === 0) break;
            got += bytesRead;
          }
          if (got !== size) {
            throw new DamagedFileError(
              join(dir, path),
              `it was cut short while read (${got} of ${size} bytes)`,
            );
          }
          return bytes;
        },
        close: () => handle.close(),
      };
    },
  };
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
