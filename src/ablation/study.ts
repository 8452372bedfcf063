/**
 * An ablation study's folder:
 *
 *   DIR/study.json                   the settings every unit shares (written once)
 *   DIR/split.json                   ONE k-fold split, shared by every unit (made once)
 *   DIR/study.lock                   held while study.json and split.json are made or checked
 *   DIR/data/                        synthetic data sets, unless --data names another folder
 *   DIR/units/<variant>/fold-<k>/    a unit: a run folder of `train` (see src/run/train.ts),
 *                                    finished once it has eval/summary.json
 *   DIR/units/<variant>/fold-<k>.lock  held while a process works on that unit (lock.ts)
 *   DIR/report/ablation.{md,csv,json}  the merged table (table_files.ts)
 *
 * Several processes may open the same study at once (one per array task): they take turns on
 * `study.lock`, the first makes the files, the others check their settings against them.
 *
 * Node-only (fs).
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { listDatasetPairs } from '../data/load.js';
import { loadSplit, saveSplit } from '../data/split_file.js';
import { kFoldSplit, resolveSplit, type Split } from '../data/splits.js';
import { ensureSyntheticDataset } from '../run/data.js';
import { DataError, UserError } from '../errors.js';
import { writeFileAtomic, pathExists } from '../io/atomic.js';
import { datasetLayout } from '../data/presets.js';
import { claimLock, describeLock, type FoundLock } from '../io/lock.js';
import {
  checkAblationSettings,
  resolveAblationSettings,
  SETTING_FLAGS,
  STUDY_SETTING_NAMES,
  type AblationSettings,
  type AblationSettingsInput,
} from './settings.js';
import { syntheticKindOf } from '../data/presets.js';
import {
  fieldsObject,
  fileVersion,
  inInputOrder,
  settingMigrations,
  settingOf,
} from '../run/settings_schema.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned } from '../util/versioned.js';
import { unitPathSegments, type AblationUnit } from './units.js';
import { studyVariantIds, type AblationVariantId } from './variants.js';

/**
 * The `format` field of study.json, and its version: 2, every training setting a study may set
 * is recorded (version 1 recorded some, the others were `train`'s defaults); later, each
 * setting of the schema that is added (`added` in src/run/settings_schema.ts).
 */
export const STUDY_FORMAT = 'ftunet-ablation';
export const STUDY_VERSION = fileVersion('study', 2);

/** File and folder names inside a study folder. */
export const STUDY_FILE = 'study.json';
export const STUDY_SPLIT_FILE = 'split.json';
export const STUDY_LOCK_FILE = 'study.lock';
export const STUDY_UNITS_DIR = 'units';
export const STUDY_REPORT_DIR = 'report';

/** The content of study.json. */
export interface AblationStudyFile {
  format: typeof STUDY_FORMAT;
  version: typeof STUDY_VERSION;
  createdAt: string;
  package: { name: string; version: string };
  /** The rows of the study: the paper's seven in its order, then the extra ones. */
  variants: AblationVariantId[];
  /** The split file, relative to the study folder. */
  split: string;
  settings: AblationSettings;
}

/** An opened study. */
export interface AblationStudy {
  /** Absolute study folder. */
  dir: string;
  file: AblationStudyFile;
  settings: AblationSettings;
  /** Absolute path of the shared split file. */
  splitFile: string;
}

/** A unit's run folder. */
export function unitDir(studyDir: string, unit: AblationUnit): string {
  return path.join(studyDir, ...unitPathSegments(unit));
}

/** A unit's lock file (beside its folder, so that restarting the unit keeps the lock). */
export function unitLockFile(studyDir: string, unit: AblationUnit): string {
  return `${unitDir(studyDir, unit)}.lock`;
}

/** A check with one message, "must be <what>". */
const must = (what: string, test: (x: unknown) => boolean) => v.custom(test, `must be ${what}`);

