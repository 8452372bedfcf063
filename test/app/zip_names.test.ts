/**
 * The web app's work zip in a real browser (Debian's Chromium through playwright-core) for
 * files whose names are hostile where the zip is opened: a name a spreadsheet would run as a
 * formula, a hidden name, a right-to-left override, a control character, two names that differ
 * only in case. The entries extract as plain, visible, distinct files in their folders, and the
 * manifest names each image as it was picked.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from './fixtures.js';

const SUB_PATH = '/app/';

let root: string;
let images: FixtureFile[];
let server: StaticServer;
let browser: TestBrowser;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-app-zip-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeSaturatedModel(path.join(root, 'model'), images, 1);
  const appDir = path.join(root, 'app');
  await writeApp({ model: path.join(root, 'model'), out: appDir });
  server = await serveStatic({ mounts: { [SUB_PATH]: appDir }, isolated: false });
  browser = await launchChromium(sameOrigin(server.origin));
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

describe('the web app zip, hostile file names', () => {
  test('entries are safe and distinct; the manifest keeps the names as picked', async () => {
    // [name picked, the stem of its entries in the zip]
    const cases: Array<[string, string]> = [
      ['=SUM(1+1)*cmd|"x".png', '=SUM(1+1)_cmd__x_'],
      ['.hidden.png', 'hidden'],
      ['scan\u202egnp.png', 'scangnp'],
      ['tab\there.png', 'tab_here'],
      ['A.png', 'A'],
      ['a.png', 'a_2'],
      ['-1.png', '-1'],
    ];
    const png = await readFile(images[0].file);
    const page = await browser.page();
    try {
      await page.goto(`${server.origin}${SUB_PATH}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      await page.setInputFiles(
        '#files',
        cases.map(([name]) => ({ name, mimeType: 'image/png', buffer: png })),
      );
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll('[data-status="unreviewed"]').length === n &&
          document.body.dataset.busy === 'false',
        cases.length,
        { timeout: 240_000 },
      );
      const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      const zip = unzipSync(new Uint8Array(await readFile(await d.path())));
      assert.deepEqual(
        Object.keys(zip).sort(),
        [
          ...cases.flatMap(([, stem]) => [`images/${stem}.png`, `masks/${stem}.png`]),
          'manifest.json',
        ].sort(),
      );
      const manifest = JSON.parse(new TextDecoder().decode(zip['manifest.json'])) as {
        images: { name: string; image: string; mask: string }[];
      };
      assert.deepEqual(
        manifest.images.map((i) => [i.name, i.image, i.mask]),
        cases.map(([name, stem]) => [name, `images/${stem}.png`, `masks/${stem}.png`]),
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });
});
