/**
 * `ftunet evaluate`: scores a trained model on test images at their original size and writes
 * `metrics.csv` (one row per image) and `summary.json` (mean and std of each metric).
 * A thin shell over `evaluateRun` and `evaluateSavedModel` (src/eval/run.ts), and with `--pred`
 * over `evaluatePredictions` (src/eval/predictions.ts).
 */
import path from 'node:path';
import type { Command } from 'commander';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../backend/select.js';
import { DEFAULT_ENGINE, type EngineChoice } from '../../eval/engine.js';
import { openInferenceEngine } from '../../export/onnx_engine.js';
import { UserError } from '../../errors.js';
import { DEFAULT_EVAL_BATCH_SIZE } from '../../eval/evaluate.js';
import { checkFolder } from '../../data/listing.js';
import { readRunConfig } from '../../run/config.js';
import type { DatasetSourceKind } from '../../data/dataset.js';
import { datasetLayout } from '../../data/presets.js';
import { commonMirrors, type Mirrors, type TtaChoice } from '../../eval/ensemble.js';
import {
  evaluatePredictions,
  evaluateRun,
  evaluateSavedModel,
  type EvaluationProgress,
  type EvaluationReport,
} from '../../eval/run.js';
import { resolveModelSource } from '../../eval/model_source.js';
import { readExportMetadata, trainedMirrors } from '../../export/read.js';
import { DEFAULT_THRESHOLD } from '../../eval/score.js';
import { describeSummaryMetrics, formatEvaluationSummary } from '../../eval/evaluation_summary.js';
import type { Interpolation } from '../../util/raster.js';
import { writeRunReport } from '../../report/run_report.js';
import { FLAGS, flagOption, surfaceOptionsFromFlags } from '../flags.js';
import type { EmptyDistancePolicy, PixelSpacing } from '../../metrics/surface_policy.js';
import { parseBatchSize, parseFold } from '../parse.js';
import { DEFAULT_CACHE_HELP } from '../help.js';
import { DEFAULT_INTERPOLATION } from '../../util/raster.js';
import { packageVersion } from '../version.js';
import { writeProgressLine } from '../progress_line.js';

interface EvaluateFlags {
  run?: string;
  model?: string[];
  pred?: string;
  tta?: TtaChoice;
  keepLargest?: boolean;
  minSize?: number;
  emptyDistance?: EmptyDistancePolicy;
  spacing?: PixelSpacing;
  dataset?: DatasetSourceKind;
  data?: string;
  split?: string;
  fold?: number;
  out?: string;
  threshold?: number;
  inputSizeMetrics?: boolean;
  batchSize: number;
  interpolation?: Interpolation;
  maskSuffix?: string;
  cache?: string | false;
  backend?: string;
  engine?: EngineChoice;
  threads?: number;
  workers?: number;
  maxPixels?: number;
  json?: boolean;
  quiet?: boolean;
  report: boolean;
}

