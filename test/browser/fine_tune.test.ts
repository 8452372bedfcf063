/**
 * Training in a page, as the web app fine-tunes: the trainer bundled for browsers runs a few
 * steps of a small attn_reg in Chromium on tfjs's WebGPU backend (SwiftShader here: slow, but
 * the same WGSL kernels a hardware adapter runs) and on its wasm backend with the project's
 * kernels, from the same seed and data, and the losses of every epoch agree within float32
 * rounding; the wasm run also equals Node's.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { APP_WASM_FILES, packageFile } from '../../src/app/assets.js';
import { serveStatic, type StaticServer } from '../../src/app/serve.js';
import { BROWSER_BUNDLE } from '../../scripts/build_app.js';
import { CHROMIUM_ARGS, launchChromium, sameOrigin, type TestBrowser } from '../chromium.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';
import { trainFewSteps, type FewSteps } from './fine_tune_steps.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const STEPS = fileURLToPath(new URL('./fine_tune_steps.js', import.meta.url));

let root: string;
let server: StaticServer;
let browser: TestBrowser;

before(async () => {
  root = await makeTemp('ftunet-finetune-page-');
  const page = path.join(root, 'page');
  await mkdir(path.join(page, 'wasm'), { recursive: true });
  for (const [pkg, file] of APP_WASM_FILES) {
    await writeFile(
      path.join(page, 'wasm', path.basename(file)),
      await readFile(packageFile(pkg, file)),
    );
  }
  await build({
    ...BROWSER_BUNDLE,
    stdin: {
      contents:
        `export { trainFewSteps } from ${JSON.stringify(STEPS)};\n` +
        "import '@tensorflow/tfjs-core/dist/register_all_gradients';\n" +
        "import '@tensorflow/tfjs-backend-webgpu';\n" +
        "import '@tensorflow/tfjs-backend-wasm';\n",
      resolveDir: ROOT,
      loader: 'js',
    },
    outfile: path.join(page, 'bundle.js'),
  });
  await writeFile(
    path.join(page, 'index.html'),
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">',
  );
  server = await serveStatic({ mounts: { '/': page } });
  browser = await launchChromium(sameOrigin(server.origin), {
    // The GPU process stays (SwiftShader's WebGPU runs in it): no --disable-gpu.
    args: [...CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu'), '--enable-unsafe-webgpu'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
  await removeTemp(root);
});

/** Runs `trainFewSteps` in the page on `backend`. */
async function inPage(backend: 'webgpu' | 'wasm'): Promise<FewSteps> {
  const page = await browser.page();
  await page.goto(`${server.origin}/`);
  const out = await page.evaluate(
    async ({ backend, wasm, bundle }) => {
      const lib = (await import(bundle)) as {
        trainFewSteps: (o: { backend: string; wasmPath: string }) => Promise<unknown>;
      };
      return lib.trainFewSteps({ backend, wasmPath: wasm });
    },
    { backend, wasm: `${server.origin}/wasm/`, bundle: `${server.origin}/bundle.js` },
  );
  await page.close();
  return out as FewSteps;
}

describe('training in a page', () => {
  test('WebGPU and wasm give the same losses, and wasm the losses of Node', async (t) => {
    const gpu = await inPage('webgpu');
    assert.equal(gpu.backend, 'webgpu');
    assert.match(gpu.adapter, /./, 'a WebGPU adapter');
    const wasm = await inPage('wasm');
    await useBackend('wasm');
    const node = await trainFewSteps({ backend: 'wasm' });
    assert.equal(wasm.losses.length, 2);
    for (const [i, loss] of wasm.losses.entries()) {
      assert.ok(
        Math.abs(loss - node.losses[i]) <= 1e-5 * Math.abs(loss),
        `epoch ${i + 1}: page ${loss}, Node ${node.losses[i]}`,
      );
      // float32 on the device (sums in its own order) against float64 sums, over 2 epochs of
      // SGD updates: 2e-7 apart here; 1e-4 leaves room for other GPUs' orders of summation.
      const rel = Math.abs(gpu.losses[i] - loss) / Math.abs(loss);
      assert.ok(rel < 1e-4, `epoch ${i + 1}: webgpu ${gpu.losses[i]}, wasm ${loss} (${rel})`);
    }
    assert.deepEqual(browser.errors, []);
    t.diagnostic(`losses: webgpu ${gpu.losses.join(', ')}; wasm ${wasm.losses.join(', ')}`);
  });
});
