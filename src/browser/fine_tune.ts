/**
 * Fine-tuning a trained model on a person's own images and masks, where they are (the web
 * app's worker; the same code runs in Node.js for tests and the benchmark): the CLI's trainer
 * (train/trainer.ts) with the objective the model was trained with, a held-out part of the
 * images for validation chosen reproducibly from a seed (at least one image), the epoch with
 * the best validation DSC kept, and the validation images scored before and after as
 * `ftunet evaluate` scores them (eval/evaluate.ts: thresholded with the recipe, at each
 * image's own size, the mean of the per-image DSC). The images are prepared as training
 * prepares them (the recipe's steps 1 and 2, the mask by nearest neighbour).
 *
 * The defaults and why (`FINE_TUNE_DEFAULTS`): Adam at its usual 1e-3 (a third of the quick
 * start's 0.003): measured on the quick-start model and 20 synthetic images of another look
 * (bench/fine_tune_node.ts), 1e-4 moved too little in 20 epochs (a validation DSC of 0.49
 * after 10) and 3e-3 did no better than 1e-3 (DSC 0.81 and 0.82 on 20 other images); batches
 * of 4 (a few images give a few batches an epoch); 20 epochs; augmentation `light` (flips,
 * small rotations and zooms, brightness and contrast: with few images more variety helps, and
 * the data set's preset leaves out what does not fit it, e.g. vertical flips of ultrasound); a
 * fifth of the images held out; nothing frozen.
 *
 * Browser-safe (no DOM, no Node-only API).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { resolveAugmentConfig, type AugmentTransform } from '../data/augment.js';
import type { SegmentationDataset } from '../data/dataset.js';
import { computeInputStatistics, INPUT_STATISTICS_KEY } from '../data/input_statistics.js';
import { preprocess, preprocessMask, type PredictionRecipe } from '../data/recipe.js';
import { InterruptedError, UserError } from '../errors.js';
import { MODEL_JSON, modelArtifacts, modelFolderFiles } from '../io/model_json.js';
import { evaluateModel } from '../eval/evaluate.js';
import { DEFAULT_ALPHA, DEFAULT_GAMMA, defaultBeta } from '../losses/utils.js';
import { modelMetadata } from '../models/build.js';
import { freezeLayers } from '../models/freeze.js';
import { MODEL_SUPERVISION } from '../models/supervision.js';
import { registerGradients } from '../kernels/gradients/fused_batch_norm.js';
import type { ModelName } from '../models/options.js';
import { DEFAULT_LOSS, type TrainingObjective } from '../train/objective.js';
import { Trainer, type EpochLog, type StepProgress, type TrainState } from '../train/trainer.js';
import { convertChannels, lesionFraction, type BinaryMask, type RawImage } from '../util/raster.js';
import { fineTuneSettings, fineTuneSplit, type FineTuneSettings } from './fine_tune_settings.js';

export {
  FINE_TUNE_DEFAULTS,
  fineTuneSettings,
  fineTuneSplit,
  type FineTuneSettings,
} from './fine_tune_settings.js';

/**
 * Makes this page able to train: the project's gradients (BatchNorm's, nearest resize's by a
 * whole factor), which Node.js's backends register when they start (backend/select.ts). A
 * bundle for browsers must also import `@tensorflow/tfjs-core/dist/register_all_gradients`
 * (tfjs-core's browser entry registers no gradient; its Node entry does).
 */
export function enableTraining(): void {
  registerGradients();
}

/** The objective the model was trained with (an export's `training.objective`). */
export type FineTuneObjective = TrainingObjective;

/** The paper's objective: the focal Tversky loss, alpha 0.7, gamma 4/3, equal weights. */
export const PAPER_OBJECTIVE: Readonly<FineTuneObjective> = {
  loss: DEFAULT_LOSS,
  alpha: DEFAULT_ALPHA,
  beta: defaultBeta(DEFAULT_ALPHA),
  gamma: DEFAULT_GAMMA,
  weights: 'equal',
};

/** One image with its mask, at the image's own size. */
export interface FineTuneExample {
  name: string;
  image: RawImage;
  mask: BinaryMask;
}

/** A model's weights as plain values, by name (`originalName`), in the model's order. */
export type WeightValues = { name: string; shape: number[]; values: Float32Array }[];

/**
 * What a fine-tuning keeps after each epoch so that it can go on after the page is reloaded
 * (`FineTuneCallbacks.onCheckpoint`), and what `fineTune` takes back to go on
 * (`options.resume`): with the model holding the weights it had then, the run goes on as if it
 * had not stopped (the trainer's state holds the epoch order's generator and the optimiser's
 * moments; the augmentation is drawn from the seed, the epoch and the image).
 */
