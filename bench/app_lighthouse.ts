/**
 * The web app's weight and smoothness in headless Chromium (Debian's, `/usr/bin/chromium`):
 * Lighthouse 12's performance score on desktop and on mobile (its default simulated throttling),
 * the bytes of a first visit and of a reload, the longest main-thread task while one
 * 3000x2000 JPEG is predicted (PerformanceObserver 'longtask', the page's own drawing of the
 * result included), and the page's heap before and after 12 photo-sized JPEGs (and after
 * `#clear`, where the page has one). Not a test: figures only (test/app/lighthouse.test.ts
 * asserts the targets).
 *
 *   npm run build && npm run bench:app -- --app DIR [--runs N] [--json] [--skip-lighthouse]
 *
 * `--app`: an app folder written by `ftunet app` (default: written here from
 * `--model DIR`, default /work/main/runs/quickstart's best model, into a temporary folder).
 * The folder is served by src/app/serve.ts as `ftunet app --serve` serves it (cross-origin
 * isolated, precompressed siblings, its caching headers). Transfer is counted twice: by
 * Lighthouse (`total-byte-weight`) and by the server (the bytes written to every socket,
 * headers included) between the start of a visit and the moment the page is ready and the
 * network quiet, so a service worker's downloads count too. `--runs` Lighthouse runs per form
 * factor (3), the median reported.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { writeApp } from '../src/app/write.js';
import { countingServer, type CountingServer } from '../test/app/counting_server.js';
import { lighthouseRun, type LighthouseRun } from '../test/app/lighthouse_run.js';
import { photoJpeg } from '../test/app/photos.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/chromium.js';

/** Progress on stderr (stdout holds the figures). */
const log = (text: string): void =>
  void process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${text}\n`);

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

/** Waits until `n` images have an entry in the list and the page is not busy. */
async function waitDone(page: Page, n: number, timeout = 600_000): Promise<void> {
  await page.waitForFunction(
    (count) =>
      document.querySelectorAll('[data-file]').length >= count &&
      document.body.dataset.busy === 'false',
    n,
    { timeout, polling: 200 },
  );
}

interface PageFigures {
  firstVisit: number;
  reload: number;
  longestTaskMs: number;
  longTasks: number;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  heapPerPhotoMiB: number;
  heapAfterClearMiB?: number;
  workerHeapAfterMiB?: number;
  photoBytes: number;
}

const MiB = 2 ** 20;

async function pageFigures(url: string, server: CountingServer): Promise<PageFigures> {
  const profile = await mkdtemp(path.join(os.tmpdir(), 'ftunet-bench-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, '--enable-precise-memory-info'],
  });
  const photos = await Promise.all(Array.from({ length: 13 }, (_, k) => photoJpeg(k)));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ftunet-photos-'));
  try {
    await context.addInitScript(() => {
      const w = window as unknown as { __longtasks: number[] };
      w.__longtasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) w.__longtasks.push(e.duration);
      }).observe({ type: 'longtask', buffered: true });
    });
    const page = context.pages()[0] ?? (await context.newPage());
    let start = server.bytes();
    log('first visit');
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    await server.quiet(3000);
    const firstVisit = server.bytes() - start;
    start = server.bytes();
    log('reload');
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]', { timeout: 180_000 });
    await server.quiet(3000);
    const reload = server.bytes() - start;

    const files = photos.map((_, k) => path.join(dir, `photo-${String(k).padStart(2, '0')}.jpg`));
    const { writeFile } = await import('node:fs/promises');
    await Promise.all(files.map((f, k) => writeFile(f, photos[k])));
    // One photo, its long tasks counted from the moment it is chosen.
    await page.evaluate(() => {
      (window as unknown as { __longtasks: number[] }).__longtasks = [];
    });
    log('one photo');
    await page.setInputFiles('#files', [files[0]]);
    await waitDone(page, 1);
    // The drawing after the last change of the DOM: two frames.
    await page.evaluate(
      () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
    );
    const tasks = await page.evaluate(
      () => (window as unknown as { __longtasks: number[] }).__longtasks,
    );

    const cdp = await context.newCDPSession(page);
    // The page's heap after a garbage collection: its objects and the ArrayBuffers' backing
    // stores (where decoded images and masks lie), as Chromium reports them.
    const heap = async (): Promise<number> => {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const usage = (await cdp.send('Runtime.getHeapUsage')) as {
        usedSize: number;
        backingStorageSize?: number;
      };
      return usage.usedSize + (usage.backingStorageSize ?? 0);
    };
    const heapBefore = await heap();
    for (let k = 1; k <= 12; k++) {
      log(`photo ${k} of 12`);
      await page.setInputFiles('#files', [files[k]]);
      await waitDone(page, k + 1);
    }
    const heapAfter = await heap();
    let workerHeap: number | undefined;
    for (const worker of page.workers()) {
      // A wasm thread's worker busy-waits and never answers: each gets 2 s.
      const used = await Promise.race([
        worker
          .evaluate(
            () => (performance as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize,
          )
          .catch(() => undefined),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), 2000)),
      ]);
      if (used !== undefined) workerHeap = (workerHeap ?? 0) + used;
    }
    let heapAfterClear: number | undefined;
    if ((await page.$('#clear')) !== null) {
      await page.click('#clear');
      // The page asks first, in its own dialog.
      await page.click('#clear-dialog button[value="clear"]');
      await page.waitForFunction(() => document.querySelectorAll('[data-file]').length === 0, {
        timeout: 30_000,
      });
      heapAfterClear = await heap();
    }
    return {
      firstVisit,
      reload,
      longestTaskMs: Math.max(0, ...tasks),
      longTasks: tasks.length,
      heapBeforeMiB: heapBefore / MiB,
      heapAfterMiB: heapAfter / MiB,
      heapPerPhotoMiB: (heapAfter - heapBefore) / MiB / 12,
      ...(heapAfterClear !== undefined ? { heapAfterClearMiB: heapAfterClear / MiB } : {}),
      ...(workerHeap !== undefined ? { workerHeapAfterMiB: workerHeap / MiB } : {}),
      photoBytes: photos[0].length,
    };
  } finally {
    await context.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main(): Promise<void> {
  const runs = Number(flag('--runs', '3'));
  let app = flag('--app', '');
  let temp: string | undefined;
  if (app === '') {
    temp = await mkdtemp(path.join(os.tmpdir(), 'ftunet-bench-app-'));
    app = path.join(temp, 'app');
    await writeApp({ model: flag('--model', '/work/main/runs/quickstart'), out: app });
  }
  const server = await countingServer({ mounts: { '/': app } });
  const url = `${server.origin}/`;
  try {
    const lighthouse: Record<string, LighthouseRun[]> = { desktop: [], mobile: [] };
    if (!process.argv.includes('--skip-lighthouse')) {
      for (let r = 0; r < runs; r++) {
        for (const form of ['desktop', 'mobile'] as const) {
          log(`lighthouse ${form} ${r + 1} of ${runs}`);
          lighthouse[form].push(await lighthouseRun(url, server, form));
        }
      }
    }
    const figures = await pageFigures(url, server);
    const summary = Object.fromEntries(
      Object.entries(lighthouse)
        .filter(([, rs]) => rs.length > 0)
        .map(([form, rs]) => [
          form,
          {
            scores: rs.map((r) => r.score),
            score: median(rs.map((r) => r.score)),
            transfer: median(rs.map((r) => r.transfer)),
            served: median(rs.map((r) => r.served)),
            fcpMs: median(rs.map((r) => r.fcpMs)),
            lcpMs: median(rs.map((r) => r.lcpMs)),
            tbtMs: median(rs.map((r) => r.tbtMs)),
            siMs: median(rs.map((r) => r.siMs)),
          },
        ]),
    );
    const marker = JSON.parse(await readFile(path.join(app, 'ftunet-app.json'), 'utf8')) as {
      model?: string;
    };
    const out = { app, model: marker.model, lighthouse: summary, page: figures };
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify(out, null, 2));
      return;
    }
    const mb = (b: number) => `${(b / 1e6).toFixed(2)} MB`;
    for (const [form, s] of Object.entries(summary)) {
      console.log(
        `${form}: performance ${s.score} (runs ${s.scores.join(', ')}), transfer ${mb(s.transfer)} ` +
          `(server ${mb(s.served)}), FCP ${s.fcpMs.toFixed(0)} ms, LCP ${s.lcpMs.toFixed(0)} ms, ` +
          `TBT ${s.tbtMs.toFixed(0)} ms, SI ${s.siMs.toFixed(0)} ms`,
      );
    }
    const f = figures;
    console.log(
      `first visit: ${mb(f.firstVisit)} served; reload: ${(f.reload / 1e3).toFixed(1)} kB`,
    );
    console.log(
      `longest main-thread task predicting a 3000x2000 JPEG (${mb(f.photoBytes)}): ` +
        `${f.longestTaskMs.toFixed(0)} ms (${f.longTasks} long tasks)`,
    );
    console.log(
      `heap: ${f.heapBeforeMiB.toFixed(1)} MiB before, ${f.heapAfterMiB.toFixed(1)} MiB after 12 photos ` +
        `(${f.heapPerPhotoMiB.toFixed(2)} MiB per photo)` +
        (f.heapAfterClearMiB !== undefined
          ? `, ${f.heapAfterClearMiB.toFixed(1)} MiB after clear`
          : '') +
        (f.workerHeapAfterMiB !== undefined
          ? `; worker ${f.workerHeapAfterMiB.toFixed(1)} MiB`
          : ''),
    );
  } finally {
    await server.close();
    if (temp) await rm(temp, { recursive: true, force: true });
  }
}

await main();
