/**
 * `ftunet predict`: masks, overlays and (with --attention) attention heat maps for image
 * files. A thin shell over `openModel` and `predictFiles` (src/predict/files.ts).
 */
import { Option, type Command } from 'commander';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../backend/select.js';
import { DEFAULT_ENGINE, type EngineChoice, type InferenceEngine } from '../../eval/engine.js';
import { openInferenceEngine } from '../../export/onnx_engine.js';
import { UserError } from '../../errors.js';
import { openModel, resolveModelSource, type OpenedModel } from '../../eval/model_source.js';
import {
  AveragingEngine,
  checkEnsembleInputs,
  DEFAULT_TTA,
  type TtaMode,
} from '../../eval/ensemble.js';
import { modelInputShape } from '../../eval/evaluate.js';
import { DEFAULT_THRESHOLD } from '../../eval/score.js';
import { readExportMetadata } from '../../export/read.js';
import { attentionGateNames } from '../../models/build.js';
import { listFew, plural } from '../../data/messages.js';
import { DEFAULT_OVERLAY_STYLE, OVERLAY_STYLES, type OverlayStyle } from '../../predict/overlay.js';
import { predictFiles, type PredictProgress } from '../../predict/files.js';
import { DEFAULT_INTERPOLATION, type Interpolation } from '../../util/raster.js';
import { flagOption } from '../flags.js';
import { choice } from '../parse.js';

interface PredictFlags {
  model: string[];
  out: string;
  saveProbabilities?: boolean;
  tta?: TtaMode;
  keepLargest?: boolean;
  minSize?: number;
  attention?: boolean;
  threshold?: number;
  overlay: OverlayStyle;
  interpolation?: Interpolation;
  backend?: string;
  engine?: EngineChoice;
  threads?: number;
  maxPixels?: number;
  json?: boolean;
  quiet?: boolean;
}

