/**
 * `exportModel`: a saved model (a model folder, or a run folder's best model) written in
 * another format into a folder: a deployable TensorFlow.js LayersModel folder (model.json +
 * one weights file, with the export metadata of export/metadata.ts; see export/tfjs.ts) or
 * `model.onnx` (ONNX, see export/onnx.ts), with the marker `ftunet-export.json` that lets a
 * later export replace it (io/output_folder.ts). Node-only (fs).
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadSplit } from '../data/split_file.js';
import { UserError } from '../errors.js';
import { readEvaluationSummary } from '../eval/evaluation_summary.js';
import { SUMMARY_JSON } from '../eval/files.js';
import { openModel, resolveModelSource, sourceMirrors } from '../eval/model_source.js';
import { checkThreshold, DEFAULT_THRESHOLD } from '../data/recipe.js';
import { writeFileAtomic } from '../io/atomic.js';
import { MODEL_JSON, saveModel } from '../io/model_files.js';
import {
  claimOutputFolder,
  realTarget,
  writeOutputFolder,
  type OutputFolderClaim,
  type OutputFolderKind,
} from '../io/output_folder.js';
import { isRunFolder, runPaths, type RunConfig } from '../run/config.js';
import { bestEpoch, readEpochLogs } from '../run/log.js';
import { DEFAULT_INTERPOLATION, INTERPOLATIONS, type Interpolation } from '../util/raster.js';
import {
  EXPORT_OUTPUTS,
  exportMetadataOf,
  producerOf,
  QUANTIZATIONS,
  recordedObjective,
  type ExportMetadata,
  type ExportOutputs,
  type Quantization,
  type TrainingSummary,
} from './metadata.js';
import { toOnnx } from './onnx.js';
import { exportedModel, makeExportMetadata, outputNames, setExportMetadata } from './tfjs.js';

/** The formats `exportModel` writes. */
export type ExportFormat = 'tfjs' | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx'];
/** The file name of an ONNX export inside its folder. */
export const ONNX_FILE = 'model.onnx';
export { PRODUCER } from './metadata.js';

export interface ExportOptions {
  /** A model folder or a run folder (its best model), as `predict --model`. */
  model: string;
  /**
   * The output folder: missing, empty, or an earlier export (it holds `EXPORT_MARKER`), which
   * is replaced whole, keeping the files the user added (see io/output_folder.ts). Not the
   * model's own folder, nor a run folder.
   */
  out: string;
  /** Default 'tfjs'. */
  format?: ExportFormat;
  /** 'final' (default): the `final` output alone; 'all': every output of the model. */
  outputs?: ExportOutputs;
  /**
   * tfjs only: how the weights are stored (see io/quantize.ts). Default 'none' (float32).
   * ONNX takes only 'none'.
   */
  quantize?: Quantization;
  /**
   * The mask threshold recorded. Default: the one the model records (an exported folder),
   * else `DEFAULT_THRESHOLD` (0.5).
   */
  threshold?: number;
  /**
   * The image resizing recorded. Default: the run's (`dataset.interpolation` of a run
   * folder), else the one the model records (an exported folder), else
   * `DEFAULT_INTERPOLATION` (nearest).
   */
  interpolation?: Interpolation;
  /** The package version recorded with the producer. Default: none. */
  producerVersion?: string;
}

/** What `exportModel` wrote. */
export interface ExportResult {
  format: ExportFormat;
  /** The written file (model.onnx or model.json), absolute. */
  file: string;
  /** The network's name. */
  model: string;
  /** The exported model's outputs, in order. */
  outputs: string[];
  quantization: Quantization;
  /** The bytes of the files written (model.json and its weights file, or model.onnx). */
  bytes: number;
  /** tfjs: the weights file's bytes. */
  weightsBytes?: number;
  /** tfjs: the metadata recorded in model.json's userDefinedMetadata.ftunetExport. */
  metadata?: ExportMetadata;
  /** ONNX: BatchNorms folded into their convolution. */
  foldedBatchNorms?: number;
}

