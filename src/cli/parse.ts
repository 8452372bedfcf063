/**
 * Every flag value parser of the command line. Each is a commander `argParser`: it takes the
 * text and returns the value, or throws commander's `InvalidArgumentError`, which commander
 * reports as one line naming the flag and the value:
 *
 *   ftunet train: option '--model <name>' argument 'attn_rg' is invalid. Allowed choices are
 *   unet, attn_unet, attn_reg_ds, attn_reg. (Did you mean attn_reg?) (see --help)
 *
 * So the messages here say only what was expected. Parsers that the library keeps beside
 * their type (`parseInputSize`, `parseSeed`, ...) are called through `fromLibrary`.
 */
import { InvalidArgumentError } from 'commander';
import { UserError } from '../errors.js';
import { WEIGHTINGS, type Weighting } from '../train/objective.js';
import { MAX_WORKERS } from '../parallel/pool.js';

/** Throws commander's error for a bad value: `what` ends the line after "... is invalid." */
function invalid(what: string): never {
  throw new InvalidArgumentError(what);
}

const INTEGER = /^\s*\d+\s*$/;

/** A parser of integers from `min` to `max` (inclusive). */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const n = INTEGER.test(text) ? Number(text) : Number.NaN;
    if (!(Number.isSafeInteger(n) && n >= min && n <= max)) {
      invalid(
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
  if (text.trim() === '' || !Number.isFinite(n)) invalid('Expected a number.');
  return n;
}

/** A finite number greater than zero. */
export function parsePositiveNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) invalid('Expected a positive number.');
  return n;
}

/** A finite number >= 0. */
export function parseNonNegativeNumber(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) invalid('Expected a number >= 0.');
  return n;
}

/** A number in [0, 1). */
export function parseFraction(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !(n >= 0 && n < 1)) invalid('Expected a number in [0, 1).');
  return n;
}

/** A positive number, also written as a ratio such as 4/3. */
export function parseRatio(text: string): number {
  const m = /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(text);
  const n = m ? Number(m[1]) / Number(m[2]) : Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) {
    invalid('Expected a positive number or a ratio such as 4/3.');
  }
  return n;
}

/** "H,W,C" (or HxWxC) → [H, W, C] of positive integers. */
export function parseShape(text: string): [number, number, number] {
  const parts = text.split(/[,x]/).map((s) => s.trim());
  const nums = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (nums.length !== 3 || nums.some((n) => !Number.isInteger(n) || n <= 0)) {
    invalid('Expected three positive integers HEIGHT,WIDTH,CHANNELS (e.g. 128,128,1).');
  }
  return nums as [number, number, number];
}

/** Deep supervision weights: a named weighting or one non-negative number per output. */
export function parseWeights(text: string): Weighting | number[] {
  if ((WEIGHTINGS as readonly string[]).includes(text)) return text as Weighting;
  const parts = text.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  if (parts.some((n) => !Number.isFinite(n) || n < 0)) {
    invalid(`Expected ${WEIGHTINGS.join(' or ')} or non-negative numbers such as 1,1,1,1.`);
  }
  return parts;
}

/** `--workers`: an integer from 1 to 256. */
export const parseWorkers = integer(1, MAX_WORKERS);

/** The largest batch size accepted (a sanity bound against typos). */
export const MAX_BATCH_SIZE = 4096;

/** A batch size: an integer from 1 to 4096. */
export const parseBatchSize = integer(1, MAX_BATCH_SIZE);

/** `--micro-batch`: 'auto' or a batch size. */
export function parseMicroBatch(text: string): number | 'auto' {
  if (text.trim() === 'auto') return 'auto';
  const n = INTEGER.test(text) ? Number(text) : Number.NaN;
  if (!(n >= 1 && n <= MAX_BATCH_SIZE)) {
    invalid(`Expected 'auto' or an integer from 1 to ${MAX_BATCH_SIZE}.`);
  }
  return n;
}

/** A fold index: an integer >= 0 (checked against the split later). */
export const parseFold = integer(0);

/**
 * A parser that accepts one of `values` (also in another case or with spaces around), and
 * otherwise lists them and suggests the closest, as commander does for a mistyped flag.
 */
export function choice<T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    const found = values.find((v) => v === text || v === text.trim().toLowerCase());
    if (found !== undefined) return found;
    return invalid(`Allowed choices are ${values.join(', ')}.${suggestSimilar(text, values)}`);
  };
}

/**
 * A library parser `parse(text, flag)`, which throws a `UserError` such as "--input-size:
 * expected rows,cols ..., got '7'", as an `argParser`: the message loses the flag and the
 * value, which commander's line names already.
 */
export function fromLibrary<T>(
  parse: (text: string, flag: string) => T,
  flag: string,
): (text: string) => T {
  return (text) => {
    try {
      return parse(text, flag);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      return invalid(withoutFlagAndValue(err.message, flag, text));
    }
  };
}

/** "--flag[ value]: expected x, got 'value'" → "Expected x." */
export function withoutFlagAndValue(message: string, flag: string, value: string): string {
  let m = message;
  for (const head of [`${flag}: `, `${flag} ${value}: `, `${flag} '${value}': `]) {
    if (m.startsWith(head)) m = m.slice(head.length);
  }
  // "--shard auto/35: ..." names the flag with a normalised value.
  if (m.startsWith(`${flag} `)) m = m.replace(/^\S+ \S+: /, '');
  for (const tail of [`, got '${value}'`, ` (got '${value}')`]) {
    if (m.endsWith(tail)) m = m.slice(0, -tail.length);
  }
  m = m.charAt(0).toUpperCase() + m.slice(1);
  return m.endsWith('.') ? m : `${m}.`;
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
