/**
 * `ftunet ablation-report DIR`: merges the finished units of a study into the paper's table
 * (DSC, precision, recall as mean ± std over folds; `--metrics` adds HD95, ASSD or the ISIC
 * score), lists the missing units, writes
 * DIR/report/ablation.{md,csv,json} and prints one of them. A thin shell over
 * `ablationReport` (src/ablation/table_files.ts).
 */
import { Option, type Command } from 'commander';
import {
  ablationReport,
  parseReportFormat,
  REPORT_FORMATS,
  type ReportFormat,
} from '../../ablation/table_files.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { writeAblationHtml } from '../../ablation/report_html.js';
import type { TableMetric } from '../../ablation/table.js';
import { addFlags } from '../flags.js';
import { fromLibrary } from '../parse.js';
import { packageVersion } from '../version.js';

interface ReportFlags {
  format: ReportFormat;
  out?: string;
  html?: boolean;
  metrics?: TableMetric[];
}

export function register(program: Command): void {
  const command = program
    .command('ablation-report')
    .description(
      "merge an ablation study's finished units into the paper's table; writes " +
        'DIR/report/ablation.md, .csv and .json',
    )
    .argument('<dir>', 'the study folder of ftunet ablation')
    .addOption(
      new Option('--format <f>', 'what to print')
        .choices(REPORT_FORMATS)
        .argParser(fromLibrary(parseReportFormat, '--format'))
        .default('md'),
    )
    .option('--out <file>', 'write it to this file instead of printing it')
    .option(
      '--html',
      "also write DIR/report/ablation.html: the table beside the paper's numbers and a box plot " +
        'of the per-fold DSC (one self-contained page)',
    );
  addFlags(command, ['metrics']);
  command.action(async (dir: string, flags: ReportFlags) => {
    const { format } = flags;
    const report = await ablationReport(
      dir,
      flags.metrics !== undefined ? { metrics: flags.metrics } : {},
    );
    const page = flags.html
      ? await writeAblationHtml({
          studyDir: dir,
          table: report.table,
          generator: `focal-tversky-unet ${packageVersion()}`,
          onWarning: (m) => process.stderr.write(`ftunet ablation-report: warning: ${m}\n`),
        })
      : undefined;
    if (flags.out !== undefined) {
      await writeFileAtomic(flags.out, report.text[format], { sweep: true });
    } else {
      process.stdout.write(report.text[format]);
    }
    const t = report.table;
    process.stderr.write(
      `ftunet ablation-report: ${t.units.finished} of ${t.units.total} units finished` +
        `${t.missing.length > 0 ? `, ${t.missing.length} missing` : ''}; wrote ` +
        `${report.files.md}, ${report.files.csv} and ${report.files.json}` +
        `${flags.out !== undefined ? ` and ${flags.out}` : ''}` +
        `${page !== undefined ? ` and ${page}` : ''}\n`,
    );
  });
}
