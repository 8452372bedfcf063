/**
 * Training checkpoints on disk, written so that killing the process, a full disk or a power
 * loss at any moment leaves a loadable run, and checked so that a damaged one is never used:
 *
 *   RUN_DIR/checkpoint/epoch-0007/   model.json, weights-*.bin, optimizer.bin, state.json
 *   RUN_DIR/checkpoint/epoch-0006/   the epoch before, kept in case the newest is damaged
 *   RUN_DIR/checkpoint/latest.json   {"epoch": 7, "dir": "epoch-0007"}
 *
 * Writing: stale temporaries of dead processes are swept, the checkpoint goes into a temporary
 * folder `.epoch-0007.tmp-PID` whose files and the folder itself are fsynced, the folder is
 * renamed into place (atomic) and its parent fsynced, then `latest.json` is replaced
 * atomically, then epoch folders other than the newest `KEPT_CHECKPOINTS` are removed. A full
 * disk is a `DiskFullError` naming the epoch folder (or latest.json) and leaves no temporary
 * folder; the checkpoints written before are untouched.
 *
 * Loading follows `latest.json`, or, if it is missing or names a missing folder, the newest
 * epoch folder. Every file is checked: state.json against its schema (`parseCheckpointState`)
 * and its folder's epoch, optimizer.bin against its length and the SHA-256 that state.json
 * records, the weights against the hash that model.json records (see `model_files.ts`). A
 * damaged checkpoint is skipped for the newest intact one, and the caller is told which.
 * Node-only.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DamagedFileError, DiskFullError, UserError } from '../errors.js';
import type { OptimizerState } from '../train/optimizer.js';
import type { TrainState } from '../train/trainer.js';
import {
  isDiskFull,
  sweepStaleTemporaries,
  syncFolder,
  temporaryFolderPath,
  writeFileAtomic,
  writeFileDurable,
} from '../io/atomic.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  parseCheckpointState,
  type CheckpointStateFile,
} from './checkpoint_state.js';
import { faultPoint } from '../io/faults.js';
import { HASH_MISMATCH, loadModel, saveModel } from '../io/model_files.js';

/** How many epoch folders are kept: the newest and the one before, in case one is damaged. */
export const KEPT_CHECKPOINTS = 2;

const LATEST = 'latest.json';
const STATE = 'state.json';
const OPTIMIZER = 'optimizer.bin';
const EPOCH_DIR = /^epoch-(\d+)$/;

function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

/** The epoch of an epoch folder's name. */
function epochOf(name: string): number {
  return Number(EPOCH_DIR.exec(name)![1]);
}

/** The epoch folders among `entries` (names), newest (highest epoch) first. */
function epochFolders(entries: readonly string[]): string[] {
  return entries.filter((e) => EPOCH_DIR.test(e)).sort((a, b) => epochOf(b) - epochOf(a));
}

/**
 * Writes the checkpoint of `state.epoch` under `dir` (the run's `checkpoint/` folder) and keeps
 * it and the newest one before it. A full disk is a `DiskFullError`.
 */
