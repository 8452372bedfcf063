/**
 * Builds the web app of `ftunet app` into dist/app/ (run by `npm run build` after tsc):
 *
 * - `assets/`: the page's script (src/webapp/main.ts), its worker's (src/webapp/worker.ts) and
 *   the fine-tuning worker's (src/webapp/fine_tune_worker.ts, loaded only when used), bundled
 *   by esbuild as ES modules with code splitting, so that each engine (TensorFlow.js's WebGPU,
 *   WebGL and wasm backends, onnxruntime-web with the ONNX converter) is a chunk loaded only
 *   when it runs; the style; the icons (made from one SVG by sharp). Every name there
 *   carries a hash of the content (`app-XXXXXXXX.js`), so that a server may let browsers keep
 *   them for good.
 * - `index.html`, rewritten to those names; `manifest.webmanifest` (installable: name, icons,
 *   `start_url` '.', standalone; relative URLs so the app works under any sub-path); `sw.js`,
 *   the service worker (src/webapp/sw.ts) with the list of files to keep for offline use
 *   written in.
 * - `wasm/`: the engines' wasm binaries copied from their packages.
 * - the `.br`/`.gz` siblings of all of them (src/app/compress.ts), made once here rather than
 *   at every `ftunet app`.
 *
 * The folder is built beside and renamed into place, so a failed build leaves the previous one.
 */
import { createHash } from 'node:crypto';
import { build, type BuildOptions, type Metafile } from 'esbuild';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  APP_ASSETS_DIR,
  APP_BUILD_DIR,
  APP_DEFAULT_WASM,
  APP_MANIFEST,
  APP_PAGE,
  APP_SERVICE_WORKER,
  APP_STYLE,
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

/** The app's theme colour (the page's header text). */
const THEME = '#1d4e89';

