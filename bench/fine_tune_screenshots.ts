/**
 * Makes the README's pictures of fine-tuning in the page from the real page: the web app with
 * MODEL (the quick start's, after `npm start`: runs/quickstart), 16 synthetic ultrasound
 * images of the `dim` look (drawn unlike the quick start's images) chosen with their true
 * masks as `<stem>_mask.png` files, fine-tuned with the page's defaults but for the epochs
 * given. Writes OUT/fine_tune.png (the panel while it trains: progress and curves) and
 * OUT/fine_tune_done.png (after: the curves, the validation DSC before and after per held-out
 * image, the download link and the switch).
 *
 * Usage: npm run build && node dist/bench/fine_tune_screenshots.js MODEL [--epochs N] [--out docs]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { serveStatic } from '../src/app/serve.js';
import { initBackend } from '../src/backend/select.js';
import { writeApp } from '../src/app/write.js';
import { encodeImagePng, encodeMaskPng } from '../src/browser/png.js';
import { generatePair } from '../src/data/synthetic/generate.js';
import { launchChromium, sameOrigin } from '../test/chromium.js';
import { makeTemp, removeTemp } from '../test/data/fixtures.js';

const IMAGES = 16;

const [model, ...rest] = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
if (model === undefined) {
  console.error('usage: node dist/bench/fine_tune_screenshots.js MODEL [--epochs N] [--out docs]');
  process.exit(2);
}
const epochs = Number(arg('--epochs') ?? 12);
const out = path.resolve(arg('--out') ?? 'docs');

// Writing the app exports the model, with tfjs in this process.
await initBackend({ backend: 'cpu' });
const root = await makeTemp('ftunet-fine-tune-shots-');
try {
  const files: string[] = [];
  await mkdir(path.join(root, 'images'));
  for (let i = 0; i < IMAGES; i++) {
    const pair = generatePair('bus', i, { seed: 77, look: 'dim' });
    const image = path.join(root, 'images', `dim_${String(i).padStart(2, '0')}.png`);
    const mask = image.replace(/\.png$/, '_mask.png');
    await writeFile(image, encodeImagePng(pair.image));
    await writeFile(mask, encodeMaskPng(pair.mask));
    files.push(image, mask);
  }
  await writeApp({ model, out: path.join(root, 'app') });
  const server = await serveStatic({ mounts: { '/': path.join(root, 'app') }, isolated: true });
  const browser = await launchChromium(sameOrigin(server.origin), {
    viewport: { width: 1100, height: 900 },
  });
  try {
    const page = await browser.page();
    await page.goto(`${server.origin}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
    await page.setInputFiles('#files', files);
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll('[data-file][data-status="corrected"]').length === n &&
        document.body.dataset.busy === 'false',
      IMAGES,
      { timeout: 300_000 },
    );
    await page.fill('#ft-epochs', String(epochs));
    await page.dispatchEvent('#ft-epochs', 'change');
    const started = performance.now();
    await page.getByRole('button', { name: 'Fine-tune', exact: true }).click();
    const panel = page.locator('#fine-tune');
    const half = Math.ceil(epochs / 2);
    await page.waitForFunction(
      (half) =>
        new RegExp(`^Epoch ${half} of `).test(
          document.querySelector('#ft-status')?.textContent ?? '',
        ),
      half,
      { timeout: 600_000 },
    );
    await mkdir(out, { recursive: true });
    await panel.scrollIntoViewIfNeeded();
    await panel.screenshot({ path: path.join(out, 'fine_tune.png') });
    await page.waitForFunction(
      () => ['done', 'cancelled', 'error'].includes(document.body.dataset.fineTuning ?? ''),
      null,
      { timeout: 900_000 },
    );
    const seconds = (performance.now() - started) / 1000;
    if ((await page.evaluate(() => document.body.dataset.fineTuning)) === 'error') {
      throw new Error(`fine-tuning failed: ${await page.textContent('#ft-status')}`);
    }
    await page.waitForFunction(() => document.body.dataset.busy === 'false', null, {
      timeout: 300_000,
    });
    await panel.screenshot({ path: path.join(out, 'fine_tune_done.png') });
    const machine = await page.evaluate(
      () =>
        `${navigator.hardwareConcurrency} cores, ${crossOriginIsolated ? '' : 'not '}cross-origin isolated`,
    );
    console.log(`${await page.textContent('#ft-scores')} (${seconds.toFixed(0)} s; ${machine})`);
    console.log(
      `wrote ${path.join(out, 'fine_tune.png')}, ${path.join(out, 'fine_tune_done.png')}`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  await removeTemp(root);
}
