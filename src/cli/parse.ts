/**
 * Flag value parsers shared by the commands: each throws a `UserError` naming the flag.
 */
import { UserError } from '../errors.js';
import { DEFAULT_MAX_PIXELS, parseMaxPixels } from '../io/image.js';

/** "H,W,C" → [H, W, C] of positive integers. */
export function parseShape(value: string, flag: string): [number, number, number] {
  const parts = value.split(/[,x]/).map((s) => s.trim());
  const nums = parts.map((s) => (/^-?\d+$/.test(s) ? Number(s) : NaN));
  if (nums.length !== 3 || nums.some((n) => !Number.isInteger(n) || n <= 0)) {
    throw new UserError(
      `${flag}: expected three positive integers HEIGHT,WIDTH,CHANNELS (e.g. 128,128,1), got '${value}'`,
    );
  }
  return nums as [number, number, number];
}

/** A finite number greater than zero. */
export function parsePositiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new UserError(`${flag}: expected a positive number, got '${value}'`);
  }
  return n;
}

/** The most data-parallel workers accepted (a sanity bound against typos). */
export const MAX_WORKERS = 256;

/** `--workers`: an integer from 1 to 256. */
export function parseWorkers(value: string, flag = '--workers'): number {
  const n = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 1 && n <= MAX_WORKERS)) {
    throw new UserError(`${flag}: expected an integer from 1 to ${MAX_WORKERS}, got '${value}'`);
  }
  return n;
}

/** The help text of `--workers`. */
export const WORKERS_HELP =
  'data-parallel worker threads, each with its own backend and model replica (default: one ' +
  'per core; 1 on the tensorflow backend)';

/** `{ workers }` from an optional `--workers` value, `{}` without one (the default). */
export function workersOption(value: string | undefined): { workers?: number } {
  return value === undefined ? {} : { workers: parseWorkers(value) };
}

/** The help text of `--max-pixels`. */
export const MAX_PIXELS_HELP =
  'refuse images and masks with more pixels than this, read from the file header before ' +
  `decoding (default ${DEFAULT_MAX_PIXELS}, ${DEFAULT_MAX_PIXELS / 1e6} megapixels)`;

/** `{ maxPixels }` from an optional `--max-pixels` value, `{}` without one (the default). */
export function maxPixelsOption(value: string | undefined): { maxPixels?: number } {
  return value === undefined ? {} : { maxPixels: parseMaxPixels(value, '--max-pixels') };
}