/** study.json's fields, and each recorded setting's check (the settings schema's). */
const STUDY_SCHEMA = fieldsObject(
  {
    split: must('a file name', (x) => typeof x === 'string' && x !== ''),
    settings: fieldsObject({
      ...Object.fromEntries(
        STUDY_SETTING_NAMES.map((name) => {
          const s = settingOf(name);
          // Settings without a default (a single transform's) are recorded only when given.
          return [name, s.default === undefined ? v.optional(s.check) : s.check];
        }),
      ),
      folds: must('an integer >= 2', (x) => Number.isInteger(x) && (x as number) >= 2),
      syntheticCount: must(
        'a number or null',
        (x) => x === null || (typeof x === 'number' && Number.isInteger(x) && x >= 1),
      ),
      extraVariants: must(
        'a list of variant ids',
        (x) => Array.isArray(x) && x.every((id) => typeof id === 'string'),
      ),
    }),
  },
  'a JSON object',
);

/**
 * Version 1 to 2: the training settings version 1 did not record, with the values its units
 * trained with (`train`'s defaults then), and `extraVariants` (none before extra rows). The
 * settings added in version 2 and later are added by `settingMigrations`.
 */
function migrateStudyV1(old: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const s = old.settings;
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return { ...old };
  const settings = s as Record<string, unknown>;
  const alpha = typeof settings.alpha === 'number' ? settings.alpha : 0.7;
  return {
    ...old,
    settings: {
      ...settings,
      beta: Math.round((1 - alpha) * 1e12) / 1e12,
      weights: 'equal',
      objectiveScope: 'batch',
      beta1: 0.9,
      beta2: 0.999,
      schedule: 'keras-decay',
      warmupEpochs: 0,
      plateauPatience: 10,
      plateauFactor: 10,
      patience: null,
      augment: 'none',
      interpolation: settings.interpolation ?? 'nearest',
      maskSuffix: settings.maskSuffix ?? '',
      extraVariants: settings.extraVariants ?? [],
    },
  };
}

/** study.json's format: its versions and the step from each to the next. */
export const STUDY_FILE_FORMAT = defineFileFormat<AblationStudyFile>({
  format: STUDY_FORMAT,
  version: STUDY_VERSION,
  migrate: settingMigrations('study', STUDY_VERSION, { 1: migrateStudyV1 }, (name) =>
    STUDY_SETTING_NAMES.includes(name) ? `settings.${name}` : undefined,
  ),
  parse: (value, source) => {
    const ordered = { format: STUDY_FORMAT, version: STUDY_VERSION, ...value };
    const file = inInputOrder(
      ordered,
      parseWith(STUDY_SCHEMA, value, source) as unknown as AblationStudyFile,
    );
    // The values together: the same checks as for a new study.
    const settings = resolveAblationSettings(file.settings);
    return { ...file, variants: studyVariantIds(settings.extraVariants), settings };
  },
});

/**
 * Checks a parsed study.json of any version (migrated to today's); `source` names the file in
 * messages. Throws a `UserError` naming the first field that is missing or wrong.
 */
export function parseStudyFile(value: unknown, source = STUDY_FILE): AblationStudyFile {
  return readVersioned(STUDY_FILE_FORMAT, value, source);
}

/** Reads and checks DIR/study.json. Throws a `UserError` when the folder holds no study. */
export async function readStudy(dir: string): Promise<AblationStudy> {
  const abs = path.resolve(dir);
  const file = path.join(abs, STUDY_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`${dir} holds no ablation study: ${STUDY_FILE} not found`);
    }
    throw new UserError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${file} is not valid JSON: the study's settings are damaged`);
  }
  const study = parseStudyFile(value, file);
  return {
    dir: abs,
    file: study,
    settings: study.settings,
    splitFile: path.join(abs, study.split),
  };
}

