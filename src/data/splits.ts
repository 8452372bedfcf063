/**
 * Train/validation/test splits by item name, seeded and saved as JSON so that a run can be
 * repeated exactly and the folds of a cross-validation can run on different machines.
 *
 * - Holdout (the paper's protocol): a seeded shuffle, then `testFraction` (0.25) of the items
 *   to test, rounded up as scikit-learn's `train_test_split` does (163 -> 41 test, 2,594 ->
 *   649); of the rest, `valFraction` (0.15) to validation, rounded as Keras's
 *   `validation_split` does (train keeps floor(0.85 n)).
 * - k-fold (default k = 5): the shuffled items cut into k test folds of sizes differing by at
 *   most one (the first n mod k folds one larger, as scikit-learn's `KFold`); each item is in
 *   exactly one test fold. Each fold's remaining items are shuffled again (seeded by fold) and
 *   `valFraction` of them go to validation.
 * Names are sorted before shuffling, so a split depends only on the set of names and the seed,
 * not on the order a file system lists them in; each part is stored sorted.
 *
 * Pure JavaScript (split_file.ts reads and writes the files).
 */
import * as v from 'valibot';
import { DataError, UserError } from '../errors.js';
import { checkSeed, deriveSeed, Rng } from '../util/rng.js';
import { listFew, plural } from '../util/messages.js';
import { DEFAULT_SEED } from '../util/rng.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned, type FileFormat } from '../util/versioned.js';

/** How a split was made. */
export type SplitMethod = 'holdout' | 'kfold';

/** The allowed values of `SplitMethod`. */
export const SPLIT_METHODS: readonly SplitMethod[] = ['holdout', 'kfold'];

/** The `format` field of a split file. */
export const SPLIT_FORMAT = 'ftunet-split';

/** The version of the split file format. */
export const SPLIT_VERSION = 1;

/** One train/validation/test partition of the item names. */
export interface SplitFold {
  train: string[];
  val: string[];
  test: string[];
}

/** A split as saved in a JSON file. */
export interface Split {
  format: typeof SPLIT_FORMAT;
  version: typeof SPLIT_VERSION;
  method: SplitMethod;
  seed: number;
  /** Holdout only: the test fraction. */
  testFraction?: number;
  /** k-fold only: the number of folds. */
  k?: number;
  valFraction: number;
  /** The number of items. */
  count: number;
  /** One fold for a holdout, k for k-fold. */
  folds: SplitFold[];
}

/** Options of `holdoutSplit`. */
export interface HoldoutOptions {
  /** Seed of the shuffle. Default 0. */
  seed?: number;
  /** Fraction of the items to test, in (0, 1). Default 0.25 (the paper). */
  testFraction?: number;
  /** Fraction of the training items to validate on, in [0, 1). Default 0.15 (the paper). */
  valFraction?: number;
}

/** Options of `kFoldSplit`. */
export interface KFoldOptions {
  /** Number of folds, 2 to the number of items. Default 5 (the paper). */
  k?: number;
  /** Seed of the shuffles. Default 0. */
  seed?: number;
  /** Fraction of each fold's training items to validate on, in [0, 1). Default 0.15. */
  valFraction?: number;
}

/** Default fractions and fold count (the paper's protocol). */
export const DEFAULT_TEST_FRACTION = 0.25;
export const DEFAULT_VAL_FRACTION = 0.15;
export const DEFAULT_FOLDS = 5;
/** The fold a run trains when it names none. */
export const DEFAULT_FOLD = 0;

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function checkNames(names: readonly string[]): string[] {
  const sorted = [...names].sort(byCodeUnit);
  const dupes = sorted.filter((n, i) => i > 0 && sorted[i - 1] === n);
  if (dupes.length > 0) {
    throw new UserError(`${plural(dupes.length, 'name')} repeated: ${listFew(dupes)}`);
  }
  return sorted;
}

function checkValFraction(valFraction: number): void {
  if (!(valFraction >= 0 && valFraction < 1)) {
    throw new UserError(`valFraction must be in [0, 1), got ${valFraction}`);
  }
}

