/**
 * The quick start (`npm start`): the paper's model on built-in synthetic BUS-like data, in a
 * configuration small enough to finish in minutes on two cores, evaluated on held-out images
 * at their original size, with the run's HTML report (RUN_DIR/report.html).
 *
 * The configuration differs from the paper's in size only (64x64 input, a quarter of the
 * filters, 20 epochs) and in two settings that a run of a few hundred updates needs: Adam
 * (learning rate 0.003) instead of SGD, and BatchNormalization momentum 0.9 instead of 0.99,
 * whose moving statistics would otherwise still lean on their initial values when inference
 * uses them.
 *
 * A quick start replaces an earlier one in `--out` and nothing else: it marks its folder with
 * `quickstart.json` before it trains (see `checkQuickstartDir`). The web app that `ftunet app`
 * wrote into it is kept. Node-only.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { listFew } from '../util/messages.js';
import { SYNTH_MANIFEST, SYNTH_STAGING } from '../data/synthetic/write.js';
import { UserError } from '../errors.js';
import { pathExists, writeFileAtomic } from '../io/atomic.js';
import { APP_MARKER } from '../app/assets.js';
import { evaluateRun, type EvaluationReport } from '../eval/run.js';
import { writeRunReport, type RunReportResult } from '../report/run_report.js';
import {
  train,
  type TrainRunCallbacks,
  type TrainRunOptions,
  type TrainRunResult,
} from '../run/train.js';
import { RUN_CONFIG_FILE, RUN_FORMAT, RUN_LOCK_FILE } from '../run/config.js';
import { inferenceEngineFactory } from '../export/onnx_engine.js';

/** The quick configuration (see the file's doc comment). */
export const QUICKSTART_SETTINGS = {
  dataset: 'synthetic-bus',
  syntheticCount: 163,
  model: 'attn_reg',
  loss: 'ftl',
  inputSize: [64, 64],
  width: 0.25,
  epochs: 20,
  batchSize: 8,
  bnMomentum: 0.9,
  optimizer: { name: 'adam', learningRate: 0.003 },
  seed: 0,
} as const satisfies Partial<TrainRunOptions>;

export interface QuickstartOptions {
  /** The run folder. Default `runs/quickstart`. */
  out?: string;
  backend: string;
  /** Data-parallel workers. Default: `DEFAULT_TRAINING_WORKERS` (1 on the tensorflow backend). */
  workers?: number;
  packageInfo: { name: string; version: string };
  /** Epochs (for tests). Default 20. */
  epochs?: number;
  /** Synthetic items (for tests). Default 163, as BUS dataset B. */
  count?: number;
}

export interface QuickstartResult {
  out: string;
  train: TrainRunResult;
  evaluation: EvaluationReport;
  /** RUN_DIR/report.html. */
  report: RunReportResult;
  seconds: number;
}

/** The file that marks a folder as a quick-start run (see `checkQuickstartDir`). */
export const QUICKSTART_MARKER = 'quickstart.json';

/** What the marker file holds. */
interface QuickstartMarker {
  format: 'ftunet-quickstart';
  version: 1;
  createdAt: string;
  package: { name: string; version: string };
}

/** What a quick start writes into its run folder (besides the marker). */
const RUN_ENTRIES: ReadonlySet<string> = new Set([
  'config.json',
  'split.json',
  'log.jsonl',
  'log.csv',
  'best',
  'checkpoint',
  'eval',
  'report.html',
  'report',
  // The lock of a quick start killed while training (see run/train.ts).
  RUN_LOCK_FILE,
]);

/** The folder of synthetic data, kept and reused (the synth writer guards it). */
const DATA_DIR = 'data';

/**
 * The web app that `ftunet app --model RUN` writes into the run (`defaultAppDir`): kept as it
 * is, with the earlier model in it, until `ftunet app` is run again. So are the folders that
 * `ftunet app` leaves beside it when killed (`.app.tmp-PID`, `.app.old-PID`: the latter may be
 * the only copy of the app, which its next run restores; see io/output_folder.ts).
 */
const APP_DIR = 'app';

