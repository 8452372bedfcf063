/** Saving and loading split files (JSON, see splits.ts). Node-only (fs). */
import { readFile } from 'node:fs/promises';
import { DataError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { parseSplit, type Split } from './splits.js';

/** Writes a split as indented JSON, atomically. */
export async function saveSplit(file: string, split: Split): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(split, null, 2)}\n`);
}

/**
 * Reads and checks a split file (structure only: `resolveSplit` checks it against a data set).
 * Throws `DataError` naming the file.
 */
export async function loadSplit(file: string): Promise<Split> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new DataError(
      `split file ${file}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new DataError(`split file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseSplit(value, `split file ${file}`);
}