export function register(program: Command): void {
  program
    .command('predict')
    .description(
      'predict lesion masks of image files: <stem>_mask.png (0/255, original size), ' +
        '<stem>_overlay.png, with --save-probabilities <stem>_prob.png and with --attention ' +
        '<stem>_attention_<k>.png',
    )
    .argument('<input...>', 'image files or folders of images')
    .addOption(flagOption('modelFolders').makeOptionMandatory())
    .requiredOption('--out <dir>', 'output folder (created)')
    .option(
      '--save-probabilities',
      'also write <stem>_prob.png: the probability as 16-bit grey, round(p x 65535), at the ' +
        "image's size (the mask before --keep-largest/--min-size is value/65535 > threshold)",
    )
    .addOption(flagOption('tta'))
    .addOption(flagOption('keepLargest'))
    .addOption(flagOption('minSize'))
    .option('--attention', "also write each attention gate's map as a heat map (k = 1 deepest)")
    .addOption(flagOption('threshold'))
    .addOption(
      new Option('--overlay <style>', 'how the overlay draws the mask')
        .choices(OVERLAY_STYLES)
        .argParser(choice(OVERLAY_STYLES))
        .default(DEFAULT_OVERLAY_STYLE),
    )
    .addOption(
      flagOption(
        'interpolation',
        "image resizing (default: the run's, else the one an exported model records, else " +
          `${DEFAULT_INTERPOLATION})`,
      ),
    )
    .addOption(flagOption('backend'))
    .addOption(flagOption('engine'))
    .addOption(flagOption('threads'))
    .addOption(flagOption('maxPixels'))
    .option('--json', 'print one JSON object (predicted files and failures)')
    .option('--quiet', 'no progress or backend line on stderr')
    .action(async (inputs: string[], flags: PredictFlags) => {
      const { overlay: style } = flags;
      const maxPixels = flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {};
      const source = await resolveModelSource(flags.model[0]);
      const others = [];
      for (const dir of flags.model.slice(1)) others.push(await resolveModelSource(dir));
      // An exported folder records the threshold and resizing it was exported with (the first
      // model's, for an ensemble).
      const recorded = (await readExportMetadata(source.modelDir))?.predict;
      const threshold = flags.threshold ?? recorded?.threshold ?? DEFAULT_THRESHOLD;
      await initBackend({
        ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
        ...(flags.quiet
          ? {}
          : { report: (line: string) => process.stderr.write(`ftunet predict: ${line}\n`) }),
      });
      const models: OpenedModel[] = [];
      let engine: InferenceEngine | undefined;
      try {
        for (const s of [source, ...others]) models.push(await openModel(s));
        checkEnsembleInputs(
          models.map((m, k) => ({
            name: flags.model[k],
            inputShape: modelInputShape(m.model, flags.model[k]),
          })),
        );
        const opened = models[0];
        if (flags.attention && attentionGateNames(opened.model).length === 0) {
          throw new UserError(
            `--attention: model '${opened.name}' in ${opened.modelDir} has no attention gates ` +
              '(attn_unet, attn_reg_ds and attn_reg have them; unet does not)',
          );
        }
        const interpolation =
          flags.interpolation ?? opened.run?.dataset.interpolation ?? recorded?.interpolation;
        engine = await predictEngine(
          models.map((m) => m.model),
          flags,
        );
        if (!flags.quiet) process.stderr.write(`ftunet predict: engine: ${engine.description}\n`);
        const single = models.length === 1 && (flags.tta ?? DEFAULT_TTA) === 'none';
        const result = await predictFiles({
          model: opened.model,
          inputs,
          out: flags.out,
          attention: flags.attention ?? false,
          // Attention maps come from TensorFlow.js, whose pass gives the mask too unless there
          // is an ensemble or test-time augmentation to average.
          ...(flags.attention && single ? {} : { engine }),
          threshold,
          saveProbabilities: flags.saveProbabilities ?? false,
          postprocess: {
            ...(flags.keepLargest ? { keepLargest: true } : {}),
            ...(flags.minSize !== undefined ? { minSize: flags.minSize } : {}),
          },
          ...(interpolation !== undefined ? { interpolation } : {}),
          overlay: { style },
          ...maxPixels,
          onFailure: (f) =>
            process.stderr.write(`ftunet predict: cannot read ${f.input}: ${f.reason}\n`),
          ...(flags.quiet ? {} : { onProgress: progressLine }),
        });
        if (result.driftWarning !== undefined) {
          process.stderr.write(`ftunet predict: warning: ${result.driftWarning}\n`);
        }
        if (result.skipped.length > 0) {
          process.stderr.write(
            `ftunet predict: warning: skipped ${plural(result.skipped.length, 'entry', 'entries')} ` +
              `that ${result.skipped.length === 1 ? 'is' : 'are'} not an image: ${listFew(result.skipped)}\n`,
          );
        }
        if (flags.json) {
          process.stdout.write(
            `${JSON.stringify({ model: opened.modelDir, engine: engine.name, ...result })}\n`,
          );
        } else {
          const each = flags.attention ? ', overlay and attention maps' : ' and overlay';
          process.stdout.write(
            `predicted ${plural(result.predicted.length, 'image')} into ${flags.out} (mask${each} each)\n`,
          );
        }
        if (result.failed.length > 0) {
          const total = result.predicted.length + result.failed.length;
          throw new UserError(
            `predict: ${result.failed.length} of ${total} inputs failed (see above)`,
          );
        }
      } finally {
        await engine?.dispose();
        for (const m of models) m.model.dispose();
      }
    });
}

/**
 * The engine of `--engine` in this thread, one per model, averaged over the models and the
 * flips of `--tta`. Attention maps need TensorFlow.js: `auto` then picks it, and `onnx` is a
 * user error.
 */
async function predictEngine(
  models: readonly LayersModel[],
  flags: PredictFlags,
): Promise<InferenceEngine> {
  const engines: InferenceEngine[] = [];
  try {
    for (const model of models) engines.push(await modelEngine(model, flags));
  } catch (err) {
    for (const e of engines) await e.dispose();
    throw err;
  }
  return new AveragingEngine(engines, flags.tta ?? DEFAULT_TTA);
}

async function modelEngine(model: LayersModel, flags: PredictFlags): Promise<InferenceEngine> {
  const choice = flags.engine ?? DEFAULT_ENGINE;
  if (flags.attention && choice === 'onnx') {
    throw new UserError(
      '--engine onnx: --attention needs the attention maps, which only TensorFlow.js ' +
        'computes; use --engine tfjs or auto',
    );
  }
  return openInferenceEngine(model, {
    engine: flags.attention ? 'tfjs' : choice,
    workers: 1,
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
  });
}

/** Progress on stderr, only for a terminal. */
function progressLine(p: PredictProgress): void {
  if (!process.stderr.isTTY) return;
  const end = p.done === p.total ? '\n' : '';
  process.stderr.write(`\rftunet predict: ${p.done}/${p.total}${end}`);
}
