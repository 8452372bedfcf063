/** Helpers of the data benchmarks: write a synthetic set once and reuse it. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { SYNTH_MANIFEST, writeSyntheticDataset } from '../src/data/synthetic/write.js';

/** The count recorded in a synth output's manifest, or 0. */
export async function loadDatasetManifestCount(dir: string): Promise<number> {
  try {
    const m = JSON.parse(await readFile(path.join(dir, SYNTH_MANIFEST), 'utf8')) as {
      count?: number;
      kind?: string;
    };
    return m.kind === 'isic' ? (m.count ?? 0) : 0;
  } catch {
    return 0;
  }
}

/** Writes an isic-like set of `count` images unless `dir` already holds one; true if written. */
export async function writeIfMissing(dir: string, count: number): Promise<boolean> {
  if ((await loadDatasetManifestCount(dir)) === count) return false;
  await writeSyntheticDataset({ kind: 'isic', out: dir, count, seed: 0 });
  return true;
}
