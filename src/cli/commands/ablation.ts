/**
 * `ftunet ablation`: the seven rows of the paper's Tables 1-2, each trained and evaluated on
 * every fold of one shared split, as independent units that can be selected (--variant,
 * --fold, --shard) and resumed. A thin shell over `runAblation` (src/ablation/run.ts) and
 * `ablationReport` (src/ablation/table_files.ts).
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { describeLock, parseDuration } from '../../ablation/lock.js';
import { ablationReport } from '../../ablation/table_files.js';
import { runAblation, type AblationCallbacks, type UnitOutcome } from '../../ablation/run.js';
import type { AblationSettingsInput } from '../../ablation/settings.js';
import {
  parseFoldList,
  parseShard,
  parseVariantList,
  type AblationUnit,
  type UnitSelection,
} from '../../ablation/units.js';
import { ABLATION_VARIANT_IDS, ablationVariant } from '../../ablation/variants.js';
import { parseChannels, parseInputSize } from '../../data/presets.js';
import { parseCount } from '../../data/synthetic/generate.js';
import { UserError } from '../../errors.js';
import { parseBatchSize } from '../../eval/options.js';
import { parseOptimizerName } from '../../train/optimizer.js';
import { DATASET_SOURCE_KINDS, parseDatasetSourceKind } from '../../data/presets.js';
import type { EpochLog } from '../../train/trainer.js';
import { parseSeed } from '../../util/rng.js';
import { interrupts, shellQuote } from '../interrupt.js';
import { parsePositiveNumber, WORKERS_HELP, workersOption } from '../parse.js';
import { packageVersion } from '../version.js';
import { DEFAULT_CACHE_HELP } from '../help.js';

interface AblationFlags {
  dataset?: string;
  data?: string;
  folds?: string;
  out?: string;
  epochs?: string;
  batchSize?: string;
  microBatch: string;
  workers?: string;
  inputSize?: string;
  channels?: string;
  width?: string;
  bnMomentum?: string;
  optimizer?: string;
  lr?: string;
  decay?: string;
  momentum?: string;
  valFraction?: string;
  seed?: string;
  count?: string;
  maskSuffix?: string;
  backend?: string;
  cache: string | boolean;
  variant?: string;
  fold?: string;
  shard?: string;
  lockTimeout: string;
  wait: boolean;
  quiet?: boolean;
}

/** A finite number (range checks follow in the library, naming the flag). */
function parseNumber(text: string, flag: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) {
    throw new UserError(`${flag}: expected a number, got '${text}'`);
  }
  return v;
}

/** The settings given on the command line; left-out ones stay undefined (see settings.ts). */
function settingsFromFlags(f: AblationFlags): AblationSettingsInput {
  const s: AblationSettingsInput = {};
  if (f.dataset !== undefined) s.dataset = parseDatasetSourceKind(f.dataset, '--dataset');
  if (f.data !== undefined) s.data = f.data;
  if (f.folds !== undefined) s.folds = parseCount(f.folds, '--folds');
  if (f.epochs !== undefined) s.epochs = parseCount(f.epochs, '--epochs');
  if (f.batchSize !== undefined) s.batchSize = parseBatchSize(f.batchSize, '--batch-size');
  if (f.inputSize !== undefined) s.inputSize = parseInputSize(f.inputSize, '--input-size');
  if (f.channels !== undefined) s.channels = parseChannels(f.channels, '--channels');
  if (f.width !== undefined) s.width = parsePositiveNumber(f.width, '--width');
  if (f.bnMomentum !== undefined) s.bnMomentum = parseNumber(f.bnMomentum, '--bn-momentum');
  if (f.optimizer !== undefined) s.optimizer = parseOptimizerName(f.optimizer, '--optimizer');
  if (f.lr !== undefined) s.learningRate = parsePositiveNumber(f.lr, '--lr');
  if (f.decay !== undefined) s.decay = parseNumber(f.decay, '--decay');
  if (f.momentum !== undefined) s.momentum = parseNumber(f.momentum, '--momentum');
  if (f.valFraction !== undefined) s.valFraction = parseNumber(f.valFraction, '--val-fraction');
  if (f.seed !== undefined) s.seed = parseSeed(f.seed, '--seed');
  if (f.count !== undefined) s.syntheticCount = parseCount(f.count, '--count');
  if (f.maskSuffix !== undefined) s.maskSuffix = f.maskSuffix;
  return s;
}

function selectionFromFlags(f: AblationFlags): UnitSelection {
  return {
    ...(f.variant !== undefined ? { variants: parseVariantList(f.variant, '--variant') } : {}),
    ...(f.fold !== undefined ? { folds: parseFoldList(f.fold, '--fold') } : {}),
    ...(f.shard !== undefined ? { shard: parseShard(f.shard, process.env, '--shard') } : {}),
  };
}

