/**
 * `FineTuner`: the page's side of the fine-tuning worker (`fine_tune_worker.ts`), where all the
 * training runs, so that the page stays responsive. `start` starts the worker (its script is
 * loaded only then) with a backend and the model; `run` fine-tunes it on images with their
 * masks and resolves with the outcome: the scores before and after, what the model records of
 * its fine-tuning, the model folder's files (for `Pipeline.start({ files })`) and their zip.
 * A cancel (the signal) resolves with the best epoch so far. The run is saved in the browser
 * after each epoch (fine_tune_store.ts): after a reload, `FineTuner.saved()` tells of it,
 * `resume()` goes on with it and `FineTuner.discard()` deletes it. Browser-only.
 */
import type {
  FineTuneResult,
  FineTuneScores,
  FineTuneSettings,
  FineTuningRecord,
} from '../browser/fine_tune.js';
import type { GpuInfo, TrainingBackend, TrainingBackendChoice } from '../browser/engine_choice.js';
import { UserError } from '../errors.js';
import type { EpochLog } from '../train/trainer.js';
import { FineTuneStore } from './fine_tune_store.js';
import { StoreError } from './store.js';
import { WorkerChannel } from './worker_channel.js';
import type {
  FineTuneReply,
  FineTuneRequest,
  FineTuneStarted,
  WorkerOutcome,
} from './fine_tune_worker.js';

/** An image with the mask it is to learn. */
export interface FineTuneImage {
  id: string;
  name: string;
  /** The image file's bytes. */
  file: Blob;
  /** The PNG of the mask in force (work.ts `currentMask(image).png`). */
  mask: Blob;
}

/** Where a run is (a few times a second). */
export interface FineTuneProgress {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  imagesPerSecond: number;
  /** NaN until it can be told. */
  secondsLeft: number;
  /** The epoch's running means of the training loss and DSC of `final`. */
  loss: number;
  dsc: number;
}

/** A finished epoch. */
export interface FineTuneEpoch {
  epoch: number;
  epochs: number;
  loss: number;
  dsc: number;
  /** On the held-out images. */
  valLoss?: number;
  valDsc?: number;
  /** Whether the model keeps this epoch's weights (the best so far). */
  best: boolean;
  seconds: number;
}

/** What a run gives. */
export interface FineTuneOutcome {
  /** Before/after, validation, logs, bestEpoch, cancelled, settings (the batch used). */
  result: FineTuneResult;
  /** What model.json records. */
  record: FineTuningRecord;
  /** model.json and weights-<hash>.bin: `Pipeline.start({ files: modelFiles })`. */
  modelFiles: File[];
  /** 'model/model.json' and 'model/weights-<hash>.bin' (application/zip). */
  zip: Blob;
  /** 'fine-tuned-model-2026-12-07.zip'. */
  zipName: string;
  /** The batch asked for and why fewer were used, when the device's memory set it. */
  batch?: { requested: number; batchSize: number; limit?: string };
  /** Whether the run was saved in the browser after each epoch (false: no storage). */
  saved?: boolean;
}

/** A fine-tuning interrupted (reload, crash), as kept in the browser. */
export interface SavedFineTuning {
  /** When it started (ISO 8601). */
  started: string;
  /** Epochs finished. */
  epoch: number;
  epochs: number;
  images: number;
  settings: FineTuneSettings;
  logs: FineTuneEpoch[];
  /** The held-out images scored with the model before fine-tuning. */
  before: FineTuneScores;
}

/** What a run tells while it goes. */
export interface FineTuneCallbacks {
  onProgress?(p: FineTuneProgress): void;
  onEpoch?(e: FineTuneEpoch): void;
  /** A sentence for the person that does not stop the run (e.g. it cannot be saved). */
  onNotice?(message: string): void;
  /** Stops the run after the step under way; it resolves with the best epoch so far. */
  signal?: AbortSignal;
}

