/**
 * focal-tversky-unet: the public API, as named re-exports (one place to see what is public).
 */
// Errors
export { BackendError, DataError, ShapeError, UserError } from './errors.js';
export { DamagedFileError, DiskFullError, InterruptedError } from './errors.js';
export { UnsupportedLayerError } from './errors.js';

// Backends
export {
  BACKEND_CHOICES,
  BACKEND_ENV_VAR,
  describeBackend,
  initBackend,
  nativeBackendAvailable,
  parseBackendChoice,
} from './backend/select.js';
export type { BackendChoice, BackendInfo, BackendName, BackendOptions } from './backend/select.js';
export { prepareWasmKernels, registerWasmKernels } from './kernels/wasm/register.js';
export { DEFAULT_NUMERICS, NumericsSchema } from './kernels/numerics.js';
export type {
  ConvAlgorithm,
  FilterGradientPath,
  Numerics,
  NumericsOptions,
} from './kernels/numerics.js';

// Losses
export { binaryCrossentropy, bceDiceLoss, BCE_EPSILON } from './losses/bce.js';
export { diceCoefficient, diceLoss } from './losses/dice.js';
export { focalTverskyLoss, tverskyIndex, tverskyLoss, FTL_EPSILON } from './losses/tversky.js';
export {
  confusionSums,
  summedBceDiceLoss,
  summedDiceLoss,
  summedFocalTverskyLoss,
  summedTverskyLoss,
} from './losses/summed.js';
export type { SummedValue } from './losses/summed.js';
export { overlapLoss } from './losses/overlap.js';
export type { LossForms } from './losses/overlap.js';
export { computeTpFpFn, DEFAULT_ALPHA, DEFAULT_GAMMA, REDUCTIONS } from './losses/utils.js';
export type { LossOptions, Reduction } from './losses/utils.js';

// Metrics
export { softDsc, softPrecision, softRecall, summedSoftDsc } from './metrics/soft.js';
export type { SoftMetricOptions } from './metrics/soft.js';
export {
  confusionCounts,
  confusionCountsPerImage,
  evaluateBatch,
  evaluateMask,
  metricsFromCounts,
} from './metrics/evaluation.js';
export type {
  ConfusionCounts,
  EvaluationOptions,
  SegmentationMetrics,
  ThresholdOptions,
} from './metrics/evaluation.js';
export { summarizeMetrics } from './metrics/aggregate.js';
export {
  HAUSDORFF_PERCENTILE,
  maskEdges,
  surfaceDistanceMetrics,
  surfaceDistances,
  type SurfaceDistanceMetrics,
  type SurfaceDistances,
} from './metrics/surface_distance.js';
export {
  ISIC_JACCARD_THRESHOLD,
  plainJaccard,
  thresholdedJaccard,
} from './metrics/thresholded_jaccard.js';
export {
  parseEmptyDistance,
  parseSpacing,
  type EmptyDistancePolicy,
  type PixelSpacing,
  type SurfaceOptions,
} from './metrics/surface_policy.js';
export {
  surfaceDice,
  surfaceDiceFromDistances,
  SURFACE_DICE_TOLERANCE,
} from './metrics/surface_dice.js';
export { METRICS, surfaceScores } from './metrics/registry.js';
export type {
  Aggregation,
  MetricDefinition,
  MetricName,
  SurfaceScores,
} from './metrics/registry.js';
export { squaredDistanceTransform } from './util/distance_transform.js';
export { labelComponents, postprocessMask, type PostprocessOptions } from './util/components.js';
export {
  computeInputStatistics,
  DriftCheck,
  inputDistance,
  inputStatisticsOf,
  type InputStatistics,
} from './data/input_statistics.js';
export type { MetricSummary } from './metrics/aggregate.js';