/** Options of `openStudy`. */
export interface OpenStudyOptions {
  /** The study folder (created if missing). Required. */
  dir: string;
  /** The settings given: required ones for a new study, any subset for an existing one. */
  settings: AblationSettingsInput;
  /** Recorded in study.json. Required. */
  packageInfo: { name: string; version: string };
  /** Lock timeout (see lock.ts). Default `DEFAULT_LOCK_TIMEOUT_MS`. */
  lockTimeoutMs?: number;
  /** Time between looks at a study lock that another process holds, in ms. Default 500. */
  pollMs?: number;
  /** Receives what is done (data written, split made). Default: nothing. */
  onInfo?: (line: string) => void;
  /** Receives warnings. Default: nothing. */
  onWarning?: (line: string) => void;
  /** Receives progress of writing a synthetic data set. Default: nothing. */
  onDataProgress?: (done: number, total: number, phase: string) => void;
}

/** Writes the synthetic data set of the settings unless the same one is there (as train does). */
async function ensureSyntheticData(
  settings: AblationSettings,
  options: OpenStudyOptions,
  touch: () => void,
): Promise<void> {
  const kind = syntheticKindOf(settings.dataset);
  if (kind === undefined || settings.syntheticCount === null) return;
  await ensureSyntheticDataset({
    kind,
    dir: settings.data,
    count: settings.syntheticCount,
    seed: settings.seed,
    ...(options.onInfo ? { onInfo: options.onInfo } : {}),
    onProgress: (done, total) => {
      touch();
      options.onDataProgress?.(done, total, 'synth');
    },
  });
}

