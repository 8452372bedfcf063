/**
 * The web app of `ftunet app` in a real browser (Debian's Chromium through playwright-core),
 * served by a plain static server (no special headers) under a sub-path: the masks it offers
 * for download equal those `ftunet predict` writes for the same images and model, on
 * onnxruntime-web's wasm engine, on TensorFlow.js's wasm backend and on its webgl backend
 * (SwiftShader here); a file that is not an image and one too large get their message while
 * the others finish; the zip holds every mask and the areas' CSV; the threshold slider
 * re-thresholds; another model can be opened; no console error and no request outside the
 * app. Screenshots go to dist/test-artifacts/app-*.png. Then `ftunet app --serve`: its page is
 * cross-origin isolated and runs wasm with one thread per core.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import { agreement, readMask } from './mask_agreement.js';
import sharp from 'sharp';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { EXPORT_MARKER } from '../../src/export/write.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { ARTIFACTS, launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { runCli } from '../cli/run.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from './fixtures.js';
import { clearWork, openWorkbench, settled } from './page.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The sub-path the plain server hosts the app under. */
const SUB_PATH = '/lab/tools/segment/';
/** The least share of pixels on which the app's mask must equal predict's. */
const AGREEMENT = 0.999;

let root: string;
let images: FixtureFile[];
let appDir: string;
let otherModel: string;
let refDir: string;
let server: StaticServer;
let browser: TestBrowser;

const stem = (f: string) => path.basename(f).replace(/\.[^.]+$/, '');

/** A stand-in for a huge photo: a PNG whose header claims 20000 x 20000 pixels. */
function hugePngHeader(): Buffer {
  const b = Buffer.alloc(64);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(20000, 16);
  b.writeUInt32BE(20000, 20);
  return b;
}

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-app-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeFile(path.join(root, 'images', 'notes.png'), 'these are notes, not an image\n');
  await writeFile(path.join(root, 'images', 'huge.png'), hugePngHeader());
  await writeSaturatedModel(path.join(root, 'model'), images, 1);
  otherModel = path.join(root, 'other');
  // Trained, it says, on dark images of little contrast: the fixture images look unlike them.
  await writeSaturatedModel(otherModel, images, 7, {
    channels: 1,
    images: 10,
    brightness: { mean: [20], std: [2] },
    contrast: { mean: [5], std: [1] },
  });
  appDir = path.join(root, 'app');
  await writeApp({ model: path.join(root, 'model'), out: appDir });
  // As in the folder of an export, picked whole: its marker beside model.json.
  await copyFile(path.join(appDir, 'model', EXPORT_MARKER), path.join(otherModel, EXPORT_MARKER));
  refDir = path.join(root, 'ref');
  const r = runCli([
    'predict',
    '--model',
    path.join(appDir, 'model'),
    '--out',
    refDir,
    '--quiet',
    ...images.map((i) => i.file),
  ]);
  assert.equal(r.code, 0, r.stderr);
  // The comparison means something only if the masks are far from empty or full.
  for (const image of images) {
    const m = await readMask(path.join(refDir, `${stem(image.file)}_mask.png`));
    const share = m.data.filter((v) => v > 0).length / m.data.length;
    assert.ok(share > 0.05 && share < 0.95, `${image.file}: lesion share ${share}`);
  }
  server = await serveStatic({ mounts: { [SUB_PATH]: appDir }, isolated: false });
  browser = await launchChromium(sameOrigin(server.origin));
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/**
 * Opens the app with `query`; the work an earlier test left in the browser (it comes back on
 * load) is cleared, as a person clears it: the button, then the dialog's confirmation.
 */
function openApp(query: string): Promise<Page> {
  return openWorkbench(browser, `${server.origin}${SUB_PATH}${query}`);
}

/** Opens the app with `query`, drops in every fixture file, waits until all are done. */
async function runApp(query: string): Promise<Page> {
  const page = await openApp(query);
  const files = [
    ...images.map((i) => i.file),
    path.join(root, 'images', 'notes.png'),
    path.join(root, 'images', 'huge.png'),
  ];
  await page.setInputFiles('#files', files);
  await settled(page, files.length, 240_000);
  return page;
}

/** Exports the work (`#export`); returns the zip's name and entries. */
async function exportZip(
  page: Page,
): Promise<{ name: string; entries: Record<string, Uint8Array> }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  return {
    name: d.suggestedFilename(),
    entries: unzipSync(new Uint8Array(await readFile(await d.path()))),
  };
}

/** The mask of the image `file` in an exported work zip (`masks/<stem>.png`). */
function maskIn(entries: Record<string, Uint8Array>, file: string): Buffer {
  const name = `masks/${stem(file)}.png`;
  assert.ok(entries[name], `the zip holds ${name}: ${Object.keys(entries).join(', ')}`);
  return Buffer.from(entries[name]);
}

