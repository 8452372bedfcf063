/**
 * Mean and standard deviation of per-image (or per-fold) results, per metric.
 *
 * The standard deviation is the population one, sqrt(sum((x - mean)^2) / n). The reference
 * code computes no standard deviation (the paper reports mean ± std over 5 folds); numpy's
 * `np.std`, which a Python user of the reference would reach for, defaults to the same
 * (ddof = 0). The sample std, dividing by n - 1, would be sqrt(5/4), about 1.12, times larger
 * over 5 folds. One result gives std 0.
 */
import { UserError } from '../errors.js';

/** Count, mean and population standard deviation of each metric. */
export interface MetricSummary<K extends string> {
  /** How many results were summarized. */
  count: number;
  mean: Record<K, number>;
  /** Population standard deviation (divides by n). */
  std: Record<K, number>;
}

/**
 * Summarizes results that all have the same numeric fields, for example the
 * `SegmentationMetrics` of every test image. NaN in a field makes that field's mean and std
 * NaN. Throws a `UserError` for an empty list or when a result lacks a field of the first one.
 */
export function summarizeMetrics<K extends string>(
  results: readonly Record<K, number>[],
): MetricSummary<K> {
  const fn = 'summarizeMetrics';
  if (results.length === 0) throw new UserError(`${fn}: no results to summarize`);
  const keys = Object.keys(results[0]) as K[];
  const n = results.length;
  const mean = {} as Record<K, number>;
  const std = {} as Record<K, number>;
  for (const key of keys) {
    let sum = 0;
    for (const [i, r] of results.entries()) {
      const v = r[key];
      if (typeof v !== 'number') {
        throw new UserError(`${fn}: result ${i} has no numeric '${key}' (got ${String(v)})`);
      }
      sum += v;
    }
    const m = sum / n;
    // Two passes: summing squared deviations avoids the cancellation of E[x^2] - E[x]^2.
    let squares = 0;
    for (const r of results) squares += (r[key] - m) ** 2;
    mean[key] = m;
    std[key] = Math.sqrt(squares / n);
  }
  return { count: n, mean, std };
}
