/**
 * The units of an ablation study and which of them an invocation runs. A unit is one
 * (variant, fold) pair, trained and evaluated in its own run folder
 * `units/<variant>/fold-<k>/`. Units are ordered variant by variant (the paper's row order),
 * fold by fold within a variant.
 *
 * Selection, applied in this order:
 * 1. `--variant ID[,ID]` and `--fold K[,K]` keep the units of those variants and folds;
 * 2. `--shard I/N` deals the kept units round-robin over N shards and keeps shard I: the
 *    unit at position u (0-based, in the order above) belongs to shard u % N. Every unit is
 *    in exactly one shard; shard sizes differ by at most one. `--shard auto/N` takes I from
 *    `SLURM_ARRAY_TASK_ID` (SLURM job arrays) or else `JOB_COMPLETION_INDEX` (Kubernetes
 *    Indexed Jobs).
 *
 * What to do with a unit follows from what its folder holds (`unitAction`).
 *
 * Pure.
 */
import { UserError } from '../errors.js';
import { ABLATION_VARIANT_IDS, ablationVariant, type AblationVariantId } from './variants.js';

/** One (variant, fold) pair of a study. */
export interface AblationUnit {
  variant: AblationVariantId;
  fold: number;
}

/** A shard: keep the units at positions u with u % count === index. */
export interface Shard {
  /** 0-based, below `count`. */
  index: number;
  count: number;
}

/** Which units an invocation runs (see the file's doc comment). */
export interface UnitSelection {
  /** Default: every variant. */
  variants?: readonly AblationVariantId[];
  /** Default: every fold. */
  folds?: readonly number[];
  /** Default: no sharding (one shard holding everything). */
  shard?: Shard;
}

/** The environment variables `--shard auto/N` reads, in order of preference. */
export const SHARD_ENV_VARS = ['SLURM_ARRAY_TASK_ID', 'JOB_COMPLETION_INDEX'] as const;

/** "unet-dl/fold-0": a unit's name in messages and reports. */
export function unitName(unit: AblationUnit): string {
  return `${unit.variant}/fold-${unit.fold}`;
}

/** The unit's folder relative to the study folder, as path segments. */
export function unitPathSegments(unit: AblationUnit): [string, string, string] {
  return ['units', unit.variant, `fold-${unit.fold}`];
}

/** Every unit of a study of `folds` folds over `variants`, variant by variant, fold by fold. */
export function listUnits(
  folds: number,
  variants: readonly AblationVariantId[] = ABLATION_VARIANT_IDS,
): AblationUnit[] {
  if (!(Number.isInteger(folds) && folds >= 1)) {
    throw new UserError(`folds must be a positive integer, got ${folds}`);
  }
  const units: AblationUnit[] = [];
  for (const variant of variants) {
    for (let fold = 0; fold < folds; fold++) units.push({ variant, fold });
  }
  return units;
}

/**
 * The units of a study of `folds` folds over `variants` (default: the paper's seven) that a
 * selection keeps, in study order. Throws a `UserError` for a fold or a variant the study does
 * not have.
 */
export function selectUnits(
  folds: number,
  selection: UnitSelection = {},
  studyVariants: readonly AblationVariantId[] = ABLATION_VARIANT_IDS,
): AblationUnit[] {
  for (const f of selection.folds ?? []) {
    if (!(Number.isInteger(f) && f >= 0 && f < folds)) {
      throw new UserError(`--fold ${f}: the study has folds 0 to ${folds - 1}`);
    }
  }
  const variants = selection.variants;
  for (const v of variants ?? []) {
    if (!studyVariants.includes(v)) {
      throw new UserError(
        `--variant ${v}: the study has no such row (add rows when the study is made, with ` +
          '--extra-variant)',
      );
    }
  }
  const foldSet = selection.folds === undefined ? undefined : new Set(selection.folds);
  // Keep the study's order whatever order the flags list them in.
  const kept = listUnits(folds, studyVariants).filter(
    (u) =>
      (variants === undefined || variants.includes(u.variant)) &&
      (foldSet === undefined || foldSet.has(u.fold)),
  );
  const shard = selection.shard;
  if (shard === undefined) return kept;
  checkShard(shard);
  return kept.filter((_, u) => u % shard.count === shard.index);
}

