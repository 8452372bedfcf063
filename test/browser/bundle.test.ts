/**
 * The browser entry (`focal-tversky-unet/browser`, dist/src/browser.js) bundled with esbuild
 * for browsers and run in Chromium: no module of ours in its graph needs Node.js (the only
 * Node names left are those of third-party code paths a browser never takes); in the page,
 * the `Segmenter` gives the masks of Node's `Predictor` on onnxruntime-web and on tfjs's
 * wasm and cpu backends; a WebGL context lost in the middle of the work hands over to the
 * next engine, whose masks are still right; images come from `ImageData` and from files.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { APP_WASM_FILES, packageFile } from '../../src/app/assets.js';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { loadModel } from '../../src/io/model_files.js';
import { Predictor } from '../../src/predict/predictor.js';
import { BROWSER_BUNDLE } from '../../scripts/build_app.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from '../app/fixtures.js';

const ENTRY = fileURLToPath(new URL('../../src/browser.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Node modules that third-party code in the bundle names but never loads in a browser:
 * tfjs-backend-wasm's emscripten glue (behind its Node.js check) and seedrandom (`crypto`,
 * inside a try). Anything else left out of the bundle fails the test.
 */
const TFJS_WASM_GLUE = /(^|\/)node_modules\/@tensorflow\/tfjs-backend-wasm\/wasm-out\//;
const ALLOWED_EXTERNAL = new Map<string, RegExp>([
  ['fs', TFJS_WASM_GLUE],
  ['path', TFJS_WASM_GLUE],
  ['worker_threads', TFJS_WASM_GLUE],
  ['perf_hooks', TFJS_WASM_GLUE],
  ['os', TFJS_WASM_GLUE],
  // (a node_modules reached through a symbolic link, as in a git worktree, shows its real path)
  ['crypto', /(^|\/)node_modules\/seedrandom\//],
]);

let root: string;
let server: StaticServer;
let browser: TestBrowser;
let images: FixtureFile[];
/** Node's masks (0/1) of each fixture image, by `Predictor` on the cpu backend. */
let expected: Uint8Array[];
let bundleBytes: number;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-bundle-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeSaturatedModel(path.join(root, 'model'), images, 3);
  const model = await loadModel(path.join(root, 'model'));
  const predictor = new Predictor(model);
  expected = [];
  for (const image of images) expected.push((await predictor.predict(image.image)).mask.data);
  model.dispose();

  const page = path.join(root, 'page');
  await mkdir(path.join(page, 'wasm'), { recursive: true });
  for (const [pkg, file] of APP_WASM_FILES) {
    await writeFile(
      path.join(page, 'wasm', path.basename(file)),
      await import('node:fs/promises').then((fs) => fs.readFile(packageFile(pkg, file))),
    );
  }
  const result = await build({
    ...BROWSER_BUNDLE,
    stdin: {
      contents:
        `export * as lib from ${JSON.stringify(ENTRY)};\n` +
        "export * as tf from '@tensorflow/tfjs-core';\n",
      resolveDir: ROOT,
      loader: 'js',
    },
    outfile: path.join(page, 'bundle.js'),
    minify: true,
    metafile: true,
  });
  bundleBytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
  await writeFile(
    path.join(page, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">',
  );
  (globalThis as { bundleMeta?: typeof result.metafile }).bundleMeta = result.metafile;
  server = await serveStatic({ mounts: { '/': page, '/model/': path.join(root, 'model') } });
  browser = await launchChromium(sameOrigin(server.origin));
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

describe('the browser entry, bundled', () => {
  test('no module of ours needs Node.js; only known third-party paths name Node modules', (t) => {
    const meta = (
      globalThis as {
        bundleMeta?: {
          inputs: Record<string, { imports: { path: string; external?: boolean }[] }>;
        };
      }
    ).bundleMeta!;
    const problems: string[] = [];
    for (const [file, input] of Object.entries(meta.inputs)) {
      for (const imp of input.imports) {
        if (imp.path.startsWith('node:')) problems.push(`${file} imports ${imp.path}`);
        if (!imp.external) continue;
        if (imp.path === '<runtime>' || imp.path.startsWith('@tensorflow/')) continue; // type-only, elided
        const allowed = ALLOWED_EXTERNAL.get(imp.path);
        if (!allowed?.test(file)) problems.push(`${file} needs ${imp.path}`);
      }
    }
    assert.deepEqual(problems, []);
    const ours = Object.keys(meta.inputs).filter((f) => f.includes('dist/src/'));
    assert.ok(
      ours.some((f) => f.endsWith('browser/segmenter.js')),
      'the segmenter is in the bundle',
    );
    t.diagnostic(
      `bundle: ${(bundleBytes / 2 ** 20).toFixed(2)} MiB minified (${bundleBytes} bytes)`,
    );
  });

  async function open(): Promise<Page> {
    const page = await browser.page();
    await page.goto(`${server.origin}/index.html`);
    await page.evaluate("import('/bundle.js').then((m) => { globalThis.ft = m; })");
    return page;
  }

  /** Runs `Segmenter` in the page on every fixture image; returns the masks and engines. */
  async function segment(page: Page, options: Record<string, unknown>, loseContextAfter?: number) {
    const pixels = images.map((i) => ({ ...i.image, data: [...i.image.data] }));
    return (await page.evaluate(
      async ([opts, imgs, lose]) => {
        const { lib, tf } = (
          globalThis as unknown as {
            ft: {
              lib: typeof import('../../src/browser.js');
              tf: typeof import('@tensorflow/tfjs-core');
            };
          }
        ).ft;
        const start = tf.engine().backendName ? tf.memory().numTensors : 0;
        const loaded = await lib.loadBrowserModel('/model/model.json');
        const fallbacks: string[] = [];
        const s = await lib.Segmenter.create(loaded, {
          wasmPath: new URL('/wasm/', location.href).href,
          ...opts,
          onFallback: (failed: string, _reason: string, next: string) =>
            fallbacks.push(`${failed} -> ${next}`),
        });
        const masks: number[][] = [];
        const engines: string[] = [];
        for (let k = 0; k < imgs.length; k++) {
          if (k === lose) {
            const gl = (tf.backend() as unknown as { gpgpu: { gl: WebGLRenderingContext } }).gpgpu
              .gl;
            gl.getExtension('WEBGL_lose_context')!.loseContext();
          }
          const im = imgs[k];
          const r = await s.predict({ ...im, data: Uint8Array.from(im.data) });
          masks.push([...s.mask(r).data]);
          engines.push(r.engine);
        }
        await s.dispose();
        loaded.model.dispose();
        return { masks, engines, fallbacks, leaked: tf.memory().numTensors - start };
      },
      [options, pixels, loseContextAfter ?? -1] as const,
    )) as { masks: number[][]; engines: string[]; fallbacks: string[]; leaked: number };
  }

  function assertMasks(masks: number[][], what: string): void {
    masks.forEach((m, k) => {
      const e = expected[k];
      assert.equal(m.length, e.length, `${what} ${images[k].file}: mask size`);
      let same = 0;
      for (let i = 0; i < e.length; i++) if (m[i] === e[i]) same++;
      assert.ok(
        same / e.length >= 0.999,
        `${what} ${images[k].file}: ${same} of ${e.length} pixels agree`,
      );
    });
  }

  for (const [engine, options] of [
    ['onnxruntime-wasm', { backend: 'wasm' }],
    ['tfjs-wasm', { backend: 'wasm', engine: 'tfjs' }],
    ['tfjs-cpu', { backend: 'cpu' }],
  ] as const) {
    test(`Segmenter on ${engine} gives the masks of Node's Predictor`, async () => {
      const page = await open();
      try {
        const r = await segment(page, options);
        assert.deepEqual(
          r.engines,
          images.map(() => engine),
        );
        assert.deepEqual(r.fallbacks, []);
        assertMasks(r.masks, engine);
        assert.equal(r.leaked, 0, 'tensors left after the model and the segmenter are disposed');
        assert.deepEqual(browser.errors, []);
      } finally {
        await page.close();
      }
    });
  }

  test('a WebGL context lost mid-way hands over to the next engine, with right masks', async () => {
    const page = await open();
    try {
      const r = await segment(page, { backend: 'webgl', engine: 'tfjs' }, 2);
      assert.deepEqual(r.engines, [
        'tfjs-webgl',
        'tfjs-webgl',
        'onnxruntime-wasm',
        'onnxruntime-wasm',
      ]);
      assert.equal(r.fallbacks.length, 1);
      assert.match(r.fallbacks[0], /^tfjs-webgl -> onnxruntime-wasm$/);
      assertMasks(r.masks, 'webgl then onnxruntime');
    } finally {
      await page.close();
    }
  });

  test('images from ImageData and from picked files; a non-image file is refused by its bytes', async () => {
    const page = await open();
    try {
      const r = (await page.evaluate(async () => {
        const { lib } = (
          globalThis as unknown as { ft: { lib: typeof import('../../src/browser.js') } }
        ).ft;
        const data = new ImageData(new Uint8ClampedArray([1, 2, 3, 255, 4, 5, 6, 128]), 2, 1);
        const raw = lib.rawImageFrom(data);
        const canvas = new OffscreenCanvas(3, 2);
        const ctx = canvas.getContext('2d')!;
        ctx.fillStyle = 'rgb(10, 20, 30)';
        ctx.fillRect(0, 0, 3, 2);
        const png = await canvas.convertToBlob({ type: 'image/png' });
        const decoded = await lib.decodeImageFile(new File([png], 'x.png'));
        let refused = '';
        try {
          await lib.decodeImageFile(new File(['GIF89a....'], 'y.gif'));
        } catch (e) {
          refused = (e as Error).message;
        }
        return {
          raw: [raw.width, raw.height, raw.channels, ...raw.data],
          decoded: [
            decoded.format,
            decoded.image.width,
            decoded.image.height,
            ...decoded.image.data.slice(0, 4),
          ],
          refused,
        };
      })) as { raw: number[]; decoded: (string | number)[]; refused: string };
      assert.deepEqual(r.raw, [2, 1, 4, 1, 2, 3, 255, 4, 5, 6, 128]);
      assert.deepEqual(r.decoded, ['png', 3, 2, 10, 20, 30, 255]);
      assert.equal(r.refused, 'y.gif: not an image: expected a PNG, JPEG or BMP file');
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });
});