/** Whether `entry` of the run folder is one of `ftunet app`'s leftovers beside `app/`. */
const isAppLeftover = (entry: string): boolean => /^\.app\.(?:tmp|old)-\d+$/.test(entry);

/**
 * Whether `entry` is the temporary file of an atomic write of one of our files
 * (`.config.json.tmp-PID-HEX`, see io/atomic.ts), left behind by a kill.
 */
function isOurTemporary(entry: string): boolean {
  const m = /^\.(.+)\.tmp-/.exec(entry);
  return m !== null && (RUN_ENTRIES.has(m[1]) || m[1] === QUICKSTART_MARKER);
}

/** What `checkQuickstartDir` found: the entries a new quick start removes. */
export interface QuickstartDirCheck {
  /** Absolute run folder. */
  out: string;
  /** Entry names to remove before training (never `data`, never the marker). */
  remove: string[];
}

/**
 * Checks that `out` may take a new quick start, without changing anything: it must be missing,
 * empty, hold only a synthetic `data/` folder (a quick start killed before it wrote anything
 * else), or be an earlier quick-start run, with or without the `app/` that `ftunet app` wrote
 * into it (kept, never in `remove`). A quick-start run is recognized by its marker
 * `quickstart.json`, written before training starts, so that a run killed at any later point
 * is still recognized; its config.json, when there is one, must also say that it is a quick
 * start (the quick-start settings, and its data in `out/data`), since `train --out` may have
 * been pointed at a killed quick start's folder since. Temporary files of our atomic writes
 * are ignored (and removed). Anything else throws a `UserError` naming the folder: a `train`
 * run, a folder of other files, a damaged config.json or marker. Node-only.
 */
export async function checkQuickstartDir(dir: string): Promise<QuickstartDirCheck> {
  const out = path.resolve(dir);
  let entries: string[];
  try {
    entries = (await readdir(out)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { out, remove: [] };
    if (code === 'ENOTDIR') throw new UserError(`--out ${out} is a file, expected a folder`);
    throw err;
  }
  const refuse = (why: string): UserError =>
    new UserError(`--out ${out} is not a quick-start run (${why}): choose another --out`);
  const appWritten =
    entries.includes(APP_DIR) && (await pathExists(path.join(out, APP_DIR, APP_MARKER)));
  const foreign = entries.filter(
    (e) =>
      !RUN_ENTRIES.has(e) &&
      e !== DATA_DIR &&
      e !== QUICKSTART_MARKER &&
      !isOurTemporary(e) &&
      !(e === APP_DIR && appWritten) &&
      !isAppLeftover(e),
  );
  if (foreign.length > 0) throw refuse(`it holds ${listFew(foreign)}`);
  if (entries.includes(DATA_DIR) && !(await isSyntheticDataDir(path.join(out, DATA_DIR)))) {
    throw refuse(`its data folder is not a synthetic data set`);
  }
  const runFiles = entries.filter((e) => RUN_ENTRIES.has(e));
  if (!entries.includes(QUICKSTART_MARKER)) {
    if (runFiles.length > 0) throw refuse(`no ${QUICKSTART_MARKER}; it holds ${listFew(runFiles)}`);
    return { out, remove: entries.filter(isOurTemporary) };
  }
  const marker = await readJson(path.join(out, QUICKSTART_MARKER));
  if (!isMarker(marker)) throw refuse(`${QUICKSTART_MARKER} is damaged`);
  if (entries.includes(RUN_CONFIG_FILE)) {
    const config = await readJson(path.join(out, RUN_CONFIG_FILE));
    if (config === undefined) throw refuse(`its ${RUN_CONFIG_FILE} cannot be read`);
    const differs = quickstartConfigDifference(config, path.join(out, DATA_DIR));
    if (differs !== null) throw refuse(`its ${RUN_CONFIG_FILE} has ${differs}`);
  }
  return { out, remove: entries.filter((e) => RUN_ENTRIES.has(e) || isOurTemporary(e)) };
}

/** Whether `dir` is empty or a synth output (complete, or interrupted: see data/synthetic). */
async function isSyntheticDataDir(dir: string): Promise<boolean> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return false;
  }
  return (
    entries.length === 0 || entries.includes(SYNTH_MANIFEST) || entries.includes(SYNTH_STAGING)
  );
}

