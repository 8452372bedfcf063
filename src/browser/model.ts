/**
 * Loading a model in the browser: from a URL (a `model.json` served beside its weights, as
 * `ftunet export` writes and `ftunet app` hosts) or from files the person picked (the
 * `model.json` and its weights files together), with the checks `ftunet predict` makes of a
 * model folder (`io/model_json.ts`: the graph, the weights paths, sizes and SHA-256). The recipe to reproduce `ftunet predict` comes
 * from the export metadata (`export/metadata.ts`); a model folder saved by training, which has
 * none, gets `predict`'s defaults (nearest-neighbour resizing, threshold 0.5). Browser-only.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import {
  checkedModelHandler,
  parseModelJson,
  type SavedModelJSON,
  type WeightsReader,
} from '../io/model_json.js';
import { predictionRecipe } from '../data/recipe.js';
import { modelInputShape } from '../eval/evaluate.js';
import {
  EXPORT_METADATA_FORMAT,
  EXPORT_METADATA_VERSION,
  exportMetadataOf,
  type ExportMetadata,
} from '../export/metadata.js';
import { attentionGateNames, modelMetadata, outputNames } from '../models/build.js';
import { MODEL_NAMES, type ModelName } from '../models/options.js';

/** A model ready to predict with, and how. */
export interface LoadedModel {
  model: tfl.LayersModel;
  /** The recipe and what the model is (recorded by the export, else the defaults). */
  metadata: ExportMetadata;
  /** Whether `metadata` was recorded by `ftunet export` (false: the defaults were used). */
  exported: boolean;
  /** The attention gates' layer names (empty for unet). */
  gates: string[];
  /** Where it came from: the URL, or the picked model.json's name. */
  source: string;
  /**
   * The weights' SHA-256 as model.json records it (`weightsSha256`): the one file's digest, or
   * the files' digests joined by '+' in the manifest's order; absent when none is recorded.
   */
  hash?: string;
}

/** The recorded digest of the weights of `json` (see `LoadedModel.hash`). */
function weightsHash(json: SavedModelJSON): string | undefined {
  const digests = json.weightsSha256 ?? {};
  const paths = (json.weightsManifest ?? []).flatMap((group) => group.paths);
  if (paths.length === 0 || !paths.every((p) => Object.hasOwn(digests, p))) return undefined;
  return paths.map((p) => digests[p]).join('+');
}

/**
 * Loads a model from the URL of its `model.json`, or from picked files (one `model.json` and
 * the weights files it names). The CLI's checks come first (`io/model_json.ts`): the graph
 * (a cycle would hang the page), the weights paths (inside the model's folder), their sizes
 * and their recorded SHA-256. Throws a `UserError` saying what is wrong with the files.
 */