/** Checks that a saved split is the study's: k-fold with its number of folds, its names. */
function checkSplit(
  split: Split,
  names: readonly string[],
  settings: AblationSettings,
  file: string,
) {
  if (split.method !== 'kfold' || split.folds.length !== settings.folds) {
    throw new DataError(
      `${file}: expected a ${settings.folds}-fold split, found a ${split.method} split of ` +
        `${split.folds.length} fold(s); the study folder is damaged`,
    );
  }
  resolveSplit(split, names, file);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Checks that `count` items make a k-fold split of `settings` in which every fold has test and
 * training images. Else a `UserError` naming the first fold short of them and the least count
 * that is enough. Pure.
 */
export function checkFoldsFit(
  count: number,
  settings: Pick<AblationSettings, 'folds' | 'seed' | 'valFraction'>,
): void {
  const { folds: k, seed, valFraction } = settings;
  const problem = (n: number): string | undefined => {
    if (n < k) return `fold ${n} would have no test images`;
    // How many items each part gets depends on the count alone, not on the names.
    const names = Array.from({ length: n }, (_, i) => String(i));
    const f = kFoldSplit(names, { k, seed, valFraction }).folds.findIndex(
      (fold) => fold.train.length === 0,
    );
    return f < 0 ? undefined : `fold ${f} would have no training images`;
  };
  const why = problem(count);
  if (why === undefined) return;
  let least = count + 1;
  while (problem(least) !== undefined) least++;
  throw new UserError(
    `${SETTING_FLAGS.folds} ${k}: ${count} item(s) are too few: ${why} ` +
      `(${SETTING_FLAGS.valFraction} ${valFraction}); give at least ${least} items or fewer folds`,
  );
}

/**
 * For a folder that holds no study yet: checks that the data set has enough items for the
 * folds, before anything is written (a synthetic data set by its count, a data folder by its
 * listing). A study that exists is checked under its lock (`makeOrCheck`).
 */
async function checkNewStudyFits(dir: string, input: AblationSettingsInput): Promise<void> {
  if (await pathExists(path.join(dir, STUDY_FILE))) return;
  const settings = resolveAblationSettings(input, path.join(dir, 'data'));
  const synthetic =
    syntheticKindOf(settings.dataset) !== undefined && settings.syntheticCount !== null;
  const count = synthetic
    ? (settings.syntheticCount as number)
    : (await listDatasetPairs(datasetLayout(settings.dataset), settings.data, settings.maskSuffix))
        .pairs.length;
  checkFoldsFit(count, settings);
}

/**
 * Opens a study, making it when DIR has none: checks or resolves the settings, writes the
 * synthetic data set if needed, makes (or checks) the shared split and writes study.json.
 * Waits while another process holds the study lock.
 */
export async function openStudy(options: OpenStudyOptions): Promise<AblationStudy> {
  const dir = path.resolve(options.dir);
  const input: AblationSettingsInput = {
    ...options.settings,
    ...(options.settings.data !== undefined ? { data: path.resolve(options.settings.data) } : {}),
  };
  await checkNewStudyFits(dir, input);
  await mkdir(dir, { recursive: true });
  const lockFile = path.join(dir, STUDY_LOCK_FILE);
  let waitingFor: FoundLock | undefined;
  for (;;) {
    const r = await claimLock(lockFile, {
      ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
    });
    if (r.claimed) {
      if (r.tookOver !== undefined) {
        options.onWarning?.(`took over the stale study lock ${lockFile}: ${r.tookOver.reason}`);
      }
      const lock = r.lock;
      let lastTouch = Date.now();
      const touch = () => {
        if (Date.now() - lastTouch < 1000) return;
        lastTouch = Date.now();
        void lock.touch().catch(() => undefined);
      };
      try {
        return await makeOrCheck(dir, input, options, touch);
      } finally {
        await lock.release();
      }
    }
    if (waitingFor === undefined) {
      waitingFor = r.heldBy;
      options.onInfo?.(`waiting for the study lock held by ${describeLock(r.heldBy)}`);
    }
    await sleep(options.pollMs ?? 500);
  }
}

async function makeOrCheck(
  dir: string,
  input: AblationSettingsInput,
  options: OpenStudyOptions,
  touch: () => void,
): Promise<AblationStudy> {
  const studyFile = path.join(dir, STUDY_FILE);
  const existing = (await pathExists(studyFile)) ? await readStudy(dir) : undefined;
  let settings: AblationSettings;
  if (existing !== undefined) {
    settings = checkAblationSettings(existing.settings, input, `the study in ${dir}`);
    const was = existing.file.package.version;
    if (was !== options.packageInfo.version) {
      options.onWarning?.(
        `the study was made with ${options.packageInfo.name} ${was}; this is ` +
          `${options.packageInfo.version}: units trained by the two may differ`,
      );
    }
  } else {
    settings = resolveAblationSettings(input, path.join(dir, 'data'));
  }
  await ensureSyntheticData(settings, options, touch);
  const listing = await listDatasetPairs(
    datasetLayout(settings.dataset),
    settings.data,
    settings.maskSuffix,
  );
  const names = listing.pairs.map((p) => p.name);
  const splitFile = path.join(dir, existing?.file.split ?? STUDY_SPLIT_FILE);
  if (existing !== undefined && (await pathExists(splitFile))) {
    checkSplit(await loadSplit(splitFile), names, settings, splitFile);
  } else {
    checkFoldsFit(names.length, settings);
    const split = kFoldSplit(names, {
      k: settings.folds,
      seed: settings.seed,
      valFraction: settings.valFraction,
    });
    await saveSplit(splitFile, split);
    options.onInfo?.(`made a ${settings.folds}-fold split of ${names.length} items: ${splitFile}`);
  }
  if (existing !== undefined) return { ...existing, settings };
  const file: AblationStudyFile = {
    format: STUDY_FORMAT,
    version: STUDY_VERSION,
    createdAt: new Date().toISOString(),
    package: options.packageInfo,
    variants: studyVariantIds(settings.extraVariants),
    split: STUDY_SPLIT_FILE,
    settings,
  };
  await writeFileAtomic(studyFile, `${JSON.stringify(file, null, 2)}\n`);
  return { dir, file, settings, splitFile };
}
