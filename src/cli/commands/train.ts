/**
 * `ftunet train`: trains a network on a data set with the paper's protocol, writing a run
 * folder (see src/run/train.ts); `--resume RUN_DIR` continues a run.
 */
import type { Command } from 'commander';
import { initBackend } from '../../backend/select.js';
import { UserError } from '../../errors.js';
import { datasetPreset } from '../../data/presets.js';
import { validateInputShape } from '../../models/options.js';
import { foldEnsembleHint } from '../../eval/fold_ensemble.js';
import { resume, train, type TrainRunOptions, type TrainRunResult } from '../../run/train.js';
import { describeStop } from '../../train/trainer.js';
import { interrupts } from '../interrupt.js';
import { ftunetCommand } from '../../util/shell.js';
import { trainProgress } from '../train_progress.js';
import {
  addFlags,
  FLAGS,
  SETTING_ATTRIBUTES,
  settingAttribute,
  type FlagName,
  type FlagValues,
} from '../flags.js';
import {
  optionsOfSettings,
  SETTING_NAMES,
  TRAIN_SETTINGS,
  type SettingValues,
} from '../../run/settings_schema.js';
import { integer } from '../parse.js';
import { packageVersion } from '../version.js';

/** The parsed flags of `ftunet train` (undefined: not given). */
export interface TrainFlags extends FlagValues {
  out?: string;
  resume?: string;
  folds?: number;
  split?: string;
}

/** What `train` gets from the flags (all but the backend and the package): given ones only. */
export type TrainFlagOptions = Omit<TrainRunOptions, 'backend' | 'packageInfo'>;

/**
 * The options of `train` from the parsed flags of a new run: each setting's flag given becomes
 * its option (see `TRAIN_SETTINGS`), a flag left out stays out so that `train` fills the
 * library's default. Pure. Throws a `UserError` without --dataset or --out, or for an input
 * shape the network cannot take.
 */
export function trainOptionsFromFlags(f: TrainFlags): TrainFlagOptions {
  if (f.dataset === undefined) throw new UserError('--dataset is required (or --resume RUN_DIR)');
  if (f.out === undefined) throw new UserError('--out is required: the run folder to create');
  const preset = datasetPreset(f.dataset);
  validateInputShape(
    [...(f.inputSize ?? preset.inputSize), f.channels ?? preset.channels],
    '--input-size',
  );
  return {
    ...optionsOfSettings(settingsFromFlags(f)),
    out: f.out,
    dataset: f.dataset,
    ...defined({ splitFile: f.split, folds: f.folds }),
  };
}

/** The settings whose flags were given, by setting name. */
function settingsFromFlags(f: TrainFlags): Partial<SettingValues> {
  const given: Record<string, unknown> = {};
  for (const [attribute, name] of SETTING_ATTRIBUTES) {
    const value = (f as Record<string, unknown>)[attribute];
    if (value !== undefined) given[name] = value;
  }
  return given as Partial<SettingValues>;
}

/** `object` without its undefined fields (which would override the library's defaults). */
function defined<T extends object>(object: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

/** The flags of the settings, in the schema's order: `--no-cache` follows `--cache`. */
const SETTING_FLAG_NAMES: FlagName[] = SETTING_NAMES.flatMap((name) => {
  const attribute = settingAttribute(name) as FlagName | undefined;
  if (attribute === undefined) return [];
  return attribute === 'cache' ? ['cache', 'noCache'] : [attribute];
});

export function register(program: Command): void {
  const command = program
    .command('train')
    .description("train a network with the paper's protocol; writes a run folder")
    .option('--out <dir>', 'run folder to create')
    .option(
      '--resume <dir>',
      'continue the run in this folder from its last finished epoch (from the start if none ' +
        'finished), with its recorded settings and worker count; one process at a time ' +
        '(RUN_DIR/train.lock)',
    );
  addFlags(command, SETTING_FLAG_NAMES, {
    epochs: `${FLAGS.epochs.description}; with --resume: train the run to n epochs`,
  });
  command
    .option('--folds <k>', 'make a k-fold split instead of the 75/25 holdout', integer(2))
    .option('--split <file>', 'use this split file (from an earlier run or ablation)');
  addFlags(command, ['backend', 'quiet', 'json']);
  command.action(async (flags: TrainFlags, cmd: Command) => {
    const report = flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
    if (flags.resume !== undefined) {
      refuseChangedSettings(cmd);
      const options = optionsOfSettings(resumeSettingsFromFlags(flags));
      const backend = await initBackend({ ...defined({ backend: flags.backend }), report });
      const progress = interrupts.stoppable(
        trainProgress(flags),
        ftunetCommand(['train', '--resume', flags.resume]),
      );
      const result = await resume(flags.resume, backend.name, progress, options);
      await finish(result, flags, flags.resume);
      return;
    }
    // Every flag is checked before the backend starts (and prints its line).
    const options = trainOptionsFromFlags(flags);
    const backend = await initBackend({ ...defined({ backend: flags.backend }), report });
    const progress = interrupts.stoppable(
      trainProgress(flags),
      ftunetCommand(['train', '--resume', options.out]),
    );
    const result = await train(
      {
        ...options,
        backend: backend.name,
        packageInfo: { name: 'focal-tversky-unet', version: packageVersion() },
      },
      progress,
    );
    await finish(result, flags, options.out);
  });
}

/** The settings that `--resume` may change (`resume: true` in the schema). */
const RESUME_SETTINGS = SETTING_NAMES.filter((name) => TRAIN_SETTINGS[name].resume);

/** The flags that `--resume` takes; every other setting is the run's own (its config.json). */
const RESUME_FLAGS = new Set<string>([
  'resume',
  ...RESUME_SETTINGS.flatMap((name) => settingAttribute(name) ?? []),
  'backend',
  'quiet',
  'json',
]);

/** The settings of `--resume` given on the command line. */
function resumeSettingsFromFlags(f: TrainFlags): Partial<SettingValues> {
  const all = settingsFromFlags(f) as Record<string, unknown>;
  return Object.fromEntries(
    RESUME_SETTINGS.filter((name) => all[name] !== undefined).map((name) => [name, all[name]]),
  ) as Partial<SettingValues>;
}

/** Refuses training flags given with --resume, naming them. */
function refuseChangedSettings(command: Command): void {
  const given = command.options
    .filter((o) => !RESUME_FLAGS.has(o.attributeName()))
    .filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli')
    .map((o) => o.long ?? o.flags);
  if (given.length > 0) {
    const allowed = [...RESUME_FLAGS].filter((f) => f !== 'resume');
    const flagOf = (attribute: string) =>
      command.options.find((o) => o.attributeName() === attribute)?.long ?? attribute;
    throw new UserError(
      `--resume continues a run with the settings in its config.json: ` +
        `${[...new Set(given)].join(', ')} cannot be changed (with --resume: ` +
        `${allowed.map((a) => (a === 'epochs' ? '--epochs N to train to N epochs' : flagOf(a))).join(', ')})`,
    );
  }
}

async function finish(result: TrainRunResult, flags: TrainFlags, runDir: string): Promise<void> {
  if (flags.quiet || flags.json) return;
  if (result.stopped !== undefined) {
    process.stderr.write(`ftunet train: ${describeStop(result.stopped)}\n`);
  }
  process.stderr.write(
    `ftunet train: done; best validation DSC ${result.bestScore.toFixed(4)} at epoch ${result.bestEpoch}\n`,
  );
  const ensemble = await foldEnsembleHint(runDir, result.config);
  if (ensemble !== undefined) process.stderr.write(`ftunet train: ${ensemble}\n`);
}