export async function saveCheckpoint(
  dir: string,
  model: tfl.LayersModel,
  state: TrainState,
): Promise<void> {
  const name = epochDirName(state.epoch);
  const final = path.join(dir, name);
  const tmp = temporaryFolderPath(final);
  try {
    await mkdir(dir, { recursive: true });
    await sweepStaleTemporaries(dir);
    await rm(tmp, { recursive: true, force: true });
    await saveModel(model, tmp);
    faultPoint('checkpoint:model-saved');

    const slots = Object.entries(state.optimizer.slots);
    const total = slots.reduce((n, [, s]) => n + s.values.length, 0);
    const data = new Float32Array(total);
    const index: CheckpointStateFile['optimizer']['slots'] = [];
    let offset = 0;
    for (const [slotName, s] of slots) {
      data.set(s.values, offset);
      index.push({ name: slotName, shape: s.shape, offset });
      offset += s.values.length;
    }
    const bytes = new Uint8Array(data.buffer);
    await writeFileDurable(path.join(tmp, OPTIMIZER), bytes);
    const file: CheckpointStateFile = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      epoch: state.epoch,
      rngState: state.rngState,
      bestScore: Number.isFinite(state.bestScore) ? state.bestScore : null,
      bestEpoch: state.bestEpoch,
      optimizerSha256: createHash('sha256').update(bytes).digest('hex'),
      optimizer: { iterations: state.optimizer.iterations, slots: index },
      ...(state.schedule !== undefined ? { schedule: state.schedule } : {}),
      ...(state.stopped !== undefined ? { stopped: state.stopped } : {}),
    };
    await writeFileDurable(path.join(tmp, STATE), JSON.stringify(file));
    await syncFolder(tmp);

    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
    faultPoint('checkpoint:folder-renamed');
    await syncFolder(dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err instanceof DiskFullError || isDiskFull(err)
      ? new DiskFullError(final, { cause: err })
      : err;
  }
  await writeFileAtomic(path.join(dir, LATEST), JSON.stringify({ epoch: state.epoch, dir: name }));
  faultPoint('checkpoint:latest-written');

  // Keep this epoch and the newest one before it; later ones (skipped as damaged when this
  // run resumed) and older ones go.
  const entries = await readdir(dir);
  const older = epochFolders(entries).filter((e) => epochOf(e) < state.epoch);
  const keep = new Set([name, ...older.slice(0, KEPT_CHECKPOINTS - 1)]);
  for (const entry of epochFolders(entries)) {
    if (!keep.has(entry)) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/** The epoch folders to try, best first: the one `latest.json` names, then newest first. */
async function candidateFolders(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const folders = epochFolders(entries);
  try {
    const latest = JSON.parse(await readFile(path.join(dir, LATEST), 'utf8')) as { dir?: unknown };
    if (typeof latest.dir === 'string' && folders.includes(latest.dir)) {
      return [latest.dir, ...folders.filter((f) => f !== latest.dir)];
    }
  } catch {
    // No (readable) pointer: the newest epoch folder first.
  }
  return folders;
}

/**
 * The folder of the newest checkpoint under `dir`, or undefined if there is none. Its files
 * are not checked (`loadCheckpoint` does that).
 */
export async function findCheckpoint(dir: string): Promise<string | undefined> {
  const [first] = await candidateFolders(dir);
  return first === undefined ? undefined : path.join(dir, first);
}

/** What `loadCheckpoint` loaded. */
export interface LoadedCheckpoint {
  /** The model, weights included; the caller disposes it. */
  model: tfl.LayersModel;
  state: TrainState;
  /** The epoch folder loaded. */
  folder: string;
  /** Newer checkpoints that were damaged and skipped, newest first, with the reason. */
  skipped: Array<{ folder: string; reason: string }>;
}

/** Options of `loadCheckpoint`. */
export interface LoadCheckpointOptions {
  /**
   * Called once for each damaged checkpoint skipped, with a line naming the damaged file and
   * the epoch loaded instead. Default: nothing is reported (see `skipped`).
   */
  onWarning?: (message: string) => void;
}

/**
 * Loads the newest intact checkpoint under `dir`: the model (weights included) and the state.
 * A damaged checkpoint is skipped for the one before it (reported through `onWarning` and
 * `skipped`); a `UserError` if there is none, or none is intact.
 */
export async function loadCheckpoint(
  dir: string,
  options: LoadCheckpointOptions = {},
): Promise<LoadedCheckpoint> {
  await sweepStaleTemporaries(dir);
  const folders = await candidateFolders(dir);
  if (folders.length === 0) {
    throw new UserError(`no checkpoint in ${dir}: the run has not finished an epoch yet`);
  }
  const skipped: LoadedCheckpoint['skipped'] = [];
  for (const name of folders) {
    const folder = path.join(dir, name);
    let loaded: { model: tfl.LayersModel; state: TrainState };
    try {
      loaded = await readCheckpoint(folder, epochOf(name));
    } catch (err) {
      if (!(err instanceof UserError)) throw err;
      skipped.push({ folder, reason: err.message });
      continue;
    }
    for (const s of skipped) {
      options.onWarning?.(
        `${s.reason}; resuming from the checkpoint of epoch ${loaded.state.epoch} instead`,
      );
    }
    return { ...loaded, folder, skipped };
  }
  throw new UserError(`no intact checkpoint in ${dir}: ${skipped.map((s) => s.reason).join('; ')}`);
}

/** Reads and checks one epoch folder; any damage is a `UserError` naming the file. */
async function readCheckpoint(
  folder: string,
  folderEpoch: number,
): Promise<{ model: tfl.LayersModel; state: TrainState }> {
  const stateFile = path.join(folder, STATE);
  const file = parseCheckpointState(await readJson(stateFile), stateFile);
  if (file.epoch !== folderEpoch) {
    throw new DamagedFileError(
      stateFile,
      `"epoch" is ${file.epoch} but the folder holds epoch ${folderEpoch}`,
    );
  }

  const optimizerFile = path.join(folder, OPTIMIZER);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(optimizerFile));
  } catch (err) {
    throw new DamagedFileError(optimizerFile, `it cannot be read (${(err as Error).message})`);
  }
  const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);
  const total = file.optimizer.slots.reduce((n, s) => Math.max(n, s.offset + size(s.shape)), 0);
  if (bytes.byteLength !== 4 * total) {
    throw new DamagedFileError(
      optimizerFile,
      `it holds ${bytes.byteLength} bytes, ${STATE} describes ${4 * total}`,
    );
  }
  if (
    file.optimizerSha256 !== undefined &&
    createHash('sha256').update(bytes).digest('hex') !== file.optimizerSha256
  ) {
    throw new DamagedFileError(optimizerFile, HASH_MISMATCH);
  }
  const data = new Float32Array(bytes.buffer);
  const slots: OptimizerState['slots'] = {};
  for (const s of file.optimizer.slots) {
    slots[s.name] = { shape: s.shape, values: data.slice(s.offset, s.offset + size(s.shape)) };
  }

  const model = await loadModel(folder);
  return {
    model,
    state: {
      epoch: file.epoch,
      rngState: file.rngState,
      bestScore: file.bestScore ?? -Infinity,
      bestEpoch: file.bestEpoch,
      optimizer: { iterations: file.optimizer.iterations, slots },
      ...(file.schedule !== undefined ? { schedule: file.schedule } : {}),
      ...(file.stopped !== undefined ? { stopped: file.stopped } : {}),
    },
  };
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DamagedFileError(file, `it cannot be read (${(err as Error).message})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DamagedFileError(file, 'it is not valid JSON');
  }
}
