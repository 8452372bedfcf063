/**
 * The page's worker (a module Web Worker, started by `pipeline.ts`): everything heavy the page
 * does happens here, off the main thread. Loading the model with the CLI's checks
 * (browser/model.ts) and starting its engine (browser/segmenter.ts, which loads only the
 * engine in use); decoding an image file as `ftunet predict` does (browser/image.ts:
 * `createImageBitmap` and an `OffscreenCanvas`); the network's passes (the image, its
 * horizontal mirror for quality control, and the vertical and double mirrors when the
 * settings' TTA asks for them); the mask at the image's size from `MaskSettings` (the recorded
 * recipe's steps 4 to 6 with the threshold, keep-largest and min-size given, over the mean of
 * the TTA passes, as `predict --tta`); the mask's PNG; quality control and the notes
 * (`notes.ts`); decoding a mask PNG; the zip. Requests are answered in messages (`Reply`);
 * the predictions run one after another, the other requests as they come. A prediction is
 * cancelled between its stages (decode, network, post-processing) when the page says so.
 * Full-size buffers live here only while an image is worked on, and go to the page only when
 * it asks for them (`decodeImage`, `decodeMask`), transferred, not copied. Browser-only.
 */
import { zipSync } from 'fflate';
import { BrowserImageError, decodeNamedImage } from '../browser/image.js';
import { loadBrowserModel, type LoadedModel } from '../browser/model.js';
import { encodeMaskPng } from '../browser/png.js';
import { Segmenter, type Segmentation } from '../browser/segmenter.js';
import type {
  BrowserBackendChoice,
  BrowserEngineChoice,
  GpuInfo,
} from '../browser/engine_choice.js';
import { UserError } from '../errors.js';
import type { QualityCheck } from '../eval/quality.js';
import type { ExportMetadata } from '../export/metadata.js';
import {
  convertChannels,
  resizeImage,
  resizeMask,
  type BinaryMask,
  type RawImage,
} from '../util/raster.js';
import { checkMaskSettings, extraFlips, hasPasses, maskOf } from './mask_of.js';
import { decodeMaskBytes } from './mask_file.js';
import { imageNotes } from './notes.js';
import type { MaskSettings, StoredMask, StoredPrediction, WorkTiming } from './work.js';

/** The stages of a prediction, in order. */
export type PipelineStage = 'decode' | 'network' | 'post';

/** What the page knows of the model in the worker. */
export interface PipelineModel {
  metadata: ExportMetadata;
  /** Where it came from: the URL, or the picked model.json's name. */
  source: string;
  /** Whether `metadata` was recorded by `ftunet export`. */
  exported: boolean;
  /** The SHA-256 of the model's weights (hex), as the page can tell them apart. */
  hash?: string;
  /** The attention gates' layer names (empty for unet). */
  gates: string[];
  /** The engine that runs now ('onnxruntime-wasm', 'tfjs-webgl', ...). */
  engineLabel: string;
  /** Its threads. */
  threads: number;
  gpu: GpuInfo;
}

/** How the engine starts (the page's options). */
export interface WorkerStartOptions {
  /** The absolute URL of the wasm binaries' folder, ending in '/'. */
  wasmPath: string;
  backend?: BrowserBackendChoice;
  engine?: BrowserEngineChoice;
  threads?: number;
}

/** A small picture of the result, for a list of thumbnails: the longest side `size`. */
export interface PipelinePreview {
  /** The image, RGB (absent for a re-made mask: the image did not change). */
  image?: RawImage;
  /** The mask at the preview's size (nearest neighbour). */
  mask: BinaryMask;
}

/** What a prediction gives the page (a `WorkImage`'s fields). */
export interface PredictResult {
  width: number;
  height: number;
  channels: number;
  prediction: StoredPrediction;
  modelMask: StoredMask;
  notes: string[];
  qc: QualityCheck;
  timing: WorkTiming;
  preview?: PipelinePreview;
}

/** What a new mask from the kept prediction gives. */
export interface RemaskResult {
  modelMask: StoredMask;
  qc?: QualityCheck;
  /** The prediction with the passes the new TTA needed (when it needed more). */
  prediction?: StoredPrediction;
  preview?: PipelinePreview;
}

