/**
 * `ftunet report RUN_DIR`: writes RUN_DIR/report.html, one self-contained page with the run's
 * configuration, evaluation, training curves, precision-recall curve, best/median/worst test
 * images with attention maps, per-image table and focal Tversky curve. A thin shell over
 * `writeRunReport` (src/report/run_report.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { DEFAULT_CASES_PER_GROUP, type RunReportProgress } from '../../report/run_data.js';
import { MAX_CASES_PER_GROUP, parseCasesPerGroup } from '../../report/cases.js';
import { RUN_REPORT_FILE, writeRunReport } from '../../report/run_report.js';
import { readRunConfig } from '../../run/config.js';
import { DEFAULT_CACHE_HELP } from '../help.js';
import { flagOption } from '../flags.js';
import { fromLibrary } from '../parse.js';
import { packageVersion } from '../version.js';
import { writeProgressLine } from '../progress_line.js';

interface ReportFlags {
  out?: string;
  cases: number;
  data?: string;
  cache?: string | false;
  backend?: string;
  maxPixels?: number;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('report')
    .description(
      `write RUN_DIR/${RUN_REPORT_FILE}: one self-contained page (opens offline) with the ` +
        "run's config, test metrics, training curves, precision-recall curve, best/median/worst " +
        'test images with attention maps, per-image table and focal Tversky curve; the run must ' +
        'be evaluated (ftunet evaluate --run RUN_DIR)',
    )
    .argument('<run>', 'a run folder of ftunet train, evaluated')
    .option('--out <file>', `the page to write (default RUN_DIR/${RUN_REPORT_FILE})`)
    .option(
      '--cases <n>',
      `test images shown for each of best, median and worst (1 to ${MAX_CASES_PER_GROUP})`,
      fromLibrary(parseCasesPerGroup, '--cases'),
      DEFAULT_CASES_PER_GROUP,
    )
    .option('--data <dir>', 'the data folder, in place of the one the run records')
    .option(
      '--cache <dir>',
      `preprocessing cache folder (default: the run's, else ${DEFAULT_CACHE_HELP})`,
    )
    .option('--no-cache', 'decode every file; neither read nor write the cache')
    .addOption(flagOption('backend'))
    .addOption(flagOption('maxPixels'))
    .option('--quiet', 'no progress or backend line on stderr')
    .action(async (run: string, flags: ReportFlags) => {
      const { cases: casesPerGroup, cache } = flags;
      const maxPixels = flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {};
      // The run folder is checked before the backend starts, whose line would come first.
      await readRunConfig(path.resolve(run));
      await initBackend({
        ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
        ...(flags.quiet
          ? {}
          : { report: (line: string) => process.stderr.write(`ftunet report: ${line}\n`) }),
      });
      const result = await writeRunReport({
        run,
        casesPerGroup,
        generator: `focal-tversky-unet ${packageVersion()}`,
        ...(flags.out !== undefined ? { out: flags.out } : {}),
        ...(flags.data !== undefined ? { data: flags.data } : {}),
        ...(cache !== undefined ? { cache } : {}),
        ...maxPixels,
        onWarning: (m) => process.stderr.write(`ftunet report: warning: ${m}\n`),
        ...(flags.quiet ? {} : { onProgress: reportProgress }),
      });
      process.stdout.write(`${result.file}\n`);
    });
}

/** Progress on stderr, only for a terminal (logs and pipes get the result alone). */
export function reportProgress(p: RunReportProgress): void {
  if (!process.stderr.isTTY) return;
  writeProgressLine(
    process.stderr,
    `ftunet report: ${p.phase} ${p.done}/${p.total}`,
    p.done === p.total,
  );
}
