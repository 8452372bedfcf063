/**
 * Running an ablation study: open (or make) the study, then train and evaluate each selected
 * unit that is not finished, one after another, each under its lock. Everything
 * `ftunet ablation` does besides parsing flags and printing.
 *
 * Per unit (see `unitAction`): a finished unit (eval/summary.json) is skipped; a unit locked
 * by a live process elsewhere is left to it; an interrupted unit (a checkpoint) is resumed; a
 * unit that never finished an epoch is deleted and trained from the start; then the best
 * model is evaluated on the fold's test images (`evaluateRun`). A unit that fails with a
 * `UserError` (divergence, out of memory) is reported and the next one runs; anything else is
 * a bug and propagates (after the unit's lock is released).
 *
 * After its own units, a run waits for the selected units that other processes hold (unless
 * `wait` is false): it looks at them again, more and more slowly (1 s, doubling up to
 * `maxPollIntervalMs`), and works on any whose lock is released unfinished or goes stale. So
 * several processes sharing a study all end with it complete, whoever finished which unit;
 * `complete` is read from the units' folders at the end. A waiting process holds no lock.
 *
 * Node-only (fs).
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathExists } from '../io/atomic.js';
import { UserError } from '../errors.js';
import { evaluateRun, type EvaluationProgress } from '../eval/run.js';
import type { SurfaceOptions } from '../metrics/surface_policy.js';
import type { EvaluationSummary } from '../eval/evaluation_summary.js';
import { findCheckpoint } from '../run/checkpoint.js';
import { resume, train, type TrainRunCallbacks } from '../run/train.js';
import { RUN_CONFIG_FILE, RUN_EVAL_DIR } from '../run/config.js';
import type { EpochLog, StepProgress } from '../train/trainer.js';
import { claimLock, DEFAULT_LOCK_TIMEOUT_MS, type FoundLock, type UnitLock } from '../io/lock.js';
import { STUDY_SETTING_NAMES, type AblationSettingsInput } from './settings.js';
import { optionsOfSettings, type SettingValues } from '../run/settings_schema.js';
import { openStudy, unitDir, unitLockFile, type AblationStudy } from './study.js';
import {
  selectUnits,
  unitAction,
  unitName,
  type AblationUnit,
  type UnitAction,
  type UnitFacts,
  type UnitSelection,
} from './units.js';
import { ablationVariant } from './variants.js';
import { DEFAULT_MICRO_BATCH } from '../train/memory.js';
import { inferenceEngineFactory } from '../export/onnx_engine.js';

/** The summary file of a finished unit, relative to its folder. */
export const UNIT_SUMMARY = path.join(RUN_EVAL_DIR, 'summary.json');

/** Options of `runAblation`. */
export interface AblationRunOptions {
  /** The study folder. Required. */
  out: string;
  /** The study's settings (see settings.ts): any subset for an existing study. */
  settings: AblationSettingsInput;
  /** Which units this invocation runs. Default: all. */
  selection?: UnitSelection;
  /** Images per forward/backward pass, or 'auto'. Default 'auto'. */
  microBatch?: number | 'auto';
  /** Data-parallel workers of each unit. Default: `DEFAULT_TRAINING_WORKERS` (1 on the tensorflow backend). */
  workers?: number;
  /** Preprocessing cache folder, or false. Default: the default cache folder. */
  cache?: string | false;
  /**
   * The surface metrics' policy for empty masks and pixel spacing of each unit's evaluation
   * (recorded in its summary.json; the study table refuses to mix units evaluated with
   * different ones). Default: skip, pixels.
   */
  surface?: SurfaceOptions;
  /** The backend that runs (recorded in each unit's config.json). Required. */
  backend: string;
  /** Recorded in study.json and each unit's config.json. Required. */
  packageInfo: { name: string; version: string };
  /** A unit lock not refreshed for this long is stale, in ms. Default 3 hours. */
  lockTimeoutMs?: number;
  /** The least time between two refreshes of a lock, in ms. Default 10 s. */
  touchIntervalMs?: number;
  /**
   * After its own units, wait for the selected units locked by other processes (see the
   * file's comment). Default true.
   */
  wait?: boolean;
  /** While waiting, the longest time between two looks, in ms. Default `MAX_POLL_INTERVAL_MS`. */
  maxPollIntervalMs?: number;
}

