/**
 * The web app as a workbench, in Chromium, as a person uses it: the whole flow from the
 * keyboard alone (choose files with Enter, open an image, correct its mask with the viewer's
 * keys, accept it, export, and the zip holds the correction and the status); axe-core with
 * the WCAG 2 A/AA and best-practice rules finds nothing before and after results and with the
 * viewer open; the plain words (the research notice, the model in words from its export
 * metadata, areas in mm² with a pixel spacing, the sample image with its DSC/IoU against its
 * true mask); settings remembered; the work and the open image back after a reload; a click
 * on a row opens it; per-image settings named for their image.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import type { Page } from 'playwright-core';
import sharp from 'sharp';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { ARTIFACTS, launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { writeFixtureImages, writeSaturatedModel, type FixtureFile } from './fixtures.js';
import { readMask } from './mask_agreement.js';
import { axeViolations, openWorkbench, settled } from './page.js';

let root: string;
let images: FixtureFile[];
let server: StaticServer;
let browser: TestBrowser;
let origin: string;

/** The training record patched into the app's model (as `ftunet export` writes it from a run). */
const TRAINING = {
  dataset: 'synthetic-bus',
  epochs: 40,
  bestEpoch: 31,
  validationDsc: 0.74,
  testDsc: 0.7125,
  testImages: 25,
};

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-workbench-');
  images = await writeFixtureImages(path.join(root, 'images'));
  await writeSaturatedModel(path.join(root, 'model'), images, 1);
  const appDir = path.join(root, 'app');
  await writeApp({ model: path.join(root, 'model'), out: appDir });
  // The model's export record says what it was trained on; its compressed siblings go, so the
  // server hands out the patched file.
  const modelJson = path.join(appDir, 'model', 'model.json');
  const json = JSON.parse(await readFile(modelJson, 'utf8')) as {
    userDefinedMetadata: { ftunetExport: Record<string, unknown> };
  };
  json.userDefinedMetadata.ftunetExport.training = TRAINING;
  await writeFile(modelJson, JSON.stringify(json));
  for (const ext of ['.br', '.gz']) await rm(`${modelJson}${ext}`, { force: true });
  server = await serveStatic({ mounts: { '/': appDir }, isolated: false });
  origin = server.origin;
  browser = await launchChromium(sameOrigin(origin), { viewport: { width: 1280, height: 860 } });
  await mkdir(ARTIFACTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** A fresh page: the work an earlier test left in this browser is cleared with the button. */
async function openApp(): Promise<Page> {
  const page = await openWorkbench(browser, `${origin}/`);
  // Playwright intercepts file choosers once a page has a listener: set it up here, well
  // before a key opens one (a listener added beside the key press may come too late).
  page.on('filechooser', () => undefined);
  await page.evaluate(() => localStorage.clear());
  return page;
}

/** Presses Tab until the focus is on `selector` (at most `max` times); fails if it never is. */
async function tabTo(page: Page, selector: string, max = 60): Promise<void> {
  for (let k = 0; k < max; k++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  assert.fail(`Tab never reached ${selector}`);
}

/** The focused element's outline (its visible focus). */
async function focusOutline(page: Page): Promise<string> {
  return page.evaluate(() => {
    const s = getComputedStyle(document.activeElement!);
    return `${s.outlineStyle} ${s.outlineWidth}`;
  });
}

/** Grey pixels of a mask PNG in a zip, with its size. */
function pixels(png: Uint8Array): Promise<{ data: Buffer; width: number; height: number }> {
  return readMask(Buffer.from(png));
}

/** Exports the work with the keyboard (Tab to `#export`, Enter); returns the zip's entries. */
async function exportByKeyboard(page: Page): Promise<Record<string, Uint8Array>> {
  await tabTo(page, '#export');
  const [d] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
  assert.equal(d.suggestedFilename(), 'work.zip');
  return unzipSync(new Uint8Array(await readFile(await d.path())));
}

interface ManifestImage {
  name: string;
  status: string;
  maskSource: string;
  mask: string;
  lesionPixels: number;
}

describe('the workbench', () => {
  test('the whole flow from the keyboard: choose, review, correct, accept, export', async () => {
    const page = await openApp();
    try {
      // Choose: Enter on the button opens the picker (Playwright's file chooser).
      await tabTo(page, '#choose');
      assert.match(await focusOutline(page), /^solid [1-9]/, 'the focus is visible');
      const [chooser] = await Promise.all([
        page.waitForEvent('filechooser'),
        page.keyboard.press('Enter'),
      ]);
      assert.equal(chooser.isMultiple(), true);
      await chooser.setFiles(images.slice(0, 2).map((i) => i.file));
      await settled(page, 2);
      // The drop zone opens the picker too, with Enter and with Space.
      for (const key of ['Enter', ' ']) {
        await tabTo(page, '#drop');
        const [again] = await Promise.all([
          page.waitForEvent('filechooser'),
          page.keyboard.press(key),
        ]);
        assert.equal(again.isMultiple(), true);
      }
      // The model's masks, exported before any correction.
      const name = path.basename(images[0].file);
      const first = await exportByKeyboard(page);
      const firstManifest = JSON.parse(new TextDecoder().decode(first['manifest.json'])) as {
        images: ManifestImage[];
      };
      const before = await pixels(first[firstManifest.images.find((i) => i.name === name)!.mask]);
      // Review: the first image opens in the viewer; the focus goes to its picture.
      await tabTo(page, `[data-file="${name}"] button.open`);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#viewer:not([hidden]) .viewer-canvas');
      assert.equal(
        await page.evaluate(() => document.activeElement?.classList.contains('viewer-canvas')),
        true,
      );
      assert.equal(await page.textContent('#image-panel-heading'), `Mask settings for ${name}`);
      // Correct: the keyboard cursor starts at the image's centre; paint there with the brush
      // if it is background, erase if it is lesion, then accept.
      const centre = Math.floor(before.height / 2) * before.width + Math.floor(before.width / 2);
      const wasLesion = before.data[centre] > 0;
      await page.keyboard.press(wasLesion ? 'e' : 'b');
      await page.keyboard.press('Enter');
      await page.waitForSelector(`[data-file="${name}"][data-status="corrected"]`);
      await page.keyboard.press('Control+z');
      await page.keyboard.press('Control+y');
      await page.keyboard.press('a');
      await page.waitForSelector(`[data-file="${name}"][data-status="accepted"]`);
      await page.keyboard.press('Escape');
      await page.waitForSelector('#viewer[hidden]', { state: 'attached' });
      assert.equal(
        await page.evaluate(() => (document.activeElement as HTMLElement).textContent),
        name,
        'the focus is back on the image',
      );
      // Export: the zip holds the correction, its status, the other image unreviewed.
      const zip = await exportByKeyboard(page);
      const manifest = JSON.parse(new TextDecoder().decode(zip['manifest.json'])) as {
        images: ManifestImage[];
      };
      const record = manifest.images.find((i) => i.name === name)!;
      assert.deepEqual([record.status, record.maskSource], ['accepted', 'corrected']);
      const other = manifest.images.find((i) => i.name === path.basename(images[1].file))!;
      assert.deepEqual([other.status, other.maskSource], ['unreviewed', 'model']);
      const after = await pixels(zip[record.mask]);
      assert.equal(after.data[centre] > 0, !wasLesion, 'the pixel under the cursor changed');
      let changed = 0;
      for (let i = 0; i < after.data.length; i++) if (after.data[i] !== before.data[i]) changed++;
      assert.ok(changed > 0 && changed < after.data.length / 4, `${changed} pixels changed`);
      assert.equal(record.lesionPixels, after.data.filter((v) => v > 0).length);
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test("axe-core finds nothing: before results, after them, with the viewer open; the image's own settings", async () => {
    const page = await openApp();
    try {
      assert.deepEqual(await axeViolations(page), [], 'before results');
      await page.setInputFiles(
        '#files',
        images.map((i) => i.file),
      );
      await settled(page, images.length);
      assert.deepEqual(await axeViolations(page), [], 'with results');
      await page.screenshot({ path: path.join(ARTIFACTS, 'workbench-list.png'), fullPage: true });
      await page.click(`[data-file="${path.basename(images[0].file)}"]`);
      await page.waitForSelector('#viewer:not([hidden]) .viewer-canvas');
      assert.deepEqual(await axeViolations(page), [], 'with the viewer open');
      // Each of the panel's controls says which image it belongs to.
      const name = path.basename(images[0].file);
      assert.equal(
        await page.getAttribute('#image-threshold', 'aria-label'),
        `Threshold for ${name}`,
      );
      // The image's own threshold: its slider keeps the focus while it moves, and only this
      // image's mask is made again (its picture's text says the new threshold).
      await page.focus('#image-threshold');
      await page.keyboard.press('End');
      await page.keyboard.press('ArrowLeft');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'image-threshold');
      await settled(page, images.length);
      assert.match(
        (await page.getAttribute(`[data-file="${name}"] canvas.thumb`, 'aria-label')) ?? '',
        /, threshold 0\.98, not reviewed$/,
      );
      const other = path.basename(images[1].file);
      assert.match(
        (await page.getAttribute(`[data-file="${other}"] canvas.thumb`, 'aria-label')) ?? '',
        /, threshold 0\.50, not reviewed$/,
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('plain words: the notice, the model in words, areas in mm², settings remembered', async () => {
    const page = await openApp();
    try {
      assert.match(
        (await page.textContent('#research-notice')) ?? '',
        /For research only\.\s+This tool is not a medical device/,
      );
      assert.equal(
        await page.textContent('#model-line'),
        'Model attn_reg, trained on synthetic breast-ultrasound images for 40 epochs; its DSC ' +
          'on 25 test images was 0.713. It looks at each image resized to 64x64 pixels, in grey.',
      );
      const name = path.basename(images[0].file);
      await page.setInputFiles('#files', [images[0].file]);
      await settled(page, 1);
      const mask = await exportedMask(page, name);
      const lesion = mask.data.filter((v) => v > 0).length;
      const share = ((100 * lesion) / mask.data.length).toFixed(1);
      assert.equal(
        await page.textContent(`[data-file="${name}"] td.area`),
        `${lesion} px (${share}% of the image)`,
      );
      // 0.2 mm a pixel: each is 0.04 mm².
      await page.fill('#spacing', '0.2');
      await page.press('#spacing', 'Tab');
      const mm2 = lesion * 0.04;
      const area = `${mm2 < 10 ? mm2.toFixed(2) : mm2.toFixed(1)} mm² (${share}% of the image)`;
      await page.waitForFunction(
        ([n, a]) => document.querySelector(`[data-file="${n}"] td.area`)?.textContent === a,
        [name, area],
      );
      assert.equal(
        await page.getAttribute(`[data-file="${name}"] canvas.thumb`, 'aria-label'),
        `${name}: lesion ${area}, threshold 0.50, not reviewed`,
      );
      // Settings remembered: a new visit has them.
      await page.check('#keep-largest');
      await page.selectOption('#tta', 'hflip');
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      assert.deepEqual(
        await page.evaluate(() => [
          (document.getElementById('spacing') as HTMLInputElement).value,
          (document.getElementById('keep-largest') as HTMLInputElement).checked,
          (document.getElementById('tta') as HTMLSelectElement).value,
        ]),
        ['0.2', true, 'hflip'],
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.evaluate(() => localStorage.clear()).catch(() => undefined);
      await page.close();
    }
  });

  test('the sample image is predicted at once and scored against its true mask', async () => {
    const page = await openApp();
    try {
      await tabTo(page, '#sample');
      await page.keyboard.press('Enter');
      await settled(page, 1, 120_000);
      const row = '[data-file="sample-ultrasound.png"]';
      assert.equal(await page.getAttribute(row, 'data-status'), 'unreviewed');
      await page.waitForFunction(
        (r) => document.querySelector(`${r} td.dsc`)?.textContent !== '',
        row,
      );
      const zip = await exportByKeyboard(page);
      const [m, t] = await Promise.all([
        pixels(zip['masks/sample-ultrasound.png']),
        pixels(zip['truths/sample-ultrasound.png']),
      ]);
      let tp = 0;
      let fp = 0;
      let fn = 0;
      for (let i = 0; i < m.data.length; i++) {
        const a = m.data[i] > 0;
        const b = t.data[i] > 0;
        if (a && b) tp++;
        else if (a) fp++;
        else if (b) fn++;
      }
      // DSC and IoU as ftunet evaluate scores them (smooth 1).
      const dsc = (2 * tp + 1) / (2 * tp + fp + fn + 1);
      const iou = (tp + 1) / (tp + fp + fn + 1);
      assert.equal(await page.textContent(`${row} td.dsc`), dsc.toFixed(3));
      assert.equal(await page.textContent(`${row} td.iou`), iou.toFixed(3));
      assert.ok(
        t.data.some((v) => v > 0),
        'the sample has a lesion',
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('clear asks first; a work zip brings the work back; masks given with images are scored', async () => {
    const page = await openApp();
    try {
      await page.setInputFiles(
        '#files',
        images.slice(0, 2).map((i) => i.file),
      );
      await settled(page, 2);
      const name = path.basename(images[0].file);
      await page.click(`[data-file="${name}"]`);
      await page.waitForSelector('#viewer:not([hidden]) .viewer-canvas');
      await page.keyboard.press('a');
      await page.waitForSelector(`[data-file="${name}"][data-status="accepted"]`);
      await page.keyboard.press('Escape');
      const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      const work = await readFile(await d.path());
      // "Keep the work" keeps it; "Clear everything" clears it.
      await page.click('#clear');
      await page.click('#clear-dialog button[value="keep"]');
      assert.equal((await page.$$('[data-file]')).length, 2);
      await page.click('#clear');
      await page.click('#clear-dialog button[value="clear"]');
      await settled(page, 0);
      // The work zip, imported, brings the images back with their statuses.
      await page.setInputFiles('#import-files', {
        name: 'work.zip',
        mimeType: 'application/zip',
        buffer: work,
      });
      await settled(page, 2);
      assert.deepEqual(
        await page.$$eval('[data-file]', (rows) =>
          rows.map(
            (r) => `${(r as HTMLElement).dataset.file} ${(r as HTMLElement).dataset.status}`,
          ),
        ),
        [`${name} accepted`, `${path.basename(images[1].file)} unreviewed`],
      );
      // An image chosen with its <stem>_mask.png: the mask is its ground truth and the mask in
      // force (corrected); the row shows the model's DSC and IoU against it.
      const third = images[2];
      const { width, height } = third.image;
      const truth = await sharp(
        Uint8Array.from({ length: width * height }, (_, i) => (i % width < width / 2 ? 255 : 0)),
        { raw: { width, height, channels: 1 } },
      )
        .png()
        .toBuffer();
      const thirdStem = path.basename(third.file).replace(/\.[^.]+$/, '');
      await page.setInputFiles('#files', [
        {
          name: path.basename(third.file),
          mimeType: 'image/png',
          buffer: await readFile(third.file),
        },
        { name: `${thirdStem}_mask.png`, mimeType: 'image/png', buffer: truth },
      ]);
      await settled(page, 3);
      const row = `[data-file="${path.basename(third.file)}"]`;
      await page.waitForFunction(
        (r) => document.querySelector(`${r} td.dsc`)?.textContent !== '',
        row,
      );
      assert.equal(await page.getAttribute(row, 'data-status'), 'corrected');
      // Back to the model's mask (the viewer's button), whose scores the row shows.
      await page.click(`${row} button.open`);
      await page.click(`#viewer button[aria-label="Reset to the model's mask"]`);
      await page.waitForSelector(`${row}[data-status="unreviewed"]`);
      await page.keyboard.press('Escape');
      const [e] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
      const zip = unzipSync(new Uint8Array(await readFile(await e.path())));
      const { dsc, iou } = await scoresIn(zip, thirdStem);
      assert.equal(await page.textContent(`${row} td.dsc`), dsc.toFixed(3));
      assert.equal(await page.textContent(`${row} td.iou`), iou.toFixed(3));
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test("a data set's zip imports its images with their masks and names what it skipped", async () => {
    const page = await openApp();
    try {
      const image = await readFile(images[0].file);
      const { width, height } = images[0].image;
      const mask = await sharp(
        Uint8Array.from({ length: width * height }, (_, i) => (i < (width * height) / 3 ? 255 : 0)),
        { raw: { width, height, channels: 1 } },
      )
        .png()
        .toBuffer();
      const zip = zipSync({
        'images/case.png': new Uint8Array(image),
        'masks/case.png': new Uint8Array(mask),
        'splits.json': new TextEncoder().encode('{}'),
      });
      await page.setInputFiles('#import-files', {
        name: 'dataset.zip',
        mimeType: 'application/zip',
        buffer: Buffer.from(zip),
      });
      await settled(page, 1);
      assert.equal(
        await page.textContent('#notice'),
        'Imported the data set: 1 image. 1 file was skipped (outside images/ and masks/): splits.json.',
      );
      assert.equal(await page.getAttribute('[data-file="case.png"]', 'data-status'), 'corrected');
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('after a reload the work is back and the image open reopens', async () => {
    const page = await openApp();
    try {
      await page.setInputFiles(
        '#files',
        images.slice(0, 3).map((i) => i.file),
      );
      await settled(page, 3);
      const name = path.basename(images[2].file);
      await page.click(`[data-file="${name}"]`);
      await page.waitForSelector('#viewer:not([hidden]) .viewer-canvas');
      await page.keyboard.press('a');
      await page.waitForSelector(`[data-file="${name}"][data-status="accepted"]`);
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
      await page.waitForSelector('#viewer:not([hidden]) .viewer-canvas');
      assert.equal(await page.textContent('#image-panel-heading'), `Mask settings for ${name}`);
      assert.deepEqual(
        await page.$$eval('[data-file]', (rows) =>
          rows.map(
            (r) => `${(r as HTMLElement).dataset.file} ${(r as HTMLElement).dataset.status}`,
          ),
        ),
        images
          .slice(0, 3)
          .map((i, k) => `${path.basename(i.file)} ${k === 2 ? 'accepted' : 'unreviewed'}`),
      );
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });
});

/**
 * DSC and IoU of the mask against the ground truth of `stem` in a work zip, worked out here as
 * `ftunet evaluate` scores them: (2 TP + 1) / (2 TP + FP + FN + 1), (TP + 1) / (TP + FP + FN + 1).
 */
async function scoresIn(
  zip: Record<string, Uint8Array>,
  stem: string,
): Promise<{ dsc: number; iou: number; truthPixels: number }> {
  const [m, t] = await Promise.all([
    pixels(zip[`masks/${stem}.png`]),
    pixels(zip[`truths/${stem}.png`]),
  ]);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < m.data.length; i++) {
    const a = m.data[i] > 0;
    const b = t.data[i] > 0;
    if (a && b) tp++;
    else if (a) fp++;
    else if (b) fn++;
  }
  return {
    dsc: (2 * tp + 1) / (2 * tp + fp + fn + 1),
    iou: (tp + 1) / (tp + fp + fn + 1),
    truthPixels: tp + fn,
  };
}

/** The mask of `name` in force, as the page exports it (by a click on `#export`). */
async function exportedMask(
  page: Page,
  name: string,
): Promise<{ data: Buffer; width: number; height: number }> {
  const [d] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  const zip = unzipSync(new Uint8Array(await readFile(await d.path())));
  const manifest = JSON.parse(new TextDecoder().decode(zip['manifest.json'])) as {
    images: ManifestImage[];
  };
  const record = manifest.images.find((i) => i.name === name)!;
  return pixels(zip[record.mask]);
}
