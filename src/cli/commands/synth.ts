/**
 * `ftunet synth`: writes a synthetic lesion data set (bus-like ultrasound in the BUS layout,
 * isic-like dermoscopy in the ISIC 2018 layout) and prints its measured lesion-area statistics.
 */
import type { Command } from 'commander';
import {
  DEFAULT_SYNTHETIC_COUNT,
  parseCount,
  parseSyntheticKind,
  SYNTHETIC_KINDS,
} from '../../data/synthetic/generate.js';
import { describeSyntheticResult, writeSyntheticDataset } from '../../data/synthetic/write.js';
import { parseSeed } from '../../util/rng.js';

interface SynthFlags {
  kind: string;
  out: string;
  count?: string;
  seed: string;
  force?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('synth')
    .description(
      'write a synthetic lesion data set: bus (ultrasound-like, BUS layout) or isic ' +
        '(dermoscopy-like, ISIC 2018 layout)',
    )
    .requiredOption('--kind <kind>', `what to make: ${SYNTHETIC_KINDS.join(', ')}`)
    .requiredOption(
      '--out <dir>',
      'output folder (created; must be empty or an earlier synth output)',
    )
    .option(
      '--count <n>',
      `number of image/mask pairs (default: bus ${DEFAULT_SYNTHETIC_COUNT.bus}, isic ${DEFAULT_SYNTHETIC_COUNT.isic})`,
    )
    .option('--seed <s>', 'seed, 0 to 4294967295: the same seed gives the same files', '0')
    .option(
      '--force',
      'write into a non-empty folder that is not a synth output (its data folders are replaced)',
    )
    .option('--json', 'print one JSON object (count, sizes, lesionArea, ...)')
    .action(async (flags: SynthFlags) => {
      const kind = parseSyntheticKind(flags.kind, '--kind');
      const count = flags.count !== undefined ? parseCount(flags.count, '--count') : undefined;
      const seed = parseSeed(flags.seed, '--seed');
      const result = await writeSyntheticDataset({
        kind,
        out: flags.out,
        ...(count !== undefined ? { count } : {}),
        seed,
        force: flags.force ?? false,
        onProgress: (done, total) => {
          if (process.stderr.isTTY) {
            process.stderr.write(`\rftunet synth: ${done}/${total}${done === total ? '\n' : ''}`);
          }
        },
      });
      if (flags.json) {
        const { lesionAreas: _areas, ...rest } = result;
        process.stdout.write(`${JSON.stringify(rest)}\n`);
      } else {
        process.stdout.write(`${describeSyntheticResult(result).join('\n')}\n`);
      }
    });
}
