/**
 * Learning-rate schedules: the factor that multiplies the optimiser's initial learning rate in
 * each epoch (e = 1..E, W warm-up epochs, i = e - 1 - W the epoch's index after the warm-up,
 * n = E - W):
 *
 * - `keras-decay` (default, the paper): factor 1; the optimiser's Keras time decay per update,
 *   lr / (1 + decay * t), is the schedule. The only schedule that uses `decay`.
 * - `poly` (nnU-Net): (1 - i / n)^0.9.
 * - `cosine`: (1 + cos(pi * i / n)) / 2, from 1 towards 0.
 * - `plateau` (Keras's ReduceLROnPlateau): divided by `plateauFactor` each time the score (the
 *   validation DSC of `final`) has not improved for `plateauPatience` epochs; its state (the
 *   current factor and the epochs waited) is part of a checkpoint.
 *
 * With W > 0 warm-up epochs the factor of epoch e <= W is e / W (linear warm-up), and the
 * schedule starts after them. Browser-safe.
 */
import { UserError } from '../errors.js';

export const SCHEDULE_NAMES = ['keras-decay', 'poly', 'cosine', 'plateau'] as const;
export type ScheduleName = (typeof SCHEDULE_NAMES)[number];

/** The paper's: Keras's time decay. */
export const DEFAULT_SCHEDULE: ScheduleName = 'keras-decay';
/** nnU-Net's exponent of the polynomial schedule. */
export const POLY_EXPONENT = 0.9;
/** Keras ReduceLROnPlateau's defaults: patience 10, factor 0.1 (here: divide by 10). */
export const DEFAULT_PLATEAU_PATIENCE = 10;
export const DEFAULT_PLATEAU_FACTOR = 10;

export interface ScheduleConfig {
  /** Default `DEFAULT_SCHEDULE` ('keras-decay'). */
  name?: ScheduleName;
  /** Epochs of linear warm-up. Default 0. */
  warmupEpochs?: number;
  /** plateau: epochs without improvement before dividing. Default 10. */
  plateauPatience?: number;
  /** plateau: the divisor, > 1. Default 10. */
  plateauFactor?: number;
}

export type ResolvedScheduleConfig = Required<ScheduleConfig>;

/** What `plateau` carries from epoch to epoch (other schedules keep it at its start). */
export interface ScheduleState {
  /** The plateau factor so far (1 until the first division). */
  scale: number;
  /** Epochs since the score last improved or the rate was last divided. */
  wait: number;
}

export const INITIAL_SCHEDULE_STATE: Readonly<ScheduleState> = { scale: 1, wait: 0 };

export function parseScheduleName(value: string, source = '--schedule'): ScheduleName {
  if ((SCHEDULE_NAMES as readonly string[]).includes(value)) return value as ScheduleName;
  throw new UserError(
    `${source}: unknown schedule '${value}'; expected one of ${SCHEDULE_NAMES.join(', ')}`,
  );
}

/** Fills in the defaults and checks the values; `source` names the setting in messages. */
export function resolveScheduleConfig(
  config: ScheduleConfig = {},
  source = 'schedule',
): ResolvedScheduleConfig {
  const resolved: ResolvedScheduleConfig = {
    name: parseScheduleName(config.name ?? DEFAULT_SCHEDULE, `${source}.name`),
    warmupEpochs: config.warmupEpochs ?? 0,
    plateauPatience: config.plateauPatience ?? DEFAULT_PLATEAU_PATIENCE,
    plateauFactor: config.plateauFactor ?? DEFAULT_PLATEAU_FACTOR,
  };
  if (!(Number.isInteger(resolved.warmupEpochs) && resolved.warmupEpochs >= 0)) {
    throw new UserError(
      `${source}: warm-up epochs must be an integer >= 0, got ${resolved.warmupEpochs}`,
    );
  }
  if (!(Number.isInteger(resolved.plateauPatience) && resolved.plateauPatience >= 1)) {
    throw new UserError(
      `${source}: plateau patience must be an integer >= 1, got ${resolved.plateauPatience}`,
    );
  }
  if (!(resolved.plateauFactor > 1 && Number.isFinite(resolved.plateauFactor))) {
    throw new UserError(`${source}: plateau factor must be > 1, got ${resolved.plateauFactor}`);
  }
  return resolved;
}

/** Whether the optimiser's Keras time decay applies (only under `keras-decay`). */
export function usesTimeDecay(config: ResolvedScheduleConfig): boolean {
  return config.name === 'keras-decay';
}

/**
 * The factor of the learning rate in `epoch` (1-based) of `epochs`, given the plateau state
 * before it. 1 throughout for `keras-decay` without warm-up (the paper's run is unchanged).
 */
export function scheduleFactor(
  config: ResolvedScheduleConfig,
  epoch: number,
  epochs: number,
  state: ScheduleState = INITIAL_SCHEDULE_STATE,
): number {
  const warmup = config.warmupEpochs;
  const warm = warmup > 0 && epoch <= warmup ? epoch / warmup : 1;
  const i = Math.max(0, epoch - 1 - warmup);
  const n = Math.max(1, epochs - warmup);
  let base: number;
  switch (config.name) {
    case 'keras-decay':
      return warm;
    case 'poly':
      base = Math.max(0, 1 - i / n) ** POLY_EXPONENT;
      break;
    case 'cosine':
      base = (1 + Math.cos((Math.PI * Math.min(i, n)) / n)) / 2;
      break;
    case 'plateau':
      base = state.scale;
      break;
    default:
      throw new UserError(
        `unknown schedule '${String(config.name)}'; expected one of ${SCHEDULE_NAMES.join(', ')}`,
      );
  }
  return warm * base;
}

/** The plateau state after an epoch whose score did (`improved`) or did not improve. */
export function nextScheduleState(
  config: ResolvedScheduleConfig,
  state: ScheduleState,
  improved: boolean,
): ScheduleState {
  if (config.name !== 'plateau') return state;
  if (improved) return { scale: state.scale, wait: 0 };
  const wait = state.wait + 1;
  if (wait >= config.plateauPatience) return { scale: state.scale / config.plateauFactor, wait: 0 };
  return { scale: state.scale, wait };
}
