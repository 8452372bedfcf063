/**
 * What an exported model records so that any program can reproduce `ftunet predict` with it:
 * the `ftunetExport` field of model.json's `userDefinedMetadata` (next to `ftunet`, the build
 * metadata of `buildModel`). Stock TensorFlow.js keeps it and returns it from
 * `model.getUserDefinedMetadata()`. Browser-safe (no Node-only API): the web app reads it.
 *
 * The prediction of an 8-bit image, as recorded here:
 *   1. channels converted to the input's (`convertChannels`: alpha dropped, BT.601 luma with
 *      Pillow's integer weights for grey, grey copied for RGB);
 *   2. resized to `inputShape` with `interpolation` (`resizeImage`);
 *   3. scaled to [0, 1] by dividing by 255 (`scaling: 'divide-by-255'`);
 *   4. the `final` output's probabilities thresholded: lesion where p > `threshold`;
 *   5. the mask resized back to the image's size with nearest neighbour (`maskResize`).
 */
import type { Mirrors } from '../eval/ensemble.js';
import { UserError } from '../errors.js';
import { MODEL_NAMES, type ModelName } from '../models/options.js';
import { INTERPOLATIONS, type Interpolation } from '../util/raster.js';

/** The `userDefinedMetadata` key of the export metadata. */
export const EXPORT_METADATA_KEY = 'ftunetExport';
export const EXPORT_METADATA_FORMAT = 'ftunet-export';
export const EXPORT_METADATA_VERSION = 1;

/** How weights are stored: float32 as trained, or quantized by TensorFlow.js's rules. */
export type Quantization = 'none' | 'float16' | 'uint8';
export const QUANTIZATIONS: readonly Quantization[] = ['none', 'float16', 'uint8'];

/** Which outputs an export keeps: `final` alone, or all (with the deep-supervision heads). */
export type ExportOutputs = 'final' | 'all';
export const EXPORT_OUTPUTS: readonly ExportOutputs[] = ['final', 'all'];

/** Steps 1 to 5 above. */
export interface PredictionRecipe {
  /** The network's input [rows, cols, channels] (channels 1 or 3). */
  inputShape: [number, number, number];
  /** Step 3: input = uint8 / 255. */
  scaling: 'divide-by-255';
  /** Step 2. */
  interpolation: Interpolation;
  /** Step 4: lesion where p > threshold. */
  threshold: number;
  /** Step 5. */
  maskResize: 'nearest';
  /** The output name that holds the prediction. */
  output: 'final';
}

/** Where the model came from, when it was exported from a run folder. */
export interface TrainingSummary {
  /** The data set's name (e.g. 'bus2017b', 'isic2018', 'synthetic-bus'). */
  dataset?: string;
  /** The loss (e.g. 'focal_tversky'). */
  loss?: string;
  /** Epochs trained. */
  epochs?: number;
  /** The epoch of the best model. */
  bestEpoch?: number;
  /** The validation DSC of `final` at the best epoch. */
  validationDsc?: number;
  /** The fold, for a k-fold run. */
  fold?: number;
  /**
   * The mirrors that suit the model: its training augmentation's flips and those natural to
   * its data set (`runMirrors`); `--tta auto` uses them and `--tta` warns outside them.
   * Exports made before it record none.
   */
  mirrors?: Mirrors;
}

