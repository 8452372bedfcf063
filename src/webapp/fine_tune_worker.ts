/**
 * The fine-tuning's worker (a module Web Worker, started by `fine_tuner.ts` when a person
 * starts fine-tuning; the page's first visit does not load it). It starts a backend that
 * trains (`trainingBackend`: WebGPU on a hardware adapter, else wasm with the project's
 * kernels and one thread per core where the page is cross-origin isolated), loads the model
 * with the CLI's checks (browser/model.ts), decodes each image file as `ftunet predict` does
 * (browser/image.ts) and each mask as the CLI binarises masks (mask_file.ts), sizes the batch
 * to the device's memory (train/memory.ts `deviceBatchSize`), and runs `fineTune`
 * (browser/fine_tune.ts) with the model's recorded objective and its data set's augmentation
 * exclusions. It reports progress a few times a second and each epoch; after each epoch it
 * saves what a resumed run needs (fine_tune_store.ts), and deletes it once the run is over.
 * The result: the model folder's files (model.json and its weights, with the fine-tuning
 * recorded) and their zip. A run leaves the model it was started with as it was.
 * Browser-only.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import * as tf from '@tensorflow/tfjs-core';
import { zipSync } from 'fflate';
import { defaultWasmThreads, probeGpu, startTfjsBackend } from '../browser/engine.js';
import {
  hasHardwareWebgpu,
  trainingBackend,
  type GpuInfo,
  type TrainingBackend,
  type TrainingBackendChoice,
} from '../browser/engine_choice.js';
import {
  fineTune,
  fineTuneSettings,
  fineTuneSplit,
  modelFolderEntries,
  PAPER_OBJECTIVE,
  recordFineTuning,
  type FineTuneCheckpoint,
  type FineTuneExample,
  type FineTuneResult,
  type FineTuneSettings,
  type FineTuningRecord,
  type WeightValues,
} from '../browser/fine_tune.js';
import { decodeNamedImage } from '../browser/image.js';
import { loadBrowserModel, type LoadedModel } from '../browser/model.js';
import type { DatasetSourceKind } from '../data/dataset.js';
import { DATASET_PRESETS } from '../data/presets.js';
import { UserError } from '../errors.js';
import { modelArtifacts, modelFolderFiles, MODEL_JSON, weightsDigest } from '../io/model_json.js';
import {
  deviceBatchSize,
  trainingFootprint,
  type BatchSizing,
  type DeviceLimits,
} from '../train/memory.js';
import type { StepProgress } from '../train/trainer.js';
import {
  epochOf,
  type FineTuneEpoch,
  type FineTuneImage,
  type FineTuneProgress,
} from './fine_tuner.js';
import {
  FineTuneStore,
  SAVED_RUN_VERSION,
  unsavedNotice,
  type SavedImage,
  type SavedRun,
} from './fine_tune_store.js';
import { decodeMaskBytes } from './mask_file.js';

/** How the worker starts. */
export interface FineTuneStartOptions {
  /** The absolute URL of the wasm binaries' folder, ending in '/'. */
  wasmPath: string;
  backend?: TrainingBackendChoice;
  threads?: number;
  /** The database of the saved run (`FINE_TUNE_DB` unless given: tests use their own). */
  database?: string;
}

/** What the page learns when the worker has started. */
export interface FineTuneStarted {
  backend: TrainingBackend;
  backendLabel: string;
  /** The threads wasm computes with, as tfjs reports them (1 but for wasm). */
  threads: number;
  /** The threads asked of wasm: `options.threads`, else one per core when cross-origin isolated. */
  threadsAsked: number;
  gpu: GpuInfo;
}

/** A run's result as it crosses to the page: the files as bytes. */
export interface WorkerOutcome {
  result: FineTuneResult;
  record: FineTuningRecord;
  /** The model folder's files by name (model.json, weights-<hash>.bin). */
  files: Record<string, Uint8Array>;
  zip: Uint8Array;
  /** The batch asked for and the one the device holds. */
  batch: BatchSizing;
  /** Whether the run was saved after each epoch (false where the browser keeps no data). */
  saved: boolean;
}

/** The page's requests. */
export type FineTuneRequest =
  | {
      id: number;
      type: 'start';
      model: { url: string } | { files: File[] };
      options: FineTuneStartOptions;
    }
  | {
      id: number;
      type: 'run';
      images: FineTuneImage[];
      settings: Partial<FineTuneSettings>;
    }
  | { id: number; type: 'resume' }
  | { id: number; type: 'cancel'; target: number }
  | { id: number; type: 'tensors' };

