/**
 * `ftunet summary`: the layers, output shapes and parameter counts of a reference network.
 */
import { Option, type Command } from 'commander';
import { buildModel } from '../../models/build.js';
import {
  DEFAULT_INPUT_SHAPE,
  DEFAULT_WIDTH,
  MODEL_NAMES,
  validateInputShape,
  type ModelName,
} from '../../models/options.js';
import { summarizeModel, type ModelSummary } from '../../models/model_summary.js';
import { choice, parsePositiveNumber, parseShape } from '../parse.js';
import { initBackend } from '../../backend/select.js';
import { formatTable } from '../../util/text_table.js';

interface SummaryFlags {
  model: ModelName;
  inputShape?: [number, number, number];
  width?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('summary')
    .description('print the layers, output shapes and parameter counts of a network')
    .addOption(
      new Option('-m, --model <name>', 'network')
        .choices(MODEL_NAMES)
        .argParser(choice(MODEL_NAMES))
        .makeOptionMandatory(),
    )
    .option(
      '-s, --input-shape <h,w,c>',
      `input height, width, channels (default ${DEFAULT_INPUT_SHAPE.join(',')})`,
      parseShape,
    )
    .option(
      '-w, --width <multiplier>',
      `width multiplier of every filter count (default ${DEFAULT_WIDTH})`,
      parsePositiveNumber,
    )
    .option('--json', 'print one JSON object instead of a table')
    .action(async (flags: SummaryFlags) => {
      const { model, inputShape, width } = flags;
      if (inputShape !== undefined) validateInputShape(inputShape, '--input-shape');
      // Building a model allocates weights; the cpu backend needs no start-up and is quiet.
      await initBackend({ backend: 'cpu' });
      const net = buildModel(model, {
        ...(inputShape !== undefined ? { inputShape } : {}),
        ...(width !== undefined ? { width } : {}),
      });
      const summary = summarizeModel(net, model);
      net.dispose();
      if (flags.json) {
        const { layers: _layers, ...rest } = summary;
        process.stdout.write(`${JSON.stringify(rest)}\n`);
      } else {
        process.stdout.write(formatSummary(summary));
      }
    });
}

function formatSummary(s: ModelSummary): string {
  const rows = s.layers.map((l) => [
    `${l.name} (${l.className})`,
    l.outputShape.map((sh) => `[${sh.join(',')}]`).join(' '),
    l.params.toLocaleString('en-US'),
    l.inbound.join(', '),
  ]);
  const header = ['layer (type)', 'output shape', 'params', 'connected to'];
  const [head, ...body] = formatTable(header, rows, 'llrl');
  const rule = '-'.repeat(Math.max(head.length, ...body.map((l) => l.length)));
  return [
    `model: ${s.model}   input: [${s.inputShape.join(',')}]`,
    rule,
    head,
    rule,
    ...body,
    rule,
    `outputs: ${s.outputs.map((o) => `${o.name} [${o.shape.join(',')}]`).join(', ')}`,
    `total params: ${s.params.toLocaleString('en-US')}`,
    `trainable params: ${s.trainableParams.toLocaleString('en-US')}`,
    `non-trainable params: ${(s.params - s.trainableParams).toLocaleString('en-US')}`,
    '',
  ].join('\n');
}
