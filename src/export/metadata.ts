/**
 * What an exported model records so that any program can reproduce `ftunet predict` with it:
 * the `ftunetExport` field of model.json's `userDefinedMetadata` (next to `ftunet`, the build
 * metadata of `buildModel`), which stock TensorFlow.js keeps and returns from
 * `model.getUserDefinedMetadata()`; model.onnx holds the same JSON as text under the
 * metadata_props key `ftunetExport` (export/onnx.ts). Browser-safe (no Node-only API): the web
 * app reads it.
 *
 * `predict` is the prediction recipe (data/recipe.ts: its steps, type and schema).
 *
 * Versions (`EXPORT_METADATA_FORMAT`, read through `readVersioned`):
 *   1. the recipe without post-processing (exports made before it; in model.onnx, flat
 *      `ftunet.*` metadata_props instead of the JSON: `onnxMetadataV1`);
 *   2. the recipe records its post-processing (`predict.postprocess`; none for version 1).
 */
import * as v from 'valibot';
import {
  NO_POSTPROCESS,
  PREDICTION_RECIPE_SCHEMA,
  predictionRecipe,
  type PredictionRecipe,
} from '../data/recipe.js';
import type { Mirrors } from '../eval/ensemble.js';
import { MODEL_NAMES, type ModelName } from '../models/options.js';
import { LOSS_NAMES } from '../losses/registry.js';
import { DEFAULT_WEIGHTING, WEIGHTINGS, type TrainingObjective } from '../train/objective.js';
import { defaultBeta } from '../losses/utils.js';
import type { Interpolation } from '../util/raster.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned, type FileFormat } from '../util/versioned.js';

export type { PredictionRecipe };

/** The `userDefinedMetadata` key of the export metadata (and model.onnx's metadata_props key). */
export const EXPORT_METADATA_KEY = 'ftunetExport';
export const EXPORT_METADATA_FORMAT = 'ftunet-export';
export const EXPORT_METADATA_VERSION = 2;

/** The producer recorded in exports, followed by the version when one is given. */
export const PRODUCER = 'focal-tversky-unet';

/** 'focal-tversky-unet 0.1.0', or 'focal-tversky-unet' without a version. */
export function producerOf(version: string | undefined): string {
  return version !== undefined && version !== '' ? `${PRODUCER} ${version}` : PRODUCER;
}

/** How weights are stored: float32 as trained, or quantized by TensorFlow.js's rules. */
export type Quantization = 'none' | 'float16' | 'uint8';
export const QUANTIZATIONS: readonly Quantization[] = ['none', 'float16', 'uint8'];

/** Which outputs an export keeps: `final` alone, or all (with the deep-supervision heads). */
export type ExportOutputs = 'final' | 'all';
export const EXPORT_OUTPUTS: readonly ExportOutputs[] = ['final', 'all'];

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
   * The mean DSC of `final` over the run's test images and how many they were, from its
   * evaluation (`eval/summary.json`) when the run was evaluated before the export. Exports
   * made before it, and of runs not evaluated, record none.
   */
  testDsc?: number;
  testImages?: number;
  /**
   * The mirrors that suit the model: its training augmentation's flips and those natural to
   * its data set (`runMirrors`); `--tta auto` uses them and `--tta` warns outside them.
   * Exports made before it record none.
   */
  mirrors?: Mirrors;
  /**
   * The objective it was trained with (config.json's `loss`), which fine-tuning uses. Exports
   * made before it record none (fine-tuning then uses the paper's).
   */
  objective?: TrainingObjective;
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

/** What `describeExport` records: the recipe's steps that differ from the defaults, and the rest. */
export interface DescribeExportOptions {
  model: ModelName;
  /** The network's input [rows, cols, 1 or 3]. */
  inputShape: readonly [number, number, number];
  interpolation: Interpolation;
  threshold: number;
  /** The exported model's output names, in order (with 'final'). */
  outputs: string[];
  quantization: Quantization;
  training?: TrainingSummary;
  /** e.g. 'focal-tversky-unet 0.1.0'. */
  producer: string;
}

