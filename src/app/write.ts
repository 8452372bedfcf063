/**
 * `writeApp`: the web app in a folder any static file server can host: the page built by
 * `npm run build` (dist/app/: index.html, style.css, app.js, wasm/) and the model exported
 * into `model/` (TensorFlow.js format with the prediction recipe, `ftunet export`). Every URL
 * in the page is relative, so the folder works under any sub-path, and it requests nothing
 * outside itself. The folder is made beside the target and renamed into place; an existing
 * target is replaced only when it is an app written here (it holds `ftunet-app.json`) or
 * empty. Node-only.
 */
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { resolveModelSource, type ModelSource } from '../eval/model_source.js';
import type { Quantization } from '../export/metadata.js';
import { exportModel, type ExportResult } from '../export/write.js';
import {
  diskFullAs,
  pathExists,
  sweepStaleTemporaries,
  syncFolder,
  temporaryFolderPath,
  writeFileAtomic,
} from '../io/atomic.js';
import { APP_BUILD_DIR, APP_MARKER, APP_MODEL_DIR, APP_SCRIPT } from './assets.js';
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

/** Writes the app (see the module's comment). */
export async function writeApp(options: WriteAppOptions): Promise<WriteAppResult> {
  const source = await resolveModelSource(options.model);
  const out = path.resolve(options.out ?? defaultAppDir(source));
  if (!(await pathExists(path.join(APP_BUILD_DIR, APP_SCRIPT)))) {
    throw new UserError(
      `the web app is not built (${path.join(APP_BUILD_DIR, APP_SCRIPT)} is missing): run npm run build`,
    );
  }
  await checkReplaceable(out);
  const tmp = temporaryFolderPath(out);
  try {
    await mkdir(path.dirname(out), { recursive: true });
    await sweepStaleTemporaries(path.dirname(out));
    await cp(APP_BUILD_DIR, tmp, { recursive: true });
    const exported = await exportModel({
      model: options.model,
      out: path.join(tmp, APP_MODEL_DIR),
      format: 'tfjs',
      ...(options.quantize !== undefined ? { quantize: options.quantize } : {}),
      ...(options.producerVersion !== undefined
        ? { producerVersion: options.producerVersion }
        : {}),
    });
    await writePrecompressed(tmp); // .br/.gz siblings for servers that send them (compress.ts)
    await writeFileAtomic(
      path.join(tmp, APP_MARKER),
      `${JSON.stringify({ app: 'focal-tversky-unet', model: exported.model, from: source.modelDir }, null, 2)}\n`,
    );
    await syncFolder(tmp);
    await rm(out, { recursive: true, force: true });
    await rename(tmp, out);
    await syncFolder(path.dirname(out));
    const bytes = await folderBytes(out);
    const modelBytes = await folderBytes(path.join(out, APP_MODEL_DIR));
    return {
      out,
      export: { ...exported, file: path.join(out, APP_MODEL_DIR, path.basename(exported.file)) },
      bytes,
      modelBytes,
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw diskFullAs(err, out);
  }
}

/** Refuses a target that exists and is neither empty nor an app written here. */
async function checkReplaceable(out: string): Promise<void> {
  let entries: string[];
  try {
    const s = await stat(out);
    if (!s.isDirectory()) throw new UserError(`--out ${out} is a file; choose a folder`);
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (entries.length === 0 || entries.includes(APP_MARKER)) return;
  const few = entries.slice(0, 3).join(', ') + (entries.length > 3 ? ', …' : '');
  throw new UserError(
    `--out ${out} is not an app written by ftunet app (no ${APP_MARKER}; it holds ${few}): ` +
      'choose another --out',
  );
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await folderBytes(p) : (await stat(p)).size;
  }
  return total;
}
