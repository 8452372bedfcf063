/**
 * Builds the web app of `ftunet app` into dist/app/ (run by `npm run build` after tsc):
 * src/webapp/main.ts bundled for browsers by esbuild into app.js, the page's static files
 * copied, the engines' wasm binaries copied into wasm/, and the `.br`/`.gz` siblings of all of
 * them written (src/app/compress.ts) once here rather than at every `ftunet app`. The folder is
 * built beside and renamed into place, so a failed build leaves the previous one.
 */
import { build, type BuildOptions } from 'esbuild';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  APP_BUILD_DIR,
  APP_SCRIPT,
  APP_STATIC_FILES,
  APP_WASM_DIR,
  APP_WASM_FILES,
  packageFile,
} from '../src/app/assets.js';
import { writePrecompressed } from '../src/app/compress.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEBAPP = path.join(ROOT, 'src', 'webapp');

/**
 * The bundle options of the browser code (the app here, the browser entry in its test): ESM
 * for browsers, onnxruntime-web resolved to its build that loads its wasm glue from
 * `wasmPaths` (so its threads load the same files), and the Node modules that tfjs-backend-wasm's
 * emscripten glue and seedrandom name but never load in a browser left out.
 */
export const BROWSER_BUNDLE: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  conditions: ['onnxruntime-web-use-extern-wasm'],
  external: ['fs', 'path', 'worker_threads', 'perf_hooks', 'os', 'crypto'],
  logLevel: 'error',
};

/** The version in package.json. */
async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(): Promise<void> {
  const out = APP_BUILD_DIR.replace(/[\\/]$/, '');
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, APP_WASM_DIR), { recursive: true });
  await build({
    ...BROWSER_BUNDLE,
    entryPoints: [path.join(WEBAPP, 'main.ts')],
    outfile: path.join(tmp, APP_SCRIPT),
    minify: true,
    legalComments: 'linked',
    // The package's version, which the page records in the work it exports.
    define: { FTUNET_APP_VERSION: JSON.stringify(await packageVersion()) },
  });
  for (const f of APP_STATIC_FILES) await copyFile(path.join(WEBAPP, f), path.join(tmp, f));
  for (const [pkg, file] of APP_WASM_FILES) {
    await copyFile(packageFile(pkg, file), path.join(tmp, APP_WASM_DIR, path.basename(file)));
  }
  await writePrecompressed(tmp);
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
}

// Run as a script (`node dist/scripts/build_app.js`), not when a test imports BROWSER_BUNDLE.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