/** model.json's `userDefinedMetadata.ftunetExport`. */
export interface ExportMetadata {
  format: typeof EXPORT_METADATA_FORMAT;
  version: typeof EXPORT_METADATA_VERSION;
  /** The network's name. */
  model: ModelName;
  predict: PredictionRecipe;
  /** The model's output names in order (['final'] for `--outputs final`). */
  outputs: string[];
  quantization: Quantization;
  training?: TrainingSummary;
  /** e.g. 'focal-tversky-unet 0.1.0'. */
  producer: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a parsed `ftunetExport` value; `source` names the file in messages. Throws a
 * `UserError` naming the first field that is missing or wrong.
 */
export function parseExportMetadata(value: unknown, source = 'model.json'): ExportMetadata {
  const fail = (why: string): never => {
    throw new UserError(`${source}: userDefinedMetadata.${EXPORT_METADATA_KEY}: ${why}`);
  };
  const got = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
  if (!isObject(value)) return fail('expected an object');
  if (value.format !== EXPORT_METADATA_FORMAT) {
    fail(`expected "format": "${EXPORT_METADATA_FORMAT}", got ${got(value.format)}`);
  }
  if (value.version !== EXPORT_METADATA_VERSION) {
    fail(
      `unsupported version ${got(value.version)} (this program reads version ${EXPORT_METADATA_VERSION})`,
    );
  }
  if (!(MODEL_NAMES as readonly unknown[]).includes(value.model)) {
    fail(`"model" must be one of ${MODEL_NAMES.join(', ')}, got ${got(value.model)}`);
  }
  const p = value.predict;
  if (!isObject(p)) return fail('"predict" must be an object');
  const shape = p.inputShape;
  if (
    !Array.isArray(shape) ||
    shape.length !== 3 ||
    !shape.every((x) => Number.isInteger(x) && (x as number) > 0) ||
    (shape[2] !== 1 && shape[2] !== 3)
  ) {
    fail(`"predict.inputShape" must be [rows, cols, 1 or 3], got ${got(shape)}`);
  }
  if (p.scaling !== 'divide-by-255') {
    fail(`"predict.scaling" must be "divide-by-255", got ${got(p.scaling)}`);
  }
  if (!(INTERPOLATIONS as readonly unknown[]).includes(p.interpolation)) {
    fail(
      `"predict.interpolation" must be one of ${INTERPOLATIONS.join(', ')}, got ${got(p.interpolation)}`,
    );
  }
  if (typeof p.threshold !== 'number' || !(p.threshold >= 0 && p.threshold <= 1)) {
    fail(`"predict.threshold" must be a number from 0 to 1, got ${got(p.threshold)}`);
  }
  if (p.maskResize !== 'nearest') {
    fail(`"predict.maskResize" must be "nearest", got ${got(p.maskResize)}`);
  }
  if (p.output !== 'final') fail(`"predict.output" must be "final", got ${got(p.output)}`);
  const outputs = value.outputs;
  if (
    !Array.isArray(outputs) ||
    !outputs.every((o) => typeof o === 'string') ||
    !outputs.includes('final')
  ) {
    fail(`"outputs" must be a list of output names with "final", got ${got(outputs)}`);
  }
  if (!(QUANTIZATIONS as readonly unknown[]).includes(value.quantization)) {
    fail(
      `"quantization" must be one of ${QUANTIZATIONS.join(', ')}, got ${got(value.quantization)}`,
    );
  }
  if (value.training !== undefined && !isObject(value.training)) {
    fail(`"training" must be an object, got ${got(value.training)}`);
  }
  const mirrors = (value.training as Record<string, unknown> | undefined)?.mirrors;
  if (
    mirrors !== undefined &&
    !(
      isObject(mirrors) &&
      typeof mirrors.horizontal === 'boolean' &&
      typeof mirrors.vertical === 'boolean'
    )
  ) {
    fail(
      `"training.mirrors" must be {"horizontal": true|false, "vertical": true|false}, got ${got(mirrors)}`,
    );
  }
  if (typeof value.producer !== 'string') {
    fail(`"producer" must be a string, got ${got(value.producer)}`);
  }
  return value as unknown as ExportMetadata;
}

/**
 * The export metadata of a model's `userDefinedMetadata` (as `model.getUserDefinedMetadata()`
 * returns it), checked; undefined when it has none (a model folder saved by training).
 */
export function exportMetadataOf(
  userDefinedMetadata: unknown,
  source = 'model.json',
): ExportMetadata | undefined {
  if (!isObject(userDefinedMetadata)) return undefined;
  const value = userDefinedMetadata[EXPORT_METADATA_KEY];
  return value === undefined ? undefined : parseExportMetadata(value, source);
}
