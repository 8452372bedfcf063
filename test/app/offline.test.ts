/**
 * The web app offline and installed, in Chromium (no request routing: Playwright's routing turns
 * the HTTP cache off and does not see what a service worker answers): after one visit the page
 * reloads and predicts with the network off, the same mask as online; a reload online costs
 * at most 100 kB on the wire; the manifest makes the app installable (Chromium's own check,
 * `Page.getInstallabilityErrors`, finds nothing; its icons are PNGs of their stated sizes; every
 * URL is relative, so the app works under a sub-path); a visit loads only the default engine's
 * chunks, not the other engines'; opened from file://, the page says in one line how to serve it.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { writeApp } from '../../src/app/write.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { countingServer, type CountingServer } from './counting_server.js';
import { settled } from './page.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from './fixtures.js';

/** The sub-path the app is hosted under. */
const SUB_PATH = '/lab/segment/';
/**
 * Strings of the other engines' code (TensorFlow.js's WebGL and WebGPU backends' flags, its
 * wasm backend's binary name), and of the default one's (onnxruntime-web's binary name).
 */
const OTHER_ENGINES = [
  'WEBGL_RENDER_FLOAT32_CAPABLE',
  'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE',
  'tfjs-backend-wasm-simd.wasm',
];
const DEFAULT_ENGINE = 'ort-wasm-simd-threaded';
/** The most a reload may cost on the wire (issue 23). */
const RELOAD_BYTES = 100_000;

let root: string;
let appDir: string;
let images: FixtureFile[];
let server: CountingServer;
let browser: TestBrowser;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-offline-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeSaturatedModel(path.join(root, 'model'), images, 1);
  appDir = path.join(root, 'app');
  await writeApp({ model: path.join(root, 'model'), out: appDir });
  server = await countingServer({ mounts: { [SUB_PATH]: appDir }, isolated: false });
  browser = await launchChromium(sameOrigin(server.origin), { routing: false });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/**
 * Chooses `file`, waits for its result; returns its mask as the exported work zip holds it
 * (the last image of that name: the work of the earlier visit comes back on a reload).
 */
async function predict(page: Page, file: string): Promise<Buffer> {
  const name = path.basename(file);
  const rows = (await page.$$('[data-file]')).length;
  await page.setInputFiles('#files', [file]);
  await settled(page, rows + 1);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const zip = unzipSync(new Uint8Array(await readFile(await download.path())));
  const manifest = JSON.parse(new TextDecoder().decode(zip['manifest.json'])) as {
    images: { name: string; mask: string }[];
  };
  const record = manifest.images.filter((i) => i.name === name).at(-1)!;
  return Buffer.from(zip[record.mask]);
}

describe('the web app offline', () => {
  test('after one visit it reloads and predicts with the network off; a reload costs <= 100 kB', async () => {
    const page = await browser.page();
    try {
      await page.goto(`${server.origin}${SUB_PATH}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      const online = await predict(page, images[0].file);
      // The service worker has kept the files once it is active.
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      await server.quiet();
      // Only the default engine's code came: no chunk of TensorFlow.js's WebGL, WebGPU or wasm
      // backends (each known by a string of its own code), onnxruntime-web's did.
      const built = await readdir(path.join(appDir, 'assets'));
      const code = async (files: string[]) =>
        Promise.all(files.map((f) => readFile(path.join(appDir, 'assets', f), 'utf8')));
      const all = (await code(built.filter((f) => f.endsWith('.js')))).join('\n');
      const loaded = (
        await code(
          [...new Set(server.requested)]
            .filter((u) => u.startsWith(`${SUB_PATH}assets/`) && u.endsWith('.js'))
            .map((u) => u.slice(`${SUB_PATH}assets/`.length)),
        )
      ).join('\n');
      for (const marker of OTHER_ENGINES) {
        assert.ok(all.includes(marker), `the build has ${marker}`);
        assert.ok(!loaded.includes(marker), `the visit loaded ${marker}`);
      }
      assert.ok(loaded.includes(DEFAULT_ENGINE), 'the visit loaded onnxruntime-web');

      const start = server.bytes();
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      await server.quiet();
      const reload = server.bytes() - start;
      assert.ok(reload <= RELOAD_BYTES, `a reload cost ${reload} bytes`);

      await browser.context.setOffline(true);
      const asked = server.requested.length;
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      const offline = await predict(page, images[0].file);
      // Nothing reached the server but the browser's own update check of the service worker,
      // which the page's offline emulation does not cover (with the network really off it
      // fails, and the installed worker stays).
      assert.deepEqual(
        server.requested.slice(asked).filter((p) => p !== `${SUB_PATH}sw.js`),
        [],
        'nothing reached the server',
      );
      assert.deepEqual(offline, online, 'the same mask offline as online');
      assert.equal(await page.$$eval('[data-status="failed"]', (c) => c.length), 0);
      assert.deepEqual(browser.errors, []);
      assert.deepEqual(browser.blocked, []);
    } finally {
      await browser.context.setOffline(false);
      await page.close();
    }
  });

  test('installable: Chromium finds no installability error; icons of their sizes; relative URLs', async () => {
    const page = await browser.page();
    try {
      await page.goto(`${server.origin}${SUB_PATH}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      const cdp = await browser.context.newCDPSession(page);
      const { installabilityErrors } = (await cdp.send('Page.getInstallabilityErrors')) as {
        installabilityErrors: { errorId: string }[];
      };
      assert.deepEqual(installabilityErrors, []);
      const href = await page.$eval('link[rel="manifest"]', (l) => l.getAttribute('href'));
      assert.equal(href, 'manifest.webmanifest');
      const manifest = JSON.parse(await readFile(path.join(appDir, href!), 'utf8')) as {
        name: string;
        short_name: string;
        start_url: string;
        scope: string;
        display: string;
        icons: { src: string; sizes: string; type: string }[];
      };
      assert.equal(manifest.start_url, '.');
      assert.equal(manifest.scope, '.');
      assert.equal(manifest.display, 'standalone');
      assert.ok(manifest.name.length > 0 && manifest.short_name.length > 0);
      assert.deepEqual(
        manifest.icons.map((i) => i.sizes),
        ['192x192', '512x512'],
      );
      for (const icon of manifest.icons) {
        assert.doesNotMatch(icon.src, /^(\/|[a-z]+:)/, 'relative');
        const meta = await sharp(path.join(appDir, icon.src)).metadata();
        assert.equal(`${meta.width}x${meta.height}`, icon.sizes);
        assert.equal(meta.format, 'png');
        assert.equal(icon.type, 'image/png');
      }
    } finally {
      await page.close();
    }
  });

  test('opened from file://, the page says in one line how to serve it', async () => {
    const page = await browser.page();
    try {
      await page.goto(pathToFileURL(path.join(appDir, 'index.html')).href);
      await page.waitForSelector('body[data-ready="error"]', { timeout: 10_000 });
      assert.equal(
        await page.$eval('#model-line', (e) => e.textContent),
        'Opened from a file, this page cannot run: serve its folder with npx ftunet app --serve ' +
          'or any static server (e.g. python3 -m http.server in this folder), then open the ' +
          'address it prints.',
      );
    } finally {
      await page.close();
    }
  });
});
