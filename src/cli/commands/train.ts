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
import { addFlags, AUGMENT_FLAG_NAMES, augmentFlagName, FLAGS, type FlagValues } from '../flags.js';
import { AUGMENT_TRANSFORMS } from '../../data/augment.js';
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
 * The options of `train` from the parsed flags of a new run: each flag given becomes its
 * field, a flag left out stays out so that `train` fills the library's default. Pure. Throws
 * a `UserError` without --dataset or --out, or for an input shape the network cannot take.
 */
export function trainOptionsFromFlags(f: TrainFlags): TrainFlagOptions {
  if (f.dataset === undefined) throw new UserError('--dataset is required (or --resume RUN_DIR)');
  if (f.out === undefined) throw new UserError('--out is required: the run folder to create');
  const preset = datasetPreset(f.dataset);
  validateInputShape(
    [...(f.inputSize ?? preset.inputSize), f.channels ?? preset.channels],
    '--input-size',
  );
  const optimizer = defined({
    name: f.optimizer,
    learningRate: f.lr,
    decay: f.decay,
    momentum: f.momentum,
  });
  const schedule = defined({
    name: f.schedule,
    warmupEpochs: f.warmup,
    plateauPatience: f.plateauPatience,
    plateauFactor: f.plateauFactor,
  });
  const augmentTransforms = defined(
    Object.fromEntries(AUGMENT_TRANSFORMS.map((name) => [name, f[augmentFlagName(name)]])),
  );
  return {
    out: f.out,
    dataset: f.dataset,
    ...definedFields(f),
    ...(Object.keys(optimizer).length > 0 ? { optimizer } : {}),
    ...(Object.keys(schedule).length > 0 ? { schedule } : {}),
    ...(Object.keys(augmentTransforms).length > 0 ? { augmentTransforms } : {}),
  };
}

/** The fields of `TrainRunOptions` that map one to one from a flag. */
function definedFields(f: TrainFlags): Partial<TrainFlagOptions> {
  return defined({
    data: f.data,
    model: f.model,
    width: f.width,
    bnMomentum: f.bnMomentum,
    inputSize: f.inputSize,
    channels: f.channels,
    interpolation: f.interpolation,
    maskSuffix: f.maskSuffix,
    cache: f.cache,
    loss: f.loss,
    alpha: f.alpha,
    beta: f.beta,
    gamma: f.gamma,
    weights: f.lossWeights,
    objectiveScope: f.objectiveScope,
    epochs: f.epochs,
    patience: f.patience,
    augment: f.augment,
    batchSize: f.batchSize,
    microBatch: f.microBatch,
    workers: f.workers,
    seed: f.seed,
    splitFile: f.split,
    folds: f.folds,
    fold: f.fold,
    valFraction: f.valFraction,
    testFraction: f.testFraction,
    syntheticCount: f.count,
    maxPixels: f.maxPixels,
  });
}

/** `object` without its undefined fields (which would override the library's defaults). */
function defined<T extends object>(object: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

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
  addFlags(command, ['dataset', 'data', 'model', 'loss']);
  addFlags(command, ['epochs'], {
    epochs: `${FLAGS.epochs.description}; with --resume: train the run to n epochs`,
  });
  addFlags(command, [
    'batchSize',
    'microBatch',
    'workers',
    'inputSize',
    'channels',
    'width',
    'bnMomentum',
    'alpha',
    'beta',
    'gamma',
    'lossWeights',
    'objectiveScope',
    'optimizer',
    'lr',
    'decay',
    'momentum',
    'schedule',
    'warmup',
    'plateauPatience',
    'plateauFactor',
    'patience',
    'augment',
    ...AUGMENT_FLAG_NAMES,
    'valFraction',
    'testFraction',
  ]);
  command
    .option('--folds <k>', 'make a k-fold split instead of the 75/25 holdout', integer(2))
    .option('--split <file>', 'use this split file (from an earlier run or ablation)');
  addFlags(command, [
    'fold',
    'seed',
    'backend',
    'cache',
    'noCache',
    'maskSuffix',
    'interpolation',
    'maxPixels',
    'count',
    'quiet',
    'json',
  ]);
  command.action(async (flags: TrainFlags, cmd: Command) => {
    const report = flags.quiet ? undefined : (line: string) => process.stderr.write(`${line}\n`);
    if (flags.resume !== undefined) {
      refuseChangedSettings(cmd);
      const options = defined({
        workers: flags.workers,
        maxPixels: flags.maxPixels,
        epochs: flags.epochs,
      });
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

/** The flags that `--resume` takes; every other setting is the run's own (its config.json). */
const RESUME_FLAGS = new Set([
  'resume',
  'epochs',
  'workers',
  'backend',
  'maxPixels',
  'quiet',
  'json',
]);

/** Refuses training flags given with --resume, naming them. */
function refuseChangedSettings(command: Command): void {
  const given = command.options
    .filter((o) => !RESUME_FLAGS.has(o.attributeName()))
    .filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli')
    .map((o) => o.long ?? o.flags);
  if (given.length > 0) {
    throw new UserError(
      `--resume continues a run with the settings in its config.json: ` +
        `${[...new Set(given)].join(', ')} cannot be changed (with --resume: ` +
        '--epochs N to train to N epochs, --workers, --backend, --max-pixels, --quiet, --json)',
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