export interface FineTuneCheckpoint {
  /** The trainer's state after the epoch (`state.epoch`: epochs finished). */
  state: TrainState;
  /** Every epoch trained so far. */
  logs: EpochLog[];
  /** The validation images scored with the model before fine-tuning. */
  before: FineTuneScores;
  /** The epoch whose weights `best` holds (0: the model's own), and its validation DSC. */
  bestEpoch: number;
  bestScore: number;
  /** The weights the model ends with if training stops now. */
  best: WeightValues;
}

/** What `fineTune` is told of while it runs. */
export interface FineTuneCallbacks {
  onStep?: (progress: StepProgress) => void;
  onEpoch?: (log: EpochLog) => void;
  /**
   * Called after each epoch with what a resumed run needs besides the model, which holds the
   * epoch's weights meanwhile (save it too); awaited, so that a run stopped later can go on
   * from here.
   */
  onCheckpoint?: (checkpoint: FineTuneCheckpoint, model: tfl.LayersModel) => Promise<void> | void;
  /** Stops training before the next step; the best epoch so far is kept. */
  signal?: AbortSignal;
}

/** The validation images' scores (`ftunet evaluate`'s per-image DSC and IoU, their means). */
export interface FineTuneScores {
  dsc: number;
  iou: number;
  /** Per image, in the order of `FineTuneResult.validation`. */
  images: { name: string; dsc: number; iou: number }[];
}

export interface FineTuneResult {
  /** The names of the training and the validation images. */
  training: string[];
  validation: string[];
  /** The validation images scored with the model before and after. */
  before: FineTuneScores;
  after: FineTuneScores;
  /** Each epoch trained. */
  logs: EpochLog[];
  /** The epoch whose weights the model holds now (0: none was better than none trained). */
  bestEpoch: number;
  /** Whether training was stopped before its last epoch (the signal). */
  cancelled: boolean;
  settings: FineTuneSettings;
  objective: FineTuneObjective;
}

/** The examples as a data set at the recipe's input size, as training loads images. */
export function examplesDataset(
  recipe: Pick<PredictionRecipe, 'inputShape' | 'interpolation'>,
  examples: readonly FineTuneExample[],
): SegmentationDataset {
  const [h, w, c] = recipe.inputShape;
  for (const e of examples) {
    if (e.mask.height !== e.image.height || e.mask.width !== e.image.width) {
      throw new UserError(
        `${e.name}: its mask is ${e.mask.width}x${e.mask.height}, the image ` +
          `${e.image.width}x${e.image.height}`,
      );
    }
  }
  const check = (i: number) => {
    if (!(Number.isInteger(i) && i >= 0 && i < examples.length)) {
      throw new UserError(`no image ${i} among ${examples.length}`);
    }
  };
  return {
    source: { kind: 'folder' },
    count: examples.length,
    inputSize: [h, w],
    channels: c as 1 | 3,
    interpolation: recipe.interpolation,
    names: examples.map((e) => e.name),
    originalSizes: examples.map((e) => [e.image.height, e.image.width] as const),
    layouts: examples.map((e) => (e.image.channels < 3 ? 'grey' : 'rgb')),
    lesionArea: examples.map((e) => lesionFraction(e.mask.data)),
    images: examples.map((e) => preprocess(recipe, e.image).data),
    masks: examples.map((e) => preprocessMask(recipe, e.mask).data),
    loadOriginalMask: (i) => {
      check(i);
      return Promise.resolve(examples[i].mask);
    },
    loadOriginalImage: (i) => {
      check(i);
      return Promise.resolve(convertChannels(examples[i].image, c as 1 | 3));
    },
  };
}

async function score(
  model: tfl.LayersModel,
  dataset: SegmentationDataset,
  indices: readonly number[],
  threshold: number,
): Promise<FineTuneScores> {
  const rows = await evaluateModel(model, dataset, indices, { threshold, quality: false });
  const images = rows.map((r) => ({ name: r.name, dsc: r.metrics.dsc, iou: r.metrics.iou }));
  const mean = (k: 'dsc' | 'iou') => images.reduce((s, x) => s + x[k], 0) / images.length;
  return { dsc: mean('dsc'), iou: mean('iou'), images };
}

/**
 * The model's weights as copies by name (kept while training goes on; by name, since
 * freezing layers reorders `model.weights`).
 */
