/**
 * What the web app is made of, in one place: the page, its scripts (the page's, its worker's
 * and one chunk per engine, under hashed names in `assets/`), its service worker and manifest,
 * built by `npm run build` (scripts/build_app.ts) into `dist/app/`, and the wasm binaries it
 * loads at run time, copied from the engines' npm packages into `dist/app/wasm/`. `ftunet app` copies `dist/app/` and
 * adds the model. Node-only.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `dist/app/`: the built app (from dist/src/app/assets.js, two folders up). */
export const APP_BUILD_DIR = fileURLToPath(new URL('../../app/', import.meta.url));

/** The page, in `src/webapp/` (its script and style names rewritten to the hashed ones). */
export const APP_PAGE = 'index.html';

/** The page's style, in `src/webapp/` (copied under a hashed name into `assets/`). */
export const APP_STYLE = 'style.css';

/**
 * The folder of the files whose names carry a hash of their content (`app-XXXXXXXX.js`, the
 * worker, the engines' chunks, the style, the icons): a server may let browsers keep them for
 * good (`Cache-Control: immutable`), as `ftunet app --serve` does.
 */
export const APP_ASSETS_DIR = 'assets';

/** The service worker, at the app's root (its scope is the app's folder). */
export const APP_SERVICE_WORKER = 'sw.js';

/** The web app manifest, at the app's root. */
export const APP_MANIFEST = 'manifest.webmanifest';

/** The file the build writes last: what `ftunet app` checks to know the app is built. */
export const APP_BUILT = APP_SERVICE_WORKER;

/** The folder of the wasm binaries inside the app (`wasmPath` of the browser engines). */
export const APP_WASM_DIR = 'wasm';

/** The folder of the built-in model inside the app (the page loads `model/model.json`). */
export const APP_MODEL_DIR = 'model';

/** The file that marks a folder as written by `ftunet app` (so it may be replaced). */
export const APP_MARKER = 'ftunet-app.json';

/** The wasm binaries of the default engine on a machine without a GPU (onnxruntime-web). */
export const APP_DEFAULT_WASM: readonly string[] = [
  'ort-wasm-simd-threaded.wasm',
  'ort-wasm-simd-threaded.mjs',
];

/** The wasm binaries, as [package, file inside the package]. */
export const APP_WASM_FILES: readonly (readonly [string, string])[] = [
  ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm.wasm'],
  ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm-simd.wasm'],
  ['@tensorflow/tfjs-backend-wasm', 'dist/tfjs-backend-wasm-threaded-simd.wasm'],
  ['onnxruntime-web', 'dist/ort-wasm-simd-threaded.wasm'],
  ['onnxruntime-web', 'dist/ort-wasm-simd-threaded.mjs'],
];

/**
 * Where a package's file lies in node_modules: up from the file the package resolves to, to
 * the folder whose package.json names it (its `exports` may hide package.json itself).
 */
export function packageFile(pkg: string, file: string): string {
  const require = createRequire(import.meta.url);
  let dir = path.dirname(require.resolve(pkg));
  while (path.basename(dir) !== path.basename(pkg) || !existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`packageFile: no folder of package ${pkg}`);
    dir = up;
  }
  return path.join(dir, file);
}
