/**
 * Fine-tuning in the page, the whole loop as a person does it, in Chromium, on a tiny model and
 * eight tiny images chosen with their `<stem>_mask.png` files: the "Fine-tune" button (by mouse,
 * and by keyboard), the progress and curves, no main-thread task over 100 ms while it trains,
 * axe-core with the panel idle, running and done; the validation DSC the page shows after is
 * what `ftunet evaluate --model` gives for the downloaded zip's model on the held-out images
 * the page names; every image's model mask is made again with the new model, and switching
 * back to the original model gives back the original masks; a stop keeps the best model so
 * far; a reload during training offers to resume (which finishes) or to discard.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync } from 'fflate';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { spawnCli } from '../cli/run.js';
import { blobImage, writeSaturatedModel, type FixtureFile } from './fixtures.js';
import { axeViolations, openWorkbench, settled } from './page.js';

/** The images: 8, so that a fifth held out is 2 (`round(8 * 0.2)`). */
const COUNT = 8;
const [H, W] = [40, 48];

let root: string;
let files: string[];
let server: StaticServer;
let browser: TestBrowser;
let origin: string;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-fine-tune-loop-');
  const fixtures: FixtureFile[] = [];
  files = [];
  await mkdir(path.join(root, 'images'));
  await mkdir(path.join(root, 'masks'));
  for (let i = 0; i < COUNT; i++) {
    const pixels = blobImage(H, W, i);
    const mask = pixels.map((v) => (v === 230 ? 255 : 0));
    const image = path.join(root, 'images', `case${i}.png`);
    const maskFile = path.join(root, 'masks', `case${i}_mask.png`);
    const raw = { raw: { width: W, height: H, channels: 1 as const } };
    await writeFile(image, await sharp(pixels, raw).png().toBuffer());
    await writeFile(maskFile, await sharp(mask, raw).png().toBuffer());
    files.push(image, maskFile);
    fixtures.push({ file: image, image: { data: pixels, height: H, width: W, channels: 1 } });
  }
  await writeSaturatedModel(path.join(root, 'model'), fixtures, 1);
  await writeApp({ model: path.join(root, 'model'), out: path.join(root, 'app') });
  server = await serveStatic({ mounts: { '/': path.join(root, 'app') }, isolated: false });
  origin = server.origin;
  browser = await launchChromium(sameOrigin(origin), { viewport: { width: 1280, height: 900 } });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** The workbench with the eight images and their masks chosen, predicted, and `epochs` set. */
async function withImages(epochs: number, learningRate?: number): Promise<Page> {
  const page = await openWorkbench(browser, `${origin}/`);
  page.on('filechooser', () => undefined);
  await page.setInputFiles('#files', files);
  await settled(page, COUNT);
  await page.fill('#ft-epochs', String(epochs));
  await page.dispatchEvent('#ft-epochs', 'change');
  if (learningRate !== undefined) {
    await page.fill('#ft-rate', String(learningRate));
    await page.dispatchEvent('#ft-rate', 'change');
  }
  return page;
}

/** Each image row's DSC against its mask, by file name. */
function rowScores(page: Page): Promise<Record<string, string>> {
  return page.evaluate(() =>
    Object.fromEntries(
      Array.from(document.querySelectorAll<HTMLElement>('#image-rows tr[data-file]')).map((r) => [
        r.dataset.file!,
        r.querySelector('td.dsc')!.textContent!,
      ]),
    ),
  );
}

/** Waits for `body[data-fine-tuning=phase]`, failing at once on 'error' with what the panel says. */
async function fineTuning(page: Page, phase: string, timeout = 120_000): Promise<void> {
  await page
    .waitForFunction(
      (phase) => [phase, 'error'].includes(document.body.dataset.fineTuning ?? ''),
      phase,
      { timeout },
    )
    .catch(async (err: unknown) => {
      const said = await page.evaluate(
        () =>
          `data-fine-tuning ${document.body.dataset.fineTuning}; status: ${document.querySelector('#ft-status')?.textContent}; notice: ${document.querySelector('#notice')?.textContent}`,
      );
      throw new Error(`waiting for fine-tuning ${phase}: ${said}`, { cause: err });
    });
  const now = await page.evaluate(() => document.body.dataset.fineTuning);
  if (now !== phase) assert.fail(`fine-tuning: ${await page.textContent('#ft-status')}`);
}

/** Waits until the panel says that epoch `n` of `epochs` ended. */
async function epoch(page: Page, n: number, epochs: number): Promise<void> {
  await page.waitForFunction(
    (text) => (document.querySelector('#ft-status')?.textContent ?? '').startsWith(text),
    `Epoch ${n} of ${epochs}`,
    { timeout: 120_000 },
  );
}

