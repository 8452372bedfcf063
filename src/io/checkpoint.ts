/**
 * Training checkpoints on disk, written so that killing the process at any moment leaves a
 * loadable run:
 *
 *   RUN_DIR/checkpoint/epoch-0007/   model.json, weights-*.bin, optimizer.bin, state.json
 *   RUN_DIR/checkpoint/latest.json   {"epoch": 7, "dir": "epoch-0007"}
 *
 * A checkpoint is written into a temporary folder, renamed into place (atomic), then
 * `latest.json` is replaced atomically, then older epoch folders are removed. Loading follows
 * `latest.json`, or, if it is missing or names a missing folder, the newest complete folder.
 * Node-only.
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../errors.js';
import type { OptimizerState } from '../train/optimizer.js';
import type { TrainState } from '../train/trainer.js';
import { writeFileAtomic } from './atomic.js';
import { loadModel, saveModel } from './model_files.js';

const LATEST = 'latest.json';
const STATE = 'state.json';
const OPTIMIZER = 'optimizer.bin';
const EPOCH_DIR = /^epoch-(\d+)$/;

interface StateFile extends Omit<TrainState, 'optimizer'> {
  format: 'ftunet-checkpoint';
  version: 1;
  optimizer: {
    iterations: number;
    /** Slot name, shape and offset (in float32 elements) into optimizer.bin. */
    slots: Array<{ name: string; shape: number[]; offset: number }>;
  };
}

function epochDirName(epoch: number): string {
  return `epoch-${String(epoch).padStart(4, '0')}`;
}

/** Writes the checkpoint of `state.epoch` under `dir` (the run's `checkpoint/` folder). */
export async function saveCheckpoint(
  dir: string,
  model: tfl.LayersModel,
  state: TrainState,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const name = epochDirName(state.epoch);
  const tmp = path.join(dir, `.${name}.tmp-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await saveModel(model, tmp);

  const slots = Object.entries(state.optimizer.slots);
  const total = slots.reduce((n, [, s]) => n + s.values.length, 0);
  const data = new Float32Array(total);
  const index: StateFile['optimizer']['slots'] = [];
  let offset = 0;
  for (const [slotName, s] of slots) {
    data.set(s.values, offset);
    index.push({ name: slotName, shape: s.shape, offset });
    offset += s.values.length;
  }
  await writeFile(path.join(tmp, OPTIMIZER), new Uint8Array(data.buffer));
  const file: StateFile = {
    format: 'ftunet-checkpoint',
    version: 1,
    epoch: state.epoch,
    rngState: state.rngState,
    bestScore: state.bestScore,
    bestEpoch: state.bestEpoch,
    optimizer: { iterations: state.optimizer.iterations, slots: index },
  };
  await writeFile(path.join(tmp, STATE), JSON.stringify(file));

  const final = path.join(dir, name);
  await rm(final, { recursive: true, force: true });
  await rename(tmp, final);
  await writeFileAtomic(path.join(dir, LATEST), JSON.stringify({ epoch: state.epoch, dir: name }));
  for (const entry of await readdir(dir)) {
    if (entry !== name && (EPOCH_DIR.test(entry) || entry.startsWith('.epoch-'))) {
      await rm(path.join(dir, entry), { recursive: true, force: true });
    }
  }
}

/** The folder of the newest complete checkpoint under `dir`, or undefined if there is none. */
export async function findCheckpoint(dir: string): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  try {
    const latest = JSON.parse(await readFile(path.join(dir, LATEST), 'utf8')) as { dir?: string };
    if (typeof latest.dir === 'string' && entries.includes(latest.dir)) {
      return path.join(dir, latest.dir);
    }
  } catch {
    // No (readable) pointer: fall back to the newest epoch folder.
  }
  const epochs = entries.filter((e) => EPOCH_DIR.test(e)).sort();
  return epochs.length > 0 ? path.join(dir, epochs[epochs.length - 1]) : undefined;
}

/** Loads the newest checkpoint under `dir`: the model (weights included) and the state. */
export async function loadCheckpoint(
  dir: string,
): Promise<{ model: tfl.LayersModel; state: TrainState }> {
  const folder = await findCheckpoint(dir);
  if (folder === undefined) {
    throw new UserError(`no checkpoint in ${dir}: the run has not finished an epoch yet`);
  }
  let file: StateFile;
  let data: Float32Array;
  try {
    file = JSON.parse(await readFile(path.join(folder, STATE), 'utf8')) as StateFile;
    const bytes = await readFile(path.join(folder, OPTIMIZER));
    data = new Float32Array(new Uint8Array(bytes).buffer);
  } catch (err) {
    throw new UserError(`checkpoint ${folder} is damaged: ${(err as Error).message}`);
  }
  if (file.format !== 'ftunet-checkpoint') {
    throw new UserError(`checkpoint ${folder} is not an ftunet checkpoint`);
  }
  const slots: OptimizerState['slots'] = {};
  for (const s of file.optimizer.slots) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    if (s.offset + n > data.length) {
      throw new UserError(`checkpoint ${folder} is damaged: optimizer.bin is too short`);
    }
    slots[s.name] = { shape: s.shape, values: data.slice(s.offset, s.offset + n) };
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
    },
  };
}
