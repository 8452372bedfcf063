/**
 * The flag value parsers of the command line as commander `argParser`s: each takes the text
 * and returns the value, or throws commander's `InvalidArgumentError`, which commander
 * reports as one line naming the flag and the value:
 *
 *   ftunet train: option '--model <name>' argument 'attn_rg' is invalid. Allowed choices are
 *   unet, attn_unet, attn_reg_ds, attn_reg. (Did you mean attn_reg?) (see --help)
 *
 * So the messages say only what was expected. The parsers themselves are the library's
 * (src/util/flag_values.ts, the settings schema, `parseInputSize`, `parseSeed`, ...), which
 * throw a `UserError`; `commanderParser` and `fromLibrary` turn that into commander's error.
 */
import { InvalidArgumentError } from 'commander';
import { UserError } from '../errors.js';
import * as values from '../util/flag_values.js';
import * as settings from '../run/settings_schema.js';

export { editDistance, suggestSimilar } from '../util/flag_values.js';
export { MAX_BATCH_SIZE } from '../run/settings_schema.js';

/** Throws commander's error for a bad value: `what` ends the line after "... is invalid." */
function invalid(what: string): never {
  throw new InvalidArgumentError(what);
}

/**
 * A value parser of util/flag_values.ts (or the settings schema), which throws a `UserError`
 * saying what was expected, as an `argParser`: commander's error with the same words.
 */
export function commanderParser<T>(parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      return invalid(err.message);
    }
  };
}

/** A parser of integers from `min` to `max` (inclusive). */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return commanderParser(values.integer(min, max));
}

/** A finite number. */
export const parseNumber = commanderParser(values.parseNumber);
/** A finite number greater than zero. */
export const parsePositiveNumber = commanderParser(values.parsePositiveNumber);
/** A finite number >= 0. */
export const parseNonNegativeNumber = commanderParser(values.parseNonNegativeNumber);
/** A number in [0, 1). */
export const parseFraction = commanderParser(values.parseFraction);
/** A positive number, also written as a ratio such as 4/3. */
export const parseRatio = commanderParser(values.parseRatio);

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
export const parseWeights = commanderParser(settings.parseWeights);
/** `--workers`: an integer from 1 to 256. */
export const parseWorkers = commanderParser(settings.parseWorkers);
/** A batch size: an integer from 1 to 4096. */
export const parseBatchSize = commanderParser(settings.parseBatchSize);
/** `--micro-batch`: 'auto' or a batch size. */
export const parseMicroBatch = commanderParser(settings.parseMicroBatch);
/** A fold index: an integer >= 0 (checked against the split later). */
export const parseFold = integer(0);

/**
 * A parser that accepts one of `values` (also in another case or with spaces around), and
 * otherwise lists them and suggests the closest, as commander does for a mistyped flag.
 */
export function choice<T extends string>(choices: readonly T[]): (text: string) => T {
  return commanderParser(values.choice(choices));
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
