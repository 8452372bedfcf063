/** Summary statistics of a list of numbers. Pure JavaScript. */

/** Mean, standard deviation, minimum and maximum of a list of numbers. */
export interface SummaryStats {
  mean: number;
  /** Population standard deviation (divides by n, as numpy's `std` does by default). */
  std: number;
  min: number;
  max: number;
}

/**
 * Mean, population standard deviation, min and max. An empty list gives NaN for all four
 * (there is nothing to summarise; callers decide what to show).
 */
export function summaryStats(values: ArrayLike<number>): SummaryStats {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN, min: Number.NaN, max: Number.NaN };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = sum / n;
  // Two-pass variance: subtracting the mean first avoids the cancellation of sum(x^2) - n*mean^2.
  let sq = 0;
  for (let i = 0; i < n; i++) sq += (values[i] - mean) ** 2;
  return { mean, std: Math.sqrt(sq / n), min, max };
}

/** A fraction as a percentage with `digits` decimals: 0.0484 -> "4.84%". */
export function formatPercent(fraction: number, digits = 2): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/** "4.84% ± 5.43% (min 0.31%, max 19.80%)" for stats of fractions. */
export function formatFractionStats(stats: SummaryStats, digits = 2): string {
  return (
    `${formatPercent(stats.mean, digits)} ± ${formatPercent(stats.std, digits)} ` +
    `(min ${formatPercent(stats.min, digits)}, max ${formatPercent(stats.max, digits)})`
  );
}
