/**
 * `exportModel`: a saved model (a model folder, or a run folder's best model) written in
 * another format into a folder: `model.onnx` (ONNX, see export/onnx.ts) or a TensorFlow.js
 * LayersModel folder (model.json + weights). Node-only (fs).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { openModel, resolveModelSource } from '../eval/model_source.js';
import { writeFileAtomic } from '../io/atomic.js';
import { MODEL_JSON, saveModel } from '../io/model_files.js';
import { toOnnx, type OnnxOutputs } from './onnx.js';

/** The formats `exportModel` writes. */
export type ExportFormat = 'tfjs' | 'onnx';
export const EXPORT_FORMATS: readonly ExportFormat[] = ['tfjs', 'onnx'];
/** The file name of an ONNX export inside its folder. */
export const ONNX_FILE = 'model.onnx';

export interface ExportOptions {
  /** A model folder or a run folder (its best model), as `predict --model`. */
  model: string;
  /** The output folder (created). */
  out: string;
  /** Default 'tfjs'. */
  format?: ExportFormat;
  /** ONNX only: 'final' (default) or 'all' outputs. */
  outputs?: OnnxOutputs;
  /** ONNX only: the mask threshold recorded in the metadata. Default 0.5. */
  threshold?: number;
  /** ONNX only: the producer version recorded. Default ''. */
  producerVersion?: string;
}

/** What `exportModel` wrote. */
export interface ExportResult {
  format: ExportFormat;
  /** The written file (model.onnx or model.json), absolute. */
  file: string;
  /** The network's name. */
  model: string;
  /** ONNX: the graph's outputs. */
  outputs?: string[];
  /** ONNX: BatchNorms folded into their convolution. */
  foldedBatchNorms?: number;
}

/**
 * Exports a saved model. An ONNX export is built in memory first, so a layer it cannot express
 * (`UnsupportedLayerError`) leaves no file; `model.onnx` is written atomically.
 */
export async function exportModel(options: ExportOptions): Promise<ExportResult> {
  const format = options.format ?? 'tfjs';
  if (!EXPORT_FORMATS.includes(format)) {
    throw new UserError(
      `exportModel: format must be one of ${EXPORT_FORMATS.join(', ')}, got '${String(format)}'`,
    );
  }
  const source = await resolveModelSource(options.model);
  const opened = await openModel(source);
  try {
    const out = path.resolve(options.out);
    switch (format) {
      case 'onnx': {
        const onnx = toOnnx(opened.model, {
          ...(options.outputs !== undefined ? { outputs: options.outputs } : {}),
          ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
          ...(options.producerVersion !== undefined
            ? { producerVersion: options.producerVersion }
            : {}),
        });
        await mkdir(out, { recursive: true });
        const file = path.join(out, ONNX_FILE);
        await writeFileAtomic(file, onnx.bytes);
        return {
          format,
          file,
          model: opened.name,
          outputs: onnx.outputs,
          foldedBatchNorms: onnx.foldedBatchNorms,
        };
      }
      case 'tfjs':
        await saveModel(opened.model, out);
        return { format, file: path.join(out, MODEL_JSON), model: opened.name };
      default:
        throw new UserError(`exportModel: unknown format '${String(format)}'`);
    }
  } finally {
    opened.model.dispose();
  }
}
