/**
 * Which test images a report shows: the best, the median and the worst by per-image DSC, a
 * few of each. Pure.
 */
import { UserError } from '../errors.js';

/** The three groups, in the order a report shows them. */
export const CASE_GROUPS = ['best', 'median', 'worst'] as const;
export type CaseGroup = (typeof CASE_GROUPS)[number];

/** One chosen item. */
export interface ChosenCase<T> {
  item: T;
  /** 1 for the highest score, `count` for the lowest. */
  rank: number;
}

/** The chosen items of one group, best first. */
export interface CaseGroupSelection<T> {
  group: CaseGroup;
  cases: ChosenCase<T>[];
}

/**
 * Chooses up to `perGroup` items for each group: the highest scores ('best'), the lowest
 * ('worst') and those around the median ('median'). An item is shown once: when there are
 * fewer than 3 * perGroup items, 'best' takes its share first, then 'worst', and 'median'
 * gets the rest (so it may be short or empty). Ties keep the order of `items`. Each group's
 * cases are listed from the highest score down. NaN scores rank below every number.
 */
export function selectCases<T>(
  items: readonly T[],
  score: (item: T) => number,
  perGroup: number,
): CaseGroupSelection<T>[] {
  if (!(Number.isInteger(perGroup) && perGroup >= 1)) {
    throw new UserError(`perGroup must be a positive integer, got ${perGroup}`);
  }
  const key = (i: number): number => {
    const s = score(items[i]);
    return Number.isNaN(s) ? -Infinity : s;
  };
  // Highest first; the sort is stable, so ties keep the input order.
  const order = items.map((_, i) => i).sort((a, b) => key(b) - key(a));
  const n = order.length;
  const taken = new Set<number>();
  const take = (positions: number[]): ChosenCase<T>[] =>
    positions
      .filter((p) => p >= 0 && p < n && !taken.has(p))
      .sort((a, b) => a - b)
      .map((p) => {
        taken.add(p);
        return { item: items[order[p]], rank: p + 1 };
      });
  const range = (start: number, count: number): number[] =>
    Array.from({ length: count }, (_, k) => start + k);
  const best = take(range(0, perGroup));
  const worst = take(range(n - perGroup, perGroup));
  const median = take(range(Math.floor((n - perGroup) / 2), perGroup));
  return [
    { group: 'best', cases: best },
    { group: 'median', cases: median },
    { group: 'worst', cases: worst },
  ];
}

/** The largest number of images per group a report shows. */
export const MAX_CASES_PER_GROUP = 50;

/** Parses a number of images per group: an integer from 1 to 50, naming the flag in the error. */
export function parseCasesPerGroup(text: string, flag = '--cases'): number {
  const v = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(v >= 1 && v <= MAX_CASES_PER_GROUP)) {
    throw new UserError(
      `${flag}: expected an integer from 1 to ${MAX_CASES_PER_GROUP}, got '${text}'`,
    );
  }
  return v;
}