/** Starts a fine-tuning of `epochs` epochs and reloads the page once its first one ended. */
async function reloadAfterEpoch1(page: Page, epochs: number): Promise<void> {
  await page.getByRole('button', { name: 'Fine-tune', exact: true }).click();
  await epoch(page, 1, epochs);
  await page.reload();
  await page.waitForSelector('body[data-ready="true"]');
}

/**
 * Watches the page's long tasks (PerformanceObserver) and the times the fine-tuning starts and
 * shows its result, kept in `window.watch`.
 */
async function watchLongTasks(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as {
      watch: { tasks: { start: number; duration: number }[]; running?: number; result?: number };
    };
    w.watch = { tasks: [] };
    new MutationObserver(() => {
      if (document.body.dataset.fineTuning === 'running') w.watch.running ??= performance.now();
      if (!document.querySelector<HTMLElement>('#ft-result')!.hidden) {
        w.watch.result ??= performance.now();
      }
    }).observe(document.body, { subtree: true, attributes: true });
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        w.watch.tasks.push({ start: e.startTime, duration: e.duration });
      }
    }).observe({ type: 'longtask' });
  });
}

/** The long tasks (over 100 ms) from the start of the fine-tuning to its result. */
function longTasksWhileTraining(page: Page): Promise<{ start: number; duration: number }[]> {
  return page.evaluate(() => {
    const { watch } = window as unknown as {
      watch: { tasks: { start: number; duration: number }[]; running: number; result: number };
    };
    return watch.tasks.filter(
      (t) => t.start + t.duration >= watch.running && t.start <= watch.result && t.duration > 100,
    );
  });
}