for (const [label, query, engine] of [
  ['onnxruntime-web wasm', '?backend=wasm', 'onnxruntime-wasm'],
  ['tfjs wasm', '?backend=wasm&engine=tfjs', 'tfjs-wasm'],
  ['tfjs webgl', '?backend=webgl&engine=tfjs', 'tfjs-webgl'],
] as const) {
  describe(`the web app on ${label}`, () => {
    test('mask downloads equal ftunet predict; bad files get their message; no error, no outside request', async (t) => {
      const page = await runApp(query);
      try {
        assert.equal(await page.evaluate(() => document.body.dataset.engine), engine);
        const { entries } = await exportZip(page);
        for (const image of images) {
          const name = path.basename(image.file);
          const got = { bytes: maskIn(entries, name) };
          const ref = path.join(refDir, `${stem(name)}_mask.png`);
          const share = await agreement(got.bytes, ref);
          assert.ok(share >= AGREEMENT, `${name}: ${(100 * share).toFixed(3)}% of pixels agree`);
          t.diagnostic(`${name}: ${(100 * share).toFixed(3)}% of pixels agree with ftunet predict`);
          const meta = await sharp(got.bytes).metadata();
          assert.equal(meta.channels, 1, `${name}: a grey PNG`);
        }
        const messages = await page.$$eval('[data-status="failed"]', (rows) =>
          rows.map(
            (c) =>
              `${(c as HTMLElement).dataset.file}: ${c.querySelector('.message')?.textContent}`,
          ),
        );
        assert.deepEqual(messages, [
          'notes.png: Not processed: not an image: expected a PNG, JPEG or BMP file.',
          'huge.png: Not processed: too large: 20000x20000 = 400 megapixels, more than the limit of 100 megapixels.',
        ]);
        const rows = await page.$$eval('[data-status="unreviewed"]', (c) => c.length);
        assert.equal(rows, images.length);
        // Each result shows its quality-control verdict (eval/quality.ts).
        const labels = await page.$$eval('[data-status="unreviewed"] .qc', (q) =>
          q.map((e) => e.textContent ?? ''),
        );
        assert.equal(labels.length, images.length);
        assert.ok(
          labels.every((l) => /^(ok|check: [a-z ,]+)$/.test(l)),
          labels.join('; '),
        );
        // The grey model was given colour images: those two say they were converted.
        const notes = await page.$$eval('[data-file] .note', (n) =>
          n.map((e) => (e.closest('[data-file]') as HTMLElement).dataset.file),
        );
        assert.deepEqual(notes, ['colour.png', 'scan.bmp']);
        await page.screenshot({ path: path.join(ARTIFACTS, `app-${engine}.png`), fullPage: true });
        assert.deepEqual(browser.errors, []);
        assert.deepEqual(browser.blocked, []);
      } finally {
        await page.close();
      }
    });
  });
}