function snapshot(model: tfl.LayersModel): Map<string, tf.Tensor> {
  return new Map(model.weights.map((w) => [w.originalName, tf.clone(w.read())]));
}

/** Writes the copies of `snapshot` back into `model`. */
function restore(model: tfl.LayersModel, copies: Map<string, tf.Tensor>): void {
  for (const w of model.weights) w.write(copies.get(w.originalName)!);
}

/** The values of `copies` (a `snapshot`), in `model`'s order. */
async function valuesOf(
  model: tfl.LayersModel,
  copies: Map<string, tf.Tensor>,
): Promise<WeightValues> {
  const out: WeightValues = [];
  for (const w of model.weights) {
    const t = copies.get(w.originalName)!;
    out.push({
      name: w.originalName,
      shape: [...t.shape],
      values: Float32Array.from(await t.data()),
    });
  }
  return out;
}

/** `values` as copies by name (a `snapshot` of them), checked against `model`'s weights. */
function tensorsOf(model: tfl.LayersModel, values: WeightValues): Map<string, tf.Tensor> {
  const byName = new Map(values.map((v) => [v.name, v]));
  for (const w of model.weights) {
    const v = byName.get(w.originalName);
    if (v === undefined || v.shape.join('x') !== w.shape.join('x')) {
      throw new UserError(
        `the saved fine-tuning does not fit this model (weight ${w.originalName}): discard it`,
      );
    }
  }
  return new Map(values.map((v) => [v.name, tf.tensor(v.values, v.shape, 'float32')]));
}

/**
 * Fine-tunes `model` (with every output it was trained with: `final` and, for the deeply
 * supervised networks, pred1..pred3) on `examples` in place: afterwards it holds the weights
 * of the best validation epoch, or its own when no epoch beat them (the validation DSC of
 * `final` before training is the bar), and records fresh input statistics of the training
 * images (the drift check's). Cancelled through `callbacks.signal`, it keeps the best so far.
 */
export async function fineTune(
  model: tfl.LayersModel,
  recipe: PredictionRecipe,
  examples: readonly FineTuneExample[],
  options: {
    settings?: Partial<FineTuneSettings>;
    objective?: FineTuneObjective;
    /** The transforms the data set's preset leaves out (`DATASET_PRESETS[kind].augmentExclude`). */
    augmentExclude?: readonly AugmentTransform[];
    /**
     * Goes on from a checkpoint (`FineTuneCallbacks.onCheckpoint`) of a run with the same
     * examples, settings and objective; `model` holds the weights it had then.
     */
    resume?: FineTuneCheckpoint;
  } = {},
  callbacks: FineTuneCallbacks = {},
): Promise<FineTuneResult> {
  enableTraining();
  const settings = fineTuneSettings(options.settings);
  const objective = options.objective ?? PAPER_OBJECTIVE;
  const name = modelMetadata(model)?.model as ModelName | undefined;
  if (name === undefined || MODEL_SUPERVISION[name] === undefined) {
    throw new UserError(
      'fine-tuning needs a model saved by this project (its network is not recorded)',
    );
  }
  const dataset = examplesDataset(recipe, examples);
  const split = fineTuneSplit(examples.length, settings.valFraction, settings.seed);
  const resume = options.resume;
  const before = resume?.before ?? (await score(model, dataset, split.val, recipe.threshold));
  const initial = snapshot(model);
  let best: { epoch: number; weights?: Map<string, tf.Tensor> } = { epoch: 0 };
  const logs: EpochLog[] = [...(resume?.logs ?? [])];
  let cancelled = false;
  try {
    freezeLayers(model, settings.freeze);
    const trainer = new Trainer(model, dataset, split, {
      epochs: settings.epochs,
      batchSize: Math.min(settings.batchSize, split.train.length),
      seed: settings.seed,
      objective: {
        loss: objective.loss,
        finalLoss: MODEL_SUPERVISION[name].finalLoss,
        lossOptions: { alpha: objective.alpha, beta: objective.beta, gamma: objective.gamma },
        weights: objective.weights,
      },
      optimizer: { name: 'adam', learningRate: settings.learningRate, decay: 0 },
      augment: resolveAugmentConfig(settings.augment, options.augmentExclude ?? []),
    });
    try {
      // The bar an epoch must beat to be kept: the model's own score before training, on the
      // trainer's measure (the validation soft DSC of `final`, as the CLI keeps its best epoch).
      let bar: number;
      if (resume !== undefined) {
        best = { epoch: resume.bestEpoch, weights: tensorsOf(model, resume.best) };
        bar = resume.bestScore;
        trainer.restore(resume.state);
      } else {
        bar = (await trainer.evaluate(split.val)).outputs.final.dsc;
      }
      await trainer.run({
        ...(callbacks.onStep !== undefined ? { onStep: callbacks.onStep } : {}),
        shouldStop: () => callbacks.signal?.aborted === true,
        onEpochEnd: async (log, state) => {
          logs.push(log);
          if (log.score > bar) {
            tf.dispose([...(best.weights?.values() ?? [])]);
            best = { epoch: log.epoch, weights: snapshot(model) };
            bar = log.score;
          }
          callbacks.onEpoch?.(log);
          if (callbacks.onCheckpoint !== undefined) {
            await callbacks.onCheckpoint(
              {
                state,
                logs: [...logs],
                before,
                bestEpoch: best.epoch,
                bestScore: bar,
                best: await valuesOf(model, best.weights ?? initial),
              },
              model,
            );
          }
        },
      });
    } catch (err) {
      if (!(err instanceof InterruptedError)) throw err;
      cancelled = true;
    } finally {
      trainer.dispose();
    }
  } finally {
    // Whatever happened, the model holds the best weights (or its own) and every layer trains.
    freezeLayers(model, 'none');
    restore(model, best.weights ?? initial);
    tf.dispose([...initial.values(), ...(best.weights?.values() ?? [])]);
  }
  model.setUserDefinedMetadata({
    ...(model.getUserDefinedMetadata() ?? {}),
    [INPUT_STATISTICS_KEY]: computeInputStatistics(
      split.train.map((i) => dataset.images[i]),
      dataset.channels,
      { lesionAreas: split.train.map((i) => dataset.lesionArea[i]) },
    ),
  });
  const after = await score(model, dataset, split.val, recipe.threshold);
  return {
    training: split.train.map((i) => dataset.names[i]),
    validation: split.val.map((i) => dataset.names[i]),
    before,
    after,
    logs,
    bestEpoch: best.epoch,
    cancelled,
    settings,
    objective,
  };
}