/** What `remask` needs of an image. */
export interface RemaskInput {
  file: Blob;
  name: string;
  width: number;
  height: number;
  prediction: StoredPrediction;
}

/** The page's requests. */
export type WorkerRequest =
  | {
      id: number;
      type: 'start';
      model: { url: string } | { files: File[] };
      options: WorkerStartOptions;
    }
  | {
      id: number;
      type: 'predict';
      file: Blob;
      name: string;
      settings: MaskSettings;
      preview?: number;
    }
  | { id: number; type: 'remask'; image: RemaskInput; settings: MaskSettings; preview?: number }
  | { id: number; type: 'decodeImage'; file: Blob; name: string }
  | { id: number; type: 'decodeMask'; png: Blob }
  | { id: number; type: 'encodeMask'; mask: BinaryMask }
  | { id: number; type: 'zip'; entries: Record<string, Uint8Array>; level: number }
  | { id: number; type: 'cancel'; target: number }
  | { id: number; type: 'dispose' };

/** The worker's answers. */
export type WorkerReply =
  | { type: 'done'; id: number; result: unknown }
  | {
      type: 'error';
      id: number;
      /** One line for the person (the reason a file was not processed). */
      message: string;
      /** 'abort' for a cancelled request; 'user' for bad input; 'bug' otherwise. */
      kind: 'abort' | 'user' | 'bug';
    }
  | { type: 'stage'; id: number; stage: PipelineStage; fraction?: number }
  | { type: 'fallback'; failed: string; reason: string; next: string };

/** What the worker holds. */
let loaded: LoadedModel | undefined;
let segmenter: Segmenter | undefined;
/** The ids of requests the page cancelled. */
const cancelled = new Set<number>();
/** The predictions and re-masks, one after another. */
let chain: Promise<unknown> = Promise.resolve();

const scope = globalThis as unknown as {
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<WorkerRequest>) => void): void;
};

