/**
 * The web app of `ftunet app` in Chromium, on what comes into it: a model opened with "Open
 * another model…" gets the CLI's checks (a flipped bit in its weights, a graph with a cycle:
 * an error message, the model in use kept), and so does the built-in model; images chosen
 * while the model and its engine are still loading wait and are processed once they are ready.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { HASH_MISMATCH } from '../../src/io/model_files.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from '../app/fixtures.js';
import { openWorkbench, settled } from '../app/page.js';
import { flipByte, weightsFileOf } from '../io/damage.js';

let root: string;
let images: FixtureFile[];
let otherModel: string;
let server: StaticServer;
let browser: TestBrowser;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-webapp-model-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeSaturatedModel(path.join(root, 'model'), images, 1);
  otherModel = path.join(root, 'other');
  await writeSaturatedModel(otherModel, images, 7);
  const appDir = path.join(root, 'app');
  await writeApp({ model: path.join(root, 'model'), out: appDir });
  server = await serveStatic({ mounts: { '/': appDir }, isolated: false });
  browser = await launchChromium(sameOrigin(server.origin));
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** The page with its built-in model loaded. */
function openApp(): Promise<Page> {
  return openWorkbench(browser, `${server.origin}/`);
}

/** A copy of the other model's folder, changed by `damage`; returns its files. */
async function pickedModel(name: string, damage: (folder: string) => Promise<void>) {
  const folder = path.join(root, name);
  await mkdir(folder);
  for (const f of await readdir(otherModel)) {
    await writeFile(path.join(folder, f), await readFile(path.join(otherModel, f)));
  }
  await damage(folder);
  return (await readdir(folder)).map((f) => path.join(folder, f));
}

/** Picks `files` with "Open another model…"; returns the notice it ends with. */
async function openAnother(page: Page, files: string[]): Promise<string> {
  await page.setInputFiles('#model-files', files);
  await page.waitForFunction(
    () => /^(Opened|Could not open)/.test(document.getElementById('notice')!.textContent ?? ''),
    undefined,
    { timeout: 30_000 },
  );
  return page.$eval('#notice', (e) => e.textContent ?? '');
}

/** Whether one picked image is predicted (a row not failed) by the model in use. */
async function predictsOne(page: Page): Promise<void> {
  const rows = (await page.$$('[data-file]')).length;
  await page.setInputFiles('#files', [images[0].file]);
  await settled(page, rows + 1);
  assert.equal(await page.$$eval('[data-status="failed"]', (c) => c.length), 0);
}

describe('the web app checks the models it opens', () => {
  test('a picked model with a flipped bit in its weights is refused; the model in use stays', async () => {
    const files = await pickedModel('flipped', async (folder) => {
      await flipByte(await weightsFileOf(folder));
    });
    const weights = path.basename(files.find((f) => f.endsWith('.bin'))!);
    const page = await openApp();
    try {
      assert.equal(
        await openAnother(page, files),
        `Could not open that model: ${weights} is damaged: ${HASH_MISMATCH}`,
      );
      assert.equal(await page.evaluate(() => document.body.dataset.ready), 'true');
      await predictsOne(page);
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('a picked model whose graph has a cycle is refused at once, not a hung tab', async () => {
    let cycle = '';
    const files = await pickedModel('cycle', async (folder) => {
      const file = path.join(folder, 'model.json');
      const json = JSON.parse(await readFile(file, 'utf8')) as {
        modelTopology: { config: { layers: Array<{ name: string; inbound_nodes: unknown[] }> } };
      };
      const layers = json.modelTopology.config.layers;
      layers[1].inbound_nodes = [[[layers.at(-1)!.name, 0, 0, {}]]];
      cycle =
        `layer '${layers[1].name}' takes its input from node 0 of layer ` +
        `'${layers.at(-1)!.name}', which is never made (a cycle or a missing call)`;
      await writeFile(file, JSON.stringify(json));
    });
    const page = await openApp();
    try {
      assert.equal(
        await openAnother(page, files),
        `Could not open that model: model.json is damaged: ${cycle}`,
      );
      await predictsOne(page);
    } finally {
      await page.close({ runBeforeUnload: false });
    }
  });

  test('the intact picked model opens', async () => {
    const files = await pickedModel('intact', () => Promise.resolve());
    const page = await openApp();
    try {
      assert.equal(await openAnother(page, files), 'Opened model.json: the next images use it.');
      await predictsOne(page);
    } finally {
      await page.close();
    }
  });

  test('the built-in model with a flipped bit in its weights does not load', async () => {
    const page = await browser.page();
    try {
      let url = '';
      // On the context: the model is fetched by the page's worker, whose requests a page's
      // routes do not see.
      await browser.context.route('**/model/weights-*.bin', async (route) => {
        url = route.request().url();
        const response = await route.fetch();
        const body = await response.body();
        body[body.length >> 1] ^= 0x5a;
        await route.fulfill({ response, body });
      });
      await page.goto(`${server.origin}/`);
      await page.waitForSelector('body[data-ready="error"]', { timeout: 60_000 });
      assert.equal(
        await page.$eval('#notice', (e) => e.textContent),
        `The built-in model did not load: ${url} is damaged: ${HASH_MISMATCH}. ` +
          'Open a model with the button.',
      );
    } finally {
      await browser.context.unroute('**/model/weights-*.bin');
      await page.close();
    }
  });
});

describe('the web app keeps images chosen before its model is ready', () => {
  test('images chosen while the model loads are processed once it is ready', async () => {
    // A page without the work of the earlier tests.
    await (await openApp()).close();
    const page = await browser.page();
    try {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let asked!: () => void;
      const requested = new Promise<void>((resolve) => (asked = resolve));
      await browser.context.route('**/model/model.json', async (route) => {
        asked();
        await released;
        await route.fallback();
      });
      await page.goto(`${server.origin}/`);
      await requested;
      const files = images.slice(0, 2).map((i) => i.file);
      await page.setInputFiles('#files', files);
      assert.equal(
        await page.$eval('#progress', (e) => e.textContent),
        'Waiting for the model to load: 2 images will be processed once it is ready.',
      );
      assert.equal(await page.$$eval('[data-status="waiting"]', (c) => c.length), 2);
      release();
      await page.waitForFunction(
        () =>
          document.querySelectorAll('[data-status="unreviewed"]').length === 2 &&
          document.body.dataset.busy === 'false',
        undefined,
        { timeout: 120_000 },
      );
      assert.deepEqual(
        await page.$$eval('[data-file]', (rows) =>
          rows.map((c) => (c as HTMLElement).dataset.file),
        ),
        files.map((f) => path.basename(f)),
      );
      assert.match(
        (await page.$eval('#progress', (e) => e.textContent)) ?? '',
        /^Done: 2 images in \d+\.\d s\.$/,
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await browser.context.unroute('**/model/model.json');
      await page.close();
    }
  });
});