/** Where a fine-tuned model records its fine-tuning: `userDefinedMetadata[FINE_TUNING_KEY]`. */
export const FINE_TUNING_KEY = 'fineTuning';

/** What a fine-tuned model records of its fine-tuning (beside fresh input statistics). */
export interface FineTuningRecord {
  /** The SHA-256 of the parent model's weights' values (io/model_json.ts `weightsDigest`). */
  parentWeightsSha256: string;
  /** The images it was trained and validated on. */
  images: { training: number; validation: number };
  settings: FineTuneSettings;
  objective: FineTuneObjective;
  /** The epoch kept (0: none beat the parent) and the epochs run. */
  bestEpoch: number;
  epochs: number;
  cancelled: boolean;
  /** The validation images' mean DSC with the parent and with the fine-tuned model. */
  validationDsc: { before: number; after: number };
  /** When it finished (ISO 8601). */
  date: string;
}

/** Records `result` in `model`'s metadata (the model `fineTune` changed; see `FINE_TUNING_KEY`). */
export function recordFineTuning(
  model: tfl.LayersModel,
  result: FineTuneResult,
  parentWeightsSha256: string,
  date = new Date(),
): FineTuningRecord {
  const record: FineTuningRecord = {
    parentWeightsSha256,
    images: { training: result.training.length, validation: result.validation.length },
    settings: result.settings,
    objective: result.objective,
    bestEpoch: result.bestEpoch,
    epochs: result.logs.length,
    cancelled: result.cancelled,
    validationDsc: { before: result.before.dsc, after: result.after.dsc },
    date: date.toISOString(),
  };
  model.setUserDefinedMetadata({
    ...(model.getUserDefinedMetadata() ?? {}),
    [FINE_TUNING_KEY]: record,
  });
  return record;
}

/**
 * `model` as the files of a model folder under `folder` in a zip (`model/model.json` and its
 * weights file named by its hash, as `ftunet` saves models), for `ftunet predict`, `evaluate`,
 * `export` and `app --model` to read unchanged.
 */
export async function modelFolderEntries(
  model: tfl.LayersModel,
  folder = 'model',
): Promise<Record<string, Uint8Array>> {
  const { weightsName, weights, json } = await modelFolderFiles(await modelArtifacts(model));
  return {
    [`${folder}/${MODEL_JSON}`]: new TextEncoder().encode(JSON.stringify(json)),
    [`${folder}/${weightsName}`]: weights,
  };
}
