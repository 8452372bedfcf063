/**
 * `ftunet predict`: masks, overlays and (with --attention) attention heat maps for image
 * files. A thin shell over `openModel` and `predictFiles` (src/predict/files.ts).
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { initBackend } from '../../backend/select.js';
import { DEFAULT_ENGINE, type EngineChoice, type InferenceEngine } from '../../eval/engine.js';
import {
  onnxExportFile,
  openInferenceEngine,
  openOnnxExport,
  type OpenedOnnxExport,
} from '../../export/onnx_engine.js';
import { UserError } from '../../errors.js';
import {
  openModel,
  resolveModelSource,
  type ModelSource,
  type OpenedModel,
} from '../../eval/model_source.js';
import {
  AveragingEngine,
  checkEnsembleInputs,
  commonMirrors,
  DEFAULT_TTA,
  resolveTta,
  type Mirrors,
  type TtaChoice,
} from '../../eval/ensemble.js';
import { modelInputShape } from '../../eval/evaluate.js';
import { DEFAULT_THRESHOLD } from '../../eval/score.js';
import { readExportMetadata, trainedMirrors } from '../../export/read.js';
import { attentionGateNames } from '../../models/build.js';
import { describeAttentionGates } from '../../models/registry.js';
import { listFew, plural } from '../../util/messages.js';
import { DEFAULT_OVERLAY_STYLE, OVERLAY_STYLES, type OverlayStyle } from '../../predict/overlay.js';
import { outputFileNames, predictFiles, type PredictProgress } from '../../predict/files.js';
import { formatQualitySummary } from '../../eval/quality.js';
import { DEFAULT_INTERPOLATION, type Interpolation } from '../../util/raster.js';
import { FLAGS, flagOption } from '../flags.js';
import { choice } from '../parse.js';
import { writeProgressLine } from '../progress_line.js';

interface PredictFlags {
  model: string[];
  out: string;
  saveProbabilities?: boolean;
  tta?: TtaChoice;
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
    .addOption(
      flagOption(
        'modelFolders',
        `${FLAGS.modelFolders.description}; or the folder of an ONNX export (model.onnx, ` +
          'ftunet export --format onnx), which ONNX Runtime runs',
      ).makeOptionMandatory(),
    )
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
    .option(
      '--json',
      'print one JSON object (predicted files, failures, and per image the quality verdict qc)',
    )
    .option('--quiet', 'no progress or backend line on stderr')
    .action(async (inputs: string[], flags: PredictFlags) => {
      const { overlay: style } = flags;
      const maxPixels = flags.maxPixels !== undefined ? { maxPixels: flags.maxPixels } : {};
      // Every folder is checked before the backend starts, whose line would come first.
      const members: Member[] = [];
      for (const dir of flags.model) members.push(await resolveMember(dir));
      for (const m of members) {
        if (m.onnx === undefined) continue;
        if (flags.attention) {
          throw new UserError(
            `--attention: ${m.dir} is an ONNX export; the attention maps need a TensorFlow.js ` +
              'model folder (or its run folder)',
          );
        }
        if (flags.engine === 'tfjs') {
          throw new UserError(
            `--engine tfjs: ${m.dir} is an ONNX export, which ONNX Runtime runs; use --engine ` +
              'onnx or auto',
          );
        }
      }
      // An exported folder records the threshold and resizing it was exported with (the first
      // model's, for an ensemble).
      const firstSource = members[0].source;
      const recorded =
        firstSource !== undefined
          ? (await readExportMetadata(firstSource.modelDir))?.predict
          : undefined;
      // The mirrors each model was trained with, for --tta.
      const mirrors: Array<Mirrors | undefined> = [];
      const tta = flags.tta ?? DEFAULT_TTA;
      for (const m of members) {
        if (m.source !== undefined && tta !== 'none') mirrors.push(await trainedMirrors(m.source));
      }
      await initBackend({
        ...(flags.backend !== undefined ? { backend: flags.backend } : {}),
        ...(flags.quiet
          ? {}
          : { report: (line: string) => process.stderr.write(`ftunet predict: ${line}\n`) }),
      });
      const models: OpenedModel[] = [];
      // Engines opened and not yet handed to the averaging engine, which then owns them.
      const owned: InferenceEngine[] = [];
      let engine: InferenceEngine | undefined;
      try {
        const networks: Array<{ name: string; inputShape: [number, number, number] }> = [];
        const perMember: Array<InferenceEngine | LayersModel> = [];
        let onnxFirst: OpenedOnnxExport | undefined;
        for (const m of members) {
          if (m.onnx !== undefined) {
            const opened = await openOnnxExport(m.onnx, {
              ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
            });
            owned.push(opened.engine);
            perMember.push(opened.engine);
            mirrors.push(opened.mirrors);
            networks.push({ name: m.dir, inputShape: opened.inputShape });
            if (networks.length === 1) onnxFirst = opened;
          } else {
            const opened = await openModel(m.source!);
            models.push(opened);
            perMember.push(opened.model);
            networks.push({ name: m.dir, inputShape: modelInputShape(opened.model, m.dir) });
          }
        }
        checkEnsembleInputs(networks);
        const opened = onnxFirst === undefined ? models[0] : undefined;
        if (flags.attention && opened && attentionGateNames(opened.model).length === 0) {
          throw new UserError(
            `--attention: model '${opened.name}' in ${opened.modelDir} has no attention gates ` +
              `(${describeAttentionGates()})`,
          );
        }
        const threshold =
          flags.threshold ?? recorded?.threshold ?? onnxFirst?.threshold ?? DEFAULT_THRESHOLD;
        const interpolation =
          flags.interpolation ??
          opened?.run?.dataset.interpolation ??
          recorded?.interpolation ??
          onnxFirst?.interpolation;
        const resolved = resolveTta(tta, commonMirrors(mirrors));
        if (resolved.warning !== undefined) {
          process.stderr.write(`ftunet predict: warning: ${resolved.warning}\n`);
        }
        const engines: InferenceEngine[] = [];
        for (const p of perMember) {
          if (!('getUserDefinedMetadata' in p)) {
            engines.push(p);
            continue;
          }
          const e = await modelEngine(p, flags);
          owned.push(e);
          engines.push(e);
        }
        engine = new AveragingEngine(engines, resolved.mode);
        owned.length = 0;
        if (!flags.quiet) process.stderr.write(`ftunet predict: engine: ${engine.description}\n`);
        const single = members.length === 1 && resolved.mode === 'none';
        const postprocess = {
          ...(flags.keepLargest ? { keepLargest: true } : {}),
          ...(flags.minSize !== undefined ? { minSize: flags.minSize } : {}),
        };
        const result = await predictFiles({
          model: opened?.model ?? { inputShape: networks[0].inputShape },
          inputs,
          out: flags.out,
          attention: flags.attention ?? false,
          // Attention maps come from TensorFlow.js, whose pass gives the mask too unless there
          // is an ensemble or test-time augmentation to average.
          ...(flags.attention && single ? {} : { engine }),
          threshold,
          saveProbabilities: flags.saveProbabilities ?? false,
          postprocess,
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
        if (result.qc !== undefined && (result.qc.flagged > 0 || !flags.quiet)) {
          const where = flags.json ? 'qc in the JSON' : 'run with --json for each verdict';
          process.stderr.write(
            `ftunet predict: ${result.qc.flagged > 0 ? 'warning: ' : ''}` +
              `${formatQualitySummary(result.qc, where)}\n`,
          );
        }
        if (result.skipped.length > 0) {
          process.stderr.write(
            `ftunet predict: warning: skipped ${plural(result.skipped.length, 'entry', 'entries')} ` +
              `that ${result.skipped.length === 1 ? 'is' : 'are'} not an image: ${listFew(result.skipped)}\n`,
          );
        }
        if (flags.json) {
          const dirs = members.map((m) => m.modelDir);
          process.stdout.write(
            `${JSON.stringify({
              model: dirs[0],
              models: dirs,
              engine: engine.name,
              tta: resolved.mode,
              threshold,
              interpolation: interpolation ?? DEFAULT_INTERPOLATION,
              postprocess: {
                keepLargest: postprocess.keepLargest ?? false,
                minSize: postprocess.minSize ?? 0,
              },
              ...result,
            })}\n`,
          );
        } else {
          const gates = flags.attention && opened ? attentionGateNames(opened.model).length : 0;
          process.stdout.write(
            `predicted ${plural(result.predicted.length, 'image')} into ${flags.out}: ` +
              `${writtenFiles(flags.saveProbabilities ?? false, gates)} each\n`,
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
        for (const e of owned) await e.dispose();
        for (const m of models) m.model.dispose();
      }
    });
}

/** A `--model` folder: a saved model or run folder, or an ONNX export's folder. */
interface Member {
  /** As given. */
  dir: string;
  /** The folder (absolute) that holds the model. */
  modelDir: string;
  /** A TensorFlow.js model folder or run folder. */
  source?: ModelSource;
  /** An ONNX export's model.onnx. */
  onnx?: string;
}

async function resolveMember(dir: string): Promise<Member> {
  const onnx = await onnxExportFile(dir);
  if (onnx !== undefined) return { dir, modelDir: path.dirname(onnx), onnx };
  const source = await resolveModelSource(dir);
  return { dir, modelDir: source.modelDir, source };
}

/** "<stem>_mask.png, <stem>_overlay.png and <stem>_prob.png": the files written per image. */
function writtenFiles(probabilities: boolean, gates: number): string {
  const names = outputFileNames('<stem>', gates);
  const files = [names.mask, names.overlay];
  if (probabilities) files.push(names.probabilities);
  if (gates === 1) files.push(names.attention[0]);
  if (gates > 1) files.push(`${names.attention[0]} to ${names.attention[gates - 1]}`);
  return `${files.slice(0, -1).join(', ')} and ${files[files.length - 1]}`;
}

/**
 * The engine of `--engine` in this thread for a TensorFlow.js model. Attention maps need
 * TensorFlow.js: `auto` then picks it, and `onnx` is a user error.
 */
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
  writeProgressLine(process.stderr, `ftunet predict: ${p.done}/${p.total}`, p.done === p.total);
}
