/** Helpers that damage saved files on purpose, for the fault tests of model folders and checkpoints. */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The weights file (`weights-<hash>.bin`) of a saved model folder. */
export async function weightsFileOf(folder: string): Promise<string> {
  const name = (await readdir(folder)).find((f) => /^weights-.*\.bin$/.test(f));
  if (name === undefined) throw new Error(`no weights file in ${folder}`);
  return path.join(folder, name);
}

/** Flips bits of the byte in the middle of `file`, keeping its length. */
export async function flipByte(file: string): Promise<void> {
  const data = await readFile(file);
  data[data.length >> 1] ^= 0x5a;
  await writeFile(file, data);
}
