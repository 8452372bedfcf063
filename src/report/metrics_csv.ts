/**
 * Reading back the per-image table that evaluation writes (`metricsCsv` in eval/evaluation_summary.ts):
 * one header line, then one line per image; fields quoted as RFC 4180 where they hold a
 * comma, a quote or a line break, and names that a spreadsheet would run as formulas
 * neutralised (`csvCell` in util/csv.ts; read back as they were). Pure.
 */
import { UserError } from '../errors.js';
import { csvText, parseCsvRecords } from '../util/csv.js';
import { METRIC_NAMES } from '../eval/score.js';
import { metricColumn, SURFACE_METRIC_NAMES } from '../eval/evaluation_summary.js';
import type { SegmentationMetrics } from '../metrics/evaluation.js';
import { METRICS } from '../metrics/registry.js';

/**
 * An image's surface metrics, distances in pixels or mm (the summary's `surface.unit`); null
 * where the image is left out (an empty cell), `Infinity` where written so.
 */
export type SurfaceDistanceCells = Record<(typeof SURFACE_METRIC_NAMES)[number], number | null>;

/** One image's line of metrics.csv. */
export interface MetricsCsvRow {
  name: string;
  /** The metrics at the original size. */
  metrics: SegmentationMetrics;
  truthArea: number;
  predictedArea: number;
  /**
   * The surface metrics (HD95, ASSD, ...) whose columns the file has (files written before a
   * metric existed have not its column); an empty cell (an empty prediction or ground truth)
   * reads as null. Absent when the file has no surface column.
   */
  surface?: Partial<SurfaceDistanceCells>;
  /** The metrics at the input size, when the file has those columns. */
  atInputSize?: SegmentationMetrics;
}

/**
 * Parses metrics.csv; `source` names the file in errors. The surface metrics' columns (`hd95`,
 * `assd`, ...) are optional, and their empty cells are null. Throws a `UserError` for a missing
 * column, a line with the wrong number of fields or a value that is not a number.
 */
export function parseMetricsCsv(text: string, source = 'metrics.csv'): MetricsCsvRow[] {
  const records = parseCsvRecords(text);
  if (records.length === 0) throw new UserError(`${source}: the file is empty`);
  const header = records[0];
  const column = (name: string, required: boolean): number => {
    const i = header.indexOf(name);
    if (i < 0 && required) {
      throw new UserError(`${source}: no column '${name}' (header: ${header.join(',')})`);
    }
    return i;
  };
  const nameCol = column('name', true);
  const metricCols = METRIC_NAMES.map((m) => column(METRICS[m].column, true));
  const truthCol = column('truth_area', true);
  const predCol = column('predicted_area', true);
  // A distance in mm has its unit after its name (`hd95_mm`, see `metricColumn`).
  const surfaceCols = SURFACE_METRIC_NAMES.map((m) =>
    Math.max(column(metricColumn(m, 'px'), false), column(metricColumn(m, 'mm'), false)),
  );
  const hasSurface = surfaceCols.some((c) => c >= 0);
  const inputCols = METRIC_NAMES.map((m) => column(`${METRICS[m].column}_input_size`, false));
  const hasInput = inputCols.every((c) => c >= 0);
  return records.slice(1).map((fields, r) => {
    const line = r + 2;
    if (fields.length !== header.length) {
      throw new UserError(
        `${source}: line ${line} has ${fields.length} fields, the header ${header.length}`,
      );
    }
    const num = (col: number): number => {
      const v = fields[col].trim() === '' ? Number.NaN : Number(fields[col]);
      if (Number.isNaN(v)) {
        throw new UserError(
          `${source}: line ${line}, column '${header[col]}': expected a number, got '${fields[col]}'`,
        );
      }
      return v;
    };
    const orNull = (col: number): number | null => (fields[col].trim() === '' ? null : num(col));
    const metrics = (cols: number[]): SegmentationMetrics =>
      Object.fromEntries(
        METRIC_NAMES.map((m, k) => [m, num(cols[k])]),
      ) as unknown as SegmentationMetrics;
    return {
      name: csvText(fields[nameCol]),
      metrics: metrics(metricCols),
      truthArea: num(truthCol),
      predictedArea: num(predCol),
      ...(hasSurface
        ? {
            surface: Object.fromEntries(
              SURFACE_METRIC_NAMES.flatMap((m, k) =>
                surfaceCols[k] >= 0 ? [[m, orNull(surfaceCols[k])]] : [],
              ),
            ) as Partial<SurfaceDistanceCells>,
          }
        : {}),
      ...(hasInput ? { atInputSize: metrics(inputCols) } : {}),
    };
  });
}