/** The worker's answers. */
export type FineTuneReply =
  | { type: 'done'; id: number; result: unknown }
  | { type: 'error'; id: number; message: string; kind: 'user' | 'bug' }
  | { type: 'progress'; id: number; progress: FineTuneProgress }
  | { type: 'epoch'; id: number; epoch: FineTuneEpoch }
  | { type: 'notice'; id: number; message: string };

/** Progress messages at most this often (the last step of an epoch always). */
const PROGRESS_MS = 250;

const scope = globalThis as unknown as {
  postMessage(message: FineTuneReply, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<FineTuneRequest>) => void): void;
  navigator: { deviceMemory?: number };
};

/** What the worker holds. */
let loaded: LoadedModel | undefined;
/** The loaded model's weights as it came (written back after each run). */
let parent: WeightValues | undefined;
let started: FineTuneStarted | undefined;
let database: string | undefined;
/** The run under way: its request id and its stop. */
let running: { id: number; stop: AbortController } | undefined;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function post(message: FineTuneReply, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

async function start(
  model: { url: string } | { files: File[] },
  options: FineTuneStartOptions,
): Promise<FineTuneStarted> {
  if (loaded !== undefined) throw new Error('the fine-tuning worker has started already');
  const gpu = await probeGpu();
  const choice = options.backend ?? 'auto';
  let backend = trainingBackend(choice, gpu);
  const threads = options.threads ?? defaultWasmThreads();
  let used: number;
  try {
    used = await startTfjsBackend(backend, options.wasmPath, threads);
  } catch (err) {
    // 'auto' chose WebGPU and it would not start: wasm runs everywhere.
    if (choice !== 'auto' || backend === 'wasm') {
      throw new UserError(`fine-tuning cannot run on ${backend} here: ${describe(err)}`);
    }
    backend = 'wasm';
    used = await startTfjsBackend(backend, options.wasmPath, threads);
  }
  loaded = await loadBrowserModel('url' in model ? model.url : model.files);
  parent = weightValues(loaded);
  database = options.database;
  started = {
    backend,
    backendLabel: backendLabel(backend, used, gpu),
    threads: used,
    threadsAsked: threads,
    gpu,
  };
  return started;
}

/** What runs, in words: 'wasm, 2 threads', 'webgpu (nvidia ampere)'. */
function backendLabel(backend: TrainingBackend, threads: number, gpu: GpuInfo): string {
  switch (backend) {
    case 'wasm':
      return `wasm, ${threads} thread${threads === 1 ? '' : 's'}`;
    case 'webgpu':
      return `webgpu (${gpu.webgpuAdapter ?? 'unknown adapter'}${hasHardwareWebgpu(gpu) ? '' : ', software'})`;
    case 'cpu':
      return 'cpu (JavaScript)';
    default:
      throw new Error(`unknown backend '${String(backend)}' (webgpu, wasm, cpu)`);
  }
}

function weightValues(model: LoadedModel): WeightValues {
  return model.model.weights.map((w) => ({
    name: w.originalName,
    shape: [...w.read().shape],
    values: Float32Array.from(w.read().dataSync()),
  }));
}

/** Writes `values` into `model`'s weights (by name). */
function writeWeights(model: LoadedModel, values: WeightValues): void {
  const byName = new Map(values.map((v) => [v.name, v]));
  tf.tidy(() => {
    for (const w of model.model.weights) {
      const v = byName.get(w.originalName)!;
      w.write(tf.tensor(v.values, v.shape, 'float32'));
    }
  });
}

/** The device's limits for the backend that runs (`deviceBatchSize`). */
function deviceLimits(backend: TrainingBackend): DeviceLimits {
  const limits: DeviceLimits = { backend };
  const memory = scope.navigator?.deviceMemory;
  if (typeof memory === 'number' && memory > 0) limits.deviceMemoryGiB = memory;
  if (backend === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { limits?: GPUSupportedLimits } }).device;
    if (device?.limits !== undefined) {
      limits.maxBufferSize = device.limits.maxBufferSize;
      limits.maxStorageBufferBindingSize = device.limits.maxStorageBufferBindingSize;
    }
  }
  return limits;
}

