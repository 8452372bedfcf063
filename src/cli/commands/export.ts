/**
 * `ftunet export`: a saved model as ONNX (`model.onnx`) or as a TensorFlow.js LayersModel
 * folder. A thin shell over `exportModel` (src/export/write.ts).
 */
import { Option, type Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { resolveModelSource } from '../../eval/model_source.js';
import { DEFAULT_THRESHOLD, parseThreshold } from '../../eval/score.js';
import { ONNX_OPSET, ONNX_OUTPUTS, type OnnxOutputs } from '../../export/onnx.js';
import { EXPORT_FORMATS, exportModel, type ExportFormat } from '../../export/write.js';
import { choice, fromLibrary } from '../parse.js';
import { packageVersion } from '../version.js';

interface ExportFlags {
  model: string;
  out: string;
  format: ExportFormat;
  outputs: OnnxOutputs;
  threshold: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('export')
    .description(
      `write a saved model as ONNX (model.onnx, opset ${ONNX_OPSET}, NHWC input 'input', ` +
        "output 'final') or as a TensorFlow.js LayersModel folder",
    )
    .requiredOption('--model <dir>', 'a saved model folder, or a run folder (its best model)')
    .requiredOption('--out <dir>', 'output folder (created)')
    .addOption(
      new Option('--format <format>', 'tfjs: model.json + weights; onnx: model.onnx')
        .choices(EXPORT_FORMATS)
        .argParser(choice(EXPORT_FORMATS))
        .default('tfjs'),
    )
    .addOption(
      new Option(
        '--outputs <which>',
        'onnx: final only, or all (with the deep-supervision outputs pred1..pred3)',
      )
        .choices(ONNX_OUTPUTS)
        .argParser(choice(ONNX_OUTPUTS))
        .default('final'),
    )
    .option(
      '--threshold <t>',
      "onnx: the mask threshold recorded in the model's metadata",
      fromLibrary(parseThreshold, '--threshold'),
      DEFAULT_THRESHOLD,
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
        threshold: flags.threshold,
        producerVersion: packageVersion(),
      });
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        const what =
          result.format === 'onnx'
            ? `ONNX opset ${ONNX_OPSET}, outputs ${result.outputs?.join(', ')}`
            : 'TensorFlow.js LayersModel';
        process.stdout.write(`exported ${result.model} to ${result.file} (${what})\n`);
      }
    });
}
