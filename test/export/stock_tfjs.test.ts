/**
 * An exported folder in the stock TensorFlow.js bundle (`@tensorflow/tfjs`'s `dist/tf.min.js`,
 * loaded by a <script> tag; no code of ours in the page) in Debian's Chromium: the page loads
 * model.json over HTTP from a tiny server on 127.0.0.1, decodes test images itself
 * (createImageBitmap without colour-space conversion, a canvas), applies the recipe the export
 * records (`userDefinedMetadata.ftunetExport.predict`, script written here) and its masks must
 * equal those `ftunet predict` writes for the same folder on at least 99.9% of the pixels
 * (ftunet predict runs ONNX Runtime when it is installed, whose probabilities are within 1e-4
 * of TensorFlow.js's: a pixel that close to the threshold may flip). Once at float32 with the
 * defaults, once with uint8 weights, bilinear resizing and threshold 0.4. Every request
 * outside the server is aborted and recorded; the console must stay free of errors.
 *
 * The model is an attn_reg at 32x32, width 0.125, trained for 15 epochs on 16 synthetic BUS
 * images (a few seconds), so that its masks are neither empty nor full.
 */
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type * as tfjs from '@tensorflow/tfjs';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { exportModel } from '../../src/export/write.js';
import { decodeImage } from '../../src/io/image.js';
import { train } from '../../src/run/train.js';
import { runCli } from '../cli/run.js';
import { makeTemp, removeTemp, writeRaw } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, requireChromium, type TestBrowser } from '../chromium.js';

/** The share of pixels on which the page's masks and `ftunet predict`'s must agree. */
const MIN_AGREEMENT = 0.999;

const TF_BUNDLE = fileURLToPath(
  new URL('../../../node_modules/@tensorflow/tfjs/dist/tf.min.js', import.meta.url),
);

/** The page's global: the stock bundle. */
declare const tf: typeof tfjs;

let root: string;
let server: StaticServer;
let origin: string;
let browser: TestBrowser;
const images: string[] = [];

before(async () => {
  requireChromium();
  await useBackend('wasm');
  root = await makeTemp('ftunet-stock-tfjs-');
  const run = path.join(root, 'run');
  await train({
    out: run,
    dataset: 'synthetic-bus',
    syntheticCount: 16,
    model: 'attn_reg',
    inputSize: [32, 32],
    width: 0.125,
    // Few updates: a fast-moving BatchNorm average, so that inference sees trained statistics.
    bnMomentum: 0.5,
    optimizer: { name: 'adam', learningRate: 0.01 },
    epochs: 15,
    batchSize: 4,
    cache: false,
    backend: 'wasm',
    workers: 1,
    packageInfo: { name: 'focal-tversky-unet', version: 'test' },
  });
  // Three grey test images of the run (about 760x570), and one as RGB (tinted, so that the
  // page's luma conversion matters).
  const originals = path.join(run, 'data', 'original');
  for (const name of (await readdir(originals)).sort().slice(0, 3)) {
    images.push(path.join(originals, name));
  }
  const grey = await decodeImage(images[0], 1);
  const rgb = new Uint8Array(grey.data.length * 3);
  grey.data.forEach((v, i) => {
    rgb[3 * i] = v;
    rgb[3 * i + 1] = Math.round(v * 0.8);
    rgb[3 * i + 2] = Math.min(255, v + 40);
  });
  const rgbFile = path.join(root, 'images', 'tinted.png');
  await writeRaw(rgbFile, rgb, grey.height, grey.width, 3);
  images.push(rgbFile);
  await exportModel({ model: run, out: path.join(root, 'float32') });
  await exportModel({
    model: run,
    out: path.join(root, 'uint8'),
    quantize: 'uint8',
    interpolation: 'bilinear',
    threshold: 0.4,
  });
  // An empty page with the bundle's script tag, the bundle, and root's files.
  await writeFile(
    path.join(root, 'index.html'),
    '<!doctype html><meta charset="utf-8"><script src="/tf/tf.min.js"></script>',
  );
  server = await serveStatic({
    mounts: { '/tf/': path.dirname(TF_BUNDLE), '/': root },
    isolated: false,
  });
  origin = server.origin;
  browser = await launchChromium((url) => url.startsWith(origin + '/'));
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (root !== undefined) await removeTemp(root);
});