/** Today's export metadata of an export: the one builder of both formats' metadata. */
export function describeExport(options: DescribeExportOptions): ExportMetadata {
  return {
    format: EXPORT_METADATA_FORMAT,
    version: EXPORT_METADATA_VERSION,
    model: options.model,
    predict: predictionRecipe({
      inputShape: options.inputShape,
      interpolation: options.interpolation,
      threshold: options.threshold,
    }),
    outputs: options.outputs,
    quantization: options.quantization,
    ...(options.training !== undefined ? { training: options.training } : {}),
    producer: options.producer,
  };
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);

const MIRRORS_MESSAGE = 'must be {"horizontal": true|false, "vertical": true|false}';

const number = v.pipe(v.number('must be a number'), v.finite('must be a finite number'));

/** `training.objective`: config.json's `loss` as `TrainingObjective`. */
const OBJECTIVE_SCHEMA = v.object(
  {
    loss: v.picklist(LOSS_NAMES, `must be one of ${LOSS_NAMES.join(', ')}`),
    alpha: number,
    beta: number,
    gamma: number,
    weights: v.union(
      [v.picklist(WEIGHTINGS), v.array(v.pipe(number, v.minValue(0, 'must be at least 0')))],
      `must be ${WEIGHTINGS.join(' or ')} or a list of numbers >= 0`,
    ),
  },
  'must be an object',
);

/** Today's `ftunetExport` value (unknown fields are kept, for newer writers' additions). */
const EXPORT_METADATA_SCHEMA = v.looseObject({
  format: v.literal(EXPORT_METADATA_FORMAT),
  version: v.literal(EXPORT_METADATA_VERSION),
  model: v.picklist(MODEL_NAMES, `must be one of ${MODEL_NAMES.join(', ')}`),
  predict: PREDICTION_RECIPE_SCHEMA,
  outputs: v.custom<string[]>(
    (x) => Array.isArray(x) && x.every((o) => typeof o === 'string') && x.includes('final'),
    'must be a list of output names with "final"',
  ),
  quantization: v.picklist(QUANTIZATIONS, `must be one of ${QUANTIZATIONS.join(', ')}`),
  training: v.optional(
    v.looseObject(
      {
        mirrors: v.optional(
          v.object(
            {
              horizontal: v.boolean(MIRRORS_MESSAGE),
              vertical: v.boolean(MIRRORS_MESSAGE),
            },
            MIRRORS_MESSAGE,
          ),
        ),
        objective: v.optional(OBJECTIVE_SCHEMA),
      },
      'must be an object',
    ),
  ),
  producer: v.string('must be a string'),
});

/**
 * A run's config.json `loss` (`{name, alpha, beta, gamma, weights}`) as the objective an export
 * records (beta and the weights, absent from configs written before they were recorded, were
 * then 1 - alpha and equal); undefined when it is not one (a config written by hand without it).
 */
export function recordedObjective(loss: unknown): TrainingObjective | undefined {
  if (!isObject(loss)) return undefined;
  const parsed = v.safeParse(OBJECTIVE_SCHEMA, {
    loss: loss.name,
    alpha: loss.alpha,
    beta: loss.beta ?? (typeof loss.alpha === 'number' ? defaultBeta(loss.alpha) : undefined),
    gamma: loss.gamma,
    weights: loss.weights ?? DEFAULT_WEIGHTING,
  });
  return parsed.success ? (parsed.output as TrainingObjective) : undefined;
}

/** The export metadata as a versioned file format (see the module doc for the versions). */
export const EXPORT_METADATA_FILE: FileFormat<ExportMetadata> = defineFileFormat({
  format: EXPORT_METADATA_FORMAT,
  version: EXPORT_METADATA_VERSION,
  migrate: {
    // Version 1 recorded no post-processing: its exports predicted without any.
    1: (old) => ({
      ...old,
      predict: isObject(old.predict)
        ? { ...old.predict, postprocess: { ...NO_POSTPROCESS } }
        : old.predict,
    }),
  },
  parse: (value, source) => parseWith(EXPORT_METADATA_SCHEMA, value, source) as ExportMetadata,
});

/**
 * Checks a parsed `ftunetExport` value of any version (migrated to today's); `source` names
 * the file in messages. Throws a `UserError` naming the first field that is missing or wrong.
 */
export function parseExportMetadata(value: unknown, source = 'model.json'): ExportMetadata {
  return readVersioned(
    EXPORT_METADATA_FILE,
    value,
    `${source}: userDefinedMetadata.${EXPORT_METADATA_KEY}`,
  );
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