/** Options of `FineTuner.start`. */
export interface FineTunerOptions {
  /** The URL of the wasm binaries' folder, ending in '/' (relative to the page, or absolute). */
  wasmPath: string;
  /** Default 'auto': WebGPU on a hardware GPU, else wasm. */
  backend?: TrainingBackendChoice;
  /** Wasm threads. Default: one per core when cross-origin isolated, else 1. */
  threads?: number;
  /** The worker script's URL. Default: the built one, beside the page's script. */
  workerUrl?: string | URL;
  /** The database of the saved run (tests use their own). */
  database?: string;
}

/** A request the worker refused for a reason the person can act on. */
export class FineTuneError extends UserError {
  override name = 'FineTuneError';
}

/**
 * The worker's script, beside the page's: its hashed name is given by the build
 * (scripts/build_app.ts defines `FTUNET_FINE_TUNE_WORKER`).
 */
declare const FTUNET_FINE_TUNE_WORKER: string;
const WORKER_FILE =
  typeof FTUNET_FINE_TUNE_WORKER === 'string' ? FTUNET_FINE_TUNE_WORKER : 'fine_tune_worker.js';

type Body<T extends FineTuneRequest['type']> = Omit<
  Extract<FineTuneRequest, { type: T }>,
  'id' | 'type'
>;

/** The zip's name: 'fine-tuned-model-<date>.zip'. */
export function fineTunedZipName(date = new Date()): string {
  return `fine-tuned-model-${date.toISOString().slice(0, 10)}.zip`;
}

export class FineTuner {
  private readonly channel: WorkerChannel<FineTuneRequest, FineTuneReply>;
  private info!: FineTuneStarted;

  private constructor(worker: Worker) {
    this.channel = new WorkerChannel(worker, {
      what: 'the fine-tuning worker',
      toError: (reply) => {
        const { kind, message } = reply as Extract<FineTuneReply, { type: 'error' }>;
        return kind === 'user' ? new FineTuneError(message) : new Error(message);
      },
    });
  }