/** While waiting for units of other processes, the first time between two looks, in ms. */
export const FIRST_POLL_INTERVAL_MS = 1000;

/** While waiting for units of other processes, the longest time between two looks, in ms. */
export const MAX_POLL_INTERVAL_MS = 30_000;

/** What happened to a selected unit. */
export type UnitOutcome =
  | { unit: AblationUnit; status: 'finished-before' }
  | {
      unit: AblationUnit;
      status: 'done';
      action: UnitAction;
      summary: EvaluationSummary;
      seconds: number;
    }
  | { unit: AblationUnit; status: 'finished-elsewhere' }
  | { unit: AblationUnit; status: 'busy'; heldBy: FoundLock }
  | { unit: AblationUnit; status: 'failed'; message: string };

/** Progress callbacks; `position` is 1-based among the selected units, `total` their number. */
export interface AblationCallbacks {
  onInfo?: (line: string) => void;
  onWarning?: (line: string) => void;
  /** A unit is about to be worked on (not called for skipped units). */
  onUnitStart?: (unit: AblationUnit, position: number, total: number, action: UnitAction) => void;
  /**
   * Called again for a unit first reported busy once waiting settles it (finished elsewhere,
   * done or failed here).
   */
  onUnitEnd?: (outcome: UnitOutcome, position: number, total: number) => void;
  /** The run starts (or goes on) waiting for these busy units, with who holds them. */
  onWait?: (busy: Array<{ unit: AblationUnit; heldBy: FoundLock }>) => void;
  /** After each epoch; `epochs` is the unit's number of epochs. */
  onEpoch?: (unit: AblationUnit, log: EpochLog, epochs: number) => void;
  onStep?: (unit: AblationUnit, progress: StepProgress) => void;
  onDataProgress?: (done: number, total: number, phase: string) => void;
  /** Passed to each unit's training (see `TrainCallbacks.shouldStop`). */
  shouldStop?: () => boolean;
  onEvalProgress?: (unit: AblationUnit, progress: EvaluationProgress) => void;
}

/** What `runAblation` did. */
export interface AblationRunResult {
  study: AblationStudy;
  /** The selected units, in order, with what happened to each (last, after any wait). */
  outcomes: UnitOutcome[];
  /** Whether every selected unit is finished (read from their folders at the end). */
  complete: boolean;
}

/** What a unit's folder holds (see `UnitFacts`). */
export async function inspectUnit(dir: string): Promise<UnitFacts> {
  const facts: UnitFacts = {
    exists: await pathExists(dir),
    evaluated: await pathExists(path.join(dir, UNIT_SUMMARY)),
    hasConfig: await pathExists(path.join(dir, RUN_CONFIG_FILE)),
    checkpointEpoch: null,
    epochs: null,
  };
  if (facts.hasConfig) {
    try {
      const config = JSON.parse(await readFile(path.join(dir, RUN_CONFIG_FILE), 'utf8')) as {
        epochs?: unknown;
      };
      if (typeof config.epochs === 'number') facts.epochs = config.epochs;
    } catch {
      // A damaged config: resume reports it.
    }
    const folder = await findCheckpoint(path.join(dir, 'checkpoint'));
    if (folder !== undefined) {
      try {
        const state = JSON.parse(await readFile(path.join(folder, 'state.json'), 'utf8')) as {
          epoch?: unknown;
        };
        facts.checkpointEpoch = typeof state.epoch === 'number' ? state.epoch : 0;
      } catch {
        // Unreadable state: resume decides (and reports a damaged checkpoint).
        facts.checkpointEpoch = 0;
      }
    }
  }
  return facts;
}

/** Whether a unit is finished (has its evaluation summary). */
export async function isUnitFinished(studyDir: string, unit: AblationUnit): Promise<boolean> {
  return pathExists(path.join(unitDir(studyDir, unit), UNIT_SUMMARY));
}

