/**
 * `ftunet quickstart` (what `npm start` runs): synthetic BUS-like data, the paper's model with
 * the focal Tversky loss in a quick configuration, evaluation on held-out images.
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { formatEvaluationSummary } from '../../eval/evaluation_summary.js';
import {
  checkQuickstartDir,
  quickstart,
  QUICKSTART_MARKER,
  QUICKSTART_SETTINGS,
} from '../../experiments/quickstart.js';
import { interrupts } from '../interrupt.js';
import { ftunetCommand } from '../../util/shell.js';
import { trainProgress } from '../train_progress.js';
import { flagOption } from '../flags.js';
import { packageVersion } from '../version.js';

interface QuickstartFlags {
  out: string;
  backend?: string;
  workers?: number;
  quiet?: boolean;
}

export function register(program: Command): void {
  const s = QUICKSTART_SETTINGS;
  program
    .command('quickstart')
    .description(
      `train ${s.model} with the focal Tversky loss on ${s.syntheticCount} synthetic BUS-like ` +
        `images (${s.inputSize.join('x')}, width ${s.width}, ${s.epochs} epochs) and evaluate it ` +
        'on the held-out images, writing RUN/report.html; replaces an earlier quick-start run ' +
        `(RUN/${QUICKSTART_MARKER}) and refuses any other folder that is not empty`,
    )
    .option('--out <dir>', 'run folder', 'runs/quickstart')
    .addOption(flagOption('backend'))
    .addOption(flagOption('workers'))
    .option('--quiet', 'print only the metrics table')
    .action(async (flags: QuickstartFlags) => {
      const workers = flags.workers !== undefined ? { workers: flags.workers } : {};
      // Before the backend's line, so that a refused folder is one line.
      await checkQuickstartDir(flags.out);
      const report = flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
      const backend = await initBackend({
        ...(flags.backend ? { backend: flags.backend } : {}),
        report,
      });
      const result = await quickstart(
        {
          out: flags.out,
          backend: backend.name,
          ...workers,
          packageInfo: { name: 'focal-tversky-unet', version: packageVersion() },
        },
        interrupts.stoppable(
          trainProgress({ quiet: flags.quiet }, 'ftunet quickstart'),
          // Running quickstart again starts over (it replaces its run); train --resume continues.
          `${ftunetCommand(['train', '--resume', flags.out])}, then ` +
            `${ftunetCommand(['evaluate', '--run', flags.out])} ` +
            `(${ftunetCommand(['quickstart'])} again would start over)`,
        ),
      );
      const lines = formatEvaluationSummary(result.evaluation.summary);
      process.stdout.write(`${lines.join('\n')}\n`);
      process.stdout.write(
        `\nrun folder: ${result.out}\nsummary: ${result.evaluation.files.summary}\n` +
          `time: ${(result.seconds / 60).toFixed(1)} min (best validation DSC ${result.train.bestScore.toFixed(4)} at epoch ${result.train.bestEpoch})\n` +
          `report: ${result.report.file}\n`,
      );
    });
}