/** The images and masks as examples (decoded as the CLI decodes them). */
async function examplesOf(images: readonly SavedImage[]): Promise<FineTuneExample[]> {
  const out: FineTuneExample[] = [];
  for (const im of images) {
    const image = await decodeNamedImage(im.file, im.name);
    const { mask } = await decodeMaskBytes(
      `the mask of ${im.name}`,
      new Uint8Array(await im.mask.arrayBuffer()),
    );
    out.push({ name: im.name, image, mask });
  }
  return out;
}

/** The saved run's store, or undefined (told once) where the browser keeps no data. */
async function openStore(id: number): Promise<FineTuneStore | undefined> {
  try {
    return await FineTuneStore.open(database);
  } catch (err) {
    post({ type: 'notice', id, message: unsavedNotice(err) });
    return undefined;
  }
}

/**
 * Fine-tunes `model` on `images` (a new run, or the saved run `saved` going on) and answers
 * with the outcome. The saved state is deleted when the run is over (finished or cancelled).
 */
async function train(
  id: number,
  model: LoadedModel,
  images: readonly SavedImage[],
  requested: Partial<FineTuneSettings>,
  signal: AbortSignal,
  saved?: SavedRun,
): Promise<{ result: WorkerOutcome; transfer: Transferable[] }> {
  const backend = started!.backend;
  let store = await openStore(id);
  try {
    // The settings and the batch the device holds first: a bad one is told before any decoding.
    let settings: FineTuneSettings;
    let batch: BatchSizing;
    if (saved !== undefined) {
      ({ settings, batch } = saved);
    } else {
      const asked = fineTuneSettings(requested);
      batch = deviceBatchSize(
        trainingFootprint(model.model),
        asked.batchSize,
        deviceLimits(backend),
      );
      settings = { ...asked, batchSize: batch.batchSize };
    }
    const examples = await examplesOf(images);
    const objective = saved?.objective ?? model.metadata.training?.objective ?? PAPER_OBJECTIVE;
    const dataset = model.metadata.training?.dataset;
    const augmentExclude = saved?.augmentExclude ?? [
      ...(dataset !== undefined && Object.hasOwn(DATASET_PRESETS, dataset)
        ? DATASET_PRESETS[dataset as DatasetSourceKind].augmentExclude
        : []),
    ];
    const parentWeightsSha256 = saved?.parentWeightsSha256 ?? (await weightsDigest(model.model));
    const trainCount = fineTuneSplit(examples.length, settings.valFraction, settings.seed).train
      .length;
    const startedAt = saved?.started ?? new Date().toISOString();
    // Throughput over this session's steps, for images/s and the time left.
    const firstEpoch = (saved?.checkpoint.state.epoch ?? 0) + 1;
    let t0: number | undefined;
    let lastPost = 0;
    const onStep = (p: StepProgress) => {
      const now = performance.now();
      t0 ??= now;
      if (now - lastPost < PROGRESS_MS && p.step < p.steps) return;
      lastPost = now;
      const doneImages = (p.epoch - firstEpoch) * trainCount + p.images;
      const seconds = (now - t0) / 1000;
      const imagesPerSecond = seconds > 0 ? doneImages / seconds : 0;
      const left = (p.epochs - p.epoch) * trainCount + (trainCount - p.images);
      post({
        type: 'progress',
        id,
        progress: {
          epoch: p.epoch,
          epochs: p.epochs,
          step: p.step,
          steps: p.steps,
          imagesPerSecond,
          secondsLeft: imagesPerSecond > 0 ? left / imagesPerSecond : NaN,
          loss: p.loss,
          dsc: p.dsc,
        },
      });
    };
    let imagesSaved = saved !== undefined;
    // The epoch is told once it is saved: a reload after it loses nothing of it.
    const onCheckpoint = async (checkpoint: FineTuneCheckpoint, net: typeof model.model) => {
      if (store !== undefined) {
        const files = await modelFolderFiles(await modelArtifacts(net));
        const run: SavedRun = {
          version: SAVED_RUN_VERSION,
          started: startedAt,
          settings,
          batch,
          objective,
          augmentExclude,
          parentWeightsSha256,
          imageIds: images.map((i) => i.id),
          checkpoint,
          model: {
            [MODEL_JSON]: new TextEncoder().encode(JSON.stringify(files.json)),
            [files.weightsName]: files.weights,
          },
        };
        try {
          await store.save(run, imagesSaved ? undefined : images.map((i) => ({ ...i })));
          imagesSaved = true;
        } catch (err) {
          post({ type: 'notice', id, message: unsavedNotice(err) });
          store.close();
          store = undefined;
        }
      }
      post({
        type: 'epoch',
        id,
        epoch: epochOf(checkpoint.logs[checkpoint.logs.length - 1], checkpoint.bestEpoch),
      });
    };
    const result = await fineTune(
      model.model,
      model.metadata.predict,
      examples,
      {
        settings,
        objective,
        augmentExclude,
        ...(saved !== undefined ? { resume: saved.checkpoint } : {}),
      },
      { onStep, onCheckpoint, signal },
    );
    const record = recordFineTuning(model.model, result, parentWeightsSha256);
    const entries = await modelFolderEntries(model.model);
    const zip = zipSync(entries, { level: 6 });
    const files = Object.fromEntries(
      Object.entries(entries).map(([path, bytes]) => [
        path.slice(path.lastIndexOf('/') + 1),
        bytes,
      ]),
    );
    const wasSaved = store !== undefined;
    await store?.clear().catch(() => undefined);
    return {
      result: { result, record, files, zip, batch, saved: wasSaved },
      transfer: [zip.buffer as ArrayBuffer],
    };
  } finally {
    store?.close();
  }
}