export async function loadBrowserModel(source: string | readonly File[]): Promise<LoadedModel> {
  // The weights go to the cpu backend unless one was chosen: left alone, TensorFlow.js would
  // start the backend of highest priority (WebGPU), which the engines choose more carefully.
  if (!tf.engine().backendName) await tf.setBackend('cpu');
  const { handler, name, what, json } =
    typeof source === 'string' ? await fromUrl(source) : await fromFiles(source);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(handler);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot load ${what}: ${describe(err)}`);
  }
  try {
    const hash = weightsHash(json);
    return { ...describeModel(model, name), ...(hash !== undefined ? { hash } : {}) };
  } catch (err) {
    model.dispose();
    throw err;
  }
}

/** A checked model.json, ready to load: its handler, its name and what it is, in words. */
interface CheckedSource {
  handler: tf.io.IOHandler;
  json: SavedModelJSON;
  name: string;
  what: string;
}

/** The model whose model.json is at `url`; its weights files are fetched beside it. */
async function fromUrl(url: string): Promise<CheckedSource> {
  const base = new URL(url, globalThis.location?.href);
  let text: string;
  try {
    const response = await fetch(base);
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    text = await response.text();
  } catch (err) {
    throw new UserError(`cannot load the model at ${url}: ${describe(err)}`);
  }
  const json = parseModelJson(text, url);
  const reader: WeightsReader = {
    name: (path) => new URL(path, base).href,
    open: async (path) => {
      const at = new URL(path, base).href;
      let response: Response;
      try {
        response = await fetch(at);
        if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
      } catch (err) {
        throw new UserError(`cannot load the weights file ${at}: ${describe(err)}`);
      }
      // The size before the bytes where the server says it (of the bytes as they are stored).
      const length = response.headers.get('Content-Length');
      const encoding = response.headers.get('Content-Encoding') ?? 'identity';
      if (length !== null && encoding === 'identity' && /^\d+$/.test(length)) {
        const size = Number(length);
        return {
          size,
          read: async () => {
            const bytes = new Uint8Array(await response.arrayBuffer());
            if (bytes.length !== size) {
              throw new UserError(`${at} ended after ${bytes.length} of ${size} bytes`);
            }
            return bytes;
          },
          close: async () => {
            if (!response.bodyUsed) await response.body?.cancel();
          },
        };
      }
      const bytes = new Uint8Array(await response.arrayBuffer());
      return { size: bytes.length, read: async () => bytes, close: async () => undefined };
    },
  };
  return {
    handler: checkedModelHandler(json, url, reader),
    json,
    name: url,
    what: `the model at ${url}`,
  };
}

/** The model of picked files: one model.json and the weights files it names (by file name). */
async function fromFiles(source: readonly File[]): Promise<CheckedSource> {
  const files = [...source];
  let json = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
  // An export's folder picked whole also holds its marker (ftunet-export.json).
  if (json.length > 1) json = json.filter((f) => f.name.toLowerCase() === 'model.json');
  if (json.length !== 1) {
    throw new UserError(
      `pick one model.json and its weights files together (got ${json.length} .json files ` +
        `among ${files.length})`,
    );
  }
  const name = json[0].name;
  const weights = new Map(files.filter((f) => f !== json[0]).map((f) => [f.name, f]));
  const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
  const reader: WeightsReader = {
    name: baseName,
    open: (path) => {
      const file = weights.get(baseName(path));
      if (file === undefined) {
        throw new UserError(
          `${name} names the weights file ${baseName(path)}, which was not picked: pick ` +
            `${name} and its weights files together`,
        );
      }
      return Promise.resolve({
        size: file.size,
        read: async () => new Uint8Array(await file.arrayBuffer()),
        close: async () => undefined,
      });
    },
  };
  const parsed = parseModelJson(await json[0].text(), name);
  return {
    handler: checkedModelHandler(parsed, name, reader),
    json: parsed,
    name,
    what: `${name} with ${weights.size} weights files`,
  };
}

/** The `LoadedModel` of a model already in memory; `source` names it in messages. */
export function describeModel(model: tfl.LayersModel, source: string): LoadedModel {
  const inputShape = modelInputShape(model, source);
  if (inputShape[2] !== 1 && inputShape[2] !== 3) {
    throw new UserError(
      `${source}: the model takes ${inputShape[2]}-channel images; only 1 (grey) and 3 (RGB) are supported`,
    );
  }
  const outputs = outputNames(model);
  if (!outputs.includes('final') && outputs.length !== 1) {
    throw new UserError(`${source}: the model has no output named 'final' (${outputs.join(', ')})`);
  }
  const recorded = exportMetadataOf(model.getUserDefinedMetadata(), source);
  if (recorded !== undefined) {
    const [h, w, c] = recorded.predict.inputShape;
    if (h !== inputShape[0] || w !== inputShape[1] || c !== inputShape[2]) {
      throw new UserError(
        `${source}: the metadata records input ${h}x${w}x${c}, the network takes ` +
          inputShape.join('x'),
      );
    }
  }
  const built = recorded?.model ?? modelMetadata(model)?.model;
  if (!(MODEL_NAMES as readonly unknown[]).includes(built)) {
    throw new UserError(
      `${source}: not a model of focal-tversky-unet (its metadata names no network of ` +
        `${MODEL_NAMES.join(', ')}); export it with ftunet export`,
    );
  }
  const modelName = built as ModelName;
  const metadata: ExportMetadata = recorded ?? {
    format: EXPORT_METADATA_FORMAT,
    version: EXPORT_METADATA_VERSION,
    model: modelName,
    predict: predictionRecipe({ inputShape }),
    outputs,
    quantization: 'none',
    producer: 'unknown',
  };
  return {
    model,
    metadata,
    exported: recorded !== undefined,
    gates: attentionGateNames(model),
    source,
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
