/**
 * Loading a model in the browser: from a URL (a `model.json` served beside its weights, as
 * `ftunet export` writes and `ftunet app` hosts) or from files the person picked (the
 * `model.json` and its weights files together). The recipe to reproduce `ftunet predict` comes
 * from the export metadata (`export/metadata.ts`); a model folder saved by training, which has
 * none, gets `predict`'s defaults (nearest-neighbour resizing, threshold 0.5). Browser-only.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { DEFAULT_THRESHOLD } from '../eval/score.js';
import { modelInputShape } from '../eval/evaluate.js';
import {
  EXPORT_METADATA_FORMAT,
  EXPORT_METADATA_VERSION,
  exportMetadataOf,
  type ExportMetadata,
} from '../export/metadata.js';
import { attentionGateNames, modelMetadata, outputNames } from '../models/build.js';
import { MODEL_NAMES, type ModelName } from '../models/options.js';
import { DEFAULT_INTERPOLATION } from '../util/raster.js';

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
}

/**
 * Loads a model from the URL of its `model.json`, or from picked files (one `model.json` and
 * the weights files it names). Throws a `UserError` saying what is wrong with the files.
 */
export async function loadBrowserModel(source: string | readonly File[]): Promise<LoadedModel> {
  // The weights go to the cpu backend unless one was chosen: left alone, TensorFlow.js would
  // start the backend of highest priority (WebGPU), which the engines choose more carefully.
  if (!tf.engine().backendName) await tf.setBackend('cpu');
  let model: tfl.LayersModel;
  let name: string;
  if (typeof source === 'string') {
    name = source;
    try {
      model = await tfl.loadLayersModel(source);
    } catch (err) {
      throw new UserError(`cannot load the model at ${source}: ${describe(err)}`);
    }
  } else {
    const files = [...source];
    const isJson = (f: File): boolean => f.name.toLowerCase().endsWith('.json');
    let json = files.filter(isJson);
    // An export's folder picked whole also holds its marker (ftunet-export.json).
    if (json.length > 1) json = json.filter((f) => f.name.toLowerCase() === 'model.json');
    if (json.length !== 1) {
      throw new UserError(
        `pick one model.json and its weights files together (got ${json.length} .json files ` +
          `among ${files.length})`,
      );
    }
    const weights = files.filter((f) => !isJson(f));
    name = json[0].name;
    try {
      model = await tfl.loadLayersModel(tf.io.browserFiles([json[0], ...weights]));
    } catch (err) {
      throw new UserError(
        `cannot load ${name} with ${weights.length} weights files: ${describe(err)}`,
      );
    }
  }
  try {
    return describeModel(model, name);
  } catch (err) {
    model.dispose();
    throw err;
  }
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
    predict: {
      inputShape,
      scaling: 'divide-by-255',
      interpolation: DEFAULT_INTERPOLATION,
      threshold: DEFAULT_THRESHOLD,
      maskResize: 'nearest',
      output: 'final',
    },
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