class Cancelled extends Error {
  override name = 'Cancelled';
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function checkCancelled(id: number): void {
  if (cancelled.has(id)) throw new Cancelled('cancelled');
}

/** The distinct buffers of typed arrays, to transfer. */
function buffersOf(...views: (ArrayBufferView | undefined)[]): Transferable[] {
  const seen = new Set<ArrayBufferLike>();
  for (const v of views) if (v !== undefined && v.buffer instanceof ArrayBuffer) seen.add(v.buffer);
  return [...seen] as Transferable[];
}

function engineReady(): Segmenter {
  if (segmenter === undefined) throw new Error('no model is loaded');
  return segmenter;
}

async function start(
  model: { url: string } | { files: File[] },
  options: WorkerStartOptions,
): Promise<PipelineModel> {
  const next = await loadBrowserModel('url' in model ? model.url : model.files);
  let engine: Segmenter;
  try {
    engine = await Segmenter.create(next, {
      wasmPath: options.wasmPath,
      ...(options.backend ? { backend: options.backend } : {}),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
      onFallback: (failed, reason, nextLabel) =>
        scope.postMessage({ type: 'fallback', failed, reason, next: nextLabel }),
    });
  } catch (err) {
    next.model.dispose();
    throw err;
  }
  await segmenter?.dispose();
  loaded?.model.dispose();
  loaded = next;
  segmenter = engine;
  return describeModel();
}

function describeModel(): PipelineModel {
  const s = engineReady();
  return {
    metadata: s.loaded.metadata,
    source: s.loaded.source,
    exported: s.loaded.exported,
    ...(s.loaded.hash !== undefined ? { hash: s.loaded.hash } : {}),
    gates: s.loaded.gates,
    engineLabel: s.engineLabel,
    threads: s.threads,
    gpu: s.gpu,
  };
}

/** The mask of `prediction` under `settings` (`maskOf`), its PNG, and its preview. */
function maskAndPng(
  prediction: StoredPrediction,
  imageSize: [number, number],
  settings: MaskSettings,
  previewSize?: [number, number],
): { modelMask: StoredMask; qc: QualityCheck; preview?: BinaryMask } {
  const { mask, pixels, qc } = maskOf(engineReady(), prediction, imageSize, settings);
  const png = new Blob([encodeMaskPng(mask) as BlobPart], { type: 'image/png' });
  return {
    modelMask: { png, pixels },
    qc,
    ...(previewSize ? { preview: resizeMask(mask, previewSize) } : {}),
  };
}

/** The size of a picture of `height x width` whose longest side is at most `max`. */
export function previewSize(height: number, width: number, max: number): [number, number] {
  const scale = Math.min(1, max / Math.max(height, width));
  return [Math.max(1, Math.round(height * scale)), Math.max(1, Math.round(width * scale))];
}

/** `image` as RGB at `size` (bilinear when it shrinks). */
function previewImage(image: RawImage, size: [number, number]): RawImage {
  const shrinks = size[0] < image.height || size[1] < image.width;
  return resizeImage(convertChannels(image, 3), size, shrinks ? 'bilinear' : 'nearest');
}

/** The network's output as the page keeps it. */
function storedOf(seg: Segmentation, modelHash: string | undefined): StoredPrediction {
  const flipped = (vertical: boolean, horizontal: boolean) =>
    seg.flipped?.find((f) => f.flip.vertical === vertical && f.flip.horizontal === horizontal)
      ?.values;
  const v = flipped(true, false);
  const hv = flipped(true, true);
  return {
    probabilities: seg.probabilities,
    ...(seg.mirrored ? { mirrored: seg.mirrored } : {}),
    ...(v ? { vflipped: v } : {}),
    ...(hv ? { hvflipped: hv } : {}),
    ...(seg.input ? { input: seg.input.data } : {}),
    inputSize: seg.inputSize,
    attention: seg.attention.map((g) => ({ ...g })),
    engine: seg.engine,
    ...(modelHash ? { modelHash } : {}),
  };
}

async function predict(
  id: number,
  req: Extract<WorkerRequest, { type: 'predict' }>,
): Promise<{ result: PredictResult; transfer: Transferable[] }> {
  const t0 = performance.now();
  checkMaskSettings(req.settings);
  const s = engineReady();
  stage(id, 'decode');
  const image = await decodeNamedImage(req.file, req.name);
  const t1 = performance.now();
  checkCancelled(id);
  stage(id, 'network');
  const seg = await s.predict(image, { flips: extraFlips(req.settings.tta) });
  const t2 = performance.now();
  checkCancelled(id);
  stage(id, 'post');
  const prediction = storedOf(seg, s.loaded.hash);
  const size = req.preview ? previewSize(image.height, image.width, req.preview) : undefined;
  const { modelMask, qc, preview } = maskAndPng(
    prediction,
    [image.height, image.width],
    req.settings,
    size,
  );
  const notes = imageNotes(s, image);
  const previewed =
    size && preview ? { image: previewImage(image, size), mask: preview } : undefined;
  const t3 = performance.now();
  const result: PredictResult = {
    width: image.width,
    height: image.height,
    channels: image.channels,
    prediction,
    modelMask,
    notes,
    qc,
    timing: { decodeMs: t1 - t0, networkMs: t2 - t1, postMs: t3 - t2, totalMs: t3 - t0 },
    ...(previewed ? { preview: previewed } : {}),
  };
  return {
    result,
    transfer: buffersOf(
      prediction.probabilities,
      prediction.mirrored,
      prediction.vflipped,
      prediction.hvflipped,
      prediction.input,
      ...prediction.attention.map((g) => g.data),
      previewed?.image?.data,
      previewed?.mask.data,
    ),
  };
}

async function remask(
  id: number,
  req: Extract<WorkerRequest, { type: 'remask' }>,
): Promise<{ result: RemaskResult; transfer: Transferable[] }> {
  checkMaskSettings(req.settings);
  const s = engineReady();
  const { image, settings } = req;
  let prediction = image.prediction;
  let changed = false;
  if (!hasPasses(prediction, settings.tta)) {
    // The passes this TTA needs were not run: the image is decoded and predicted again.
    stage(id, 'decode');
    const pixels = await decodeNamedImage(image.file, image.name);
    checkCancelled(id);
    stage(id, 'network');
    const seg = await s.predict(pixels, { flips: extraFlips(settings.tta) });
    const again = storedOf(seg, prediction.modelHash);
    prediction = {
      ...prediction,
      ...(again.vflipped ? { vflipped: again.vflipped } : {}),
      ...(again.hvflipped ? { hvflipped: again.hvflipped } : {}),
      ...(prediction.input === undefined && again.input ? { input: again.input } : {}),
    };
    changed = true;
  }
  checkCancelled(id);
  stage(id, 'post');
  const size = req.preview ? previewSize(image.height, image.width, req.preview) : undefined;
  const { modelMask, qc, preview } = maskAndPng(
    prediction,
    [image.height, image.width],
    settings,
    size,
  );
  return {
    result: {
      modelMask,
      qc,
      ...(changed ? { prediction } : {}),
      ...(preview ? { preview: { mask: preview } } : {}),
    },
    transfer: buffersOf(preview?.data),
  };
}

/**
 * A mask file (any PNG, BMP or JPEG: grey, colour, with alpha, 8 or 16 bits) as 0/1, as the CLI
 * binarises it (`mask_file.ts`, which the work's import shares).
 */
async function decodeMask(png: Blob): Promise<BinaryMask> {
  return (await decodeMaskBytes('mask', new Uint8Array(await png.arrayBuffer()))).mask;
}

function stage(id: number, name: PipelineStage, fraction?: number): void {
  scope.postMessage({
    type: 'stage',
    id,
    stage: name,
    ...(fraction !== undefined ? { fraction } : {}),
  });
}

/** Runs `work` after the predictions queued before it. */
function queued<T>(work: () => Promise<T>): Promise<T> {
  const run = chain.then(work, work);
  chain = run.catch(() => undefined);
  return run;
}

async function handle(req: WorkerRequest): Promise<void> {
  const { id } = req;
  try {
    let result: unknown;
    let transfer: Transferable[] = [];
    switch (req.type) {
      case 'start':
        result = await start(req.model, req.options);
        break;
      case 'predict':
        ({ result, transfer } = await queued(() => {
          checkCancelled(id);
          return predict(id, req);
        }));
        break;
      case 'remask':
        ({ result, transfer } = await queued(() => {
          checkCancelled(id);
          return remask(id, req);
        }));
        break;
      case 'decodeImage': {
        const image = await decodeNamedImage(req.file, req.name);
        result = image;
        transfer = buffersOf(image.data);
        break;
      }
      case 'decodeMask': {
        const mask = await decodeMask(req.png);
        result = mask;
        transfer = buffersOf(mask.data);
        break;
      }
      case 'encodeMask': {
        let pixels = 0;
        for (let i = 0; i < req.mask.data.length; i++) pixels += req.mask.data[i] ? 1 : 0;
        const png = new Blob([encodeMaskPng(req.mask) as BlobPart], { type: 'image/png' });
        result = { png, pixels } satisfies StoredMask;
        break;
      }
      case 'zip': {
        const bytes = zipSync(req.entries, { level: req.level as 6 });
        result = bytes;
        transfer = buffersOf(bytes);
        break;
      }
      case 'cancel':
        cancelled.add(req.target);
        result = true;
        break;
      case 'dispose':
        await segmenter?.dispose();
        loaded?.model.dispose();
        segmenter = undefined;
        loaded = undefined;
        result = true;
        break;
      default:
        throw new Error(`unknown request ${(req as { type: string }).type}`);
    }
    scope.postMessage({ type: 'done', id, result }, transfer);
  } catch (err) {
    const kind = err instanceof Cancelled ? 'abort' : err instanceof UserError ? 'user' : 'bug';
    const message =
      err instanceof BrowserImageError
        ? err.reason
        : req.type === 'predict' && kind !== 'abort'
          ? `the prediction failed: ${describe(err)}`
          : describe(err);
    scope.postMessage({ type: 'error', id, message, kind });
  } finally {
    cancelled.delete(id);
  }
}

scope.addEventListener('message', (e) => void handle(e.data));
