/**
 * `ftunet inspect`: runs every check of the data readers on a data set without training and
 * prints the number of pairs, the range of original sizes, the channel layouts and the
 * lesion-area fraction. Warms the preprocessing cache for training as a side effect.
 */
import type { Command } from 'commander';
import { loadDataset, type LoadProgress } from '../../data/load.js';
import {
  DATASET_LAYOUTS,
  parseChannels,
  parseDatasetLayout,
  parseInputSize,
} from '../../data/presets.js';
import { formatDatasetSummary, summarizeDataset } from '../../data/dataset_summary.js';
import { UserError } from '../../errors.js';
import { parseInterpolation } from '../../util/raster.js';
import { DEFAULT_CACHE_HELP } from '../help.js';
import { MAX_PIXELS_HELP, maxPixelsOption } from '../parse.js';

interface InspectFlags {
  dataset: string;
  data: string;
  maskSuffix?: string;
  inputSize?: string;
  channels?: string;
  interpolation: string;
  cache: string | boolean;
  maxPixels?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description(
      'check a data set without training: pairs, readability, sizes, channel layouts, lesion area',
    )
    .requiredOption('--dataset <layout>', `data set layout: ${DATASET_LAYOUTS.join(', ')}`)
    .requiredOption('--data <dir>', 'the data set folder')
    .option(
      '--mask-suffix <suffix>',
      "with --dataset folder: the end of a mask's name stem (masks/a_segmentation.png for images/a.jpg)",
    )
    .option(
      '--input-size <rows,cols>',
      'size to resize to (default: bus 128,128; isic2018 192,256; folder 128,128)',
    )
    .option('--channels <n>', 'image channels, 1 or 3 (default: bus 1, isic2018 3, folder 3)')
    .option(
      '--interpolation <mode>',
      'image resizing: nearest (as the reference) or bilinear',
      'nearest',
    )
    .option('--cache <dir>', `preprocessing cache folder (default: ${DEFAULT_CACHE_HELP})`)
    .option('--no-cache', 'decode every file; neither read nor write the cache')
    .option('--max-pixels <n>', MAX_PIXELS_HELP)
    .option('--json', 'print one JSON object (count, sizes, layouts, lesionArea, ...)')
    .action(async (flags: InspectFlags) => {
      const dataset = parseDatasetLayout(flags.dataset, '--dataset');
      if (flags.maskSuffix !== undefined && dataset !== 'folder') {
        throw new UserError(`--mask-suffix: applies to --dataset folder only, not ${dataset}`);
      }
      const inputSize =
        flags.inputSize !== undefined ? parseInputSize(flags.inputSize, '--input-size') : undefined;
      const channels =
        flags.channels !== undefined ? parseChannels(flags.channels, '--channels') : undefined;
      const interpolation = parseInterpolation(flags.interpolation, '--interpolation');
      const maxPixels = maxPixelsOption(flags.maxPixels);
      const ds = await loadDataset({
        dataset,
        data: flags.data,
        ...(inputSize ? { inputSize } : {}),
        ...(channels ? { channels } : {}),
        interpolation,
        ...maxPixels,
        ...(flags.maskSuffix !== undefined ? { maskSuffix: flags.maskSuffix } : {}),
        cache:
          flags.cache === false ? false : typeof flags.cache === 'string' ? flags.cache : undefined,
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
  const end = p.done === p.total ? '\n' : '';
  process.stderr.write(`\rftunet inspect: ${p.phase} ${p.done}/${p.total}${end}`);
}