/** The icon: a rounded tile with a lesion's outline, drawn as the page draws outlines. */
const ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">
<rect width="512" height="512" rx="96" fill="${THEME}"/>
<path d="M150 270c-8-70 52-130 118-126 70 4 112 58 104 124-8 62-60 104-124 100-56-4-92-44-98-98z" fill="#f6c9a8" stroke="#ffd43b" stroke-width="22"/>
<circle cx="250" cy="262" r="40" fill="#8a4b2d"/>
</svg>`;

/** Eight hexadecimal digits of the SHA-256 of `bytes` (upper case, as esbuild's hashes read). */
function contentHash(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 8).toUpperCase();
}

/** Writes `bytes` as `assets/<stem>-<hash><ext>`; returns the path relative to the app. */
async function writeHashed(
  dir: string,
  stem: string,
  ext: string,
  bytes: Uint8Array | string,
): Promise<string> {
  const rel = `${APP_ASSETS_DIR}/${stem}-${contentHash(bytes)}${ext}`;
  await writeFile(path.join(dir, rel), bytes);
  return rel;
}

/** The app-relative paths of the outputs of `metafile`. */
function relOutputs(metafile: Metafile, dir: string): Map<string, Metafile['outputs'][string]> {
  return new Map(
    Object.entries(metafile.outputs).map(([out, info]) => [
      path.relative(dir, path.resolve(ROOT, out)).split(path.sep).join('/'),
      info,
    ]),
  );
}

/**
 * The scripts a first visit on the default engine loads: the entry and what it imports
 * statically, and the dynamic imports whose code is onnxruntime-web's or the ONNX converter's
 * (with what they import statically). Not the other engines' chunks.
 */
function defaultScripts(
  outputs: Map<string, Metafile['outputs'][string]>,
  entry: string,
  dir: string,
): string[] {
  const rel = (p: string) => path.relative(dir, path.resolve(ROOT, p)).split(path.sep).join('/');
  const isDefaultEngine = (file: string) =>
    Object.keys(outputs.get(file)?.inputs ?? {}).some(
      (input) =>
        input.includes('node_modules/onnxruntime-web/') || input.endsWith('src/export/onnx.js'),
    );
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file) || !outputs.has(file)) return;
    seen.add(file);
    for (const imp of outputs.get(file)!.imports) {
      const target = rel(imp.path);
      if (imp.kind === 'import-statement') visit(target);
      else if (imp.kind === 'dynamic-import' && isDefaultEngine(target)) visit(target);
    }
  };
  visit(entry);
  return [...seen];
}

/** Bundles `entry` as `assets/<name>-<hash>.js` with its chunks; returns its path and outputs. */
async function bundle(
  dir: string,
  name: string,
  entry: string,
  define: Record<string, string> = {},
): Promise<{ file: string; outputs: Map<string, Metafile['outputs'][string]> }> {
  const result = await build({
    ...BROWSER_BUNDLE,
    entryPoints: { [name]: entry },
    outdir: path.join(dir, APP_ASSETS_DIR),
    splitting: true,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunk-[hash]',
    minify: true,
    legalComments: 'linked',
    metafile: true,
    define,
  });
  const outputs = relOutputs(result.metafile, dir);
  const file = [...outputs].find(([, info]) => info.entryPoint !== undefined)![0];
  return { file, outputs };
}

async function main(): Promise<void> {
  const out = APP_BUILD_DIR.replace(/[\\/]$/, '');
  const tmp = `${out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(path.join(tmp, APP_WASM_DIR), { recursive: true });
  await mkdir(path.join(tmp, APP_ASSETS_DIR), { recursive: true });

  const worker = await bundle(tmp, 'worker', path.join(WEBAPP, 'worker.ts'));
  // Loaded only when a person starts fine-tuning (not precached: the service worker keeps it
  // once fetched), with the gradients of tfjs-core's ops that its browser entry leaves out.
  const fineTuneWorker = await bundle(
    tmp,
    'fine-tune-worker',
    path.join(WEBAPP, 'fine_tune_worker.ts'),
  );
  const app = await bundle(tmp, 'app', path.join(WEBAPP, 'main.ts'), {
    FTUNET_WORKER: JSON.stringify(path.basename(worker.file)),
    FTUNET_FINE_TUNE_WORKER: JSON.stringify(path.basename(fineTuneWorker.file)),
    // The package's version, which the page records in the work it exports.
    FTUNET_APP_VERSION: JSON.stringify(await packageVersion()),
  });
  const style = await writeHashed(
    tmp,
    'style',
    '.css',
    await readFile(path.join(WEBAPP, APP_STYLE)),
  );
  const icons: { src: string; sizes: string }[] = [];
  for (const size of [192, 512]) {
    const png = await sharp(Buffer.from(ICON_SVG)).resize(size, size).png().toBuffer();
    icons.push({
      src: await writeHashed(tmp, `icon-${size}`, '.png', png),
      sizes: `${size}x${size}`,
    });
  }

  const manifest = {
    name: 'Lesion segmentation · focal-tversky-unet',
    short_name: 'Lesion segmentation',
    description:
      'Segments lesions in images with the built-in model, in this browser: no image leaves the computer.',
    start_url: '.',
    scope: '.',
    display: 'standalone',
    background_color: '#f6f7f9',
    theme_color: THEME,
    icons: icons.map((i) => ({ ...i, type: 'image/png', purpose: 'any' })),
  };
  await writeFile(path.join(tmp, APP_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);

  let page = await readFile(path.join(WEBAPP, APP_PAGE), 'utf8');
  const replace = (from: string, to: string) => {
    if (!page.includes(from)) throw new Error(`build_app: ${APP_PAGE} has no ${from}`);
    page = page.replace(from, to);
  };
  replace('src="app.js"', `src="${app.file}"`);
  replace('href="style.css"', `href="${style}"`);
  replace('href="icon.png"', `href="${icons[0].src}"`);
  await writeFile(path.join(tmp, APP_PAGE), page);

  for (const [pkg, file] of APP_WASM_FILES) {
    await copyFile(packageFile(pkg, file), path.join(tmp, APP_WASM_DIR, path.basename(file)));
  }

  const precache = [
    './',
    ...defaultScripts(app.outputs, app.file, tmp),
    ...defaultScripts(worker.outputs, worker.file, tmp),
    style,
    APP_MANIFEST,
    ...icons.map((i) => i.src),
    ...APP_DEFAULT_WASM.map((f) => `${APP_WASM_DIR}/${f}`),
  ];
  // The version changes with any file the page loads: the hashed names, the page, the wasm.
  const version = contentHash(
    [
      page,
      ...precache,
      ...(await Promise.all(
        APP_DEFAULT_WASM.map((f) => readFile(path.join(tmp, APP_WASM_DIR, f))),
      ).then((b) => b.map((x) => contentHash(x)))),
    ].join('\n'),
  );
  await build({
    ...BROWSER_BUNDLE,
    format: 'iife',
    entryPoints: [path.join(WEBAPP, 'sw.ts')],
    outfile: path.join(tmp, APP_SERVICE_WORKER),
    minify: true,
    define: {
      FTUNET_PRECACHE: JSON.stringify(precache),
      FTUNET_VERSION: JSON.stringify(version),
    },
  });

  await writePrecompressed(tmp);
  await rm(out, { recursive: true, force: true });
  await rename(tmp, out);
}

// Run as a script (`node dist/scripts/build_app.js`), not when a test imports BROWSER_BUNDLE.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  await main();
}