// Networks
export {
  attentionGateNames,
  buildModel,
  finalOutputIndex,
  modelMetadata,
  outputNames,
  withAttentionMaps,
} from './models/build.js';
export type { ModelMetadata } from './models/build.js';
export {
  DEFAULT_BN_MOMENTUM,
  DEFAULT_MODEL,
  DEFAULT_WIDTH,
  MODEL_NAMES,
  validateInputShape,
} from './models/options.js';
export { describeAttentionGates, MODELS } from './models/registry.js';
export type { ModelDefinition } from './models/registry.js';
export { MODEL_SUPERVISION } from './models/supervision.js';
export type { ModelSupervision } from './models/supervision.js';
export type { ModelName, ModelOptions } from './models/options.js';
export { summarizeModel } from './models/model_summary.js';
export type { LayerSummary, ModelSummary } from './models/model_summary.js';
export { folderHandler, loadModel, saveModel } from './io/model_files.js';
export type { SaveModelOptions } from './io/model_files.js';
export { quantizeWeights, toFloat16Bits, WEIGHT_QUANTIZATIONS } from './io/quantize.js';
export type { WeightQuantization } from './io/quantize.js';

// Data
export { makeBatch } from './data/batch.js';
export type { Batch } from './data/batch.js';
export type { DatasetSource, DatasetSourceKind, SegmentationDataset } from './data/dataset.js';
export { listDatasetPairs, loadDataset } from './data/load.js';
export type { LoadDatasetOptions, LoadProgress } from './data/load.js';
export {
  DATASET_LAYOUTS,
  DATASET_PRESETS,
  DATASET_SOURCE_KINDS,
  datasetLayout,
  datasetPreset,
  syntheticKindOf,
} from './data/presets.js';
export type { DatasetLayout, DatasetPreset, SyntheticKind } from './data/presets.js';
export { holdoutSplit, kFoldSplit, resolveSplit } from './data/splits.js';
export type { FoldIndices, Split, SplitFold } from './data/splits.js';
export { loadSplit, saveSplit } from './data/split_file.js';
export { summarizeDataset } from './data/dataset_summary.js';
export type { DatasetSummary } from './data/dataset_summary.js';
export { synthesizeDataset, SYNTHETIC_KINDS, SYNTHETIC_LOOKS } from './data/synthetic/generate.js';
export type { SynthesizeOptions, SyntheticLook } from './data/synthetic/generate.js';
export { writeSyntheticDataset } from './data/synthetic/write.js';
export type { WriteSyntheticOptions } from './data/synthetic/write.js';
export { decodeImage, decodeMask } from './io/image.js';
export {
  DECODE_MEMORY_BUDGET,
  decodeMemory,
  DEFAULT_MAX_PIXELS,
  ImageReadError,
  ImageTooLargeError,
  openImage,
} from './io/image.js';
export type { ImageReadOptions, OpenedImage } from './io/image.js';
export { headerSize, sniffImageFormat } from './io/image_format.js';
export type { HeaderSize, ImageFormat } from './io/image_format.js';
export { MemoryLimiter } from './util/memory_limit.js';
export { writeImage, writeMask } from './io/write.js';
export { Rng } from './util/rng.js';
export {
  nearestIndices,
  resizeBilinear,
  resizeImage,
  resizeMask,
  resizeNearest,
} from './util/raster.js';
export type { BinaryMask, Interpolation, RawImage } from './util/raster.js';

export { LOSSES } from './losses/registry.js';
export type { LossDefinition } from './losses/registry.js';

