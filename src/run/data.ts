/**
 * A run's data: the data set its config.json names (writing a synthetic one first when it is
 * not on disk) and the fold of its split. Training, evaluation, the report and the ablation
 * study read a run's data through here, so they agree. Node-only.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import type { SegmentationDataset } from '../data/dataset.js';
import { loadDataset, type LoadProgress } from '../data/load.js';
import { datasetLayout, syntheticKindOf, type SyntheticKind } from '../data/presets.js';
import { loadSplit } from '../data/split_file.js';
import { resolveSplit, type FoldIndices } from '../data/splits.js';
import { SYNTH_MANIFEST, writeSyntheticDataset } from '../data/synthetic/write.js';
import type { RunDatasetConfig } from './config.js';

export interface SyntheticDataOptions {
  kind: SyntheticKind;
  /** The data folder. */
  dir: string;
  count: number;
  seed: number;
  /** Receives a line when the data set is written. Default: nothing. */
  onInfo?: (line: string) => void;
  /** Receives the progress of writing it. Default: nothing. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Writes a synthetic data set to `options.dir` unless the same one (kind, count, seed) is
 * there already; the generator is deterministic, so a deleted set comes back identical.
 */
export async function ensureSyntheticDataset(options: SyntheticDataOptions): Promise<void> {
  const { kind, dir, count, seed } = options;
  try {
    const m = JSON.parse(await readFile(path.join(dir, SYNTH_MANIFEST), 'utf8')) as {
      kind?: string;
      count?: number;
      seed?: number;
    };
    if (m.kind === kind && m.count === count && m.seed === seed) return;
  } catch {
    // Not there yet (or not ours): write it.
  }
  options.onInfo?.(`writing a synthetic ${kind} data set of ${count} items to ${dir}`);
  const result = await writeSyntheticDataset({
    kind,
    out: dir,
    count,
    seed,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  options.onInfo?.(
    `synthetic lesion area ${(100 * result.lesionArea.mean).toFixed(2)}% ± ` +
      `${(100 * result.lesionArea.std).toFixed(2)}%`,
  );
}

/** How to load a run's data set; every field is optional. */
export interface RunDataOptions {
  /** Another data folder than the recorded one (a data set that moved). */
  data?: string;
  /** Another preprocessing cache folder, or false for none. Default: the recorded one. */
  cache?: string | false;
  /** See `LoadDatasetOptions.maxPixels`. */
  maxPixels?: number;
  onInfo?: (line: string) => void;
  onWarning?: (line: string) => void;
  /** Progress of loading. */
  onProgress?: (progress: LoadProgress) => void;
  /** Progress of writing a synthetic data set first. */
  onSynthProgress?: (done: number, total: number) => void;
}

/**
 * Loads the data set of a run's config.json `dataset` section with the recorded size,
 * channels, resizing and cache; a synthetic set is written first when it is missing (unless
 * another data folder is given).
 */
export async function loadRunDataset(
  d: RunDatasetConfig,
  options: RunDataOptions = {},
): Promise<SegmentationDataset> {
  const synth = syntheticKindOf(d.kind);
  const data = options.data ?? d.data;
  if (synth !== undefined && d.synthetic !== undefined && options.data === undefined) {
    await ensureSyntheticDataset({
      kind: synth,
      dir: data,
      count: d.synthetic.count,
      seed: d.synthetic.seed,
      ...(options.onInfo ? { onInfo: options.onInfo } : {}),
      ...(options.onSynthProgress ? { onProgress: options.onSynthProgress } : {}),
    });
  }
  const cache = options.cache !== undefined ? options.cache : d.cache;
  return loadDataset({
    dataset: datasetLayout(d.kind),
    data,
    inputSize: d.inputSize,
    channels: d.channels,
    interpolation: d.interpolation,
    ...(d.maskSuffix !== '' ? { maskSuffix: d.maskSuffix } : {}),
    ...(cache !== undefined ? { cache } : {}),
    ...(options.maxPixels !== undefined ? { maxPixels: options.maxPixels } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/**
 * The items of fold `fold` of the split file `splitFile`, checked against the data set's
 * names. `source` names the file that chose the fold (the run's config.json) in the error for
 * a fold the split does not have.
 */
export async function loadRunFold(
  splitFile: string,
  names: readonly string[],
  fold: number,
  source: string,
): Promise<FoldIndices> {
  const folds = resolveSplit(await loadSplit(splitFile), names, splitFile);
  const indices = folds[fold];
  if (indices === undefined) {
    throw new UserError(
      `${source}: "split.fold" ${fold} does not exist: ${splitFile} has folds 0 to ` +
        `${folds.length - 1}`,
    );
  }
  return indices;
}
