/**
 * `ftunet export`: a saved model as a deployable TensorFlow.js LayersModel folder (model.json
 * + weights, with what `predict` needs recorded in its metadata) or as ONNX (`model.onnx`).
 * A thin shell over `exportModel` (src/export/write.ts).
 */
import { Option, type Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { resolveModelSource } from '../../eval/model_source.js';
import { DEFAULT_THRESHOLD } from '../../eval/score.js';
import { EXPORT_OUTPUTS, type ExportOutputs, type Quantization } from '../../export/metadata.js';
import { ONNX_OPSET } from '../../export/onnx.js';
import {
  EXPORT_FORMATS,
  exportModel,
  type ExportFormat,
  type ExportResult,
} from '../../export/write.js';
import { DEFAULT_INTERPOLATION, type Interpolation } from '../../util/raster.js';
import { flagOption } from '../flags.js';
import { choice } from '../parse.js';
import { packageVersion } from '../version.js';

interface ExportFlags {
  model: string;
  out: string;
  format: ExportFormat;
  outputs: ExportOutputs;
  quantize?: Quantization;
  threshold?: number;
  interpolation?: Interpolation;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'write a saved model as a deployable TensorFlow.js LayersModel folder (model.json + ' +
        'weights, with the prediction recipe in its metadata) or as ONNX (model.onnx, opset ' +
        `${ONNX_OPSET}, NHWC input 'input', output 'final')`,
    )
    .requiredOption('--model <dir>', 'a saved model folder, or a run folder (its best model)')
    .requiredOption(
      '--out <dir>',
      'output folder: new, empty, or an earlier export (replaced; files you added are kept)',
    )
    .addOption(
      new Option('--format <format>', 'tfjs: model.json + weights; onnx: model.onnx')
        .choices(EXPORT_FORMATS)
        .argParser(choice(EXPORT_FORMATS))
        .default('tfjs'),
    )
    .addOption(
      new Option(
        '--outputs <which>',
        "final: the 'final' output alone; all: with the deep-supervision outputs pred1..pred3",
      )
        .choices(EXPORT_OUTPUTS)
        .argParser(choice(EXPORT_OUTPUTS))
        .default('final'),
    )
    .addOption(
      flagOption(
        'quantize',
        'tfjs: store the weights as float16 (half the size) or uint8 (a quarter), as ' +
          "TensorFlow.js's converter does (default none: float32); onnx: none only",
      ),
    )
    .addOption(
      flagOption(
        'threshold',
        'the mask threshold recorded (default: the one the model records, else ' +
          `${DEFAULT_THRESHOLD})`,
      ),
    )
    .addOption(
      flagOption(
        'interpolation',
        "the image resizing recorded (default: the run's, else the one the model records, " +
          `else ${DEFAULT_INTERPOLATION})`,
      ),
    )
    .option('--json', 'print one JSON object (what was written)')
    .action(async (flags: ExportFlags) => {
      await resolveModelSource(flags.model); // a missing folder fails before a backend starts
      // Reading weights needs a backend; the cpu backend needs no start-up and is quiet.
      await initBackend({ backend: 'cpu' });
      const result = await exportModel({
        model: flags.model,
        out: flags.out,
        format: flags.format,
        outputs: flags.outputs,
        ...(flags.quantize !== undefined ? { quantize: flags.quantize } : {}),
        ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
        ...(flags.interpolation !== undefined ? { interpolation: flags.interpolation } : {}),
        producerVersion: packageVersion(),
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        process.stdout.write(`exported ${result.model} to ${result.file} (${describe(result)})\n`);
      }
    });
}

/** "TensorFlow.js LayersModel, outputs final, uint8 weights, 0.36 MB". */
function describe(result: ExportResult): string {
  const size = `${(result.bytes / 1e6).toFixed(2)} MB`;
  const outputs = `outputs ${result.outputs.join(', ')}`;
  if (result.format === 'onnx') return `ONNX opset ${ONNX_OPSET}, ${outputs}, ${size}`;
  const weights = result.quantization === 'none' ? 'float32' : result.quantization;
  return `TensorFlow.js LayersModel, ${outputs}, ${weights} weights, ${size}`;
}
