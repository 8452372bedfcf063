/**
 * The `Pipeline` (webapp/pipeline.ts and its worker, as built into the app) in Chromium, called
 * directly from a page of its own: the model's hash is the one model.json records; a prediction
 * with TTA and the re-mask of its kept prediction under other settings give the masks
 * `ftunet predict` writes with the same flags (`--tta`, `--keep-largest`, `--threshold`); a
 * mask's PNG decodes back to the same mask; the zip holds what it was given; a full-size
 * decode transfers the image's pixels; a cancelled prediction rejects with an AbortError and
 * the next one runs.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { BROWSER_BUNDLE } from '../../scripts/build_app.js';
import type { Pipeline } from '../../src/webapp/pipeline.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { runCli } from '../cli/run.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from './fixtures.js';
import { agreement } from './mask_agreement.js';

const PIPELINE = fileURLToPath(new URL('../../src/webapp/pipeline.js', import.meta.url));
/** The least share of pixels on which a mask must equal predict's (as test/app/app.test.ts). */
const AGREEMENT = 0.999;

let root: string;
let appDir: string;
let images: FixtureFile[];
let server: StaticServer;
let browser: TestBrowser;
let page: Page;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-pipeline-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeSaturatedModel(path.join(root, 'model'), images, 1);
  appDir = path.join(root, 'app');
  await writeApp({ model: path.join(root, 'model'), out: appDir });
  // A page that holds only the Pipeline, beside the app's own worker.
  const worker = (await readdir(path.join(appDir, 'assets'))).find((f) =>
    /^worker-[A-Z0-9]{8}\.js$/.test(f),
  );
  assert.ok(worker, 'the app has its worker');
  await build({
    ...BROWSER_BUNDLE,
    stdin: {
      contents: `import { Pipeline } from ${JSON.stringify(PIPELINE)};\nglobalThis.Pipeline = Pipeline;\n`,
      resolveDir: path.dirname(PIPELINE),
      loader: 'js',
    },
    outfile: path.join(appDir, 'assets', 'harness.js'),
    define: { FTUNET_WORKER: JSON.stringify(worker) },
  });
  await writeFile(
    path.join(appDir, 'harness.html'),
    '<!doctype html><title>pipeline</title><script type="module" src="assets/harness.js"></script>\n',
  );
  server = await serveStatic({ mounts: { '/': appDir }, isolated: false });
  browser = await launchChromium(sameOrigin(server.origin));
  page = await browser.page();
  await page.goto(`${server.origin}/harness.html`);
  await page.waitForFunction(() => 'Pipeline' in globalThis);
  await page.evaluate(async () => {
    const g = globalThis as unknown as Record<string, unknown>;
    const P = g.Pipeline as { start(m: unknown, o: unknown): Promise<unknown> };
    g.pipeline = await P.start({ url: 'model/model.json' }, { wasmPath: 'wasm/' });
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** `ftunet predict`'s mask of `image` with `flags`. */
function predictMask(image: string, flags: string[], out: string): string {
  const r = runCli([
    'predict',
    '--model',
    path.join(appDir, 'model'),
    '--out',
    out,
    '--quiet',
    ...flags,
    image,
  ]);
  assert.equal(r.code, 0, r.stderr);
  return path.join(out, `${path.basename(image).replace(/\.[^.]+$/, '')}_mask.png`);
}

describe('the Pipeline in Chromium', () => {
  test("the model's hash is model.json's weightsSha256", async () => {
    const json = JSON.parse(await readFile(path.join(appDir, 'model', 'model.json'), 'utf8')) as {
      weightsSha256: Record<string, string>;
    };
    const hash = await page.evaluate(
      () =>
        (globalThis as unknown as { pipeline: { model: { hash?: string } } }).pipeline.model.hash,
    );
    assert.deepEqual([hash], Object.values(json.weightsSha256));
  });

  test('predict with TTA, then re-mask with other settings: the masks of ftunet predict', async () => {
    const image = images[1].file;
    const bytes = [...(await readFile(image))];
    const got = await page.evaluate(
      async ([data, name]) => {
        const p = (globalThis as unknown as { pipeline: Pipeline }).pipeline;
        const file = new File([new Uint8Array(data)], name);
        // 0.6: the mean of saturated passes that disagree (0.5, 0.25, 0.75) is never within
        // rounding of it.
        const base = { threshold: 0.6, keepLargest: false, minSize: 0 };
        const first = await p.predict(file, name, { ...base, tta: 'vflip' });
        const image = {
          file,
          name,
          width: first.width,
          height: first.height,
          prediction: first.prediction,
        };
        const again = await p.remask(image, { ...base, keepLargest: true, tta: 'flips' });
        const png = async (b: Blob) => [...new Uint8Array(await b.arrayBuffer())];
        return {
          vflip: await png(first.modelMask.png),
          flips: await png(again.modelMask.png),
          passes: [
            first.prediction.vflipped !== undefined,
            first.prediction.hvflipped !== undefined,
            again.prediction?.hvflipped !== undefined,
          ],
          stages: Object.keys(first.timing),
        };
      },
      [bytes, path.basename(image)] as const,
    );
    // vflip runs the vertical pass; flips needed the double mirror too, run on re-masking.
    assert.deepEqual(got.passes, [true, false, true]);
    assert.deepEqual(got.stages, ['decodeMs', 'networkMs', 'postMs', 'totalMs']);
    const vflip = predictMask(
      image,
      ['--tta', 'vflip', '--threshold', '0.6'],
      path.join(root, 'vflip'),
    );
    const flips = predictMask(
      image,
      ['--tta', 'flips', '--threshold', '0.6', '--keep-largest'],
      path.join(root, 'flips'),
    );
    const a = await agreement(Buffer.from(got.vflip), vflip);
    assert.ok(a >= AGREEMENT, `vflip: ${a}`);
    const b = await agreement(Buffer.from(got.flips), flips);
    assert.ok(b >= AGREEMENT, `flips, 0.6, keep-largest: ${b}`);
    // The two settings give different masks: the comparison can tell them apart.
    assert.ok((await agreement(vflip, flips)) < 1, 'vflip and flips with keep-largest differ');
  });

  test('a mask PNG decodes back; the zip holds its entries; a full-size decode; a cancel', async () => {
    const image = images[0];
    const bytes = [...(await readFile(image.file))];
    const got = await page.evaluate(
      async ([data, name]) => {
        const p = (globalThis as unknown as { pipeline: Pipeline }).pipeline;
        const mask = { data: Uint8Array.from([0, 1, 1, 0, 1, 0]), height: 2, width: 3 };
        const stored = await p.encodeMask(mask);
        const back = await p.decodeMask(stored);
        const zip: Uint8Array = await p.zip({ 'a.txt': new TextEncoder().encode('hello') });
        const file = new File([new Uint8Array(data)], name);
        const decoded = await p.decodeImage(file, name);
        const settings = { threshold: 0.5, keepLargest: false, minSize: 0, tta: 'none' as const };
        const cancel = new AbortController();
        const cancelled = p.predict(file, name, settings, { signal: cancel.signal });
        cancel.abort();
        const error = await cancelled.then(
          () => 'resolved',
          (e: Error) => e.name,
        );
        const next = await p.predict(file, name, settings);
        return {
          pixels: stored.pixels,
          back: [...back.data],
          size: [back.height, back.width],
          zipBytes: [...zip],
          image: [decoded.width, decoded.height, decoded.data.length],
          error,
          next: next.width,
        };
      },
      [bytes, path.basename(image.file)] as const,
    );
    assert.equal(got.pixels, 3);
    assert.deepEqual(got.back, [0, 1, 1, 0, 1, 0]);
    assert.deepEqual(got.size, [2, 3]);
    const { unzipSync } = await import('fflate');
    assert.equal(
      new TextDecoder().decode(unzipSync(Uint8Array.from(got.zipBytes))['a.txt']),
      'hello',
    );
    // The browser decodes PNG and JPEG as RGBA.
    assert.deepEqual(got.image, [
      image.image.width,
      image.image.height,
      image.image.width * image.image.height * 4,
    ]);
    assert.equal(got.error, 'AbortError');
    assert.equal(got.next, image.image.width);
    assert.deepEqual(browser.errors, []);
  });
});
