/**
 * Reading back the per-image table that evaluation writes (`metricsCsv` in eval/evaluation_summary.ts):
 * one header line, then one line per image; fields quoted as RFC 4180 where they hold a
 * comma, a quote or a line break. Pure.
 */
import { UserError } from '../errors.js';
import { parseCsvRecords } from '../util/csv.js';
import { METRIC_NAMES } from '../eval/score.js';
import type { SegmentationMetrics } from '../metrics/evaluation.js';

/** One image's line of metrics.csv. */
export interface MetricsCsvRow {
  name: string;
  /** The metrics at the original size. */
  metrics: SegmentationMetrics;
  truthArea: number;
  predictedArea: number;
  /** The metrics at the input size, when the file has those columns. */
  atInputSize?: SegmentationMetrics;
}

/**
 * Parses metrics.csv; `source` names the file in errors. Throws a `UserError` for a missing
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
  const metricCols = METRIC_NAMES.map((m) => column(m, true));
  const truthCol = column('truth_area', true);
  const predCol = column('predicted_area', true);
  const inputCols = METRIC_NAMES.map((m) => column(`${m}_input_size`, false));
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
    const metrics = (cols: number[]): SegmentationMetrics =>
      Object.fromEntries(
        METRIC_NAMES.map((m, k) => [m, num(cols[k])]),
      ) as unknown as SegmentationMetrics;
    return {
      name: fields[nameCol],
      metrics: metrics(metricCols),
      truthArea: num(truthCol),
      predictedArea: num(predCol),
      ...(hasInput ? { atInputSize: metrics(inputCols) } : {}),
    };
  });
}
