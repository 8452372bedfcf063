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
import * as v from 'valibot';
import { DamagedFileError, RefusedValueError } from '../errors.js';
import { MAX_SEED } from '../util/rng.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned, type FileFormat } from '../util/versioned.js';

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

const count = (message: string) =>
  v.pipe(v.number(message), v.safeInteger(message), v.minValue(0, message));

const isCount = (x: unknown): boolean => Number.isSafeInteger(x) && (x as number) >= 0;

const SHAPE_MESSAGE = 'must be a list of integers >= 0';
const SLOT = v.object(
  {
    name: v.pipe(
      v.string('must be a name not used before'),
      v.minLength(1, 'must be a name not used before'),
    ),
    shape: v.custom<number[]>((s) => Array.isArray(s) && s.every(isCount), SHAPE_MESSAGE),
    offset: count('must be an integer >= 0'),
  },
  'must be an object',
);

const RNG_MESSAGE = `must be an integer in [0, ${MAX_SEED}]`;
const SCALE_MESSAGE = 'must be a number > 0';

/** state.json of today's version; keys in the order they are checked (the first issue is told). */
const STATE_SCHEMA = v.object({
  format: v.literal(CHECKPOINT_FORMAT),
  version: v.literal(CHECKPOINT_VERSION),
  epoch: count('must be an integer >= 0'),
  rngState: v.pipe(
    v.number(RNG_MESSAGE),
    v.safeInteger(RNG_MESSAGE),
    v.minValue(0, RNG_MESSAGE),
    v.maxValue(MAX_SEED, RNG_MESSAGE),
  ),
  // Absent reads as null, as checkpoints have always been read.
  bestScore: v.nullish(
    v.pipe(
      v.number('must be a finite number or null'),
      v.finite('must be a finite number or null'),
    ),
    null,
  ),
  bestEpoch: count('must be an integer >= 0'),
  optimizerSha256: v.optional(
    v.pipe(v.string('must be 64 hex digits'), v.regex(/^[0-9a-f]{64}$/, 'must be 64 hex digits')),
  ),
  optimizer: v.object(
    {
      iterations: count('must be an integer >= 0'),
      slots: v.pipe(
        v.array(SLOT, 'must be a list'),
        v.rawCheck(({ dataset, addIssue }) => {
          if (!dataset.typed) return;
          const names = new Set<string>();
          dataset.value.forEach((slot, key) => {
            if (names.has(slot.name)) {
              addIssue({
                message: 'must be a name not used before',
                input: slot.name,
                path: [
                  { type: 'array', origin: 'value', input: dataset.value, key, value: slot },
                  { type: 'object', origin: 'value', input: slot, key: 'name', value: slot.name },
                ],
              });
            }
            names.add(slot.name);
          });
        }),
      ),
    },
    'must be an object',
  ),
  schedule: v.optional(
    v.object(
      {
        scale: v.pipe(v.number(SCALE_MESSAGE), v.gtValue(0, SCALE_MESSAGE)),
        wait: count('must be an integer >= 0'),
      },
      'must be {"scale": <number > 0>, "wait": <integer >= 0>}',
    ),
  ),
  stopped: v.optional(
    v.object(
      {
        reason: v.literal('patience', 'must be "patience"'),
        epoch: count('must be an integer >= 0'),
        bestEpoch: count('must be an integer >= 0'),
        patience: count('must be an integer >= 0'),
      },
      'must be {"reason": "patience", "epoch", "bestEpoch", "patience"}',
    ),
  ),
});

/** state.json as a versioned file: version 1 is the only one (no migrations yet). */
export const CHECKPOINT_STATE_FILE: FileFormat<CheckpointStateFile> = defineFileFormat({
  format: CHECKPOINT_FORMAT,
  version: CHECKPOINT_VERSION,
  migrate: {},
  parse: (value, source) => parseWith(STATE_SCHEMA, value, source),
});

/**
 * Checks a parsed state.json; `file` names it in messages. Throws a `DamagedFileError` naming
 * the first field that is missing or of the wrong type (a refused state.json is damage: resume
 * falls back to an earlier checkpoint).
 */
export function parseCheckpointState(value: unknown, file: string): CheckpointStateFile {
  try {
    return readVersioned(CHECKPOINT_STATE_FILE, value, file);
  } catch (err) {
    // The reader's refusal, told as damage.
    if (err instanceof RefusedValueError) throw new DamagedFileError(file, err.why);
    throw err;
  }
}