/** A JSON file's value, or undefined when it cannot be read or parsed. */
async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function isMarker(v: unknown): v is QuickstartMarker {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { format?: unknown }).format === 'ftunet-quickstart'
  );
}

/**
 * The first field of a run's config.json that differs from what a quick start writes, as
 * 'model.name "unet", a quick start "attn_reg"', or null when none does. Epochs and the
 * synthetic count are not compared (tests change them; a resume may extend the epochs).
 */
function quickstartConfigDifference(config: unknown, dataDir: string): string | null {
  const s = QUICKSTART_SETTINGS;
  const expected: Array<[string, unknown]> = [
    ['format', RUN_FORMAT],
    ['dataset.kind', s.dataset],
    ['dataset.data', dataDir],
    ['model.name', s.model],
    ['model.inputShape', [...s.inputSize, 1]],
    ['model.width', s.width],
    ['model.bnMomentum', s.bnMomentum],
    ['loss.name', s.loss],
    ['optimizer.name', s.optimizer.name],
    ['optimizer.learningRate', s.optimizer.learningRate],
    ['seed', s.seed],
  ];
  for (const [field, want] of expected) {
    const got = field
      .split('.')
      .reduce<unknown>(
        (v, key) =>
          typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined,
        config,
      );
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      return `${field} ${JSON.stringify(got) ?? 'missing'}, a quick start ${JSON.stringify(want)}`;
    }
  }
  return null;
}

/**
 * Makes `out` ready for a new quick start (after `checkQuickstartDir`): writes the marker
 * first, then removes the earlier run's files, keeping its synthetic data, which is reused
 * when unchanged. A kill at any point leaves a folder that `checkQuickstartDir` accepts.
 */
async function prepareQuickstartDir(
  check: QuickstartDirCheck,
  packageInfo: { name: string; version: string },
): Promise<void> {
  await mkdir(check.out, { recursive: true });
  const marker: QuickstartMarker = {
    format: 'ftunet-quickstart',
    version: 1,
    createdAt: new Date().toISOString(),
    package: packageInfo,
  };
  await writeFileAtomic(
    path.join(check.out, QUICKSTART_MARKER),
    `${JSON.stringify(marker, null, 2)}\n`,
  );
  // config.json first: once it is gone, the rest is a quick start killed before its config.
  const order = [...check.remove].sort(
    (a, b) => Number(b === RUN_CONFIG_FILE) - Number(a === RUN_CONFIG_FILE),
  );
  for (const e of order) await rm(path.join(check.out, e), { recursive: true, force: true });
}

export async function quickstart(
  options: QuickstartOptions,
  callbacks: TrainRunCallbacks = {},
): Promise<QuickstartResult> {
  const start = Date.now();
  const check = await checkQuickstartDir(options.out ?? path.join('runs', 'quickstart'));
  const out = check.out;
  await prepareQuickstartDir(check, options.packageInfo);
  const s = QUICKSTART_SETTINGS;
  const trainResult = await train(
    {
      out,
      dataset: s.dataset,
      syntheticCount: options.count ?? s.syntheticCount,
      model: s.model,
      loss: s.loss,
      inputSize: [...s.inputSize],
      width: s.width,
      epochs: options.epochs ?? s.epochs,
      batchSize: s.batchSize,
      bnMomentum: s.bnMomentum,
      optimizer: { ...s.optimizer },
      seed: s.seed,
      backend: options.backend,
      ...(options.workers !== undefined ? { workers: options.workers } : {}),
      packageInfo: options.packageInfo,
    },
    callbacks,
  );
  const workers = options.workers !== undefined ? { workers: options.workers } : {};
  const evaluation = await evaluateRun({
    run: out,
    ...workers,
    // ONNX Runtime when it is installed (much faster inference), else TensorFlow.js.
    engine: inferenceEngineFactory(workers),
  });
  const report = await writeRunReport({
    run: out,
    generator: `${options.packageInfo.name} ${options.packageInfo.version}`,
    ...(callbacks.onWarning ? { onWarning: callbacks.onWarning } : {}),
  });
  return { out, train: trainResult, evaluation, report, seconds: (Date.now() - start) / 1000 };
}
