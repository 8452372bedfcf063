/**
 * The `state.json` of a checkpoint folder (everything besides the weights that a resumed run
 * needs) and its checker. Pure: no I/O.
 *
 *   {"format": "ftunet-checkpoint", "version": 1, "epoch": 7, "rngState": 123,
 *    "bestScore": 0.71, "bestEpoch": 5, "optimizerSha256": "<64 hex>",
 *    "optimizer": {"iterations": 140, "slots": [{"name": "m/conv1_1/kernel",
 *                  "shape": [3, 3, 1, 8], "offset": 0}, ...]}}
 *
 * Runs with the `plateau` schedule add `"schedule": {"scale": 0.1, "wait": 3}`; a run that
 * stopped early adds `"stopped": {"reason": "patience", "epoch": 12, "bestEpoch": 7,
 * "patience": 5}` (it is finished: resume trains nothing).
 *
 * `bestScore` is null while no epoch has scored (JSON has no -Infinity). `optimizerSha256`
 * (written since checkpoints are checked for damage) is the SHA-256 of `optimizer.bin`, which
 * holds every slot's float32 values at its `offset` (in elements), little-endian.
 */
import { DamagedFileError } from '../errors.js';
import { MAX_SEED } from '../util/rng.js';

/** The `format` field of a checkpoint's state.json. */
export const CHECKPOINT_FORMAT = 'ftunet-checkpoint';

/** The version of the state.json format this program reads and writes. */
export const CHECKPOINT_VERSION = 1;

/** One optimizer slot's place in optimizer.bin. */
export interface SlotIndex {
  name: string;
  shape: number[];
  /** Offset into optimizer.bin, in float32 elements. */
  offset: number;
}

/** A checkpoint's state.json, checked. */
export interface CheckpointStateFile {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Epochs finished. */
  epoch: number;
  rngState: number;
  /** null: no epoch has scored yet (-Infinity in memory). */
  bestScore: number | null;
  bestEpoch: number;
  /** SHA-256 (hex) of optimizer.bin; absent in checkpoints written before it was recorded. */
  optimizerSha256?: string;
  optimizer: { iterations: number; slots: SlotIndex[] };
  schedule?: { scale: number; wait: number };
  stopped?: { reason: 'patience'; epoch: number; bestEpoch: number; patience: number };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/**
 * Checks a parsed state.json; `file` names it in messages. Throws a `DamagedFileError` naming
 * the first field that is missing or of the wrong type.
 */
export function parseCheckpointState(value: unknown, file: string): CheckpointStateFile {
  const fail = (why: string): never => {
    throw new DamagedFileError(file, why);
  };
  const got = (v: unknown): string => (v === undefined ? 'nothing' : JSON.stringify(v));
  if (!isObject(value)) return fail('expected a JSON object');
  if (value.format !== CHECKPOINT_FORMAT) {
    fail(`expected "format": "${CHECKPOINT_FORMAT}", got ${got(value.format)}`);
  }
  if (value.version !== CHECKPOINT_VERSION) {
    fail(`unsupported version ${got(value.version)} (this program reads ${CHECKPOINT_VERSION})`);
  }
  if (!isCount(value.epoch)) fail(`"epoch" must be an integer >= 0, got ${got(value.epoch)}`);
  if (!isCount(value.rngState) || value.rngState > MAX_SEED) {
    fail(`"rngState" must be an integer in [0, ${MAX_SEED}], got ${got(value.rngState)}`);
  }
  const bestScore = value.bestScore ?? null;
  if (bestScore !== null && (typeof bestScore !== 'number' || !Number.isFinite(bestScore))) {
    fail(`"bestScore" must be a finite number or null, got ${got(value.bestScore)}`);
  }
  if (!isCount(value.bestEpoch)) {
    fail(`"bestEpoch" must be an integer >= 0, got ${got(value.bestEpoch)}`);
  }
  const sha = value.optimizerSha256;
  if (sha !== undefined && (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha))) {
    fail(`"optimizerSha256" must be 64 hex digits, got ${got(sha)}`);
  }
  const o = value.optimizer;
  if (!isObject(o)) return fail(`"optimizer" must be an object, got ${got(o)}`);
  if (!isCount(o.iterations)) {
    fail(`"optimizer.iterations" must be an integer >= 0, got ${got(o.iterations)}`);
  }
  if (!Array.isArray(o.slots)) return fail(`"optimizer.slots" must be a list, got ${got(o.slots)}`);
  const names = new Set<string>();
  const slots = o.slots.map((s: unknown, i): SlotIndex => {
    const where = `"optimizer.slots[${i}]`;
    if (!isObject(s)) return fail(`${where}" must be an object, got ${got(s)}`);
    if (typeof s.name !== 'string' || s.name === '' || names.has(s.name)) {
      fail(`${where}.name" must be a name not used before, got ${got(s.name)}`);
    }
    names.add(s.name as string);
    if (!Array.isArray(s.shape) || !s.shape.every(isCount)) {
      fail(`${where}.shape" must be a list of integers >= 0, got ${got(s.shape)}`);
    }
    if (!isCount(s.offset)) fail(`${where}.offset" must be an integer >= 0, got ${got(s.offset)}`);
    return { name: s.name as string, shape: s.shape as number[], offset: s.offset as number };
  });
  const schedule = value.schedule as Record<string, unknown> | undefined;
  if (
    schedule !== undefined &&
    !(
      isObject(schedule) &&
      typeof schedule.scale === 'number' &&
      schedule.scale > 0 &&
      isCount(schedule.wait)
    )
  ) {
    fail(`"schedule" must be {"scale": <number > 0>, "wait": <integer>}, got ${got(schedule)}`);
  }
  const stopped = value.stopped as Record<string, unknown> | undefined;
  if (
    stopped !== undefined &&
    !(
      isObject(stopped) &&
      stopped.reason === 'patience' &&
      isCount(stopped.epoch) &&
      isCount(stopped.bestEpoch) &&
      isCount(stopped.patience)
    )
  ) {
    fail(
      `"stopped" must be {"reason": "patience", "epoch", "bestEpoch", "patience"}, got ${got(stopped)}`,
    );
  }
  return {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    epoch: value.epoch as number,
    rngState: value.rngState as number,
    bestScore: bestScore as number | null,
    bestEpoch: value.bestEpoch as number,
    ...(sha === undefined ? {} : { optimizerSha256: sha as string }),
    optimizer: { iterations: o.iterations as number, slots },
    ...(schedule !== undefined
      ? { schedule: { scale: schedule.scale as number, wait: schedule.wait as number } }
      : {}),
    ...(stopped !== undefined
      ? {
          stopped: {
            reason: 'patience' as const,
            epoch: stopped.epoch as number,
            bestEpoch: stopped.bestEpoch as number,
            patience: stopped.patience as number,
          },
        }
      : {}),
  };
}