/** Splits a list into validation (the last part, Keras's rule) and training. */
function carveValidation(items: string[], valFraction: number): { train: string[]; val: string[] } {
  const nTrain = Math.trunc(items.length * (1 - valFraction));
  return {
    train: items.slice(0, nTrain).sort(byCodeUnit),
    val: items.slice(nTrain).sort(byCodeUnit),
  };
}

/** The paper's split: shuffled, 25% test, 15% of the rest validation (see the file's doc). */
export function holdoutSplit(names: readonly string[], options: HoldoutOptions = {}): Split {
  const {
    seed = 0,
    testFraction = DEFAULT_TEST_FRACTION,
    valFraction = DEFAULT_VAL_FRACTION,
  } = options;
  checkSeed(seed);
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new UserError(`testFraction must be in (0, 1), got ${testFraction}`);
  }
  checkValFraction(valFraction);
  const order = new Rng(deriveSeed(seed, 0)).shuffle(checkNames(names));
  const nTest = Math.ceil(testFraction * order.length);
  if (nTest < 1 || nTest >= order.length) {
    throw new UserError(
      `${plural(order.length, 'item')} cannot be split with testFraction ` +
        `${testFraction} (it leaves ${nTest} to test and ${order.length - nTest} to train)`,
    );
  }
  const test = order.slice(0, nTest).sort(byCodeUnit);
  const { train, val } = carveValidation(order.slice(nTest), valFraction);
  return {
    format: SPLIT_FORMAT,
    version: SPLIT_VERSION,
    method: 'holdout',
    seed,
    testFraction,
    valFraction,
    count: order.length,
    folds: [{ train, val, test }],
  };
}

/** k-fold cross-validation: every item in exactly one test fold (see the file's doc). */
export function kFoldSplit(names: readonly string[], options: KFoldOptions = {}): Split {
  const { k = DEFAULT_FOLDS, seed = DEFAULT_SEED, valFraction = DEFAULT_VAL_FRACTION } = options;
  checkSeed(seed);
  checkValFraction(valFraction);
  const order = new Rng(deriveSeed(seed, 0)).shuffle(checkNames(names));
  const n = order.length;
  if (!Number.isInteger(k) || k < 2 || k > n) {
    throw new UserError(
      `the number of folds k must be an integer from 2 to the number of items (${n}), got ${k}`,
    );
  }
  const chunks: string[][] = [];
  let start = 0;
  for (let f = 0; f < k; f++) {
    const size = Math.floor(n / k) + (f < n % k ? 1 : 0);
    chunks.push(order.slice(start, start + size));
    start += size;
  }
  const folds = chunks.map((test, f) => {
    const rest = new Rng(deriveSeed(seed, 1, f)).shuffle(chunks.filter((_, g) => g !== f).flat());
    const { train, val } = carveValidation(rest, valFraction);
    return { train, val, test: [...test].sort(byCodeUnit) };
  });
  return {
    format: SPLIT_FORMAT,
    version: SPLIT_VERSION,
    method: 'kfold',
    seed,
    k,
    valFraction,
    count: n,
    folds,
  };
}

const FILE_NAMES = v.array(v.string('must be a file name'), 'must be an array of file names');
const FOLD = v.object(
  { train: FILE_NAMES, val: FILE_NAMES, test: FILE_NAMES },
  'must be an object {"train", "val", "test"}',
);
/** A number, else `undefined` (a missing or odd optional field is left out, as always). */
const OPTIONAL_NUMBER = v.fallback(v.optional(v.number()), undefined);
const NON_EMPTY = 'must be a non-empty array';

/**
 * A split file of today's version. Only `method` and `folds` are checked; the other fields
 * fall back to their defaults (seed 0, `DEFAULT_VAL_FRACTION`, the first fold's size) when
 * missing or not numbers, as split files have always been read.
 */
