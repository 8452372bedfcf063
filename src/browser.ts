/**
 * focal-tversky-unet in the browser (`import … from 'focal-tversky-unet/browser'`): the pure
 * parts of the library (networks, losses, metrics, preprocessing) and what a page needs to
 * segment images with an exported model: decoding picked files, loading a model from a URL or
 * from picked files, the `Segmenter` with its engines (TensorFlow.js on WebGPU, WebGL, wasm;
 * onnxruntime-web on wasm) and their fallbacks, overlays, heat maps and PNG masks. No module
 * in this entry's import graph needs Node.js (test/browser/bundle.test.ts bundles it for the
 * browser and runs it in Chromium).
 *
 * The wasm engines load their binaries at run time from `wasmPath`: copy
 * `@tensorflow/tfjs-backend-wasm/dist/*.wasm` and
 * `onnxruntime-web/dist/ort-wasm-simd-threaded.{mjs,wasm}` to one folder your page serves
 * (`ftunet app` does this) and, when bundling onnxruntime-web, resolve it with the condition
 * `onnxruntime-web-use-extern-wasm` so that its threads load that folder's files.
 */
// Errors
export { UserError } from './errors.js';

// Losses and metrics
export { binaryCrossentropy, bceDiceLoss } from './losses/bce.js';
export { diceCoefficient, diceLoss } from './losses/dice.js';
export { focalTverskyLoss, tverskyIndex, tverskyLoss } from './losses/tversky.js';
export { computeTpFpFn, DEFAULT_ALPHA, DEFAULT_GAMMA } from './losses/utils.js';
export type { LossOptions, Reduction } from './losses/utils.js';
export { softDsc, softPrecision, softRecall } from './metrics/soft.js';
export { confusionCounts, evaluateMask, metricsFromCounts } from './metrics/evaluation.js';
export type { ConfusionCounts, SegmentationMetrics } from './metrics/evaluation.js';

// Networks
export {
  attentionGateNames,
  buildModel,
  modelMetadata,
  outputNames,
  withAttentionMaps,
} from './models/build.js';
export { MODEL_NAMES } from './models/options.js';
export type { ModelName, ModelOptions } from './models/options.js';
export { toOnnx } from './export/onnx.js';
export { EXPORT_METADATA_KEY, exportMetadataOf, parseExportMetadata } from './export/metadata.js';
export type { ExportMetadata, PredictionRecipe, TrainingSummary } from './export/metadata.js';

// Preprocessing and masks
export { convertChannels, resizeImage, resizeMask, lesionFraction } from './util/raster.js';
export type { BinaryMask, Interpolation, RawImage } from './util/raster.js';
export { DEFAULT_THRESHOLD, thresholdProbabilities } from './eval/score.js';
export { postprocess, predictionRecipe, preprocess, toInput } from './data/recipe.js';
export { headerSize, sniffImageFormat } from './io/image_format.js';
export type { HeaderSize, ImageFormat } from './io/image_format.js';
export { overlayMask } from './predict/overlay.js';
export type { OverlayOptions, OverlayStyle } from './predict/overlay.js';
export { heatmapImage, viridis } from './predict/colormap.js';

// In the page
export {
  BROWSER_MAX_PIXELS,
  BrowserImageError,
  decodeImageFile,
  rawImageFrom,
  toImageData,
} from './browser/image.js';
export type { DecodedFile, ImageSource } from './browser/image.js';
export { describeModel, loadBrowserModel } from './browser/model.js';
export type { LoadedModel } from './browser/model.js';
export { defaultWasmThreads, probeGpu } from './browser/engine.js';
export type { GateMap } from './browser/engine.js';
export {
  BROWSER_BACKEND_CHOICES,
  BROWSER_ENGINE_CHOICES,
  engineCandidates,
  specLabel,
} from './browser/engine_choice.js';
export type {
  BrowserBackend,
  BrowserBackendChoice,
  BrowserEngineChoice,
  EngineSpec,
  GpuInfo,
} from './browser/engine_choice.js';
export { Segmenter } from './browser/segmenter.js';
export type { Segmentation, SegmenterOptions } from './browser/segmenter.js';
export { encodeImagePng, encodeMaskPng } from './browser/png.js';
