/**
 * The merged table of a study folder, from whatever units are finished: reads each unit's
 * `eval/summary.json` (DSC, precision, recall; HD95, ASSD, the ISIC score, ... where it has them),
 * builds the table (table.ts) with the columns asked for and writes `DIR/report/ablation.md`,
 * `ablation.csv` and `ablation.json`, each atomically (several array tasks may write them at
 * the same time; each file is always whole).
 *
 * Node-only (fs).
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { UNIT_SUMMARY } from './run.js';
import { readStudy, STUDY_REPORT_DIR, unitDir, type AblationStudy } from './study.js';
import {
  readEvaluationSummary,
  SURFACE_METRIC_NAMES,
  type EvaluationSummary,
} from '../eval/evaluation_summary.js';
import { surfaceRecord, type DistanceUnit } from '../metrics/surface_policy.js';
import { listFew } from '../util/messages.js';
import {
  ABLATION_METRICS,
  ablationCsv,
  ablationMarkdown,
  buildAblationTable,
  EXTRA_TABLE_METRICS,
  type AblationTable,
  type FoldResult,
  type TableMetric,
} from './table.js';
import { listUnits, unitName, type AblationUnit } from './units.js';

/** The file names of the report, inside `DIR/report/`. */
export const REPORT_FILES = {
  md: 'ablation.md',
  csv: 'ablation.csv',
  json: 'ablation.json',
} as const;

/** The report formats. */
export type ReportFormat = keyof typeof REPORT_FILES;
export const REPORT_FORMATS: readonly ReportFormat[] = ['md', 'csv', 'json'];

/** Parses a report format, naming the flag in the error. */
export function parseReportFormat(text: string, flag = '--format'): ReportFormat {
  const v = text.trim().toLowerCase();
  if (v === 'markdown') return 'md';
  if ((REPORT_FORMATS as readonly string[]).includes(v)) return v as ReportFormat;
  throw new UserError(
    `${flag}: unknown format '${text}'; expected one of ${REPORT_FORMATS.join(', ')}`,
  );
}

/** The report in each format. */
export interface AblationReport {
  table: AblationTable;
  text: Record<ReportFormat, string>;
  /** The files written. */
  files: Record<ReportFormat, string>;
}

/**
 * A finished unit's fold means, from its eval/summary.json (read by `readEvaluationSummary`,
 * the one reader of summaries); undefined when it has none. Throws a `UserError` naming the
 * file for a summary that reader refuses.
 */
export async function readUnitResult(
  studyDir: string,
  unit: AblationUnit,
): Promise<FoldResult | undefined> {
  const file = path.join(unitDir(studyDir, unit), UNIT_SUMMARY);
  const again = `delete it to evaluate ${unitName(unit)} again`;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let s: EvaluationSummary;
  try {
    s = readEvaluationSummary(JSON.parse(text) as unknown, file);
  } catch (err) {
    if (err instanceof SyntaxError) throw new UserError(`${file} is not valid JSON; ${again}`);
    if (err instanceof UserError) throw new UserError(`${err.message}; ${again}`);
    throw err;
  }
  const result = { fold: unit.fold } as FoldResult;
  for (const m of ABLATION_METRICS) result[m] = s[m].mean;
  // The other metrics are absent from summaries written before them; a surface metric's mean
  // is null when no test image of the fold has one, a thresholded metric is a number.
  for (const m of EXTRA_TABLE_METRICS) {
    const value = s[m];
    if (value === undefined) continue;
    result[m] = typeof value === 'number' ? value : (value as { mean: number | null }).mean;
  }
  result.count = s.count;
  if (SURFACE_METRIC_NAMES.some((m) => s[m] !== undefined)) {
    const { emptyDistance, spacing, unit } = s.surface ?? surfaceRecord();
    result.surface = `${emptyDistance}, ${spacing === null ? 'pixels' : `${spacing.join('x')} mm`}`;
    result.distanceUnit = unit;
  }
  return result;
}

/**
 * Refuses a table whose surface columns would mix units evaluated under different policies for
 * empty masks or spacings (`--empty-distance`, `--spacing` of each `ablation` run): their
 * means are not comparable.
 */
function checkSameSurface(
  results: ReadonlyMap<string, FoldResult>,
  metrics: readonly TableMetric[],
): DistanceUnit {
  const units = [...results.values()].flatMap((r) => r.distanceUnit ?? []);
  const unit = units.length > 0 && units.every((u) => u === 'mm') ? 'mm' : 'px';
  if (!metrics.some((m) => (SURFACE_METRIC_NAMES as readonly string[]).includes(m))) return unit;
  const byPolicy = new Map<string, string[]>();
  for (const [name, r] of results) {
    if (r.surface !== undefined)
      byPolicy.set(r.surface, [...(byPolicy.get(r.surface) ?? []), name]);
  }
  if (byPolicy.size <= 1) return unit;
  const groups = [...byPolicy].map(([policy, units]) => `${policy}: ${listFew(units)}`);
  throw new UserError(
    `the units' surface metrics were computed differently (${groups.join('; ')}); evaluate ` +
      'them alike (delete their eval/summary.json and run ablation again with the same ' +
      '--empty-distance and --spacing)',
  );
}

/** Options of `buildStudyTable` and `ablationReport`. */
export interface AblationReportOptions {
  /** The table's metric columns. Default: the paper's (DSC, precision, recall). */
  metrics?: readonly TableMetric[];
}

/** Builds the merged table of an opened study from its finished units. */
export async function buildStudyTable(
  study: AblationStudy,
  options: AblationReportOptions = {},
): Promise<AblationTable> {
  const results = new Map<string, FoldResult>();
  for (const unit of listUnits(study.settings.folds, study.file.variants)) {
    const r = await readUnitResult(study.dir, unit);
    if (r !== undefined) results.set(unitName(unit), r);
  }
  const distanceUnit = checkSameSurface(results, options.metrics ?? []);
  return buildAblationTable({
    dataset: study.settings.dataset,
    folds: study.settings.folds,
    variants: study.file.variants,
    result: (unit) => results.get(unitName(unit)),
    distanceUnit,
    ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
  });
}

/** Renders a table in every format. */
export function renderAblationTable(table: AblationTable): Record<ReportFormat, string> {
  return {
    md: ablationMarkdown(table),
    csv: ablationCsv(table),
    json: `${JSON.stringify(table, null, 2)}\n`,
  };
}

/**
 * Reads the study in `dir`, builds the merged table from its finished units and writes
 * `DIR/report/ablation.{md,csv,json}`.
 */
export async function ablationReport(
  dir: string,
  options: AblationReportOptions = {},
): Promise<AblationReport> {
  const study = await readStudy(dir);
  const table = await buildStudyTable(study, options);
  const text = renderAblationTable(table);
  const reportDir = path.join(study.dir, STUDY_REPORT_DIR);
  await mkdir(reportDir, { recursive: true });
  const files = {} as Record<ReportFormat, string>;
  for (const format of REPORT_FORMATS) {
    files[format] = path.join(reportDir, REPORT_FILES[format]);
    await writeFileAtomic(files[format], text[format], { sweep: true });
  }
  return { table, text, files };
}