export function register(program: Command): void {
  program
    .command('ablation')
    .description(
      "the paper's ablation (Tables 1-2): 7 variants x k folds of one shared split, each " +
        'trained and evaluated in its own unit folder; finished units are skipped, so a study ' +
        'resumes and can be spread over machines sharing DIR (--shard)',
    )
    .option('--out <dir>', 'the study folder (made on the first run, continued after)')
    .option('--dataset <name>', `data set: ${DATASET_SOURCE_KINDS.join(', ')}`)
    .option(
      '--data <dir>',
      'data folder (synthetic data sets: where to write them, default DIR/data)',
    )
    .option('--folds <k>', 'folds of the shared k-fold split (default 5)')
    .option('--epochs <n>', 'epochs per unit (default: bus 100, isic2018 50)')
    .option('--batch-size <n>', 'images per update (default: bus 16, isic2018 8)')
    .option(
      '--input-size <h,w>',
      'network input rows,cols (default: bus 128,128; isic2018 192,256)',
    )
    .option('--channels <c>', '1 (grey) or 3 (RGB) (default: bus 1, isic2018 3)')
    .option('--width <multiplier>', 'width multiplier of every filter count (default 1)')
    .option('--bn-momentum <m>', 'BatchNormalization momentum (default 0.99; 0.9 suits short runs)')
    .option('--optimizer <name>', 'sgd or adam (default sgd)')
    .option('--lr <rate>', 'initial learning rate (default: sgd 0.01, adam 0.001)')
    .option('--decay <d>', 'Keras time decay per update (default 1e-6)')
    .option('--momentum <m>', 'SGD momentum (default 0.9)')
    .option(
      '--val-fraction <f>',
      "fraction of each fold's training items for validation (default 0.15)",
    )
    .option('--seed <s>', 'seed of the split, weights, order and synthetic data (default 0)')
    .option('--count <n>', 'synthetic data sets: number of items (default: bus 163, isic 200)')
    .option('--mask-suffix <s>', "folder data sets: mask file stem suffix, e.g. '_segmentation'")
    .option('--variant <ids>', `run only these variants: ${ABLATION_VARIANT_IDS.join(', ')}`)
    .option('--fold <ks>', 'run only these folds, e.g. 0,2')
    .option(
      '--shard <i/n>',
      'run shard I of N (units dealt round-robin); auto/N takes I from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX',
    )
    .option(
      '--micro-batch <n>',
      "images per forward/backward pass, or 'auto' (what fits in memory)",
      'auto',
    )
    .option('--workers <n>', WORKERS_HELP)
    .option('--backend <name>', 'auto, wasm, cpu or tensorflow (default: $FTUNET_BACKEND or auto)')
    .option('--cache <dir>', `preprocessing cache folder (default: ${DEFAULT_CACHE_HELP})`)
    .option('--no-cache', 'do not use the preprocessing cache')
    .option(
      '--lock-timeout <duration>',
      "a unit's lock not refreshed for this long is taken over (e.g. 30m, 6h)",
      '3h',
    )
    .option(
      '--no-wait',
      'do not wait for selected units that other processes hold; exit when the own ones are done',
    )
    .option('--quiet', 'print nothing but errors')
    .addHelpText(
      'after',
      [
        '',
        'Units: DIR/units/<variant>/fold-<k>/, a run folder each; finished once it has',
        'eval/summary.json. --shard deals the units left by --variant and --fold.',
        'The study settings (data set, folds, training flags) are fixed by the first run',
        '(DIR/study.json); later runs may leave them out. Processes sharing DIR each take',
        'the units nobody holds, then wait for the selected units that others hold (taking',
        'over any that is released unfinished or goes stale), so each ends with the',
        'selection finished. Exit code 0 when every selected unit is finished, 2 otherwise.',
        'Merge the finished units: ftunet ablation-report DIR',
      ].join('\n'),
    )
    .action(async (flags: AblationFlags) => {
      if (flags.out === undefined) throw new UserError('--out is required: the study folder');
      const settings = settingsFromFlags(flags);
      const selection = selectionFromFlags(flags);
      const lockTimeoutMs = parseDuration(flags.lockTimeout, '--lock-timeout');
      const microBatch =
        flags.microBatch === 'auto' ? 'auto' : parseBatchSize(flags.microBatch, '--micro-batch');
      const workers = workersOption(flags.workers);
      const say = (line: string) => {
        if (!flags.quiet) process.stderr.write(`ftunet ablation: ${line}\n`);
      };
      const backend = await initBackend({
        ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
        report: say,
      });
      const result = await runAblation(
        {
          out: flags.out,
          settings,
          selection,
          microBatch,
          ...workers,
          ...(flags.cache === false ? { cache: false } : {}),
          ...(typeof flags.cache === 'string' ? { cache: flags.cache } : {}),
          backend: backend.name,
          packageInfo: { name: 'focal-tversky-unet', version: packageVersion() },
          lockTimeoutMs,
          wait: flags.wait,
        },
        interrupts.stoppable(progress(flags, say), continueCommand(flags)),
      );
      const report = await ablationReport(result.study.dir);
      const count = (status: UnitOutcome['status']) =>
        result.outcomes.filter((o) => o.status === status).length;
      const busy = count('busy');
      const failed = count('failed');
      const t = report.table;
      say(
        `${result.outcomes.length} selected unit(s): ${count('done')} done now, ` +
          `${count('finished-before')} finished before, ` +
          `${count('finished-elsewhere')} finished by other processes, ${busy} busy elsewhere, ` +
          `${failed} failed; ` +
          `study: ${t.units.finished} of ${t.units.total} units done, ${t.missing.length} missing; ` +
          `report: ${report.files.md}`,
      );
      if (!result.complete) {
        throw new UserError(
          `ablation: ${busy + failed} of ${result.outcomes.length} selected unit(s) not finished ` +
            `(${busy} locked by another process, ${failed} failed; see above)`,
        );
      }
    });
}