  /**
   * Starts the worker, its backend and the model (the URL of its model.json, or picked files,
   * loaded with the CLI's checks). Rejects with the reason when it cannot (the worker is then
   * gone).
   */
  static async start(
    model: { url: string } | { files: File[] },
    options: FineTunerOptions,
  ): Promise<FineTuner> {
    const url = options.workerUrl ?? new URL(WORKER_FILE, import.meta.url);
    const tuner = new FineTuner(new Worker(url, { type: 'module' }));
    const base = globalThis.location?.href;
    try {
      tuner.info = (await tuner.call('start', {
        model:
          'url' in model ? { url: new URL(model.url, base).href } : { files: [...model.files] },
        options: {
          wasmPath: new URL(options.wasmPath, base).href,
          ...(options.backend ? { backend: options.backend } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...(options.database !== undefined ? { database: options.database } : {}),
        },
      })) as FineTuneStarted;
    } catch (err) {
      tuner.channel.close('the fine-tuning could not start');
      throw err;
    }
    return tuner;
  }

  /** What trains: 'wasm, 2 threads', 'webgpu (nvidia ampere)'. */
  get backendLabel(): string {
    return this.info.backendLabel;
  }

  get backend(): TrainingBackend {
    return this.info.backend;
  }

  get gpu(): GpuInfo {
    return this.info.gpu;
  }

  /** The threads asked of wasm (one per core when the page is cross-origin isolated). */
  get threadsAsked(): number {
    return this.info.threadsAsked;
  }

  /**
   * Fine-tunes the model on `images` (at least 2: one is held out) with `settings` over the
   * defaults (browser/fine_tune.ts `FINE_TUNE_DEFAULTS`; the batch is what the device holds,
   * at most the one asked for). Resolves with the outcome, also when cancelled (the best
   * epoch so far); rejects with a `FineTuneError` saying what to do. The model this tuner
   * started with stays as it was.
   */
  async run(
    images: readonly FineTuneImage[],
    settings: Partial<FineTuneSettings> = {},
    callbacks: FineTuneCallbacks = {},
  ): Promise<FineTuneOutcome> {
    const out = (await this.call(
      'run',
      {
        images: images.map(({ id, name, file, mask }) => ({ id, name, file, mask })),
        settings: { ...settings },
      },
      callbacks,
    )) as WorkerOutcome;
    return outcomeOf(out);
  }

  /** Goes on with the saved fine-tuning (`FineTuner.saved()`), with the model it saved. */
  async resume(callbacks: FineTuneCallbacks = {}): Promise<FineTuneOutcome> {
    return outcomeOf((await this.call('resume', {}, callbacks)) as WorkerOutcome);
  }

  /**
   * The fine-tuning saved in this browser (interrupted by a reload), or undefined; undefined
   * too where the browser keeps no data for the page. Rejects with a `StoreError` for one
   * saved by another version of the page (discard it).
   */
  static async saved(database?: string): Promise<SavedFineTuning | undefined> {
    const store = await openUnlessUnavailable(database);
    if (store === undefined) return undefined;
    try {
      const run = await store.run();
      if (run === undefined) return undefined;
      const { checkpoint } = run;
      return {
        started: run.started,
        epoch: checkpoint.state.epoch,
        epochs: run.settings.epochs,
        images: run.imageIds.length,
        settings: run.settings,
        logs: checkpoint.logs.map((log) => epochOf(log, checkpoint.bestEpoch)),
        before: checkpoint.before,
      };
    } finally {
      store.close();
    }
  }

  /** Deletes the saved fine-tuning (nothing where the browser keeps no data). */
  static async discard(database?: string): Promise<void> {
    const store = await openUnlessUnavailable(database);
    if (store === undefined) return;
    try {
      await store.clear();
    } finally {
      store.close();
    }
  }

  /** The worker's live tensors (for tests: none may be left behind by a run). */
  tensors(): Promise<number> {
    return this.call('tensors', {}) as Promise<number>;
  }

  /** Frees the model and ends the worker (a run under way stops; its saved state stays). */
  async dispose(): Promise<void> {
    this.channel.close('the fine-tuning was closed');
  }

  private call<T extends FineTuneRequest['type']>(
    type: T,
    body: Body<T>,
    callbacks: FineTuneCallbacks = {},
  ): Promise<unknown> {
    const { id, result } = this.channel.request(
      { type, ...body } as Omit<FineTuneRequest, 'id'>,
      (reply) => {
        if (reply.type === 'progress') callbacks.onProgress?.(reply.progress);
        else if (reply.type === 'epoch') callbacks.onEpoch?.(reply.epoch);
        else if (reply.type === 'notice') callbacks.onNotice?.(reply.message);
      },
    );
    const { signal } = callbacks;
    if (signal === undefined) return result;
    // A cancel stops the run after its step: it resolves with the best epoch so far.
    const onAbort = () =>
      this.channel.post({ type: 'cancel', target: id } as Omit<FineTuneRequest, 'id'>);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    const off = () => signal.removeEventListener('abort', onAbort);
    result.then(off, off);
    return result;
  }
}

/** The fine-tuning's store, or undefined where the browser keeps no data for the page. */
async function openUnlessUnavailable(database?: string): Promise<FineTuneStore | undefined> {
  try {
    return await FineTuneStore.open(database);
  } catch (err) {
    if (err instanceof StoreError && err.problem === 'unavailable') return undefined;
    throw err;
  }
}

/** A finished epoch as the page sees it (`best`: the model keeps its weights now). */
export function epochOf(log: EpochLog, bestEpoch: number): FineTuneEpoch {
  return {
    epoch: log.epoch,
    epochs: log.epochs,
    loss: log.train.loss,
    dsc: log.train.outputs.final.dsc,
    ...(log.val !== undefined ? { valLoss: log.val.loss, valDsc: log.val.outputs.final.dsc } : {}),
    best: bestEpoch === log.epoch,
    seconds: log.seconds,
  };
}

/** The worker's outcome with its files as `File`s and `Blob`s. */
function outcomeOf(out: WorkerOutcome): FineTuneOutcome {
  const modelFiles = Object.entries(out.files).map(
    ([name, bytes]) =>
      new File([bytes as BlobPart], name, {
        type: name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      }),
  );
  const batch = out.batch;
  return {
    result: out.result,
    record: out.record,
    modelFiles,
    zip: new Blob([out.zip as BlobPart], { type: 'application/zip' }),
    zipName: fineTunedZipName(new Date(out.record.date)),
    ...(batch !== undefined ? { batch } : {}),
    saved: out.saved,
  };
}
