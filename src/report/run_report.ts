/**
 * `RUN_DIR/report.html`: gathers a run's report (run_data.ts), renders the page (run_html.ts)
 * and writes it atomically. One self-contained file that opens offline in any browser.
 *
 * Node-only (fs).
 */
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { collectRunReport, type RunReportData, type RunReportOptions } from './run_data.js';
import { renderRunReport } from './run_html.js';

/** The report's file name inside the run folder. */
export const RUN_REPORT_FILE = 'report.html';

/** Options of `writeRunReport`: those of `collectRunReport` and where to write. */
export interface WriteRunReportOptions extends RunReportOptions {
  /** The file to write. Default `RUN_DIR/report.html`. */
  out?: string;
  /** The program that writes it, for the page's footer (e.g. "focal-tversky-unet 0.1.0"). */
  generator?: string;
}

/** What `writeRunReport` wrote. */
export interface RunReportResult {
  /** The report file (absolute). */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  data: RunReportData;
}

/** Gathers, renders and writes a run's report; returns the file written. */
export async function writeRunReport(options: WriteRunReportOptions): Promise<RunReportResult> {
  const data = await collectRunReport(options);
  const page = await renderRunReport(data, {
    ...(options.generator !== undefined ? { generator: options.generator } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  });
  const file = path.resolve(options.out ?? path.join(data.runDir, RUN_REPORT_FILE));
  await mkdir(path.dirname(file), { recursive: true });
  // The run folder is training's to sweep: only this page's leftovers of a killed report.
  await writeFileAtomic(file, page, { sweep: true });
  return { file, bytes: (await stat(file)).size, data };
}
