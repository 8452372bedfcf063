/**
 * `ftunet ablation-report DIR`: merges the finished units of a study into the paper's table
 * (DSC, precision, recall as mean ± std over folds), lists the missing units, writes
 * DIR/report/ablation.{md,csv,json} and prints one of them. A thin shell over
 * `ablationReport` (src/ablation/report.ts).
 */
import type { Command } from 'commander';
import { ablationReport, parseReportFormat, REPORT_FORMATS } from '../../ablation/report.js';
import { writeFileAtomic } from '../../io/atomic.js';

interface ReportFlags {
  format: string;
  out?: string;
}

export function register(program: Command): void {
  program
    .command('ablation-report')
    .description(
      "merge an ablation study's finished units into the paper's table; writes " +
        'DIR/report/ablation.md, .csv and .json',
    )
    .argument('<dir>', 'the study folder of ftunet ablation')
    .option('--format <f>', `what to print: ${REPORT_FORMATS.join(', ')}`, 'md')
    .option('--out <file>', 'write it to this file instead of printing it')
    .action(async (dir: string, flags: ReportFlags) => {
      const format = parseReportFormat(flags.format, '--format');
      const report = await ablationReport(dir);
      if (flags.out !== undefined) {
        await writeFileAtomic(flags.out, report.text[format]);
      } else {
        process.stdout.write(report.text[format]);
      }
      const t = report.table;
      process.stderr.write(
        `ftunet ablation-report: ${t.units.finished} of ${t.units.total} units finished` +
          `${t.missing.length > 0 ? `, ${t.missing.length} missing` : ''}; wrote ` +
          `${report.files.md}, ${report.files.csv} and ${report.files.json}` +
          `${flags.out !== undefined ? ` and ${flags.out}` : ''}\n`,
      );
    });
}