// Training
export {
  DEFAULT_LOSS,
  DEFAULT_WEIGHTING,
  LOSS_NAMES,
  lossFunction,
  makeObjective,
  OBJECTIVE_SCOPES,
  outputWeights,
  subsampleTarget,
  summedLoss,
} from './train/objective.js';
export type {
  Coefficients,
  LossName,
  Objective,
  ObjectiveOptions,
  ObjectiveScope,
  ObjectiveSums,
  ObjectiveValues,
  OutputValues,
  Weighting,
} from './train/objective.js';
export { Optimizer, OPTIMIZER_NAMES, resolveOptimizerConfig } from './train/optimizer.js';
export type { OptimizerConfig, OptimizerState } from './train/optimizer.js';
export {
  DEFAULT_SCHEDULE,
  resolveScheduleConfig,
  SCHEDULE_NAMES,
  scheduleFactor,
} from './train/schedule.js';
export type { ScheduleConfig, ScheduleName, ScheduleState } from './train/schedule.js';
export {
  AUGMENT_LEVEL_TABLE,
  AUGMENT_LEVELS,
  AUGMENT_TRANSFORMS,
  augmentPair,
  augmentSeed,
  resolveAugmentConfig,
} from './data/augment.js';
export type {
  AugmentConfig,
  AugmentLevel,
  AugmentTransform,
  TransformSetting,
} from './data/augment.js';
export { describeStop, DivergenceError, OutOfMemoryError, Trainer } from './train/trainer.js';
export type {
  EarlyStop,
  EpochLog,
  PhaseMetrics,
  StepProgress,
  TrainCallbacks,
  TrainerOptions,
  TrainState,
} from './train/trainer.js';
export { TrainingPace } from './train/pace.js';
export type { PaceEstimate } from './train/pace.js';
export { StepRunner } from './train/step.js';
export type {
  StepExecutor,
  StepGradients,
  StepOptions,
  StepPlace,
  ValueSums,
} from './train/step.js';
export { recordForward, variableGradsLowMemory } from './train/gradients.js';
export type { RecordedForward } from './train/gradients.js';
export {
  autoMicroBatch,
  checkMicroBatch,
  trainingMicroBatch,
  activationBytesPerImage,
} from './train/memory.js';
export {
  checkWorkers,
  defaultWorkers,
  DEFAULT_TRAINING_WORKERS,
  resolveTrainingWorkers,
  resolveWorkers,
  shareItems,
  WorkerPool,
} from './parallel/pool.js';
export type { WorkerPoolOptions } from './parallel/pool.js';
export { resume, train } from './run/train.js';
export type { TrainRunOptions, TrainRunResult } from './run/train.js';
export type { TrainRunConfig, TrainRunSettings } from './run/config.js';
export {
  parseRunConfig,
  readRunConfig,
  RUN_FILE_FORMAT,
  RUN_FORMAT,
  RUN_VERSION,
  runPaths,
} from './run/config.js';
export type { RunConfig } from './run/config.js';
export { SETTING_GROUPS, TRAIN_SETTINGS } from './run/settings_schema.js';
export type {
  Setting,
  SettingGroup,
  SettingName,
  SettingValues,
  SettingsConfig,
  TrainSettingOptions,
} from './run/settings_schema.js';

// Evaluation and prediction
export { evaluateModel } from './eval/evaluate.js';
export type { EvaluateModelOptions, ImageEvaluation } from './eval/evaluate.js';
export { evaluatePredictions, evaluateRun, evaluateSavedModel } from './eval/run.js';
export {
  AveragingEngine,
  predictWithMirror,
  TTA_CHOICES,
  TTA_MODES,
  resolveTta,
  type Mirrors,
  type TtaChoice,
  type TtaMode,
} from './eval/ensemble.js';
export {
  checkQuality,
  QC_LIMITS,
  QC_REASONS,
  summarizeQuality,
  type QcReason,
  type QcVerdict,
  type QualityCheck,
  type QualitySummary,
} from './eval/quality.js';
export { scoreMask } from './eval/score.js';
export type {
  EvaluateRunOptions,
  EvaluateSavedModelOptions,
  EvaluationReport,
} from './eval/run.js';
export { scorePrediction, DEFAULT_THRESHOLD } from './eval/score.js';
export {
  postprocess,
  predictionRecipe,
  preprocess,
  PREDICTION_RECIPE_SCHEMA,
  toInput,
} from './data/recipe.js';
export type { PredictionRecipeOptions, RecipeMasks } from './data/recipe.js';
export { readEvaluationSummary } from './eval/evaluation_summary.js';
export { summarizeEvaluation } from './eval/evaluation_summary.js';
export type { EvaluationSummary } from './eval/evaluation_summary.js';
export { countEmptyMasks } from './eval/evaluation_summary.js';
export type { EmptyMaskCounts } from './eval/evaluation_summary.js';
export { Predictor } from './predict/predictor.js';
export type { ImagePrediction, PredictorOptions } from './predict/predictor.js';
export { predictFiles } from './predict/files.js';
export { probabilityMap16 } from './predict/probability_map.js';
export type { PredictFilesOptions, PredictFilesResult } from './predict/files.js';
export { loadCheckpoint, saveCheckpoint } from './run/checkpoint.js';
export { KEPT_CHECKPOINTS } from './run/checkpoint.js';
export type { LoadCheckpointOptions, LoadedCheckpoint } from './run/checkpoint.js';
export { sweepStaleTemporaries } from './io/atomic.js';

