/**
 * `Pipeline`: the page's side of its worker (`worker.ts`), where every heavy step runs:
 * loading the model and starting its engine, decoding an image file, the network, the mask at
 * the image's size and its PNG, quality control, the notes, decoding a mask PNG, the zip. Each
 * call is one request; its promise settles with the worker's answer. ArrayBuffers are
 * transferred, not copied, where the side that sends them is done with them (the worker's
 * results); what the page keeps (a prediction it asks to re-mask, a mask it encodes) is
 * copied. A prediction reports its stages (decode, network, post-processing) and its timings,
 * measured in the worker where the work runs.
 *
 * Cancelling (an `AbortSignal`) rejects the call at once with an `AbortError`; the worker drops
 * it if it is still queued, or stops it at its next stage. The worker is not restarted: the
 * model and its engine (seconds to start) stay ready for the next image. Browser-only.
 */
import { UserError } from '../errors.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import type { MaskSettings, StoredMask } from './work.js';
import { WorkerChannel } from './worker_channel.js';
import type {
  PipelineModel,
  PipelineStage,
  PredictResult,
  RemaskInput,
  RemaskResult,
  WorkerReply,
  WorkerRequest,
  WorkerStartOptions,
} from './worker.js';

export type {
  PipelineModel,
  PipelinePreview,
  PipelineStage,
  PredictResult,
  RemaskInput,
  RemaskResult,
} from './worker.js';

/**
 * The worker's script, beside the page's: its hashed name is given by the build
 * (scripts/build_app.ts defines `FTUNET_WORKER`); `worker.js` where the bundle was made without.
 */
declare const FTUNET_WORKER: string;
const WORKER_FILE = typeof FTUNET_WORKER === 'string' ? FTUNET_WORKER : 'worker.js';

/** Options of `Pipeline.start`. */
export interface PipelineOptions {
  /** The URL of the wasm binaries' folder, ending in '/' (relative to the page, or absolute). */
  wasmPath: string;
  backend?: WorkerStartOptions['backend'];
  engine?: WorkerStartOptions['engine'];
  threads?: number;
  /** Told when an engine failed and another takes over. */
  onFallback?(failed: string, reason: string, next: string): void;
  /** The worker script's URL. Default: the built one, beside the page's script. */
  workerUrl?: string | URL;
}

/** Options of one prediction. */
export interface PredictOptions {
  signal?: AbortSignal;
  /** Told as each stage starts. */
  onStage?(stage: PipelineStage, fraction?: number): void;
  /** Also return a picture of the result whose longest side is this many pixels. */
  preview?: number;
}

/** A request the worker refused for a reason the person can act on (a file, a model). */
export class PipelineError extends UserError {
  override name = 'PipelineError';
}

/** The error of a cancelled request, as `fetch` gives one. */
function abortError(): DOMException {
  return new DOMException('cancelled', 'AbortError');
}

type Body<T extends WorkerRequest['type']> = Omit<
  Extract<WorkerRequest, { type: T }>,
  'id' | 'type'
>;

export class Pipeline {
  private readonly channel: WorkerChannel<WorkerRequest, WorkerReply>;
  private current!: PipelineModel;

  private constructor(worker: Worker, onFallback: PipelineOptions['onFallback']) {
    this.channel = new WorkerChannel(worker, {
      what: 'the worker',
      toError: (reply) => {
        const { kind, message } = reply as Extract<WorkerReply, { type: 'error' }>;
        return kind === 'abort'
          ? abortError()
          : kind === 'user'
            ? new PipelineError(message)
            : new Error(message);
      },
      onUnaddressed: (reply) => {
        if (reply.type !== 'fallback') return;
        this.current = { ...this.current, engineLabel: reply.next };
        onFallback?.(reply.failed, reply.reason, reply.next);
      },
    });
  }

