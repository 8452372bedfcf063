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
import { openModel, resolveModelSource } from '../../eval/model_source.js';
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
  model: string;
  out: string;
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
        '<stem>_overlay.png and with --attention <stem>_attention_<k>.png',
    )
    .argument('<input...>', 'image files or folders of images')
    .requiredOption('--model <dir>', 'a saved model folder, or a run folder (its best model)')
    .requiredOption('--out <dir>', 'output folder (created)')
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
      const source = await resolveModelSource(flags.model);
      // An exported folder records the threshold and resizing it was exported with.
      const recorded = (await readExportMetadata(source.modelDir))?.predict;
      const threshold = flags.threshold ?? recorded?.threshold ?? DEFAULT_THRESHOLD;
      await initBackend({
        ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
        ...(flags.quiet
          ? {}
          : { report: (line: string) => process.stderr.write(`ftunet predict: ${line}\n`) }),
      });
      const opened = await openModel(source);
      let engine: InferenceEngine | undefined;
      try {
        if (flags.attention && attentionGateNames(opened.model).length === 0) {
          throw new UserError(
            `--attention: model '${opened.name}' in ${opened.modelDir} has no attention gates ` +
              '(attn_unet, attn_reg_ds and attn_reg have them; unet does not)',
          );
        }
        const interpolation =
          flags.interpolation ?? opened.run?.dataset.interpolation ?? recorded?.interpolation;
        engine = await predictEngine(opened.model, flags);
        if (!flags.quiet) process.stderr.write(`ftunet predict: engine: ${engine.description}\n`);
        const result = await predictFiles({
          model: opened.model,
          inputs,
          out: flags.out,
          attention: flags.attention ?? false,
          // Attention maps come from TensorFlow.js, which then predicts the masks too.
          ...(flags.attention ? {} : { engine }),
          threshold,
          ...(interpolation !== undefined ? { interpolation } : {}),
          overlay: { style },
          ...maxPixels,
          onFailure: (f) =>
            process.stderr.write(`ftunet predict: cannot read ${f.input}: ${f.reason}\n`),
          ...(flags.quiet ? {} : { onProgress: progressLine }),
        });
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
        opened.model.dispose();
      }
    });
}

/**
 * The engine of `--engine` in this thread. Attention maps need TensorFlow.js: `auto` then
 * picks it, and `onnx` is a user error.
 */
async function predictEngine(model: LayersModel, flags: PredictFlags): Promise<InferenceEngine> {
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