const SPLIT_SCHEMA = v.pipe(
  v.object({
    format: v.literal(SPLIT_FORMAT),
    version: v.literal(SPLIT_VERSION),
    method: v.picklist(SPLIT_METHODS, `must be one of ${SPLIT_METHODS.join(', ')}`),
    folds: v.pipe(v.array(FOLD, NON_EMPTY), v.minLength(1, NON_EMPTY)),
    seed: v.fallback(v.number(), 0),
    testFraction: OPTIONAL_NUMBER,
    k: OPTIONAL_NUMBER,
    valFraction: v.fallback(v.number(), DEFAULT_VAL_FRACTION),
    count: OPTIONAL_NUMBER,
  }),
  v.transform((s): Split => ({
    format: s.format,
    version: s.version,
    method: s.method,
    seed: s.seed,
    ...(s.testFraction === undefined ? {} : { testFraction: s.testFraction }),
    ...(s.k === undefined ? {} : { k: s.k }),
    valFraction: s.valFraction,
    count: s.count ?? s.folds[0].train.length + s.folds[0].val.length + s.folds[0].test.length,
    folds: s.folds,
  })),
);

/** split.json as a versioned file: version 1 is the only one (no migrations yet). */
export const SPLIT_FILE: FileFormat<Split> = defineFileFormat({
  format: SPLIT_FORMAT,
  version: SPLIT_VERSION,
  migrate: {},
  parse: (value, source) => parseWith(SPLIT_SCHEMA, value, source),
});

/**
 * Checks that a parsed JSON value is a well-formed split (fields, types); `source` names the
 * file in messages. Throws `DataError`.
 */
export function parseSplit(value: unknown, source = 'split'): Split {
  try {
    return readVersioned(SPLIT_FILE, value, source);
  } catch (err) {
    // The same message, as the data error a split file's faults are.
    if (err instanceof UserError && !(err instanceof DataError)) throw new DataError(err.message);
    throw err;
  }
}

/** The indices of one fold's parts in a data set. */
export interface FoldIndices {
  train: number[];
  val: number[];
  test: number[];
}

/**
 * Checks a split against a data set's names and returns each fold's indices. In every fold,
 * train, val and test together must hold every name exactly once; for k-fold, every name must
 * be in exactly one test fold. Unknown names, repeated names and missing names end in one
 * `DataError` naming the first few of each; `source` names the file.
 */
export function resolveSplit(
  split: Split,
  names: readonly string[],
  source = 'split',
): FoldIndices[] {
  const index = new Map(names.map((n, i) => [n, i]));
  const problems: string[] = [];
  const testCount = new Map<string, number>();
  const result = split.folds.map((fold, f) => {
    const where = split.folds.length > 1 ? `fold ${f}: ` : '';
    const seen = new Set<string>();
    const repeated = new Set<string>();
    const unknown: string[] = [];
    const out: FoldIndices = { train: [], val: [], test: [] };
    for (const part of ['train', 'val', 'test'] as const) {
      for (const name of fold[part]) {
        if (seen.has(name)) repeated.add(name);
        seen.add(name);
        const i = index.get(name);
        if (i === undefined) unknown.push(name);
        else out[part].push(i);
        if (part === 'test') testCount.set(name, (testCount.get(name) ?? 0) + 1);
      }
    }
    const missing = names.filter((n) => !seen.has(n));
    if (unknown.length > 0) {
      problems.push(
        `${where}${plural(unknown.length, 'name')} ${unknown.length === 1 ? 'is' : 'are'} not in the ` +
          `data set: ${listFew(unknown)}`,
      );
    }
    if (repeated.size > 0) {
      problems.push(
        `${where}${plural(repeated.size, 'name')} ${repeated.size === 1 ? 'appears' : 'appear'} more ` +
          `than once: ${listFew([...repeated])}`,
      );
    }
    if (missing.length > 0) {
      problems.push(
        `${where}${plural(missing.length, 'image')} of the data set ${missing.length === 1 ? 'is' : 'are'} ` +
          `missing: ${listFew(missing)}`,
      );
    }
    if (out.train.length === 0) problems.push(`${where}no training images`);
    return out;
  });
  if (split.method === 'kfold' && problems.length === 0) {
    const notOnce = names.filter((n) => testCount.get(n) !== 1);
    if (notOnce.length > 0) {
      problems.push(
        `${plural(notOnce.length, 'image')} ${notOnce.length === 1 ? 'is' : 'are'} not in exactly one ` +
          `test fold: ${listFew(notOnce)}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new DataError(`${source} does not match the data set: ${problems.join('; ')}`);
  }
  return result;
}