describe('the web app, one engine', () => {
  test('the work zip holds every image and mask, and the manifest', async () => {
    const page = await runApp('');
    try {
      const { name, entries: zip } = await exportZip(page);
      assert.equal(name, 'work.zip');
      const names = Object.keys(zip).sort();
      assert.deepEqual(
        names,
        [
          'manifest.json',
          ...images.map((i) => `images/${path.basename(i.file)}`),
          ...images.map((i) => `masks/${stem(i.file)}.png`),
        ].sort(),
      );
      const manifest = JSON.parse(new TextDecoder().decode(zip['manifest.json'])) as {
        app: { version: string };
        model: { name: string };
        images: {
          name: string;
          status: string;
          settings: { threshold: number };
          lesionPixels: number;
          width: number;
          height: number;
        }[];
      };
      assert.equal(manifest.app.version, '0.1.0');
      assert.equal(manifest.model.name, 'attn_reg');
      assert.equal(manifest.images.length, images.length);
      for (const image of images) {
        const mask = `${stem(image.file)}_mask.png`;
        const share = await agreement(maskIn(zip, image.file), path.join(refDir, mask));
        assert.ok(share >= AGREEMENT, `${mask} in the zip: ${share}`);
        const ref = await readMask(path.join(refDir, mask));
        const row = manifest.images.find((i) => i.name === path.basename(image.file))!;
        assert.deepEqual(
          [row.width, row.height, row.settings.threshold, row.status],
          [ref.width, ref.height, 0.5, 'unreviewed'],
        );
        const refPixels = ref.data.filter((v) => v > 0).length;
        assert.ok(
          Math.abs(row.lesionPixels - refPixels) <= ref.data.length * (1 - AGREEMENT),
          JSON.stringify(row),
        );
      }
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('the threshold slider re-thresholds without running the network again', async () => {
    const page = await runApp('');
    try {
      const name = path.basename(images[0].file);
      const before = await page.evaluate(() => document.getElementById('diag-text')!.textContent);
      // The slider moves by its keys (0.01 a step): from 0.5 to 0.99 with End, 0.98 with one
      // step down, and back up; it keeps the focus, and the masks follow while it moves.
      await page.focus('#threshold');
      await page.keyboard.press('End');
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('ArrowRight');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'threshold');
      assert.equal(await page.textContent('#threshold-value'), '0.99');
      await settled(page, images.length + 2);
      const got = { bytes: maskIn((await exportZip(page)).entries, name) };
      const ref = path.join(root, 'ref99');
      const r = runCli([
        'predict',
        '--model',
        path.join(appDir, 'model'),
        '--out',
        ref,
        '--quiet',
        '--threshold',
        '0.99',
        images[0].file,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const share = await agreement(got.bytes, path.join(ref, `${stem(name)}_mask.png`));
      assert.ok(share >= AGREEMENT, `threshold 0.99: ${share}`);
      const at50 = path.join(refDir, `${stem(name)}_mask.png`);
      const moved = 1 - (await agreement(path.join(ref, `${stem(name)}_mask.png`), at50));
      assert.ok(moved > 0.001, `0.99 and 0.5 give different masks (${moved} of the pixels)`);
      const after = await page.evaluate(() => document.getElementById('diag-text')!.textContent);
      assert.equal(after, before, 'no new prediction was timed');
      // The threshold is remembered: a new visit starts at 0.99.
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      assert.equal(await page.inputValue('#threshold'), '0.99');
    } finally {
      // The next tests start from the model's settings.
      await page.evaluate(() => localStorage.clear()).catch(() => undefined);
      await page.close();
    }
  });

  test('images dropped on the drop zone are predicted as picked ones', async () => {
    const page = await openApp('');
    try {
      const bytes = [...(await readFile(images[0].file))];
      await page.evaluate(
        ([data, name]) => {
          const dt = new DataTransfer();
          dt.items.add(new File([new Uint8Array(data)], name, { type: 'image/png' }));
          const drop = document.getElementById('drop')!;
          drop.dispatchEvent(
            new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }),
          );
        },
        [bytes, path.basename(images[0].file)] as const,
      );
      await settled(page, 1);
      const got = { bytes: maskIn((await exportZip(page)).entries, images[0].file) };
      const share = await agreement(
        got.bytes,
        path.join(refDir, `${stem(images[0].file)}_mask.png`),
      );
      assert.ok(share >= AGREEMENT, `dropped: ${share}`);
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('another exported model, picked as files, predicts the next images', async () => {
    const page = await runApp('');
    try {
      const files = (await readdir(otherModel)).map((f) => path.join(otherModel, f));
      await page.setInputFiles('#model-files', files);
      await page.waitForFunction(
        () => /Opened model\.json/.test(document.getElementById('notice')!.textContent ?? ''),
        undefined,
        { timeout: 60_000 },
      );
      // Clear the work (confirmed in the dialog), then predict with the other model.
      await clearWork(page);
      await page.setInputFiles('#files', [images[0].file]);
      await settled(page, 1);
      const got = { bytes: maskIn((await exportZip(page)).entries, images[0].file) };
      const ref = path.join(root, 'ref-other');
      const r = runCli(['predict', '--model', otherModel, '--out', ref, '--quiet', images[0].file]);
      assert.equal(r.code, 0, r.stderr);
      const share = await agreement(got.bytes, path.join(ref, `${stem(images[0].file)}_mask.png`));
      assert.ok(share >= AGREEMENT, `the other model: ${share}`);
      const note = await page.$eval('[data-file] .note', (e) => e.textContent);
      assert.match(
        note ?? '',
        /^This image does not look like the model's 10 training images \(brightness \d+ there, 20 ± 2 in training; contrast \d+, 5 ± 1 in training\): its mask may be meaningless\.$/,
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });
});

describe('ftunet app --serve', () => {
  test('serves the app cross-origin isolated: wasm gets one thread per core', async () => {
    const out = path.join(root, 'served');
    const child = spawn(
      process.execPath,
      [MAIN, 'app', '--model', path.join(root, 'model'), '--out', out, '--serve', '--port', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (d: Buffer) => {
          text += d.toString();
          const m = /serving it at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(text);
          if (m) resolve(m[1]);
        });
        child.on('exit', (code) => reject(new Error(`ftunet app exited with ${code}: ${text}`)));
      });
      const res = await fetch(url);
      assert.equal(res.headers.get('cross-origin-opener-policy'), 'same-origin');
      assert.equal(res.headers.get('cross-origin-embedder-policy'), 'require-corp');
      const origin = new URL(url).origin;
      const isolated = await launchChromium(sameOrigin(origin));
      try {
        const page = await isolated.page();
        await page.goto(url);
        await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
        const state = await page.evaluate(() => ({
          isolated: crossOriginIsolated,
          cores: navigator.hardwareConcurrency,
          engine: document.getElementById('engine-line')!.textContent,
        }));
        assert.equal(state.isolated, true);
        if (state.cores > 1)
          assert.match(state.engine ?? '', new RegExp(`onnxruntime-wasm, ${state.cores} threads`));
        await page.setInputFiles('#files', [images[0].file]);
        await page.waitForFunction(
          () =>
            document.querySelectorAll('[data-status="unreviewed"]').length === 1 &&
            document.body.dataset.busy === 'false',
          undefined,
          { timeout: 60_000 },
        );
        await page.screenshot({ path: path.join(ARTIFACTS, 'app-served.png'), fullPage: true });
        assert.deepEqual(isolated.errors, []);
        assert.deepEqual(isolated.blocked, []);
      } finally {
        await isolated.close();
      }
    } finally {
      child.kill('SIGINT');
    }
  });
});
