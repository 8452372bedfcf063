/**
 * Fine-tuning in Chromium through the page's engine (webapp/fine_tuner.ts and the app's built
 * worker), as bench/fine_tune_node.ts does it in Node.js: a model (the quick start's) on 20
 * synthetic BUS images of the `dim` look with their true masks, then the fine-tuned model from
 * the zip scored in Node.js on 20 others before and after. Prints the backend, the time, the
 * held-out DSC before and after and the 20 others' DSC.
 * Usage: node dist/bench/fine_tune_page.js MODEL_DIR [--epochs N] [--backend wasm|webgpu]
 *   [--threads N]
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { unzipSync } from 'fflate';
import { initBackend } from '../src/backend/select.js';
import { serveStatic } from '../src/app/serve.js';
import { writeApp } from '../src/app/write.js';
import { examplesDataset } from '../src/browser/fine_tune.js';
import { encodeImagePng, encodeMaskPng } from '../src/browser/png.js';
import { predictionRecipe } from '../src/data/recipe.js';
import { generatePair } from '../src/data/synthetic/generate.js';
import { evaluateModel, modelInputShape } from '../src/eval/evaluate.js';
import { loadModel } from '../src/io/model_files.js';
import { BROWSER_BUNDLE } from '../scripts/build_app.js';
import { CHROMIUM_ARGS, launchChromium, sameOrigin } from '../test/chromium.js';
import { makeTemp, removeTemp } from '../test/data/fixtures.js';

const [dir, ...rest] = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = rest.indexOf(name);
  return i < 0 ? undefined : rest[i + 1];
};
const WEBAPP = fileURLToPath(new URL('../src/webapp/', import.meta.url));

await initBackend({ backend: 'wasm' });
const root = await makeTemp('ftunet-bench-finetune-');
try {
  const app = path.join(root, 'app');
  await writeApp({ model: dir, out: app });
  const worker = (await readdir(path.join(app, 'assets'))).find((f) =>
    /^fine-tune-worker-[A-Z0-9]{8}\.js$/.test(f),
  )!;
  await build({
    ...BROWSER_BUNDLE,
    entryPoints: [path.join(WEBAPP, 'fine_tuner.js')],
    outfile: path.join(app, 'assets', 'fine_tuner.js'),
    define: { FTUNET_FINE_TUNE_WORKER: JSON.stringify(worker) },
  });
  await writeFile(path.join(app, 'bench.html'), '<!doctype html><title>bench</title>');
  const pairs = Array.from({ length: 40 }, (_, i) =>
    generatePair('bus', i, { seed: 77, look: 'dim' }),
  );
  await mkdir(path.join(app, 'images'));
  for (const [i, p] of pairs.slice(0, 20).entries()) {
    await writeFile(path.join(app, 'images', `dim_${i}.png`), encodeImagePng(p.image));
    await writeFile(path.join(app, 'images', `dim_${i}_mask.png`), encodeMaskPng(p.mask));
  }
  const server = await serveStatic({ mounts: { '/': app } });
  const browser = await launchChromium(sameOrigin(server.origin), {
    args: [...CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu'), '--enable-unsafe-webgpu'],
  });
  try {
    const page = await browser.page();
    await page.goto(`${server.origin}/bench.html`);
    const out = await page.evaluate(
      async ({ origin, epochs, backend, threads }) => {
        const { FineTuner } = (await import(
          `${origin}/assets/fine_tuner.js`
        )) as typeof import('../src/webapp/fine_tuner.js');
        const t0 = performance.now();
        const tuner = await FineTuner.start(
          { url: `${origin}/model/model.json` },
          {
            wasmPath: `${origin}/wasm/`,
            backend: backend as 'wasm',
            ...(threads ? { threads } : {}),
          },
        );
        const images = [];
        for (let i = 0; i < 20; i++) {
          const get = async (f: string) => (await fetch(`${origin}/images/${f}`)).blob();
          images.push({
            id: `${i}`,
            name: `dim_${i}.png`,
            file: await get(`dim_${i}.png`),
            mask: await get(`dim_${i}_mask.png`),
          });
        }
        const t1 = performance.now();
        const outcome = await tuner.run(images, epochs ? { epochs } : {});
        const t2 = performance.now();
        await tuner.dispose();
        return {
          label: tuner.backendLabel,
          asked: tuner.threadsAsked,
          startSeconds: (t1 - t0) / 1000,
          runSeconds: (t2 - t1) / 1000,
          before: outcome.result.before.dsc,
          after: outcome.result.after.dsc,
          bestEpoch: outcome.result.bestEpoch,
          batch: outcome.result.settings.batchSize,
          epochs: outcome.result.logs.map((l) => l.seconds),
          zip: [...new Uint8Array(await outcome.zip.arrayBuffer())],
        };
      },
      {
        origin: server.origin,
        epochs: arg('--epochs') ? Number(arg('--epochs')) : 0,
        backend: arg('--backend') ?? 'wasm',
        threads: arg('--threads') ? Number(arg('--threads')) : 0,
      },
    );
    const tuned = path.join(root, 'tuned');
    for (const [file, bytes] of Object.entries(unzipSync(Uint8Array.from(out.zip)))) {
      await mkdir(path.dirname(path.join(tuned, file)), { recursive: true });
      await writeFile(path.join(tuned, file), bytes);
    }
    const score = async (modelDir: string) => {
      const model = await loadModel(modelDir);
      const recipe = predictionRecipe({ inputShape: modelInputShape(model, modelDir) });
      const others = examplesDataset(
        recipe,
        pairs.slice(20).map((p, i) => ({ name: `other_${i}`, image: p.image, mask: p.mask })),
      );
      const rows = await evaluateModel(model, others, [...Array(20).keys()], { quality: false });
      model.dispose();
      return rows.reduce((a, r) => a + r.metrics.dsc, 0) / rows.length;
    };
    console.log(
      `${out.label} (${out.asked} asked): started in ${out.startSeconds.toFixed(1)} s, ` +
        `fine-tuned in ${out.runSeconds.toFixed(1)} s (batch ${out.batch}; epochs ` +
        `${out.epochs.map((s) => s.toFixed(1)).join(' ')} s); held-out DSC ` +
        `${out.before.toFixed(4)} -> ${out.after.toFixed(4)}, best epoch ${out.bestEpoch}`,
    );
    console.log(
      `20 other images: DSC ${(await score(dir)).toFixed(4)} -> ` +
        `${(await score(path.join(tuned, 'model'))).toFixed(4)}`,
    );
  } finally {
    await browser.close();
    await server.close();
  }
} finally {
  await removeTemp(root);
}