/**
 * Marks the run `id` as under way, at once (before anything is awaited), so that a cancel
 * sent right after it finds it; its signal stops it.
 */
function begin(id: number): AbortSignal {
  if (running !== undefined) throw new UserError('a fine-tuning is already running');
  running = { id, stop: new AbortController() };
  return running.stop.signal;
}

/** A new run on the loaded model; the model is given its own weights back afterwards. */
async function run(
  id: number,
  req: Extract<FineTuneRequest, { type: 'run' }>,
): Promise<{ result: WorkerOutcome; transfer: Transferable[] }> {
  const model = ready();
  const signal = begin(id);
  const before = model.model.getUserDefinedMetadata();
  try {
    return await train(id, model, req.images, req.settings, signal);
  } finally {
    running = undefined;
    writeWeights(model, parent!);
    if (before !== undefined) model.model.setUserDefinedMetadata(before);
  }
}

/** The saved run going on, with the model it saved (whatever model the worker loaded). */
async function resume(id: number): Promise<{ result: WorkerOutcome; transfer: Transferable[] }> {
  ready();
  const signal = begin(id);
  try {
    const store = await FineTuneStore.open(database);
    let saved: SavedRun | undefined;
    let images: SavedImage[];
    try {
      saved = await store.run();
      if (saved === undefined) throw new UserError('there is no saved fine-tuning to go on with');
      images = await store.images(saved);
    } finally {
      store.close();
    }
    const files = Object.entries(saved.model).map(
      ([name, bytes]) => new File([bytes as BlobPart], name),
    );
    const model = await loadBrowserModel(files);
    try {
      return await train(id, model, images, saved.settings, signal, saved);
    } finally {
      model.model.dispose();
    }
  } finally {
    running = undefined;
  }
}

function ready(): LoadedModel {
  if (loaded === undefined) throw new Error('no model is loaded');
  return loaded;
}

/** What a request is answered with, and the buffers to transfer. */
interface Answer {
  result: unknown;
  transfer?: Transferable[];
}

async function answer(req: FineTuneRequest): Promise<Answer> {
  switch (req.type) {
    case 'start':
      return { result: await start(req.model, req.options) };
    case 'run':
      return run(req.id, req);
    case 'resume':
      return resume(req.id);
    case 'cancel':
      if (running?.id === req.target) running.stop.abort();
      return { result: true };
    case 'tensors':
      return { result: tf.memory().numTensors };
    default:
      throw new Error(`unknown request ${(req as { type: string }).type}`);
  }
}

/** Answers `req`: its result, or why not (a user's error as it is; a bug said as one). */
async function handle(req: FineTuneRequest): Promise<void> {
  let reply: Answer;
  try {
    reply = await answer(req);
  } catch (err) {
    post(
      err instanceof UserError
        ? { type: 'error', id: req.id, message: describe(err), kind: 'user' }
        : {
            type: 'error',
            id: req.id,
            message: `the fine-tuning failed: ${describe(err)}`,
            kind: 'bug',
          },
    );
    return;
  }
  post({ type: 'done', id: req.id, result: reply.result }, reply.transfer ?? []);
}

scope.addEventListener('message', (e) => void handle(e.data));