/** Runs the selected units of a study (see the file's doc comment). */
export async function runAblation(
  options: AblationRunOptions,
  callbacks: AblationCallbacks = {},
): Promise<AblationRunResult> {
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const study = await openStudy({
    dir: options.out,
    settings: options.settings,
    packageInfo: options.packageInfo,
    lockTimeoutMs,
    ...(callbacks.onInfo ? { onInfo: callbacks.onInfo } : {}),
    ...(callbacks.onWarning ? { onWarning: callbacks.onWarning } : {}),
    ...(callbacks.onDataProgress ? { onDataProgress: callbacks.onDataProgress } : {}),
  });
  const units = selectUnits(study.settings.folds, options.selection ?? {}, study.file.variants);
  const outcomes: UnitOutcome[] = [];
  for (const [i, unit] of units.entries()) {
    const outcome = await runUnit(study, unit, i + 1, units.length, options, callbacks);
    outcomes.push(outcome);
    callbacks.onUnitEnd?.(outcome, i + 1, units.length);
  }
  if (options.wait ?? true) await waitForOthers(study, outcomes, options, callbacks);
  const finished = await Promise.all(units.map((u) => isUnitFinished(study.dir, u)));
  return { study, outcomes, complete: finished.every(Boolean) };
}

/**
 * Waits for the busy units of `outcomes` (see the file's comment), replacing each outcome
 * once it is settled.
 */
async function waitForOthers(
  study: AblationStudy,
  outcomes: UnitOutcome[],
  options: AblationRunOptions,
  callbacks: AblationCallbacks,
): Promise<void> {
  const maxInterval = options.maxPollIntervalMs ?? MAX_POLL_INTERVAL_MS;
  let interval = Math.min(FIRST_POLL_INTERVAL_MS, maxInterval);
  let reported = '';
  for (;;) {
    const busy = outcomes.flatMap((o) => (o.status === 'busy' ? [o] : []));
    if (busy.length === 0) return;
    // Report when the set of busy units or their holders change, not at every look.
    const key = JSON.stringify(busy.map((o) => [unitName(o.unit), o.heldBy.info?.token]));
    if (key !== reported) {
      reported = key;
      callbacks.onWait?.(busy.map(({ unit, heldBy }) => ({ unit, heldBy })));
    }
    await sleep(interval);
    interval = Math.min(2 * interval, maxInterval);
    for (const [i, o] of outcomes.entries()) {
      if (o.status !== 'busy') continue;
      const again = await runUnit(study, o.unit, i + 1, outcomes.length, options, callbacks);
      if (again.status === 'busy') {
        outcomes[i] = again;
        continue;
      }
      outcomes[i] =
        again.status === 'finished-before' ? { unit: o.unit, status: 'finished-elsewhere' } : again;
      callbacks.onUnitEnd?.(outcomes[i], i + 1, outcomes.length);
    }
  }
}

async function runUnit(
  study: AblationStudy,
  unit: AblationUnit,
  position: number,
  total: number,
  options: AblationRunOptions,
  callbacks: AblationCallbacks,
): Promise<UnitOutcome> {
  if (await isUnitFinished(study.dir, unit)) return { unit, status: 'finished-before' };
  const dir = unitDir(study.dir, unit);
  await mkdir(path.dirname(dir), { recursive: true });
  const claim = await claimLock(unitLockFile(study.dir, unit), {
    timeoutMs: options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
  });
  if (!claim.claimed) return { unit, status: 'busy', heldBy: claim.heldBy };
  if (claim.tookOver !== undefined) {
    callbacks.onWarning?.(`${unitName(unit)}: took over a stale lock (${claim.tookOver.reason})`);
  }
  const lock = claim.lock;
  try {
    // Look again under the lock: another process may have finished it meanwhile.
    const facts = await inspectUnit(dir);
    const action = unitAction(facts);
    if (action === 'skip') return { unit, status: 'finished-before' };
    callbacks.onUnitStart?.(unit, position, total, action);
    const started = Date.now();
    const touch = throttle(
      () => void lock.touch().catch(() => undefined),
      options.touchIntervalMs ?? 10_000,
    );
    try {
      const row = ablationVariant(unit.variant).settings.epochs;
      const epochs = facts.epochs ?? row ?? study.settings.epochs;
      await trainUnit(study, unit, dir, action, epochs, options, callbacks, touch);
      const report = await evaluateRun({
        run: dir,
        ...(options.cache !== undefined ? { cache: options.cache } : {}),
        ...(options.surface !== undefined ? { surface: options.surface } : {}),
        ...workersOf(options),
        // ONNX Runtime when it is installed (much faster inference), else TensorFlow.js.
        engine: inferenceEngineFactory(workersOf(options)),
        onProgress: (p) => {
          touch();
          callbacks.onEvalProgress?.(unit, p);
        },
        ...(callbacks.onWarning ? { onWarning: callbacks.onWarning } : {}),
      });
      return {
        unit,
        status: 'done',
        action,
        summary: report.summary,
        seconds: (Date.now() - started) / 1000,
      };
    } catch (err) {
      if (err instanceof UserError) return { unit, status: 'failed', message: err.message };
      throw err;
    }
  } finally {
    await releaseQuietly(lock);
  }
}

