/**
 * `writeApp`: the web app in a folder any static file server can host: the page built by
 * `npm run build` (dist/app/: index.html, assets/, sw.js, manifest.webmanifest, wasm/) and the model exported
 * into `model/` (TensorFlow.js format with the prediction recipe, `ftunet export`). Every URL
 * in the page is relative, so the folder works under any sub-path, and it requests nothing
 * outside itself, and it records no local path. The folder is made beside the target and
 * swapped into place (io/output_folder.ts): an existing target is replaced only when it is an
 * app written here (it holds `ftunet-app.json`, which lists the files the app wrote) or empty;
 * the files the user added to it are kept; a kill leaves the old app or the new one. Node-only.
 */
import { cp, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { resolveModelSource, type ModelSource } from '../eval/model_source.js';
import type { Quantization } from '../export/metadata.js';
import { exportModel, type ExportResult } from '../export/write.js';
import { diskFullAs, pathExists } from '../io/atomic.js';
import {
  claimOutputFolder,
  writeOutputFolder,
  type OutputFolderKind,
} from '../io/output_folder.js';
import { APP_BUILD_DIR, APP_BUILT, APP_MARKER, APP_MODEL_DIR } from './assets.js';
import { writePrecompressed } from './compress.js';

export interface WriteAppOptions {
  /** A model folder or a run folder (its best model), as `predict --model`. */
  model: string;
  /** The app's folder. Default: `app/` in the run folder (or in the model folder). */
  out?: string;
  /** How the model's weights are stored (see `ExportOptions.quantize`). Default 'none'. */
  quantize?: Quantization;
  /** The producer version recorded. */
  producerVersion?: string;
}

export interface WriteAppResult {
  /** The app's folder, absolute. */
  out: string;
  /** The model's export. */
  export: ExportResult;
  /** The app's size on disk in bytes, and the model's part of it. */
  bytes: number;
  modelBytes: number;
}

/** The default folder of the app of `source`. */
export function defaultAppDir(source: ModelSource): string {
  return path.join(source.runDir ?? source.modelDir, 'app');
}

/**
 * The app's folder: replaced only when it is an earlier app (or empty), keeping what the user
 * added (a `_headers` file, pages of their own). Apps written before the marker listed its
 * files (`{ app: 'focal-tversky-unet', model, from }`) are recognised too; of theirs, the
 * files the new app writes and the old `model/` (an older model's weights) are replaced.
 */
const APP_FOLDER: OutputFolderKind = {
  marker: APP_MARKER,
  format: 'ftunet-app',
  what: 'an app',
  writer: 'ftunet app',
  legacy: {
    accepts: (marker) => (marker as { app?: unknown }).app === 'focal-tversky-unet',
    owns: (file) => file.startsWith(`${APP_MODEL_DIR}/`),
  },
};

/** Writes the app (see the module's comment). */
export async function writeApp(options: WriteAppOptions): Promise<WriteAppResult> {
  const source = await resolveModelSource(options.model);
  const out = path.resolve(options.out ?? defaultAppDir(source));
  if (!(await pathExists(path.join(APP_BUILD_DIR, APP_BUILT)))) {
    throw new UserError(
      `the web app is not built (${path.join(APP_BUILD_DIR, APP_BUILT)} is missing): run npm run build`,
    );
  }
  const claim = await claimOutputFolder(out, APP_FOLDER);
  try {
    const exported = await writeOutputFolder(
      claim,
      APP_FOLDER,
      async (dir) => {
        // The page's files come with their .br/.gz siblings (made by npm run build); the times
        // are kept so that each sibling stays as new as its file (serve.ts uses no older one).
        await cp(APP_BUILD_DIR, dir, { recursive: true, preserveTimestamps: true });
        const exported = await exportModel({
          model: options.model,
          out: path.join(dir, APP_MODEL_DIR),
          format: 'tfjs',
          // Every output: the page predicts from `final` and fine-tunes with the deep
          // supervision heads too (the model's own objective).
          outputs: 'all',
          ...(options.quantize !== undefined ? { quantize: options.quantize } : {}),
          ...(options.producerVersion !== undefined
            ? { producerVersion: options.producerVersion }
            : {}),
        });
        // The model's .br/.gz siblings for servers that send them (compress.ts); listed in the
        // marker as the app's own files.
        await writePrecompressed(path.join(dir, APP_MODEL_DIR));
        return exported;
      },
      // The network's name; no local path (the folder is published).
      (exported) => ({ model: exported.model }),
    );
    const bytes = await folderBytes(out);
    const modelBytes = await folderBytes(path.join(out, APP_MODEL_DIR));
    return {
      out,
      export: { ...exported, file: path.join(out, APP_MODEL_DIR, path.basename(exported.file)) },
      bytes,
      modelBytes,
    };
  } catch (err) {
    throw diskFullAs(err, out);
  }
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await folderBytes(p) : (await stat(p)).size;
  }
  return total;
}
