/**
 * Fine-tuning in the page, as a person does it, in headless Chromium (Debian's): the app of a
 * model (default the quick start's) served as `ftunet app --serve` serves it (cross-origin
 * isolated, so wasm runs one thread per core), 20 synthetic BUS images of another look (`dim`,
 * `ftunet synth --look dim`) chosen together with their true masks as `<stem>_mask.png` (the
 * page pairs them and marks them corrected), "Fine-tune" pressed with the page's defaults, the
 * fine-tuned model downloaded through its link and unzipped; then 20 other images of that look
 * scored through the CLI (`ftunet evaluate --model`) with the model before and after. Figures
 * only (not a test): the time from the press to the end, the page's validation DSC before and
 * after, the backend the page trained on, and the CLI's DSC before and after.
 *
 *   npm run build && npm run bench:fine-tune -- [--model DIR] [--count 20] [--json]
 *
 * Only the stable hooks of the page are used: `#files`, the button named "Fine-tune",
 * `body[data-fine-tuning]`, and the download link whose file name ends in .zip and contains
 * "model".
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';
import { chromium } from 'playwright-core';
import { serveStatic } from '../src/app/serve.js';
import { initBackend } from '../src/backend/select.js';
import { writeApp } from '../src/app/write.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/chromium.js';

const run = promisify(execFile);
const CLI = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../src/cli/main.js');

/** Progress on stderr (stdout holds the figures). */
const log = (text: string): void =>
  void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function ftunet(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 * 2 ** 20 });
  return stdout;
}

/** `ftunet synth --kind bus --look dim` of `count` images with `seed` into `dir`. */
async function synthDim(dir: string, count: number, seed: number): Promise<void> {
  await ftunet(
    ['synth', '--kind', 'bus', '--look', 'dim', '--out', dir].concat([
      '--count',
      String(count),
      '--seed',
      String(seed),
    ]),
  );
}

/** The mean DSC of `ftunet evaluate --model` on a synthetic BUS folder. */
async function cliDsc(model: string, data: string, out: string): Promise<number> {
  await ftunet(
    ['evaluate', '--model', model, '--dataset', 'synthetic-bus', '--data', data].concat([
      '--out',
      out,
      '--no-cache',
    ]),
  );
  const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')) as {
    dsc: { mean: number };
  };
  return summary.dsc.mean;
}

async function main(): Promise<void> {
  const model = path.resolve(flag('--model', '/work/main/runs/quickstart'));
  const count = Number(flag('--count', '20'));
  const temp = await mkdtemp(path.join(os.tmpdir(), 'ftunet-bench-ft-'));
  try {
    log(`writing the app of ${model} and ${count} + ${count} dim images`);
    const app = path.join(temp, 'app');
    // The export reads the model with TensorFlow.js: a backend first.
    await initBackend({ backend: 'cpu' });
    await writeApp({ model, out: app });
    const train = path.join(temp, 'train');
    const test = path.join(temp, 'test');
    await synthDim(train, count, 77);
    await synthDim(test, count, 78);
    // The page's input: each image with its true mask as <stem>_mask.png.
    const chosen = path.join(temp, 'chosen');
    await mkdir(chosen);
    const files: string[] = [];
    for (const name of (await readdir(path.join(train, 'original'))).sort()) {
      const stem = name.replace(/\.png$/, '');
      const image = path.join(chosen, `dim${stem}.png`);
      const mask = path.join(chosen, `dim${stem}_mask.png`);
      await copyFile(path.join(train, 'original', name), image);
      await copyFile(path.join(train, 'gt', name), mask);
      files.push(image, mask);
    }

    const server = await serveStatic({ mounts: { '/': app } });
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    let figures: {
      seconds: number;
      page: Record<string, string>;
      zipName: string;
    };
    const unzipped = path.join(temp, 'fine-tuned');
    try {
      const context = await browser.newContext({ acceptDownloads: true });
      const page = await context.newPage();
      await page.goto(`${server.origin}/`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
      log('choosing the images and their masks');
      await page.setInputFiles('#files', files);
      await page.waitForFunction(
        (n) =>
          document.querySelectorAll('[data-file]').length >= n &&
          document.body.dataset.busy === 'false',
        count,
        { timeout: 600_000, polling: 250 },
      );
      const button = page.getByRole('button', { name: 'Fine-tune', exact: true });
      await button.waitFor({ state: 'visible' });
      await page.waitForFunction(
        () =>
          Array.from(document.querySelectorAll('button')).some(
            (b) => b.textContent?.trim() === 'Fine-tune' && !b.disabled,
          ),
        undefined,
        { timeout: 60_000 },
      );
      log('fine-tuning');
      const t0 = performance.now();
      await button.click();
      await page.waitForSelector('body[data-fine-tuning="done"], body[data-fine-tuning="error"]', {
        timeout: 1_800_000,
      });
      const seconds = (performance.now() - t0) / 1000;
      const state = await page.evaluate(() => document.body.dataset.fineTuning);
      if (state !== 'done') throw new Error(`the page's fine-tuning ended in '${state}'`);
      // What the page says: its fine-tune panel's text, for the record.
      const panel = await page.evaluate(() => {
        const link = Array.from(document.querySelectorAll('a[download]')).find((a) =>
          /model.*\.zip$|\.zip$/.test((a as HTMLAnchorElement).download),
        ) as HTMLAnchorElement | undefined;
        const region = link?.closest('section, [role="region"], details, div');
        return { text: region?.textContent?.replace(/\s+/g, ' ').trim() ?? '' };
      });
      log('downloading the model');
      const link = page.locator('a[download$=".zip"][download*="model"]');
      const [download] = await Promise.all([page.waitForEvent('download'), link.first().click()]);
      const zipPath = path.join(temp, download.suggestedFilename());
      await download.saveAs(zipPath);
      const entries = unzipSync(new Uint8Array(await readFile(zipPath)));
      for (const [name, bytes] of Object.entries(entries)) {
        if (name.endsWith('/')) continue;
        const to = path.join(unzipped, name);
        await mkdir(path.dirname(to), { recursive: true });
        await writeFile(to, bytes);
      }
      figures = { seconds, page: panel, zipName: download.suggestedFilename() };
      await context.close();
    } finally {
      await browser.close();
      await server.close();
    }
    const folder = (await readdir(unzipped)).length === 1 ? path.join(unzipped, 'model') : unzipped;
    log('scoring the other images before and after through the CLI');
    const before = await cliDsc(model, test, path.join(temp, 'eval-before'));
    const after = await cliDsc(folder, test, path.join(temp, 'eval-after'));
    const meta = JSON.parse(await readFile(path.join(folder, 'model.json'), 'utf8')) as {
      userDefinedMetadata?: { fineTuning?: unknown };
    };
    const out = {
      model,
      images: count,
      seconds: Number(figures.seconds.toFixed(1)),
      testDsc: { before, after },
      fineTuning: meta.userDefinedMetadata?.fineTuning,
      zipName: figures.zipName,
      panel: figures.page.text,
    };
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    console.log(`fine-tuning in Chromium on ${count} dim images: ${out.seconds} s`);
    console.log(
      `DSC of ${count} other dim images (ftunet evaluate): before ${before.toFixed(3)}, after ${after.toFixed(3)}`,
    );
    console.log(`the model's record: ${JSON.stringify(out.fineTuning)}`);
    console.log(`the page said: ${out.panel}`);
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

await main();