/** Throws a `UserError` for an option out of its allowed values. */
function checkOptions(options: ExportOptions): Required<Pick<ExportOptions, 'format'>> {
  const format = options.format ?? 'tfjs';
  const allowed = <T>(name: string, value: T | undefined, values: readonly T[]): void => {
    if (value !== undefined && !values.includes(value)) {
      throw new UserError(`${name} must be one of ${values.join(', ')}, got '${String(value)}'`);
    }
  };
  allowed('format', format, EXPORT_FORMATS);
  allowed('outputs', options.outputs, EXPORT_OUTPUTS);
  allowed('quantize', options.quantize, QUANTIZATIONS);
  allowed('interpolation', options.interpolation, INTERPOLATIONS);
  if (options.threshold !== undefined) checkThreshold(options.threshold);
  if (format === 'onnx' && (options.quantize ?? 'none') !== 'none') {
    throw new UserError(
      `quantize '${options.quantize}' applies to the tfjs format; ` +
        "ONNX exports store float32 weights (quantize 'none')",
    );
  }
  return { format };
}

/** The file that marks a folder as written by `exportModel` (see io/output_folder.ts). */
export const EXPORT_MARKER = 'ftunet-export.json';

/** An export's folder: replaced only when it is an earlier export (or empty). */
const EXPORT_FOLDER: OutputFolderKind = {
  marker: EXPORT_MARKER,
  format: 'ftunet-export',
  what: 'an export',
  writer: 'ftunet export',
};

/**
 * Checks that `out` can be the export's folder, changing nothing: not the model's own folder,
 * not a run folder (a model.json there would hide its config.json), and missing, empty or an
 * earlier export (`claimOutputFolder`), all by real path.
 */
async function claimOut(
  out: string,
  modelDir: string,
  runDir?: string,
): Promise<OutputFolderClaim> {
  const real = await realTarget(out);
  for (const dir of [modelDir, runDir]) {
    if (dir !== undefined && real === (await realTarget(dir))) {
      throw new UserError(
        `export: --out ${out} is the folder of the model being exported; choose another folder`,
      );
    }
  }
  if (await isRunFolder(real)) {
    throw new UserError(`export: --out ${out} is a run folder; choose another folder`);
  }
  return claimOutputFolder(out, EXPORT_FOLDER);
}

const reason = (err: unknown): string =>
  (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** `err` as a one-line `UserError` when the file system refused a write into `out`. */
function writeError(err: unknown, out: string): unknown {
  if (err instanceof UserError || (err as NodeJS.ErrnoException).code === undefined) return err;
  return new UserError(`export: cannot write into ${out}: ${reason(err)}`);
}

/**
 * What a run folder says about its model: data set, loss, epochs trained, the best epoch and
 * its validation DSC of `final` (from log.jsonl), and the fold of a k-fold split.
 */
export async function trainingSummary(runDir: string, run: RunConfig): Promise<TrainingSummary> {
  const summary: TrainingSummary = { dataset: run.dataset.kind };
  const loss = (run.loss as { name?: unknown } | undefined)?.name;
  if (typeof loss === 'string') summary.loss = loss;
  const objective = recordedObjective(run.loss);
  if (objective !== undefined) summary.objective = objective;
  const logs = await readEpochLogs(runDir);
  if (logs.length > 0) summary.epochs = Math.max(...logs.map((l) => l.epoch));
  const best = bestEpoch(logs);
  if (best > 0) {
    summary.bestEpoch = best;
    const dsc = logs.find((l) => l.epoch === best)?.val?.outputs.final?.dsc;
    if (typeof dsc === 'number') summary.validationDsc = dsc;
  }
  const paths = runPaths(runDir, run);
  const split = await loadSplit(paths.split).catch(() => undefined);
  if (split?.method === 'kfold') summary.fold = run.split.fold;
  const test = await testScore(path.join(paths.eval, SUMMARY_JSON));
  if (test !== undefined) {
    summary.testDsc = test.dsc;
    summary.testImages = test.images;
  }
  return summary;
}

/**
 * The mean DSC and the image count of a run's evaluation (`summary.json`), or undefined when
 * the run was not evaluated. A summary that cannot be read is an error naming the file.
 */
async function testScore(file: string): Promise<{ dsc: number; images: number } | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`export: cannot read ${file}: ${reason(err)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not valid JSON: evaluate the run again`);
  }
  const summary = readEvaluationSummary(value, file);
  return { dsc: summary.dsc.mean, images: summary.count };
}

