/**
 * What the web app is made of, in one place: the page bundle built by `npm run build`
 * (scripts/build_app.ts) into `dist/app/`, and the wasm binaries it loads at run time, copied
 * from the engines' npm packages into `dist/app/wasm/`. `ftunet app` copies `dist/app/` and
 * adds the model. Node-only.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** `dist/app/`: the built app (from dist/src/app/assets.js, two folders up). */
export const APP_BUILD_DIR = fileURLToPath(new URL('../../app/', import.meta.url));

/** The page's own files, in `src/webapp/` (copied as they are). */
export const APP_STATIC_FILES = ['index.html', 'style.css'] as const;

/** The app's script, bundled from src/webapp/main.ts. */
export const APP_SCRIPT = 'app.js';

/** The folder of the wasm binaries inside the app (`wasmPath` of the browser engines). */
export const APP_WASM_DIR = 'wasm';

/** The folder of the built-in model inside the app (the page loads `model/model.json`). */
export const APP_MODEL_DIR = 'model';

/** The file that marks a folder as written by `ftunet app` (so it may be replaced). */
export const APP_MARKER = 'ftunet-app.json';

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
