/**
 * The page's fine-tuning engine (webapp/fine_tuner.ts and the app's built worker) in Chromium,
 * driven directly on a tiny attn_reg (exported by `ftunet app`) and four small images with
 * masks: a run reports progress and
 * each epoch, and gives the scores before and after and a zip whose model folder loads in
 * Node.js with the fine-tuning recorded (the parent's digest, the images, the settings with
 * the batch used) and the weights the page's validation figure came from; a cancel keeps the
 * best epoch so far; a run interrupted by a reload goes on from its last saved epoch and ends
 * with the same weights, bit for bit, as a run that was not interrupted; WebGPU (SwiftShader)
 * and wasm give close losses; the worker keeps no tensor after a run or a cancel; and no
 * main-thread task lasts 100 ms while it trains.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { writeApp } from '../../src/app/write.js';
import { FINE_TUNING_KEY, type FineTuningRecord } from '../../src/browser/fine_tune.js';
import { loadModel, saveModel } from '../../src/io/model_files.js';
import { weightsDigest } from '../../src/io/model_json.js';
import { buildModel } from '../../src/models/build.js';
import { BROWSER_BUNDLE } from '../../scripts/build_app.js';
import { CHROMIUM_ARGS, launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { blobImage } from './fixtures.js';
import { recordLongTasks } from './page.js';
import type {
  FineTuneEpoch,
  FineTuneProgress,
  SavedFineTuning,
} from '../../src/webapp/fine_tuner.js';

const WEBAPP = fileURLToPath(new URL('../../src/webapp/', import.meta.url));

/** The longest main-thread task allowed while training (the project's rule). */
const LONG_TASK_MS = 100;
/** The images: [height, width]; their blobs are their masks. */
const SIZES: [number, number][] = [
  [40, 52],
  [48, 36],
  [36, 44],
  [44, 40],
];