describe('fine-tuning in the page', () => {
  test('import masks, Fine-tune by mouse, download: ftunet evaluate on the held-out images gives the page figure; masks made again; switch back', async () => {
    const page = await withImages(6, 0.01);
    assert.deepEqual(await axeViolations(page), [], 'the panel idle');
    assert.match(
      (await page.textContent('#ft-set'))!,
      /^8 images have a mask to learn from \(corrected, accepted or imported\): 6 to train on, 2 held out to validate \(case\d\.png, case\d\.png\)\.$/,
    );
    const original = await rowScores(page);
    await watchLongTasks(page);
    await page.getByRole('button', { name: 'Fine-tune', exact: true }).click();
    await fineTuning(page, 'running');
    // While it trains: the bar, the line and (after an epoch) the curves.
    await page.waitForFunction(
      () => document.querySelector('#ft-curves path.ft-dsc')?.getAttribute('d'),
      null,
      {
        timeout: 120_000,
      },
    );
    assert.match(
      (await page.textContent('#ft-progress'))!,
      /Epoch \d of 6, step \d of \d · .* images\/s · about .* left|Done/,
    );
    await fineTuning(page, 'done');
    assert.deepEqual(
      await longTasksWhileTraining(page),
      [],
      'no main-thread task over 100 ms while training',
    );
    await settled(page, COUNT);
    assert.deepEqual(await axeViolations(page), [], 'the panel done');

    // The figures the page gives, and the images it held out.
    const validation = await page.$$eval('#ft-rows tr[data-validation]', (rows) =>
      rows.map((r) => (r as HTMLElement).dataset.validation!),
    );
    assert.equal(validation.length, 2);
    const afterDsc = Number(await page.getAttribute('#ft-after', 'value'));
    const beforeDsc = Number(await page.getAttribute('#ft-before', 'value'));
    assert.ok(afterDsc >= 0 && afterDsc <= 1 && beforeDsc >= 0 && beforeDsc <= 1);
    assert.equal(await page.evaluate(() => document.body.dataset.model), 'fine-tuned');

    // The download: a zip named *model*.zip holding model/model.json and its weights.
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('#ft-download'),
    ]);
    const name = download.suggestedFilename();
    assert.match(name, /model.*\.zip$/);
    const entries = unzipSync(new Uint8Array(await readFile(await download.path())));
    const modelDir = path.join(root, 'downloaded');
    for (const [entry, bytes] of Object.entries(entries)) {
      await mkdir(path.dirname(path.join(modelDir, entry)), { recursive: true });
      await writeFile(path.join(modelDir, entry), bytes);
    }
    assert.ok(Object.keys(entries).includes('model/model.json'), Object.keys(entries).join(', '));

    // `ftunet evaluate` on the held-out images with their masks.
    const data = path.join(root, 'validation');
    await mkdir(path.join(data, 'images'), { recursive: true });
    await mkdir(path.join(data, 'masks'), { recursive: true });
    for (const file of validation) {
      const stem = file.replace(/\.png$/, '');
      await copyFile(path.join(root, 'images', file), path.join(data, 'images', file));
      await copyFile(path.join(root, 'masks', `${stem}_mask.png`), path.join(data, 'masks', file));
    }
    const out = path.join(root, 'evaluated');
    const exit = await spawnCli([
      'evaluate',
      '--model',
      path.join(modelDir, 'model'),
      '--dataset',
      'folder',
      '--data',
      data,
      '--out',
      out,
      '--no-cache',
      '--quiet',
    ]);
    assert.equal(exit.code, 0, exit.stderr);
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as {
      dsc: { mean: number };
    };
    assert.ok(
      Math.abs(summary.dsc.mean - afterDsc) <= 1e-6,
      `ftunet evaluate ${summary.dsc.mean}, the page ${afterDsc}`,
    );

    // Every model mask was made again with the fine-tuned model; the original gives them back.
    const tuned = await rowScores(page);
    assert.notDeepEqual(tuned, original, 'the masks changed with the model');
    await page.getByRole('button', { name: 'Use the original model', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.model === 'original');
    await settled(page, COUNT);
    assert.deepEqual(
      await rowScores(page),
      original,
      'the original model makes the same masks again',
    );
    await page.getByRole('button', { name: 'Use the fine-tuned model', exact: true }).click();
    await page.waitForFunction(() => document.body.dataset.model === 'fine-tuned');
    await settled(page, COUNT);
    assert.deepEqual(await rowScores(page), tuned, 'and the fine-tuned one its own');
    await page.close();
  });

  test('by keyboard: Tab to Fine-tune, Enter; axe-core while it runs; Stop keeps the best model so far', async () => {
    const page = await withImages(50);
    const button = page.getByRole('button', { name: 'Fine-tune', exact: true });
    for (let k = 0; k < 80 && !(await button.evaluate((b) => b === document.activeElement)); k++) {
      await page.keyboard.press('Tab');
    }
    assert.ok(await button.evaluate((b) => b === document.activeElement), 'Tab reaches Fine-tune');
    await page.keyboard.press('Enter');
    await fineTuning(page, 'running');
    await epoch(page, 1, 50);
    // The focus went to the stop button.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'ft-cancel');
    assert.deepEqual(await axeViolations(page), [], 'the panel running');
    await page.keyboard.press('Enter');
    await fineTuning(page, 'cancelled');
    assert.match((await page.textContent('#ft-scores'))!, /stopped early/);
    assert.match((await page.getAttribute('#ft-download', 'download'))!, /model.*\.zip$/);
    assert.equal(await page.evaluate(() => document.body.dataset.model), 'fine-tuned');
    await settled(page, COUNT);
    await page.close();
  });

  test('a reload while it trains offers Resume, which goes on from the saved epoch to the end, and Discard', async () => {
    const page = await withImages(20);
    await reloadAfterEpoch1(page, 20);
    const resume = page.getByRole('button', { name: 'Resume', exact: true });
    await resume.waitFor({ timeout: 30_000 });
    const said = (await page.textContent('#ft-saved-text'))!;
    const saved = Number(/interrupted after epoch (\d+) of 20/.exec(said)?.[1]);
    assert.ok(saved >= 1, said);
    assert.match((await page.textContent('#notice'))!, /resume or discard it/);
    // The prompt is announced (a status) and in the Tab order.
    assert.equal(await page.getAttribute('#ft-saved-text', 'role'), 'status');
    await resume.focus();
    await page.keyboard.press('Enter');
    await fineTuning(page, 'done');
    // The curves hold the epochs before the reload and after it: 20 in all.
    assert.match((await page.textContent('#ft-curves-text'))!, /, 20 of 20 epochs:/);
    assert.match((await page.textContent('#ft-scores'))!, /of 20 kept|kept unchanged/);
    await settled(page, COUNT);

    // Another run interrupted, then discarded: nothing is offered after the next load.
    await reloadAfterEpoch1(page, 20);
    const discard = page.getByRole('button', { name: 'Discard', exact: true });
    await discard.waitFor({ timeout: 30_000 });
    // From the keyboard: Tab from Resume reaches Discard.
    await resume.focus();
    await page.keyboard.press('Tab');
    assert.ok(await discard.evaluate((b) => b === document.activeElement), 'Tab reaches Discard');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#ft-saved', { state: 'hidden' });
    assert.match((await page.textContent('#ft-status'))!, /discarded/);
    await page.reload();
    await page.waitForSelector('body[data-interrupted="none"]');
    assert.equal(await page.isVisible('#ft-saved'), false, 'nothing offered after a discard');
    await page.close();
  });
});
