/**
 * The TensorFlow.js export of a model, before it is written: the model with the outputs asked
 * for (`exportedModel`) and the metadata that lets any program reproduce `ftunet predict` with
 * it (`makeExportMetadata`, see export/metadata.ts). Writing is in export/write.ts.
 * No Node-only API.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import { modelInputShape } from '../eval/evaluate.js';
import { modelMetadata } from '../models/build.js';
import { MODEL_NAMES, type ModelName } from '../models/options.js';
import type { Interpolation } from '../util/raster.js';
import {
  describeExport,
  EXPORT_METADATA_KEY,
  EXPORT_OUTPUTS,
  type ExportMetadata,
  type ExportOutputs,
  type Quantization,
  type TrainingSummary,
} from './metadata.js';

/** The name of the output that holds the prediction. */
export const FINAL_OUTPUT = 'final';

/** The output names of a model, in order (each output's layer name). */
export function outputNames(model: tfl.LayersModel): string[] {
  return model.outputs.map((o) => o.sourceLayer.name);
}

/**
 * The model to export: with `'final'`, a model of the same layers and weights whose only
 * output is `final` (the deep-supervision heads pred1..pred3 and the layers only they use are
 * left out); with `'all'`, `model` itself. The result keeps `model`'s name and its
 * userDefinedMetadata. It shares `model`'s weights: dispose of `model` only. Throws a
 * `UserError` when the model has no output named `final`.
 */
export function exportedModel(model: tfl.LayersModel, outputs: ExportOutputs): tfl.LayersModel {
  const names = outputNames(model);
  const k = names.indexOf(FINAL_OUTPUT);
  if (k < 0) {
    throw new UserError(
      `export: model '${model.name}' has no output named '${FINAL_OUTPUT}' ` +
        `(outputs: ${names.join(', ')})`,
    );
  }
  switch (outputs) {
    case 'all':
      return model;
    case 'final': {
      if (names.length === 1) return model;
      const net = tfl.model({ inputs: model.inputs, outputs: model.outputs[k], name: model.name });
      const meta = model.getUserDefinedMetadata();
      if (meta !== undefined) net.setUserDefinedMetadata(meta);
      return net;
    }
    default:
      throw new UserError(
        `export: outputs must be one of ${EXPORT_OUTPUTS.join(', ')}, got '${String(outputs)}'`,
      );
  }
}

/** What `makeExportMetadata` records beyond what the model itself says. */
export interface ExportMetadataOptions {
  /** Step 2 of the recipe: how images are resized to the input size. */
  interpolation: Interpolation;
  /** Step 4: lesion where p > threshold. */
  threshold: number;
  quantization: Quantization;
  /** Where the model came from, when exported from a run folder. */
  training?: TrainingSummary;
  /** e.g. 'focal-tversky-unet 0.1.0'. */
  producer: string;
}

/**
 * The export metadata of `model` (the model as exported: its outputs are recorded). The
 * network's name comes from the build metadata (`buildModel`); a model without it is not one
 * of ours and throws a `UserError`, as does an input that is not [rows, cols, 1 or 3].
 */
export function makeExportMetadata(
  model: tfl.LayersModel,
  options: ExportMetadataOptions,
): ExportMetadata {
  const name = modelMetadata(model)?.model;
  if (!(MODEL_NAMES as readonly unknown[]).includes(name)) {
    throw new UserError(
      `export: model '${model.name}' was not built by buildModel (its model.json has no ` +
        `userDefinedMetadata.ftunet.model naming one of ${MODEL_NAMES.join(', ')})`,
    );
  }
  const inputShape = modelInputShape(model, `model '${model.name}'`);
  if (inputShape[2] !== 1 && inputShape[2] !== 3) {
    throw new UserError(
      `export: the model takes ${inputShape[2]}-channel images; only 1 (grey) and 3 (RGB) ` +
        'are supported',
    );
  }
  return describeExport({
    ...options,
    model: name as ModelName,
    inputShape,
    outputs: outputNames(model),
  });
}

/** Sets `metadata` as `model`'s `userDefinedMetadata.ftunetExport`, keeping the other fields. */
export function setExportMetadata(model: tfl.LayersModel, metadata: ExportMetadata): void {
  const current = (model.getUserDefinedMetadata() ?? {}) as Record<string, unknown>;
  model.setUserDefinedMetadata({ ...current, [EXPORT_METADATA_KEY]: metadata });
}
