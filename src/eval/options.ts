/** Flag parsers of evaluation and prediction; each throws a `UserError` naming the flag. Pure. */
import { UserError } from '../errors.js';

/** The largest batch size accepted (a sanity bound against typos). */
export const MAX_BATCH_SIZE = 4096;

/** Parses a batch size: an integer from 1 to 4096. */
export function parseBatchSize(text: string, flag = '--batch-size'): number {
  const v = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(v >= 1 && v <= MAX_BATCH_SIZE)) {
    throw new UserError(`${flag}: expected an integer from 1 to ${MAX_BATCH_SIZE}, got '${text}'`);
  }
  return v;
}

/** Parses a fold index: an integer >= 0 (checked against the split file later). */
export function parseFold(text: string, flag = '--fold'): number {
  const v = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(v)) {
    throw new UserError(`${flag}: expected an integer >= 0, got '${text}'`);
  }
  return v;
}