let root: string;
let server: StaticServer;
let browser: TestBrowser;
let parentDigest: string;
/** The app's folder and its fine-tuning worker's file name. */
let appDir: string;
let workerFile: string;

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-fine-tuner-');
  // The app as `ftunet app` writes it (the built fine-tuning worker, the model exported with
  // every output), and a page that holds only the FineTuner, as the app's script would.
  const modelDir = path.join(root, 'model');
  const model = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 3 });
  await saveModel(model, modelDir);
  model.dispose();
  const page = path.join(root, 'app');
  await writeApp({ model: modelDir, out: page });
  const exported = await loadModel(path.join(page, 'model'));
  parentDigest = await weightsDigest(exported);
  exported.dispose();
  const worker = (await readdir(path.join(page, 'assets'))).find((f) =>
    /^fine-tune-worker-[A-Z0-9]{8}\.js$/.test(f),
  );
  assert.ok(worker, 'the app has its fine-tuning worker');
  appDir = page;
  workerFile = worker;
  await build({
    ...BROWSER_BUNDLE,
    entryPoints: [path.join(WEBAPP, 'fine_tuner.js')],
    outfile: path.join(page, 'assets', 'fine_tuner.js'),
    define: { FTUNET_FINE_TUNE_WORKER: JSON.stringify(worker) },
  });
  await writeFile(
    path.join(page, 'harness.html'),
    '<!doctype html><meta charset="utf-8"><title>fine-tuner</title><link rel="icon" href="data:,">',
  );
  for (const [i, [h, w]] of SIZES.entries()) {
    const pixels = blobImage(h, w, i);
    const mask = pixels.map((v) => (v === 230 ? 255 : 0));
    const raw = { raw: { width: w, height: h, channels: 1 as const } };
    await writeFile(path.join(page, `im${i}.png`), await sharp(pixels, raw).png().toBuffer());
    await writeFile(path.join(page, `im${i}_mask.png`), await sharp(mask, raw).png().toBuffer());
  }
  server = await serveStatic({ mounts: { '/': page } });
  browser = await launchChromium(sameOrigin(server.origin), {
    // SwiftShader's WebGPU runs in the GPU process: no --disable-gpu.
    args: [...CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu'), '--enable-unsafe-webgpu'],
  });
  await recordLongTasks(browser);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** What a run in the page gives back to the test. */
interface PageRun {
  backendLabel: string;
  progress: FineTuneProgress[];
  epochs: FineTuneEpoch[];
  result: {
    before: { dsc: number };
    after: { dsc: number };
    validation: string[];
    training: string[];
    bestEpoch: number;
    cancelled: boolean;
    logs: { epoch: number; train: { loss: number }; score: number }[];
    settings: { batchSize: number; epochs: number };
  };
  record: FineTuningRecord;
  zip: number[];
  zipName: string;
  modelFiles: string[];
  tensors: { started: number; after: number };
  longTasks: number[];
  saved?: boolean;
  notices: string[];
}

interface RunOptions {
  backend?: 'wasm' | 'webgpu';
  epochs: number;
  database: string;
  /** Abort after this epoch is reported (0: as soon as the run is asked for). */
  cancelAfter?: number;
  /** Reload the page after this epoch is reported (the run never ends). */
  reloadAfter?: number;
  /** Go on with the saved run instead of starting one. */
  resume?: boolean;
}

async function openPage(): Promise<Page> {
  const page = await browser.page();
  await page.goto(`${server.origin}/harness.html`);
  return page;
}

/** Starts a FineTuner in `page` and runs (or resumes) it as `options` say. */
function runInPage(page: Page, options: RunOptions): Promise<PageRun> {
  return page.evaluate(
    async ({ options, origin, sizes }) => {
      const { FineTuner } = (await import(
        `${origin}/assets/fine_tuner.js`
      )) as typeof import('../../src/webapp/fine_tuner.js');
      const tuner = await FineTuner.start(
        { url: `${origin}/model/model.json` },
        {
          wasmPath: `${origin}/wasm/`,
          backend: options.backend ?? 'wasm',
          threads: 1,
          database: options.database,
        },
      );
      const started = await tuner.tensors();
      const images = [];
      for (let i = 0; i < sizes; i++) {
        const file = await (await fetch(`${origin}/im${i}.png`)).blob();
        const mask = await (await fetch(`${origin}/im${i}_mask.png`)).blob();
        images.push({ id: `id${i}`, name: `im${i}.png`, file, mask });
      }
      const progress: unknown[] = [];
      const notices: string[] = [];
      const epochs: { epoch: number }[] = [];
      const stop = new AbortController();
      const w = window as unknown as { longTasks: number[] };
      w.longTasks = [];
      const callbacks = {
        onProgress: (p: unknown) => progress.push(p),
        onNotice: (m: string) => notices.push(m),
        onEpoch: (e: { epoch: number }) => {
          epochs.push(e);
          if (e.epoch === options.cancelAfter) stop.abort();
          if (e.epoch === options.reloadAfter) location.reload();
        },
        signal: stop.signal,
      };
      const running = options.resume
        ? tuner.resume(callbacks)
        : tuner.run(
            images,
            { epochs: options.epochs, batchSize: 2, valFraction: 0.25, augment: 'light' },
            callbacks,
          );
      // A stop pressed at once reaches the worker before the run has begun to train.
      if (options.cancelAfter === 0) stop.abort();
      const outcome = await running;
      const tensors = { started, after: await tuner.tensors() };
      await tuner.dispose();
      return {
        backendLabel: tuner.backendLabel,
        progress,
        epochs,
        result: outcome.result,
        record: outcome.record,
        zip: [...new Uint8Array(await outcome.zip.arrayBuffer())],
        zipName: outcome.zipName,
        modelFiles: outcome.modelFiles.map((f) => f.name),
        tensors,
        longTasks: w.longTasks,
        saved: outcome.saved,
        notices,
      };
    },
    { options, origin: server.origin, sizes: SIZES.length },
  ) as unknown as Promise<PageRun>;
}

/** `FineTuner.saved()` in `page`, for the database `database` (null: none saved). */
function savedIn(page: Page, database: string): Promise<SavedFineTuning | null> {
  return page.evaluate(
    async ({ origin, database }) => {
      const { FineTuner } = (await import(
        `${origin}/assets/fine_tuner.js`
      )) as typeof import('../../src/webapp/fine_tuner.js');
      return (await FineTuner.saved(database)) ?? null;
    },
    { origin: server.origin, database },
  );
}

/** The zip's model folder, written under `root` and loaded in Node.js. */
async function unzipModel(run: PageRun, name: string) {
  const entries = unzipSync(Uint8Array.from(run.zip));
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'model'), { recursive: true });
  for (const [file, bytes] of Object.entries(entries)) {
    await writeFile(path.join(dir, file), bytes);
  }
  return { files: Object.keys(entries).sort(), model: await loadModel(path.join(dir, 'model')) };
}