// Ablation study
export { ABLATION_VARIANTS, ABLATION_VARIANT_IDS, ablationVariant } from './ablation/variants.js';
export type { AblationVariant, AblationVariantId } from './ablation/variants.js';
export { listUnits, parseShard, selectUnits, unitAction } from './ablation/units.js';
export type { AblationUnit, Shard, UnitAction, UnitSelection } from './ablation/units.js';
export { resolveAblationSettings } from './ablation/settings.js';
export type { AblationSettings, AblationSettingsInput } from './ablation/settings.js';
export { openStudy, readStudy } from './ablation/study.js';
export type { AblationStudy } from './ablation/study.js';
export { runAblation } from './ablation/run.js';
export type { AblationCallbacks, AblationRunOptions, AblationRunResult } from './ablation/run.js';
export { PAPER_TABLE_BUS, PAPER_TABLE_ISIC } from './ablation/paper.js';
export { ablationCsv, ablationMarkdown, buildAblationTable } from './ablation/table.js';
export type { AblationRow, AblationTable } from './ablation/table.js';
export { ablationReport } from './ablation/table_files.js';
export type { AblationReport } from './ablation/table_files.js';

// Export
export {
  ONNX_INPUT_NAME,
  ONNX_IR_VERSION,
  ONNX_OPSET,
  convTransposePads,
  readOnnxExportInfo,
  toOnnx,
} from './export/onnx.js';
export type { OnnxExportInfo, OnnxExportOptions, OnnxModel } from './export/onnx.js';
export {
  EXPORT_METADATA_KEY,
  EXPORT_OUTPUTS,
  QUANTIZATIONS,
  exportMetadataOf,
  parseExportMetadata,
} from './export/metadata.js';
export type {
  ExportMetadata,
  ExportOutputs,
  PredictionRecipe,
  Quantization,
  TrainingSummary,
} from './export/metadata.js';
export { exportedModel, makeExportMetadata } from './export/tfjs.js';
export { readExportMetadata, trainedMirrors } from './export/read.js';
export { EXPORT_FORMATS, ONNX_FILE, exportModel, trainingSummary } from './export/write.js';
export type { ExportFormat, ExportOptions, ExportResult } from './export/write.js';
export {
  OnnxRuntimeEngine,
  loadOnnxRuntime,
  onnxExportFile,
  openInferenceEngine,
  openOnnxExport,
} from './export/onnx_engine.js';
export type { InferenceEngineOptions, OpenedOnnxExport } from './export/onnx_engine.js';

// Inference engines
export { DEFAULT_ENGINE, ENGINE_CHOICES, TfjsEngine } from './eval/engine.js';
export type { EngineChoice, InferenceEngine } from './eval/engine.js';
export { startTfjsEngine } from './eval/worker_engine.js';
export type { TfjsEngineOptions } from './eval/worker_engine.js';

// Quick start
export { quickstart, QUICKSTART_SETTINGS } from './experiments/quickstart.js';
export type { QuickstartOptions, QuickstartResult } from './experiments/quickstart.js';
export { checkQuickstartDir, QUICKSTART_MARKER } from './experiments/quickstart.js';
export type { QuickstartDirCheck } from './experiments/quickstart.js';

// Reports
export { RUN_REPORT_FILE, writeRunReport } from './report/run_report.js';
export type { RunReportResult, WriteRunReportOptions } from './report/run_report.js';
export { ABLATION_HTML_FILE, writeAblationHtml } from './ablation/report_html.js';
export { focalTverskyCurve } from './report/plots.js';
export { PrecisionRecallAccumulator } from './report/pr_curve.js';
export type { OperatingPoint, PrecisionRecallCurve } from './report/pr_curve.js';
