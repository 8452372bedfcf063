/**
 * `ftunet summary`: the layers, output shapes and parameter counts of a reference network.
 */
import type { Command } from 'commander';
import { buildModel } from '../../models/build.js';
import { MODEL_NAMES, parseModelName, validateInputShape } from '../../models/options.js';
import { summarizeModel, type ModelSummary } from '../../models/model_summary.js';
import { parsePositiveNumber, parseShape } from '../parse.js';
import { initBackend } from '../../backend/select.js';
import { formatTable } from '../../util/text_table.js';

interface SummaryFlags {
  model: string;
  inputShape: string;
  width: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('summary')
    .description('print the layers, output shapes and parameter counts of a network')
    .requiredOption('-m, --model <name>', `network: ${MODEL_NAMES.join(', ')}`)
    .option('-s, --input-shape <h,w,c>', 'input height, width, channels', '128,128,1')
    .option('-w, --width <multiplier>', 'width multiplier of every filter count', '1')
    .option('--json', 'print one JSON object instead of a table')
    .action(async (flags: SummaryFlags) => {
      const model = parseModelName(flags.model, '--model');
      const inputShape = parseShape(flags.inputShape, '--input-shape');
      validateInputShape(inputShape, '--input-shape');
      const width = parsePositiveNumber(flags.width, '--width');
      // Building a model allocates weights; the cpu backend needs no start-up and is quiet.
      await initBackend({ backend: 'cpu' });
      const net = buildModel(model, { inputShape, width });
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