describe('fine-tuning in a page (FineTuner)', () => {
  test('a first visit does not load the fine-tuning worker: the service worker does not precache it', async () => {
    const sw = await readFile(path.join(appDir, 'sw.js'), 'utf8');
    const assets = [...sw.matchAll(/"(assets\/[^"]+)"/g)].map((m) => m[1]);
    assert.ok(
      assets.some((a) => /^assets\/worker-/.test(a)),
      "the page's worker is precached",
    );
    assert.ok(!assets.includes(`assets/${workerFile}`), `${workerFile} is not precached`);
  });

  test('a run: progress, epochs, before and after, a zip whose model folder Node.js loads with its record', async (t) => {
    const page = await openPage();
    try {
      const run = await runInPage(page, { epochs: 3, database: 'run' });
      t.diagnostic(
        `${run.backendLabel}: DSC ${run.result.before.dsc.toFixed(3)} -> ` +
          `${run.result.after.dsc.toFixed(3)}, best epoch ${run.result.bestEpoch}; long tasks ` +
          `${run.longTasks.map((d) => d.toFixed(0)).join(', ') || 'none'}`,
      );
      assert.match(run.backendLabel, /^wasm, 1 thread$/);
      assert.deepEqual(
        run.epochs.map((e) => e.epoch),
        [1, 2, 3],
      );
      assert.ok(run.epochs.every((e) => e.valDsc !== undefined && Number.isFinite(e.loss)));
      assert.ok(run.progress.length >= 3, 'progress each epoch');
      const last = run.progress[run.progress.length - 1];
      assert.equal(last.epoch, 3);
      assert.equal(last.step, last.steps);
      assert.ok(last.imagesPerSecond > 0);
      assert.equal(run.result.validation.length, 1);
      assert.equal(run.result.training.length, 3);
      assert.equal(run.result.cancelled, false);
      assert.equal(run.saved, true, 'saved after each epoch');
      assert.deepEqual(run.notices, []);
      assert.match(run.zipName, /model.*\.zip$/);
      assert.deepEqual(run.modelFiles.sort(), [
        'model.json',
        run.modelFiles.find((f) => f.startsWith('weights-'))!,
      ]);
      assert.equal(run.tensors.after, run.tensors.started, 'no tensor left in the worker');
      assert.ok(
        run.longTasks.every((d) => d < LONG_TASK_MS),
        `main-thread tasks of ${run.longTasks.join(', ')} ms`,
      );

      const { files, model } = await unzipModel(run, 'run');
      assert.equal(files.length, 2);
      assert.ok(files.every((f) => f.startsWith('model/')));
      const record = (model.getUserDefinedMetadata() as Record<string, unknown>)[
        FINE_TUNING_KEY
      ] as FineTuningRecord;
      assert.deepEqual(record, run.record);
      assert.equal(record.parentWeightsSha256, parentDigest);
      assert.deepEqual(record.images, { training: 3, validation: 1 });
      assert.equal(record.settings.batchSize, 2);
      assert.equal(record.epochs, 3);
      assert.equal(record.validationDsc.after, run.result.after.dsc);
      model.dispose();
      assert.deepEqual(browser.errors, []);
    } finally {
      await page.close();
    }
  });

  test('a cancel after the first epoch keeps the best so far, one at once keeps the model; no tensor is left', async () => {
    const page = await openPage();
    try {
      const run = await runInPage(page, { epochs: 5, database: 'cancel', cancelAfter: 1 });
      assert.equal(run.result.cancelled, true);
      assert.ok(run.result.logs.length >= 1 && run.result.logs.length < 5);
      assert.ok(run.result.bestEpoch <= run.result.logs.length);
      assert.equal(run.record.cancelled, true);
      assert.equal(run.tensors.after, run.tensors.started);
      // A cancelled run is over: nothing is left to go on with.
      const saved = await savedIn(page, 'cancel');
      assert.equal(saved, null);
      const atOnce = await runInPage(page, { epochs: 3, database: 'cancel', cancelAfter: 0 });
      assert.equal(atOnce.result.cancelled, true);
      assert.deepEqual(atOnce.result.logs, [], 'not one epoch trained');
      assert.equal(atOnce.result.bestEpoch, 0);
      assert.equal(atOnce.tensors.after, atOnce.tensors.started);
    } finally {
      await page.close();
    }
  });

  test('a run interrupted by a reload goes on and ends with the weights of a run that was not', async (t) => {
    const epochs = 4;
    const page = await openPage();
    try {
      const whole = await runInPage(page, { epochs, database: 'whole' });
      // The reload cuts the evaluation short: it rejects as the page goes.
      const reloaded = page.waitForEvent('load');
      await runInPage(page, { epochs, database: 'cut', reloadAfter: 2 }).catch(() => undefined);
      await reloaded;
      const saved = await savedIn(page, 'cut');
      assert.ok(saved !== null, 'the run was saved');
      assert.ok(saved.epoch >= 2 && saved.epoch < epochs, `saved after epoch ${saved.epoch}`);
      assert.equal(saved.images, SIZES.length);
      assert.equal(saved.logs.length, saved.epoch);
      const resumed = await runInPage(page, { epochs, database: 'cut', resume: true });
      t.diagnostic(
        `saved after epoch ${saved.epoch}; resumed to epoch ${resumed.result.logs.length}`,
      );
      assert.deepEqual(
        resumed.epochs.map((e) => e.epoch),
        Array.from({ length: epochs - saved.epoch }, (_, k) => saved.epoch + k + 1),
      );
      assert.deepEqual(
        resumed.result.logs.map((l) => l.train.loss),
        whole.result.logs.map((l) => l.train.loss),
      );
      assert.equal(resumed.result.after.dsc, whole.result.after.dsc);
      assert.equal(resumed.record.parentWeightsSha256, parentDigest);
      const a = await unzipModel(whole, 'whole');
      const b = await unzipModel(resumed, 'resumed');
      assert.equal(await weightsDigest(b.model), await weightsDigest(a.model), 'bit for bit');
      a.model.dispose();
      b.model.dispose();
      assert.equal(resumed.tensors.after, resumed.tensors.started);
      const left = await savedIn(page, 'cut');
      assert.equal(left, null, 'a finished run deletes its saved state');
      // A stop pressed at once after resuming reaches the worker while it still reads the
      // saved run: it ends with the epochs saved, and the run is over.
      const cutAgain = page.waitForEvent('load');
      await runInPage(page, { epochs, database: 'stop', reloadAfter: 1 }).catch(() => undefined);
      await cutAgain;
      const before = await savedIn(page, 'stop');
      assert.ok(before !== null);
      const stopped = await runInPage(page, {
        epochs,
        database: 'stop',
        resume: true,
        cancelAfter: 0,
      });
      assert.equal(stopped.result.cancelled, true);
      assert.equal(stopped.result.logs.length, before.epoch, 'no epoch after the saved ones');
      assert.equal(await savedIn(page, 'stop'), null);
    } finally {
      await page.close();
    }
  });

  test("'auto' trains on wasm beside a software GPU, a thread per core; bad input is one sentence, and leaves no tensor", async () => {
    const page = await openPage();
    try {
      const out = await page.evaluate(async (origin) => {
        const { FineTuner } = (await import(
          `${origin}/assets/fine_tuner.js`
        )) as typeof import('../../src/webapp/fine_tuner.js');
        const tuner = await FineTuner.start(
          { url: `${origin}/model/model.json` },
          { wasmPath: `${origin}/wasm/` },
        );
        const started = await tuner.tensors();
        const blob = async (f: string) => (await fetch(`${origin}/${f}`)).blob();
        const image = (i: number, mask = i) => ({
          id: `id${i}`,
          name: `im${i}.png`,
          file: blob(`im${i}.png`),
          mask: blob(`im${mask}_mask.png`),
        });
        const ready = async (x: ReturnType<typeof image>) => ({
          ...x,
          file: await x.file,
          mask: await x.mask,
        });
        const failure = (p: Promise<unknown>) =>
          p.then(
            () => 'no error',
            (err: Error) => `${err.name}: ${err.message}`,
          );
        const one = await failure(tuner.run([await ready(image(0))]));
        const misfit = await failure(
          tuner.run([await ready(image(0, 1)), await ready(image(1))], { epochs: 1 }),
        );
        const after = await tuner.tensors();
        await tuner.dispose();
        return {
          label: tuner.backendLabel,
          asked: tuner.threadsAsked,
          one,
          misfit,
          started,
          after,
          isolated: crossOriginIsolated,
          cores: navigator.hardwareConcurrency,
        };
      }, server.origin);
      // The page is cross-origin isolated (serve.ts): one thread per core is asked. The label
      // says what tfjs-backend-wasm runs: it caps the threads at half the logical cores
      // (init_with_threads_count in its backend.cc assumes two per core), 1 on 2 cores.
      assert.equal(out.isolated, true);
      assert.equal(out.asked, out.cores);
      assert.match(out.label, /^wasm, \d+ threads?$/);
      assert.equal(
        out.one,
        'FineTuneError: fine-tuning needs at least 2 images with masks (one to train on, one ' +
          'to validate), got 1',
      );
      assert.equal(out.misfit, 'FineTuneError: im0.png: its mask is 36x48, the image 52x40');
      assert.equal(out.after, out.started);
    } finally {
      await page.close();
    }
  });

  test('a run the browser cannot save goes on, and says so once', async () => {
    const page = await openPage();
    try {
      // A newer version of the database, as another tab with a newer page would leave it.
      await page.evaluate(
        () =>
          new Promise<void>((resolve, reject) => {
            const req = indexedDB.open('newer', 2);
            req.onsuccess = () => {
              req.result.close();
              resolve();
            };
            req.onerror = () => reject(new Error(String(req.error)));
          }),
      );
      const run = await runInPage(page, { epochs: 2, database: 'newer' });
      assert.equal(run.saved, false);
      assert.equal(run.result.logs.length, 2, 'it trained every epoch');
      assert.deepEqual(run.notices, [
        'The fine-tuning cannot be saved while this page is open in another tab with another ' +
          'version: a reload stops it. Close the other tab.',
      ]);
      assert.equal(run.tensors.after, run.tensors.started);
    } finally {
      await page.close();
    }
  });

  test('WebGPU (SwiftShader) and wasm: the same steps give close losses', async (t) => {
    const page = await openPage();
    try {
      const gpu = await runInPage(page, { backend: 'webgpu', epochs: 1, database: 'gpu' });
      const wasm = await runInPage(page, { backend: 'wasm', epochs: 1, database: 'wasm' });
      t.diagnostic(
        `${gpu.backendLabel}: ${gpu.result.logs[0].train.loss}; ${wasm.backendLabel}: ` +
          `${wasm.result.logs[0].train.loss}`,
      );
      assert.match(gpu.backendLabel, /^webgpu \(.*software\)$/);
      const [g, w] = [gpu.result.logs[0].train.loss, wasm.result.logs[0].train.loss];
      // float32 on both, summed in other orders: 1e-4 as test/browser/fine_tune.test.ts allows.
      assert.ok(Math.abs(g - w) <= 1e-4 * Math.abs(w), `webgpu ${g}, wasm ${w}`);
      assert.equal(gpu.tensors.after, gpu.tensors.started);
    } finally {
      await page.close();
    }
  });
});