async function releaseQuietly(lock: UnitLock): Promise<void> {
  try {
    await lock.release();
  } catch {
    // A lock we cannot remove goes stale by its timeout.
  }
}

function throttle(fn: () => void, ms: number): () => void {
  let last = 0;
  return () => {
    const now = Date.now();
    if (now - last >= ms) {
      last = now;
      fn();
    }
  };
}

async function trainUnit(
  study: AblationStudy,
  unit: AblationUnit,
  dir: string,
  action: UnitAction,
  epochs: number,
  options: AblationRunOptions,
  callbacks: AblationCallbacks,
  touch: () => void,
): Promise<void> {
  const s = study.settings;
  const trainCallbacks: TrainRunCallbacks = {
    ...(callbacks.onInfo ? { onInfo: callbacks.onInfo } : {}),
    ...(callbacks.onWarning ? { onWarning: callbacks.onWarning } : {}),
    ...(callbacks.shouldStop ? { shouldStop: callbacks.shouldStop } : {}),
    onStep: (p) => {
      touch();
      callbacks.onStep?.(unit, p);
    },
    onEpoch: (log) => {
      touch();
      callbacks.onEpoch?.(unit, log, epochs);
    },
    onDataProgress: (done, n, phase) => {
      touch();
      callbacks.onDataProgress?.(done, n, phase);
    },
  };
  switch (action) {
    case 'evaluate':
      return;
    case 'resume':
      await resume(dir, options.backend, trainCallbacks, {
        ...workersOf(options),
        ...lockTimeoutOf(options),
      });
      return;
    case 'restart':
    case 'train': {
      if (action === 'restart') await rm(dir, { recursive: true, force: true });
      const variant = ablationVariant(unit.variant);
      // The study's settings, then the row's over them; then the row's network and loss.
      const settings: Partial<SettingValues> = {};
      for (const name of STUDY_SETTING_NAMES) {
        const value = s[name] ?? undefined;
        if (value !== undefined) (settings as Record<string, unknown>)[name] = value;
      }
      await train(
        {
          ...optionsOfSettings({ ...settings, ...variant.settings }),
          out: dir,
          dataset: s.dataset,
          data: s.data,
          model: variant.model,
          loss: variant.loss,
          ...(options.cache !== undefined ? { cache: options.cache } : {}),
          microBatch: options.microBatch ?? DEFAULT_MICRO_BATCH,
          ...workersOf(options),
          splitFile: study.splitFile,
          fold: unit.fold,
          backend: options.backend,
          packageInfo: options.packageInfo,
          ...lockTimeoutOf(options),
        },
        trainCallbacks,
      );
      return;
    }
    case 'skip':
      return;
    default:
      throw new Error(
        `trainUnit: unknown action '${String(action)}'; expected skip, train, restart, resume or evaluate`,
      );
  }
}

function workersOf(options: { workers?: number }): { workers?: number } {
  return options.workers !== undefined ? { workers: options.workers } : {};
}

/**
 * The unit's run folder has its own lock (`train.lock`, taken by `train` and `resume` under the
 * unit's lock): it goes stale after the study's timeout too, so that a unit taken over from a
 * process that died on another machine is not refused by that process's run lock.
 */
function lockTimeoutOf(options: { lockTimeoutMs?: number }): { lockTimeoutMs?: number } {
  return options.lockTimeoutMs !== undefined ? { lockTimeoutMs: options.lockTimeoutMs } : {};
}