/** The command that continues this selection of units (the settings are in DIR/study.json). */
function continueCommand(f: AblationFlags): string {
  const args = ['ftunet', 'ablation', '--out', f.out ?? ''];
  const selection = { variant: f.variant, fold: f.fold, shard: f.shard };
  for (const [name, value] of Object.entries({
    ...selection,
    backend: f.backend,
    workers: f.workers,
  })) {
    if (value !== undefined) args.push(`--${name}`, value);
  }
  return args.map(shellQuote).join(' ');
}

function describeUnit(unit: AblationUnit): string {
  return `${unit.variant} fold ${unit.fold}`;
}

function formatEpoch(unit: AblationUnit, log: EpochLog, epochs: number): string {
  const final = (m: EpochLog['train']) => m.outputs.final?.dsc ?? Number.NaN;
  const val = log.val
    ? `  val loss ${log.val.loss.toFixed(4)} soft dsc (final) ${final(log.val).toFixed(4)}`
    : '';
  return (
    `  ${describeUnit(unit)} epoch ${log.epoch}/${epochs}  loss ${log.train.loss.toFixed(4)} ` +
    `soft dsc (final) ${final(log.train).toFixed(4)}${val}  ${log.seconds.toFixed(1)}s${log.best ? '  (best)' : ''}`
  );
}

/** Progress lines on stderr: one per unit start and end, one per epoch. */
function progress(flags: AblationFlags, say: (line: string) => void): AblationCallbacks {
  const tty = Boolean(process.stderr.isTTY) && !flags.quiet;
  const clear = () => {
    if (tty) process.stderr.write('\r\x1b[K');
  };
  return {
    onInfo: say,
    onWarning: (line) => process.stderr.write(`ftunet ablation: warning: ${line}\n`),
    onWait: (busy) => {
      const list = busy.map((b) => `${describeUnit(b.unit)} (${describeLock(b.heldBy)})`);
      say(
        `waiting for ${busy.length} unit(s) that other processes hold: ${list.join('; ')} ` +
          '(--no-wait exits instead)',
      );
    },
    onUnitStart: (unit, i, n, action) => {
      const v = ablationVariant(unit.variant);
      say(`unit ${i}/${n} ${describeUnit(unit)} (${v.label}: ${v.model}, ${v.loss}): ${action}`);
    },
    onStep: (unit, p) => {
      if (!tty) return;
      process.stderr.write(
        `\r\x1b[K  ${describeUnit(unit)} epoch ${p.epoch} step ${p.step}/${p.steps} ` +
          `loss ${p.loss.toFixed(4)} soft dsc (final) ${p.dsc.toFixed(4)}`,
      );
    },
    onEpoch: (unit, log, epochs) => {
      clear();
      if (!flags.quiet) process.stderr.write(`${formatEpoch(unit, log, epochs)}\n`);
    },
    onUnitEnd: (o, i, n) => {
      const head = `unit ${i}/${n} ${describeUnit(o.unit)}`;
      switch (o.status) {
        case 'finished-before':
          say(`${head}: finished before, skipped`);
          return;
        case 'finished-elsewhere':
          say(`${head}: finished by another process`);
          return;
        case 'done': {
          const s = o.summary;
          say(
            `${head}: DSC ${s.dsc.mean.toFixed(3)}, precision ${s.precision.mean.toFixed(3)}, ` +
              `recall ${s.recall.mean.toFixed(3)} (means over ${s.count} test images), ` +
              `${o.seconds.toFixed(1)}s`,
          );
          return;
        }
        case 'busy':
          say(`${head}: skipped, locked by ${describeLock(o.heldBy)}`);
          return;
        case 'failed':
          process.stderr.write(`ftunet ablation: ${head}: failed: ${o.message}\n`);
          return;
        default:
          throw new Error(
            `unknown unit status '${String((o as UnitOutcome).status)}'; expected ` +
              'finished-before, finished-elsewhere, done, busy or failed',
          );
      }
    },
  };
}
