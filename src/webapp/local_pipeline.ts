/**
 * The page's pipeline on the main thread: a `Segmenter` behind the `WorkPipeline` interface
 * (decode, predict, post-process, encode PNG and zip). Browser-only.
 */
import { decode } from 'fast-png';
import { zipSync } from 'fflate';
import { BrowserImageError, decodeImageFile } from '../browser/image.js';
import { loadBrowserModel } from '../browser/model.js';
import { encodeMaskPng } from '../browser/png.js';
import { Segmenter, type SegmenterOptions } from '../browser/segmenter.js';
import { postprocess } from '../data/recipe.js';
import { UserError } from '../errors.js';
import type { BinaryMask, RawImage } from '../util/raster.js';
import { imageNotes, imageQuality } from './notes.js';
import type { PipelineModel, Predicted, PredictStage, WorkPipeline } from './state.js';
import type { MaskSettings, StoredMask, StoredPrediction, WorkImage } from './work.js';

/** Images whose header gives more pixels than this are refused (as `--max-pixels`). */
const MAX_PIXELS = 100_000_000;

/** An image that could not be processed: `reason` is what the page shows. */
export class ImageFailure extends UserError {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ImageFailure';
  }
}

export class LocalPipeline implements WorkPipeline {
  private constructor(private readonly segmenter: Segmenter) {}

  static async start(
    model: { url: string } | { files: File[] },
    options: SegmenterOptions,
  ): Promise<LocalPipeline> {
    const loaded = await loadBrowserModel('url' in model ? model.url : model.files);
    return new LocalPipeline(await Segmenter.create(loaded, options));
  }

  get model(): PipelineModel {
    const s = this.segmenter;
    return {
      metadata: s.loaded.metadata,
      source: s.loaded.source,
      gates: s.loaded.gates,
      engineLabel: s.engineLabel,
      threads: s.threads,
      gpu: s.gpu,
    };
  }

  async predict(
    file: Blob,
    name: string,
    settings: MaskSettings,
    options: { signal?: AbortSignal; onStage?(stage: PredictStage, fraction?: number): void } = {},
  ): Promise<Predicted> {
    const t0 = performance.now();
    options.onStage?.('decode');
    const image = await this.decodeImage(file, name);
    options.signal?.throwIfAborted();
    const t1 = performance.now();
    options.onStage?.('network');
    let result;
    try {
      result = await this.segmenter.predict(image);
    } catch (err) {
      throw new ImageFailure(`the prediction failed: ${describe(err)}`);
    }
    options.signal?.throwIfAborted();
    const t2 = performance.now();
    options.onStage?.('post');
    const prediction: StoredPrediction = {
      probabilities: result.probabilities,
      ...(result.mirrored ? { mirrored: result.mirrored } : {}),
      inputSize: result.inputSize,
      attention: result.attention,
      engine: result.engine,
    };
    const made = this.made(image, prediction, settings);
    const t3 = performance.now();
    return {
      width: image.width,
      height: image.height,
      channels: image.channels,
      prediction,
      modelMask: await this.encodeMask(made.mask),
      notes: imageNotes(this.segmenter, image),
      qc: made.qc,
      timing: { decodeMs: t1 - t0, networkMs: t2 - t1, postMs: t3 - t2, totalMs: t3 - t0 },
    };
  }

  /** The mask at `settings` and its quality control. */
  private made(image: RawImage, prediction: StoredPrediction, settings: MaskSettings) {
    let probabilities = prediction.probabilities;
    if (settings.tta === 'hflip' && prediction.mirrored) {
      const m = prediction.mirrored;
      probabilities = probabilities.map((p, i) => (p + m[i]) / 2);
    } else if (settings.tta !== 'none' && settings.tta !== 'hflip') {
      throw new ImageFailure(`test-time augmentation '${settings.tta}' is not available here`);
    }
    const recipe = this.segmenter.recipe;
    const { mask } = postprocess(
      {
        ...recipe,
        threshold: settings.threshold,
        postprocess: { keepLargest: settings.keepLargest, minSize: settings.minSize },
      },
      probabilities,
      [image.height, image.width],
    );
    const qc = imageQuality(
      this.segmenter,
      image,
      { probabilities, ...(prediction.mirrored ? { mirrored: prediction.mirrored } : {}) },
      mask,
      settings.threshold,
    );
    return { mask, qc };
  }

  async remask(image: WorkImage, settings: MaskSettings) {
    if (!image.prediction) throw new ImageFailure(`${image.name} has no prediction to remake`);
    const pixels = await this.decodeImage(image.file, image.name);
    const made = this.made(pixels, image.prediction, settings);
    return { modelMask: await this.encodeMask(made.mask), qc: made.qc };
  }

  async decodeImage(file: Blob, name: string): Promise<RawImage> {
    try {
      const named = Object.assign(file.slice(0, file.size, file.type), { name });
      return (await decodeImageFile(named, { maxPixels: MAX_PIXELS })).image;
    } catch (err) {
      throw new ImageFailure(err instanceof BrowserImageError ? err.reason : describe(err));
    }
  }

  async decodeMask(mask: StoredMask): Promise<BinaryMask> {
    const png = decode(new Uint8Array(await mask.png.arrayBuffer()));
    const c = png.channels;
    const data = new Uint8Array(png.width * png.height);
    for (let i = 0; i < data.length; i++) data[i] = png.data[i * c] > 127 ? 1 : 0;
    return { data, height: png.height, width: png.width };
  }

  encodeMask(mask: BinaryMask): Promise<StoredMask> {
    let pixels = 0;
    for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i];
    const png = encodeMaskPng(mask);
    return Promise.resolve({ png: new Blob([png as BlobPart], { type: 'image/png' }), pixels });
  }

  zip(entries: Record<string, Uint8Array>, level = 6): Promise<Uint8Array> {
    return Promise.resolve(zipSync(entries, { level: level as 6 }));
  }

  async dispose(): Promise<void> {
    await this.segmenter.dispose();
    this.segmenter.loaded.model.dispose();
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