/** What the page returns for each image: its size and the mask as a string of '0'/'1'. */
interface PageMask {
  height: number;
  width: number;
  mask: string;
}

/**
 * The page script: the recorded recipe on stock TensorFlow.js (cpu backend), image by image.
 * Runs in the browser: it may use nothing but its arguments and the page's `tf`.
 */
async function predictInPage(args: {
  modelUrl: string;
  imageUrls: string[];
}): Promise<{ masks: PageMask[]; recipe: unknown; version: string; backend: string }> {
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(args.modelUrl);
  const meta = (model.getUserDefinedMetadata() as { ftunetExport: { predict: Recipe } })
    .ftunetExport;
  interface Recipe {
    inputShape: [number, number, number];
    interpolation: 'nearest' | 'bilinear';
    threshold: number;
    output: string;
  }
  const { inputShape, interpolation, threshold } = meta.predict;
  const [H, W, C] = inputShape;
  const masks: PageMask[] = [];
  for (const url of args.imageUrls) {
    const blob = await (await fetch(url)).blob();
    const bitmap = await createImageBitmap(blob, {
      colorSpaceConversion: 'none',
      premultiplyAlpha: 'none',
    });
    const { width: w, height: h } = bitmap;
    const ctx = new OffscreenCanvas(w, h).getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    const rgba = ctx.getImageData(0, 0, w, h).data;
    // 1. Channels: grey is BT.601 luma with Pillow's integer weights; RGB as it is.
    const src = new Uint8Array(w * h * C);
    for (let i = 0; i < w * h; i++) {
      const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
      if (C === 1) src[i] = (19595 * r + 38470 * g + 7471 * b + 32768) >>> 16;
      else src.set([r, g, b], 3 * i);
    }
    // 2. Resize to H x W as OpenCV's cv2.resize does. Nearest: index min(floor(y * (1 / (H / h))),
    // h - 1), the reciprocal of the rounded ratio in double precision. Bilinear (8-bit fixed
    // point): coordinate f = (d + 0.5) * (1 / (out / in)) - 0.5 in float32, weights
    // round((1 - frac) * 2048) and round(frac * 2048) in float32 with halves to even; columns
    // outside the image take the edge pixel, rows keep their weights with both rows clamped;
    // r = a * wa + b * wb along columns, then (((w0 * (r0 >> 4)) >> 16) + ((w1 * (r1 >> 4)) >> 16)
    // + 2) >> 2 (an exact halving, the 2x2 mean, does not occur at these sizes).
    const nearest = (n: number, out: number, d: number): number =>
      Math.min(Math.floor(d * (1 / (out / n))), n - 1);
    const even = (v: number): number => {
      const r = Math.round(v);
      return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
    };
    const taps = (n: number, out: number, d: number, clampEdges: boolean): number[] => {
      let f = Math.fround((d + 0.5) * (1 / (out / n)) - 0.5);
      let s = Math.floor(f);
      f = Math.fround(f - s);
      if (clampEdges && s < 0) [s, f] = [0, 0];
      if (clampEdges && s >= n - 1) [s, f] = [n - 1, 0];
      const clamp = (i: number): number => Math.min(Math.max(i, 0), n - 1);
      return [clamp(s), clamp(s + 1), even(Math.fround(1 - f) * 2048), even(f * 2048)];
    };
    const x = new Float32Array(H * W * C);
    for (let y = 0; y < H; y++) {
      const [y0, y1, w0, w1] = taps(h, H, y, false);
      for (let xx = 0; xx < W; xx++) {
        const [x0, x1, wa, wb] = taps(w, W, xx, true);
        for (let c = 0; c < C; c++) {
          let v: number;
          const at = (yy: number, xc: number): number => src[(yy * w + xc) * C + c];
          if (interpolation === 'nearest') {
            v = at(nearest(h, H, y), nearest(w, W, xx));
          } else {
            const r0 = at(y0, x0) * wa + at(y0, x1) * wb;
            const r1 = at(y1, x0) * wa + at(y1, x1) * wb;
            v = Math.min(255, (((w0 * (r0 >> 4)) >> 16) + ((w1 * (r1 >> 4)) >> 16) + 2) >> 2);
          }
          // 3. Scale: / 255.
          x[(y * W + xx) * C + c] = v / 255;
        }
      }
    }
    // 4. The final output, thresholded: lesion where p > threshold.
    const input = tf.tensor4d(x, [1, H, W, C]);
    const out = model.predict(input);
    const outputs = Array.isArray(out) ? out : [out];
    const k = model.outputNames.indexOf(meta.predict.output);
    const p = await outputs[k].data();
    tf.dispose([input, ...outputs]);
    // 5. Back to the image's size with nearest neighbour (OpenCV's rule, as in 2).
    let mask = '';
    for (let y = 0; y < h; y++) {
      const sy = nearest(H, h, y);
      for (let xx = 0; xx < w; xx++) {
        const sx = nearest(W, w, xx);
        mask += p[sy * W + sx] > threshold ? '1' : '0';
      }
    }
    masks.push({ height: h, width: w, mask });
  }
  model.dispose();
  return { masks, recipe: meta.predict, version: tf.version.tfjs, backend: tf.getBackend() };
}