export function register(program: Command): void {
  program
    .command('evaluate')
    .description(
      'score a model (or an ensemble, or masks made by any tool) on test images at their ' +
        'original size: metrics.csv (per image, with a quality-control verdict) and ' +
        `summary.json (mean and std of ${describeSummaryMetrics()})`,
    )
    .option(
      '--run <dir>',
      'a run folder of ftunet train: its best model on its fold, into RUN/eval',
    )
    .addOption(flagOption('modelFolders'))
    .option(
      '--pred <dir>',
      "score the masks in this folder instead of a model (any tool's, matched by stem: " +
        '<stem>.png, <stem>_mask.png or <stem>_segmentation.png), with --dataset, --data, --out',
    )
    .addOption(flagOption('dataset', 'with --model or --pred: the data set'))
    .option('--data <dir>', 'the data folder (with --run: in place of the one the run records)')
    .option(
      '--split <file>',
      'with --model: a split file; its test items are scored (default: all items)',
    )
    .option(
      '--fold <k>',
      'with --split: the fold (default 0 when the split has one fold)',
      parseFold,
    )
    .option('--out <dir>', 'folder for metrics.csv and summary.json (default with --run: RUN/eval)')
    .addOption(flagOption('threshold'))
    .option('--input-size-metrics', 'also score at the network input size')
    .addOption(flagOption('tta'))
    .addOption(flagOption('keepLargest'))
    .addOption(flagOption('minSize'))
    .addOption(flagOption('emptyDistance'))
    .addOption(flagOption('spacing'))
    .option('--batch-size <n>', 'images predicted at once', parseBatchSize, DEFAULT_EVAL_BATCH_SIZE)
    .addOption(
      flagOption(
        'interpolation',
        "with --model: image resizing (default: the run's, else the one an exported model " +
          `records, else ${DEFAULT_INTERPOLATION})`,
      ),
    )
    .option('--mask-suffix <suffix>', "with --dataset folder: the end of a mask's name stem")
    .option(
      '--cache <dir>',
      `preprocessing cache folder (default: the run's, else ${DEFAULT_CACHE_HELP})`,
    )
    .option('--no-cache', 'decode every file; neither read nor write the cache')
    .addOption(flagOption('backend'))
    .addOption(flagOption('engine'))
    .addOption(flagOption('threads'))
    .addOption(flagOption('workers', 'with --engine tfjs: ' + FLAGS.workers.description))
    .addOption(flagOption('maxPixels'))
    .option('--json', 'print summary.json instead of the table')
    .option('--quiet', 'no progress or backend line on stderr')
    .option('--no-report', 'with --run: do not write RUN/report.html (see ftunet report)')
    .action(async (flags: EvaluateFlags) => {
      const warn = warnOnce();
      const report = await runEvaluate(flags, warn);
      // With --run, the run's HTML report is refreshed from this evaluation.
      const page =
        flags.run !== undefined && flags.report
          ? await writeRunReport({
              run: flags.run,
              evalDir: report.files.dir,
              generator: `focal-tversky-unet ${packageVersion()}`,
              ...(flags.data !== undefined ? { data: flags.data } : {}),
              ...(typeof flags.cache === 'string' || flags.cache === false
                ? { cache: flags.cache }
                : {}),
              ...(flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {}),
              onWarning: warn,
            })
          : undefined;
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report.summary)}\n`);
        return;
      }
      const written = [report.files.metrics, report.files.summary];
      if (page !== undefined) written.push(page.file);
      const lines = [
        ...formatEvaluationSummary(report.summary),
        `wrote ${written.slice(0, -1).join(', ')} and ${written[written.length - 1]}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** Checks the flag combination and runs the right entry point. */
async function runEvaluate(
  flags: EvaluateFlags,
  warn: (message: string) => void,
): Promise<EvaluationReport> {
  const sources = [flags.run, flags.model, flags.pred].filter((v) => v !== undefined).length;
  if (sources !== 1) {
    throw new UserError(
      'evaluate: give one of --run RUN_DIR, --model DIR or --pred DIR (with --dataset, --data ' +
        'and --out)',
    );
  }
  const postprocess = {
    ...(flags.keepLargest ? { keepLargest: true } : {}),
    ...(flags.minSize !== undefined ? { minSize: flags.minSize } : {}),
  };
  if (flags.pred !== undefined) return runEvaluatePredictions(flags, postprocess, warn);
  const cache = flags.cache;
  const common = {
    batchSize: flags.batchSize,
    postprocess,
    surface: surfaceOptionsFromFlags(flags),
    ...(flags.tta !== undefined ? { tta: flags.tta } : {}),
    inputSizeMetrics: flags.inputSizeMetrics ?? false,
    ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
    ...(flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {}),
    onWarning: warn,
    ...(flags.quiet ? {} : { onProgress: progressLine }),
    ...(cache !== undefined ? { cache } : {}),
    engine: async (model: LayersModel, images: number) => {
      const engine = await openInferenceEngine(model, {
        engine: flags.engine ?? DEFAULT_ENGINE,
        images,
        ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      });
      return engine;
    },
    onEngine: (description: string) => {
      if (!flags.quiet) process.stderr.write(`ftunet evaluate: engine: ${description}\n`);
    },
  };
  if (flags.run !== undefined) {
    for (const [name, value] of [
      ['--dataset', flags.dataset],
      ['--split', flags.split],
      ['--fold', flags.fold],
      ['--interpolation', flags.interpolation],
      ['--mask-suffix', flags.maskSuffix],
    ] as const) {
      if (value !== undefined) {
        throw new UserError(`${name}: not used with --run (the run's config.json records it)`);
      }
    }
    // The run folder is checked before the backend starts, whose line would come first.
    await readRunConfig(path.resolve(flags.run));
    await startBackend(flags);
    return evaluateRun({
      ...common,
      ...(flags.threshold !== undefined ? { threshold: flags.threshold } : {}),
      run: flags.run,
      ...(flags.data !== undefined ? { data: flags.data } : {}),
      ...(flags.out !== undefined ? { out: flags.out } : {}),
    });
  }
  for (const [name, value] of [
    ['--dataset', flags.dataset],
    ['--data', flags.data],
    ['--out', flags.out],
  ] as const) {
    if (value === undefined) throw new UserError(`${name}: required with --model`);
  }
  const dataset = flags.dataset!;
  if (flags.fold !== undefined && flags.split === undefined) {
    throw new UserError('--fold: applies to a split file; give --split FILE too');
  }
  if (flags.maskSuffix !== undefined && dataset !== 'folder') {
    throw new UserError(`--mask-suffix: applies to --dataset folder only, not ${dataset}`);
  }
  const { fold } = flags;
  // The folders the flags name are checked before the backend starts (see above).
  const models = flags.model!;
  const source = await resolveModelSource(models[0]);
  // The mirrors each model was trained with (its run's, or its export's), for --tta.
  const members = [source];
  for (const dir of models.slice(1)) members.push(await resolveModelSource(dir));
  const mirrors: Array<Mirrors | undefined> = [];
  if ((flags.tta ?? 'none') !== 'none') {
    for (const m of members) mirrors.push(await trainedMirrors(m));
  }
  const trained = mirrors.length > 0 ? commonMirrors(mirrors) : undefined;
  // An exported folder records the threshold and resizing it was exported with (the first
  // model's, for an ensemble).
  const recorded = (await readExportMetadata(source.modelDir))?.predict;
  const interpolation = flags.interpolation ?? recorded?.interpolation;
  await checkFolder(datasetLayout(dataset), path.resolve(flags.data!));
  await startBackend(flags);
  return evaluateSavedModel({
    ...common,
    model: models,
    ...(trained !== undefined ? { trainedMirrors: trained } : {}),
    dataset,
    data: flags.data!,
    out: flags.out!,
    threshold: flags.threshold ?? recorded?.threshold ?? DEFAULT_THRESHOLD,
    ...(flags.split !== undefined ? { split: flags.split } : {}),
    ...(fold !== undefined ? { fold } : {}),
    ...(interpolation !== undefined ? { interpolation } : {}),
    ...(flags.maskSuffix !== undefined ? { maskSuffix: flags.maskSuffix } : {}),
  });
}

/** `evaluate --pred`: masks made elsewhere, scored with no model and no backend. */
async function runEvaluatePredictions(
  flags: EvaluateFlags,
  postprocess: { keepLargest?: boolean; minSize?: number },
  warn: (message: string) => void,
): Promise<EvaluationReport> {
  for (const [name, value] of [
    ['--dataset', flags.dataset],
    ['--data', flags.data],
    ['--out', flags.out],
  ] as const) {
    if (value === undefined) throw new UserError(`${name}: required with --pred`);
  }
  for (const [name, value] of [
    ['--threshold', flags.threshold],
    ['--tta', flags.tta],
    ['--interpolation', flags.interpolation],
    ['--input-size-metrics', flags.inputSizeMetrics],
    ['--engine', flags.engine],
  ] as const) {
    if (value !== undefined) {
      throw new UserError(`${name}: not used with --pred (the masks are scored as they are)`);
    }
  }
  if (flags.fold !== undefined && flags.split === undefined) {
    throw new UserError('--fold: applies to a split file; give --split FILE too');
  }
  if (flags.maskSuffix !== undefined && flags.dataset !== 'folder') {
    throw new UserError(`--mask-suffix: applies to --dataset folder only, not ${flags.dataset}`);
  }
  await checkFolder('--pred', path.resolve(flags.pred!));
  await checkFolder(datasetLayout(flags.dataset!), path.resolve(flags.data!));
  return evaluatePredictions({
    pred: flags.pred!,
    dataset: flags.dataset!,
    data: flags.data!,
    out: flags.out!,
    postprocess,
    surface: surfaceOptionsFromFlags(flags),
    onWarning: warn,
    ...(flags.split !== undefined ? { split: flags.split } : {}),
    ...(flags.fold !== undefined ? { fold: flags.fold } : {}),
    ...(flags.maskSuffix !== undefined ? { maskSuffix: flags.maskSuffix } : {}),
    ...(flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {}),
    ...(flags.quiet ? {} : { onProgress: progressLine }),
  });
}

async function startBackend(flags: EvaluateFlags): Promise<void> {
  await initBackend({
    ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
    ...(flags.quiet
      ? {}
      : { report: (line: string) => process.stderr.write(`ftunet evaluate: ${line}\n`) }),
  });
}

/**
 * Writes each distinct warning once. The report loads the data set that the evaluation loaded,
 * and the loader's warnings (files skipped as not images) would otherwise show twice.
 */
function warnOnce(): (message: string) => void {
  const seen = new Set<string>();
  return (message) => {
    if (seen.has(message)) return;
    seen.add(message);
    process.stderr.write(`ftunet evaluate: warning: ${message}\n`);
  };
}

/** Progress on stderr, only for a terminal (logs and pipes get the result alone). */
function progressLine(p: EvaluationProgress): void {
  if (!process.stderr.isTTY) return;
  writeProgressLine(
    process.stderr,
    `ftunet evaluate: ${p.phase} ${p.done}/${p.total}`,
    p.done === p.total,
  );
}
