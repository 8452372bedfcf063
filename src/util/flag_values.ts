/**
 * Values written as text (a flag's value, an ablation row's `+name=value`): each parser takes
 * the text and returns the value, or throws a `UserError` whose message says only what was
 * expected ("Expected an integer >= 1."): the caller names the flag and the value (commander's
 * line for a flag, see src/cli/parse.ts). The settings schema (src/run/settings_schema.ts)
 * gives each setting one of these. Pure.
 */
import { UserError } from '../errors.js';

/** Throws the error of a bad value: `what` says what was expected. */
export function invalidValue(what: string): never {
  throw new UserError(what);
}

const INTEGER = /^\s*\d+\s*$/;

/** A parser of integers from `min` to `max` (inclusive). */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = INTEGER.test(text) ? Number(text) : Number.NaN;
    if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
      invalidValue(
        max === Number.MAX_SAFE_INTEGER
          ? `Expected an integer >= ${min}.`
          : `Expected an integer from ${min} to ${max}.`,
      );
    }
    return n;
  };
}

/** A finite number. */
export function parseNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) invalidValue('Expected a number.');
  return n;
}

/** A finite number greater than zero. */
export function parsePositiveNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    invalidValue('Expected a positive number.');
  }
  return n;
}

/** A finite number >= 0. */
export function parseNonNegativeNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) invalidValue('Expected a number >= 0.');
  return n;
}

/** A number in [0, 1). */
export function parseFraction(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !(n >= 0 && n < 1)) invalidValue('Expected a number in [0, 1).');
  return n;
}

/** A positive number, also written as a ratio such as 4/3. */
export function parseRatio(text: string): number {
  const m = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(text);
  const n = m ? Number(m[1]) / Number(m[2]) : Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    invalidValue('Expected a positive number or a ratio such as 4/3.');
  }
  return n;
}

/**
 * A parser that accepts one of `values` (also in another case or with spaces around), and
 * otherwise lists them and suggests the closest, as commander does for a mistyped flag.
 */
export function choice<T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    const found = values.find((v) => v === text || v === text.trim().toLowerCase());
    if (found !== undefined) return found;
    return invalidValue(`Allowed choices are ${values.join(', ')}.${suggestSimilar(text, values)}`);
  };
}

/** The most edits a suggestion may be from the word (commander's bound for flags). */
const MAX_EDITS = 3;

/**
 * The optimal-string-alignment distance (Damerau-Levenshtein, each substring edited once):
 * insertions, deletions, substitutions and swaps of two neighbours count one edit each.
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) d[i] = [i];
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * "\n(Did you mean x?)" for the candidates closest to `word` (at most 3 edits, and more than
 * 40% alike, as commander picks a flag to suggest), or '' when none is close.
 */
export function suggestSimilar(word: string, candidates: readonly string[]): string {
  let best = MAX_EDITS;
  let similar: string[] = [];
  for (const candidate of new Set(candidates)) {
    if (candidate.length <= 1) continue;
    const distance = editDistance(word, candidate);
    const length = Math.max(word.length, candidate.length);
    if ((length - distance) / length <= 0.4) continue;
    if (distance < best) {
      best = distance;
      similar = [candidate];
    } else if (distance === best) {
      similar.push(candidate);
    }
  }
  if (similar.length === 0) return '';
  similar.sort((x, y) => x.localeCompare(y));
  return similar.length === 1
    ? `\n(Did you mean ${similar[0]}?)`
    : `\n(Did you mean one of ${similar.join(', ')}?)`;
}
