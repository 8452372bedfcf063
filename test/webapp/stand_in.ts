/**
 * Stand-ins for the web app's unit tests (Node, no browser, no worker): a model, a prediction
 * of a tiny image as the worker keeps it, and what the worker answers for it, its mask made
 * with the worker's own arithmetic (`maskOf`, without a network).
 */
import type { LoadedModel } from '../../src/browser/model.js';
import { encodeMaskPng } from '../../src/browser/png.js';
import type { RawImage } from '../../src/util/raster.js';
import { maskOf } from '../../src/webapp/mask_of.js';
import type { NotesEngine } from '../../src/webapp/notes.js';
import type { PredictResult } from '../../src/webapp/pipeline.js';
import { recordedSettings } from '../../src/webapp/state.js';
import type { MaskSettings, StoredPrediction } from '../../src/webapp/work.js';

/** A grey image of `height` x `width` whose pixel i is `i % 256`. */
export function greyImage(height: number, width: number): RawImage {
  const data = Uint8Array.from({ length: height * width }, (_, i) => i % 256);
  return { data, height, width, channels: 1 };
}

/** A prediction at a 2x2 input: probabilities 0.2, 0.4, 0.6, 0.8. */
export function prediction(engine = 'stand-in'): StoredPrediction {
  return {
    probabilities: Float32Array.from([0.2, 0.4, 0.6, 0.8]),
    inputSize: [2, 2],
    attention: [],
    engine,
  };
}

/**
 * A 2x2x`channels` model with the recorded threshold `threshold`, whose `userDefinedMetadata`
 * is `userMetadata`, and the identity as its preprocessing (for the notes).
 */
export function standInModel(
  options: { threshold?: number; channels?: number; userMetadata?: unknown } = {},
): NotesEngine {
  const loaded = {
    model: { getUserDefinedMetadata: () => options.userMetadata },
    metadata: {
      model: 'attn_reg',
      predict: {
        inputShape: [2, 2, options.channels ?? 1],
        interpolation: 'bilinear',
        threshold: options.threshold ?? 0.5,
        postprocess: { keepLargest: false, minSize: 0 },
      },
    },
    exported: true,
    gates: [],
    source: 'model/model.json',
  } as unknown as LoadedModel;
  return { loaded, preprocess: (image: RawImage) => image };
}

/** What the worker answers for `prediction()` of an image of `height` x `width`. */
export function predictResult(
  model: NotesEngine,
  height: number,
  width: number,
  settings: MaskSettings = recordedSettings(model.loaded),
): PredictResult & { preview: NonNullable<PredictResult['preview']> } {
  const p = prediction();
  const made = maskOf(model, p, [height, width], settings);
  return {
    width,
    height,
    channels: 1,
    prediction: p,
    modelMask: { png: new Blob([encodeMaskPng(made.mask) as BlobPart]), pixels: made.pixels },
    notes: [],
    qc: made.qc,
    timing: { decodeMs: 1.4, networkMs: 12.6, postMs: 2.2, totalMs: 16.2 },
    preview: { image: greyImage(height, width), mask: made.mask },
  };
}
