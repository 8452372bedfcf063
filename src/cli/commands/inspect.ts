/**
 * `ftunet inspect`: runs every check of the data readers on a data set without training and
 * prints the number of pairs, the range of original sizes, the channel layouts and the
 * lesion-area fraction. Warms the preprocessing cache for training as a side effect.
 */
import { Option, type Command } from 'commander';
import { loadDataset, type LoadProgress } from '../../data/load.js';
import { DATASET_LAYOUTS, type DatasetLayout } from '../../data/presets.js';
import { formatDatasetSummary, summarizeDataset } from '../../data/dataset_summary.js';
import { UserError } from '../../errors.js';
import type { Interpolation } from '../../util/raster.js';
import { DEFAULT_CACHE_HELP } from '../help.js';
import { flagOption, presetDefaults } from '../flags.js';
import { choice } from '../parse.js';
import { writeProgressLine } from '../progress_line.js';

interface InspectFlags {
  dataset: DatasetLayout;
  data: string;
  maskSuffix?: string;
  inputSize?: [number, number];
  channels?: 1 | 3;
  interpolation?: Interpolation;
  cache?: string | false;
  maxPixels?: number;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description(
      'check a data set without training: pairs, readability, sizes, channel layouts, lesion area',
    )
    .addOption(
      new Option('--dataset <layout>', 'data set layout')
        .choices(DATASET_LAYOUTS)
        .argParser(choice(DATASET_LAYOUTS))
        .makeOptionMandatory(),
    )
    .requiredOption('--data <dir>', 'the data set folder')
    .option(
      '--mask-suffix <suffix>',
      "with --dataset folder: the end of a mask's name stem (masks/a_segmentation.png for images/a.jpg)",
    )
    .addOption(
      flagOption(
        'inputSize',
        `size to resize to, rows,cols (${presetDefaults((p) => p.inputSize.join(','))})`,
      ),
    )
    .addOption(flagOption('channels'))
    .addOption(flagOption('interpolation'))
    .option('--cache <dir>', `preprocessing cache folder (default: ${DEFAULT_CACHE_HELP})`)
    .option('--no-cache', 'decode every file; neither read nor write the cache')
    .addOption(flagOption('maxPixels'))
    .option('--json', 'print one JSON object (count, sizes, layouts, lesionArea, ...)')
    .action(async (flags: InspectFlags) => {
      const { dataset, inputSize, channels, interpolation } = flags;
      if (flags.maskSuffix !== undefined && dataset !== 'folder') {
        throw new UserError(`--mask-suffix: applies to --dataset folder only, not ${dataset}`);
      }
      const maxPixels = flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {};
      const ds = await loadDataset({
        dataset,
        data: flags.data,
        ...(inputSize ? { inputSize } : {}),
        ...(channels ? { channels } : {}),
        ...(interpolation !== undefined ? { interpolation } : {}),
        ...maxPixels,
        ...(flags.maskSuffix !== undefined ? { maskSuffix: flags.maskSuffix } : {}),
        cache: flags.cache,
        onWarning: (m) => process.stderr.write(`ftunet inspect: warning: ${m}\n`),
        onProgress: progressLine,
      });
      const summary = summarizeDataset(ds);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({
            dataset,
            data: ds.source.root,
            inputSize: ds.inputSize,
            channels: ds.channels,
            ...summary,
            cache: { file: ds.source.cacheFile ?? null, hit: ds.source.fromCache ?? false },
          })}\n`,
        );
        return;
      }
      const lines = [
        `data set: ${dataset} at ${ds.source.root ?? flags.data}`,
        ...formatDatasetSummary(summary),
        `arrays: ${ds.inputSize.join('x')}x${ds.channels} (${ds.interpolation}); ` +
          (ds.source.cacheFile === undefined
            ? 'no cache'
            : `cache ${ds.source.fromCache ? 'hit' : 'written'}: ${ds.source.cacheFile}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** Progress on stderr, only for a terminal (logs and pipes get the result alone). */
function progressLine(p: LoadProgress): void {
  if (!process.stderr.isTTY) return;
  writeProgressLine(
    process.stderr,
    `ftunet inspect: ${p.phase} ${p.done}/${p.total}`,
    p.done === p.total,
  );
}