  /**
   * Starts the worker, loads the model (the URL of its model.json, or picked files) with the
   * CLI's checks and starts its engine. Rejects with the reason when it cannot (the worker is
   * then gone).
   */
  static async start(
    model: { url: string } | { files: File[] },
    options: PipelineOptions,
  ): Promise<Pipeline> {
    const url = options.workerUrl ?? new URL(WORKER_FILE, import.meta.url);
    const pipeline = new Pipeline(new Worker(url, { type: 'module' }), options.onFallback);
    const base = globalThis.location?.href;
    try {
      pipeline.current = (await pipeline.call('start', {
        model:
          'url' in model ? { url: new URL(model.url, base).href } : { files: [...model.files] },
        options: {
          wasmPath: new URL(options.wasmPath, base).href,
          ...(options.backend ? { backend: options.backend } : {}),
          ...(options.engine ? { engine: options.engine } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
        },
      })) as PipelineModel;
    } catch (err) {
      pipeline.channel.close('the pipeline could not start');
      throw err;
    }
    return pipeline;
  }

  /** The model and the engine that runs it now. */
  get model(): PipelineModel {
    return this.current;
  }

  /**
   * Predicts one image file: decoded, the network run, the mask made at the image's size with
   * `settings`, encoded as PNG, checked. Rejects with a `PipelineError` whose message says why
   * the file was not processed, or an `AbortError` when cancelled.
   */
  async predict(
    file: Blob,
    name: string,
    settings: MaskSettings,
    options: PredictOptions = {},
  ): Promise<PredictResult> {
    const result = (await this.call(
      'predict',
      {
        file,
        name,
        settings: { ...settings },
        ...(options.preview ? { preview: options.preview } : {}),
      },
      options,
    )) as PredictResult;
    if (result.prediction.engine !== this.current.engineLabel) {
      this.current = { ...this.current, engineLabel: result.prediction.engine };
    }
    return result;
  }

  /**
   * The mask of an image's kept prediction under new settings (no network, unless the TTA
   * asks for passes that were not run: then the image is predicted again and `prediction`
   * holds them).
   */
  remask(
    image: RemaskInput,
    settings: MaskSettings,
    options: PredictOptions = {},
  ): Promise<RemaskResult> {
    const { file, name, width, height, prediction } = image;
    return this.call(
      'remask',
      {
        image: { file, name, width, height, prediction },
        settings: { ...settings },
        ...(options.preview ? { preview: options.preview } : {}),
      },
      options,
    ) as Promise<RemaskResult>;
  }

  /** An image file's pixels at full size (decoded as for a prediction). */
  decodeImage(file: Blob, name: string): Promise<RawImage> {
    return this.call('decodeImage', { file, name }) as Promise<RawImage>;
  }

  /** A stored mask as 0/1 at its size. */
  decodeMask(mask: StoredMask): Promise<BinaryMask> {
    return this.call('decodeMask', { png: mask.png }) as Promise<BinaryMask>;
  }

  /** A mask (0/1) as the PNG `ftunet predict` writes, with its lesion pixels. */
  encodeMask(mask: BinaryMask): Promise<StoredMask> {
    return this.call('encodeMask', { mask }) as Promise<StoredMask>;
  }

  /** A zip of `entries` (deflate `level`, default 6). */
  zip(entries: Record<string, Uint8Array>, level = 6): Promise<Uint8Array> {
    return this.call('zip', { entries, level }) as Promise<Uint8Array>;
  }

  /** Frees the model and its engine and ends the worker. */
  async dispose(): Promise<void> {
    if (this.channel.stoppedBecause === undefined) {
      await this.call('dispose', {}).catch(() => undefined);
    }
    this.channel.close('the pipeline was closed');
  }

  private call<T extends WorkerRequest['type']>(
    type: T,
    body: Body<T>,
    options: Pick<PredictOptions, 'signal' | 'onStage'> = {},
  ): Promise<unknown> {
    const { signal, onStage } = options;
    if (signal?.aborted) return Promise.reject(abortError());
    const { id, result } = this.channel.request(
      { type, ...body } as Omit<WorkerRequest, 'id'>,
      onStage
        ? (reply) => {
            if (reply.type === 'stage') onStage(reply.stage, reply.fraction);
          }
        : undefined,
    );
    if (signal === undefined) return result;
    const onAbort = () => {
      if (this.channel.drop(id, abortError())) {
        this.channel.post({ type: 'cancel', target: id } as Omit<WorkerRequest, 'id'>);
      }
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const off = () => signal.removeEventListener('abort', onAbort);
    result.then(off, off);
    return result;
  }
}