/** The sizes of model.json and the weights files its manifest names. */
async function folderBytes(dir: string): Promise<{ bytes: number; weightsBytes: number }> {
  const jsonPath = path.join(dir, MODEL_JSON);
  const json = JSON.parse(await readFile(jsonPath, 'utf8')) as {
    weightsManifest: Array<{ paths: string[] }>;
  };
  let weightsBytes = 0;
  for (const group of json.weightsManifest) {
    for (const p of group.paths) weightsBytes += (await stat(path.join(dir, p))).size;
  }
  return { bytes: (await stat(jsonPath)).size + weightsBytes, weightsBytes };
}

/**
 * Exports a saved model. Everything is built in memory first, so an option the model cannot
 * take (a layer ONNX cannot express: `UnsupportedLayerError`; a network not built by
 * `buildModel`; a weight beyond float16's range) leaves no file. The folder is written beside
 * `out` and swapped into place (`writeOutputFolder`): the tfjs files by `saveModel` (weights
 * file named by its hash, then model.json), or model.onnx.
 */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const { format } = checkOptions(options);
  const outputs = options.outputs ?? 'final';
  const quantization = options.quantize ?? 'none';
  const producer = producerOf(options.producerVersion);
  const source = await resolveModelSource(options.model);
  const out = path.resolve(options.out);
  const opened = await openModel(source);
  try {
    const recorded = exportMetadataOf(
      opened.model.getUserDefinedMetadata(),
      path.join(opened.modelDir, MODEL_JSON),
    );
    const threshold = options.threshold ?? recorded?.predict.threshold ?? DEFAULT_THRESHOLD;
    // The mirrors of the training augmentation travel with the export (`--tta auto`).
    const mirrors = (await sourceMirrors(source)) ?? recorded?.training?.mirrors;
    const interpolation =
      options.interpolation ??
      opened.run?.dataset.interpolation ??
      recorded?.predict.interpolation ??
      DEFAULT_INTERPOLATION;
    // Where the model came from: its run's, else what it records; the same in both formats.
    const summary =
      opened.runDir !== undefined && opened.run !== undefined
        ? await trainingSummary(opened.runDir, opened.run)
        : recorded?.training;
    const training = mirrors !== undefined ? { ...summary, mirrors } : summary;
    switch (format) {
      case 'onnx': {
        // With 'final', the model without the layers only the dropped outputs use (the
        // deep-supervision branches), so that model.onnx does not carry their weights.
        const graph = outputs === 'final' ? exportedModel(opened.model, 'final') : opened.model;
        const onnx = toOnnx(graph, {
          outputs,
          threshold,
          interpolation,
          ...(training !== undefined ? { training } : {}),
          ...(options.producerVersion !== undefined
            ? { producerVersion: options.producerVersion }
            : {}),
        });
        const claim = await claimOut(out, opened.modelDir, opened.runDir);
        const file = path.join(out, ONNX_FILE);
        await writeOutputFolder(claim, EXPORT_FOLDER, (dir) =>
          writeFileAtomic(path.join(dir, ONNX_FILE), onnx.bytes),
        ).catch((err: unknown) => {
          throw writeError(err, out);
        });
        return {
          format,
          file,
          model: opened.name,
          outputs: onnx.outputs,
          quantization,
          bytes: onnx.bytes.byteLength,
          foldedBatchNorms: onnx.foldedBatchNorms,
        };
      }
      case 'tfjs': {
        const net: tfl.LayersModel = exportedModel(opened.model, outputs);
        const metadata = makeExportMetadata(net, {
          interpolation,
          threshold,
          quantization,
          ...(training !== undefined ? { training } : {}),
          producer,
        });
        setExportMetadata(net, metadata);
        const claim = await claimOut(out, opened.modelDir, opened.runDir);
        await writeOutputFolder(claim, EXPORT_FOLDER, (dir) =>
          saveModel(net, dir, { quantization }),
        ).catch((err: unknown) => {
          throw writeError(err, out);
        });
        const sizes = await folderBytes(out);
        return {
          format,
          file: path.join(out, MODEL_JSON),
          model: opened.name,
          outputs: outputNames(net),
          quantization,
          ...sizes,
          metadata,
        };
      }
      default:
        throw new UserError(`format: unknown format '${String(format)}'`);
    }
  } finally {
    opened.model.dispose();
  }
}