describe('an exported folder in the stock TensorFlow.js bundle', { timeout: 120_000 }, () => {
  for (const variant of ['float32', 'uint8'] as const) {
    test(`${variant}: the page's masks equal ftunet predict's`, async (t) => {
      const exported = path.join(root, variant);
      const out = path.join(root, `predict-${variant}`);
      const r = runCli(['predict', '--model', exported, ...images, '--out', out, '--quiet']);
      assert.equal(r.code, 0, r.stderr);

      const page = await browser.context.newPage();
      const errors: string[] = [];
      const outside: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (req) => {
        if (!req.url().startsWith(origin + '/')) outside.push(req.url());
      });
      let result: Awaited<ReturnType<typeof predictInPage>>;
      try {
        await page.goto(`${origin}/`);
        await page.waitForFunction(() => typeof tf !== 'undefined');
        result = await page.evaluate(predictInPage, {
          modelUrl: `${origin}/${variant}/model.json`,
          imageUrls: images.map((f) => `${origin}/${path.relative(root, f)}`),
        });
      } finally {
        await page.close();
      }
      assert.equal(result.version, '4.22.0');
      assert.equal(result.backend, 'cpu');
      assert.deepEqual(
        result.recipe,
        variant === 'float32'
          ? {
              inputShape: [32, 32, 1],
              scaling: 'divide-by-255',
              interpolation: 'nearest',
              threshold: 0.5,
              maskResize: 'nearest',
              output: 'final',
              postprocess: { keepLargest: false, minSize: 0 },
            }
          : {
              inputShape: [32, 32, 1],
              scaling: 'divide-by-255',
              interpolation: 'bilinear',
              threshold: 0.4,
              maskResize: 'nearest',
              output: 'final',
              postprocess: { keepLargest: false, minSize: 0 },
            },
      );

      let same = 0;
      let total = 0;
      let lesion = 0;
      for (const [k, file] of images.entries()) {
        const stem = path.basename(file, '.png');
        const written = await decodeImage(path.join(out, `${stem}_mask.png`), 1);
        const got = result.masks[k];
        assert.deepEqual([got.height, got.width], [written.height, written.width], stem);
        for (let i = 0; i < written.data.length; i++) {
          const expected = written.data[i] > 127 ? '1' : '0';
          if (got.mask[i] === expected) same += 1;
          if (expected === '1') lesion += 1;
        }
        total += written.data.length;
      }
      const agreement = same / total;
      t.diagnostic(
        `${variant}: ${same} of ${total} pixels agree (${(100 * agreement).toFixed(4)}%); ` +
          `lesion ${((100 * lesion) / total).toFixed(2)}% of the pixels`,
      );
      // The masks are not trivial: some lesion, mostly background.
      assert.ok(lesion / total > 0.002 && lesion / total < 0.5, `lesion share ${lesion / total}`);
      assert.ok(agreement >= MIN_AGREEMENT, `agreement ${agreement}`);
      assert.deepEqual(errors, []);
      assert.deepEqual(outside, []);
    });
  }
});