function checkShard(shard: Shard, flag = '--shard'): void {
  if (!(Number.isInteger(shard.count) && shard.count >= 1)) {
    throw new UserError(
      `${flag}: the number of shards must be a positive integer, got ${shard.count}`,
    );
  }
  if (!(Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
    throw new UserError(
      `${flag}: shard index ${shard.index} is out of range 0 to ${shard.count - 1} ` +
        `(shards are numbered from 0, e.g. #SBATCH --array=0-${shard.count - 1})`,
    );
  }
}

const INTEGER = /^\s*\d+\s*$/;

/**
 * Parses `I/N` (0-based shard I of N) or `auto/N`, which takes I from the first of
 * `SHARD_ENV_VARS` that `env` sets. Throws a `UserError` naming the flag.
 */
export function parseShard(
  text: string,
  env: Readonly<Record<string, string | undefined>> = {},
  flag = '--shard',
): Shard {
  const m = /^\s*([^/\s]+)\s*\/\s*([^/\s]+)\s*$/.exec(text);
  if (m === null || !INTEGER.test(m[2]) || (m[1] !== 'auto' && !INTEGER.test(m[1]))) {
    throw new UserError(`${flag}: expected I/N or auto/N (e.g. 0/4), got '${text}'`);
  }
  const count = Number(m[2]);
  let index: number;
  if (m[1] === 'auto') {
    const found = SHARD_ENV_VARS.find((v) => env[v] !== undefined && env[v] !== '');
    if (found === undefined) {
      throw new UserError(
        `${flag} auto/${count}: neither ${SHARD_ENV_VARS.join(' nor ')} is set; ` +
          'run it as a SLURM array task or a Kubernetes Indexed Job, or give the index (I/N)',
      );
    }
    const value = env[found] as string;
    if (!INTEGER.test(value)) {
      throw new UserError(`${flag} auto/${count}: ${found} is '${value}', expected an integer`);
    }
    index = Number(value);
    if (index >= count) {
      throw new UserError(
        `${flag} auto/${count}: ${found} is ${index}, out of range 0 to ${count - 1} ` +
          `(number the tasks from 0, e.g. #SBATCH --array=0-${count - 1})`,
      );
    }
  } else {
    index = Number(m[1]);
  }
  const shard = { index, count };
  checkShard(shard, flag);
  return shard;
}

/** Parses `ID[,ID...]` into variant ids (duplicates dropped, study order kept by selection). */
export function parseVariantList(text: string, flag = '--variant'): AblationVariantId[] {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((s) => s === '')) {
    throw new UserError(
      `${flag}: expected variant ids separated by commas (${ABLATION_VARIANT_IDS.join(', ')}), got '${text}'`,
    );
  }
  return [...new Set(ids.map((id) => ablationVariant(id, flag).id))];
}

/** Parses `K[,K...]` into fold indices (integers >= 0; checked against the study later). */
export function parseFoldList(text: string, flag = '--fold'): number[] {
  const parts = text.split(',');
  if (parts.some((s) => !INTEGER.test(s))) {
    throw new UserError(
      `${flag}: expected fold numbers separated by commas (e.g. 0,2), got '${text}'`,
    );
  }
  return [...new Set(parts.map(Number))];
}

/** What a unit's folder holds, as `unitAction` needs it. */
export interface UnitFacts {
  /** The folder exists. */
  exists: boolean;
  /** `eval/summary.json` exists: the unit is finished. */
  evaluated: boolean;
  /** `config.json` exists: training started. */
  hasConfig: boolean;
  /** The epoch of the newest checkpoint; null without one. */
  checkpointEpoch: number | null;
  /** The run's epochs (from config.json); null without one. */
  epochs: number | null;
}

/**
 * What to do with a unit:
 * - `skip`: finished (it has an evaluation summary);
 * - `train`: nothing there yet;
 * - `restart`: a folder without a finished epoch (no config, or a config and no checkpoint):
 *   delete it and train from the start;
 * - `resume`: a checkpoint before the last epoch: continue training, then evaluate;
 * - `evaluate`: training finished, the evaluation did not.
 */
export type UnitAction = 'skip' | 'train' | 'restart' | 'resume' | 'evaluate';

/** The action for a unit's folder (see `UnitAction`). */
export function unitAction(facts: UnitFacts): UnitAction {
  if (facts.evaluated) return 'skip';
  if (!facts.exists) return 'train';
  if (!facts.hasConfig || facts.checkpointEpoch === null) return 'restart';
  if (facts.epochs === null || facts.checkpointEpoch < facts.epochs) return 'resume';
  return 'evaluate';
}
