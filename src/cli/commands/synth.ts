/**
 * `ftunet synth`: writes a synthetic lesion data set (bus-like ultrasound in the BUS layout,
 * isic-like dermoscopy in the ISIC 2018 layout) and prints its measured lesion-area statistics.
 */
import { Option, type Command } from 'commander';
import type { SyntheticKind } from '../../data/presets.js';
import {
  DEFAULT_SYNTHETIC_COUNT,
  DEFAULT_SYNTHETIC_LOOK,
  parseCount,
  SYNTHETIC_KINDS,
  SYNTHETIC_LOOKS,
  type SyntheticLook,
} from '../../data/synthetic/generate.js';
import { describeSyntheticResult, writeSyntheticDataset } from '../../data/synthetic/write.js';
import { DEFAULT_SEED, MAX_SEED, parseSeed } from '../../util/rng.js';
import { choice, fromLibrary } from '../parse.js';
import { writeProgressLine } from '../progress_line.js';

interface SynthFlags {
  kind: SyntheticKind;
  out: string;
  count?: number;
  seed?: number;
  look?: SyntheticLook;
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
    .addOption(
      new Option('--kind <kind>', 'what to make')
        .choices(SYNTHETIC_KINDS)
        .argParser(choice(SYNTHETIC_KINDS))
        .makeOptionMandatory(),
    )
    .requiredOption(
      '--out <dir>',
      'output folder (created; must be empty or an earlier synth output)',
    )
    .option(
      '--count <n>',
      `number of image/mask pairs (default: bus ${DEFAULT_SYNTHETIC_COUNT.bus}, isic ${DEFAULT_SYNTHETIC_COUNT.isic})`,
      fromLibrary(parseCount, '--count'),
    )
    .option(
      '--seed <s>',
      `seed, 0 to ${MAX_SEED}: the same seed gives the same files (default ${DEFAULT_SEED})`,
      fromLibrary(parseSeed, '--seed'),
    )
    .addOption(
      new Option(
        '--look <look>',
        'how the bus-like images look: dim is the same anatomy darker, with lower contrast and ' +
          "coarser speckle, as another scanner might show it (to test a model's quality control)",
      )
        .choices(SYNTHETIC_LOOKS)
        .argParser(choice(SYNTHETIC_LOOKS))
        .default(DEFAULT_SYNTHETIC_LOOK),
    )
    .option(
      '--force',
      'write into a non-empty folder that is not a synth output (its data folders are replaced)',
    )
    .option('--json', 'print one JSON object (count, sizes, lesionArea, ...)')
    .action(async (flags: SynthFlags) => {
      const { kind, count, seed } = flags;
      const result = await writeSyntheticDataset({
        kind,
        out: flags.out,
        ...(count !== undefined ? { count } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(flags.look !== undefined ? { look: flags.look } : {}),
        force: flags.force ?? false,
        onProgress: (done, total) => {
          if (process.stderr.isTTY) {
            writeProgressLine(process.stderr, `ftunet synth: ${done}/${total}`, done === total);
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
