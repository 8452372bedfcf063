/**
 * Inference speed of attn_reg in headless Chromium (Debian's, `/usr/bin/chromium`, driven by
 * playwright-core): onnxruntime-web on the model exported with `toOnnx` (wasm execution
 * provider with 1 thread and with one per core, and WebGPU when Chromium exposes it) against
 * TensorFlow.js in the page (wasm with 1 thread and one per core, and webgl), at the paper's
 * presets (128x128x1 batch 16, 192x256x3 batch 8). Not a test: speed only.
 *
 *   npm run build && npm run bench:browser [-- --json] [--quick] [--cpu] [--runs N] [--timeout S]
 *
 * `--cpu` leaves out the GPU rows (WebGPU, WebGL): on a machine whose only GPU is a software
 * rasteriser they only time out.
 *
 * The page is served by a tiny HTTP server on 127.0.0.1 with cross-origin isolation
 * (COOP/COEP headers), which threaded wasm needs; it serves onnxruntime-web's and
 * tfjs-backend-wasm's dist files from node_modules, an esbuild bundle of the project's model
 * builder with tfjs (built here at start), and the exported model from a temporary folder.
 * Every other request is aborted, so nothing leaves the machine.
 *
 * Each measurement runs in a fresh page: one warm-up run, then the median of `--runs` (3)
 * runs of one batch; its time is bounded by `--timeout` seconds (180). A measurement that
 * times out is retried once with batch 1 (its row then says so); one that cannot run (no
 * WebGPU adapter, no WebGL) is reported as skipped with the reason.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { build } from 'esbuild';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';
import { serveStatic, type StaticServer } from '../src/app/serve.js';
import { toOnnx } from '../src/export/onnx.js';
import { buildModel } from '../src/models/build.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/chromium.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_MODULES = path.join(ROOT, 'node_modules');

const ARGS = [...CHROMIUM_ARGS, '--enable-unsafe-webgpu'];

interface Preset {
  name: string;
  shape: [number, number, number];
  batch: number;
}

const PRESETS: Preset[] = [
  { name: '128x128x1 b16', shape: [128, 128, 1], batch: 16 },
  { name: '192x256x3 b8', shape: [192, 256, 3], batch: 8 },
];

interface Engine {
  engine: 'onnxruntime-web' | 'tfjs';
  provider: 'wasm' | 'webgpu' | 'webgl';
  /** 0: one per core (navigator.hardwareConcurrency). */
  threads: number;
}

const ENGINES: Engine[] = [
  { engine: 'onnxruntime-web', provider: 'wasm', threads: 1 },
  { engine: 'onnxruntime-web', provider: 'wasm', threads: 0 },
  { engine: 'tfjs', provider: 'wasm', threads: 1 },
  { engine: 'tfjs', provider: 'wasm', threads: 0 },
  // The GPU rows last: on a software GPU (SwiftShader) a timed-out page's work may go on.
  { engine: 'onnxruntime-web', provider: 'webgpu', threads: 0 },
  { engine: 'tfjs', provider: 'webgl', threads: 0 },
];

interface PageResult {
  skipped?: string;
  times?: number[];
  threads?: number;
  backend?: string;
}

interface Row extends Engine {
  preset: string;
  batch: number;
  threadsUsed?: number;
  msPerBatch?: number;
  imgPerSec?: number;
  note?: string;
}

/** The page's module: runs one measurement in the page and returns its times in ms. */
const PAGE_MODULE = `
function input(n, h, w, c) {
  const data = new Float32Array(n * h * w * c);
  let s = 1;
  for (let i = 0; i < data.length; i++) { s = (s * 1103515245 + 12345) % 2147483648; data[i] = s / 2147483648; }
  return data;
}
function stage(s) {
  globalThis.ftunetAt = s;
}
async function timed(runs, once) {
  const times = [];
  for (let i = 0; i < runs + 1; i++) {
    stage(i === 0 ? 'warm-up run' : 'run ' + i);
    const t0 = performance.now();
    await once();
    times.push(performance.now() - t0);
  }
  return times.slice(1);
}
export async function runOrt(cfg) {
  stage('loading onnxruntime-web');
  const ort = await import('/ort/ort.all.min.mjs');
  ort.env.wasm.wasmPaths = '/ort/';
  const threads = cfg.threads || navigator.hardwareConcurrency;
  ort.env.wasm.numThreads = threads;
  if (cfg.provider === 'webgpu') {
    if (!navigator.gpu) return { skipped: 'navigator.gpu is undefined' };
    const adapter = await navigator.gpu.requestAdapter();
    if (!adapter) return { skipped: 'navigator.gpu.requestAdapter() returned null' };
    const info = adapter.info ?? {};
    globalThis.ftunetAdapter = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ');
  }
  stage('creating the session');
  const session = await ort.InferenceSession.create('/model/attn_reg_' + cfg.shape.join('x') + '.onnx', {
    executionProviders: [cfg.provider],
  });
  const [n, h, w, c] = [cfg.batch, ...cfg.shape];
  const feeds = { input: new ort.Tensor('float32', input(n, h, w, c), [n, h, w, c]) };
  const times = await timed(cfg.runs, async () => {
    const out = await session.run(feeds);
    for (const t of Object.values(out)) { await t.getData?.(); t.dispose?.(); }
  });
  await session.release();
  return { times, threads: cfg.provider === 'wasm' ? threads : undefined, backend: cfg.provider };
}
export async function runTfjs(cfg) {
  stage('loading tfjs');
  await import('/tfjs.js');
  return globalThis.ftunetTfjs(cfg);
}
`;

/** The esbuild entry of the tfjs page bundle (bundled from the project's sources). */
const TFJS_ENTRY = `
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgl';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { buildModel } from './src/models/build.ts';
import { prepareWasmKernels, registerWasmKernels } from './src/kernels/wasm/register.ts';
globalThis.ftunetTfjs = async (cfg) => {
  let threads;
  if (cfg.provider === 'wasm') {
    threads = cfg.threads || navigator.hardwareConcurrency;
    setWasmPaths('/tfwasm/');
    setThreadsCount(threads);
    registerWasmKernels();
    await prepareWasmKernels();
  }
  let ok = false;
  try { ok = await tf.setBackend(cfg.provider); } catch (e) { return { skipped: String(e) }; }
  if (!ok) return { skipped: 'tf.setBackend(' + cfg.provider + ') failed' };
  globalThis.ftunetAt = 'building the model';
  const model = buildModel('attn_reg', { inputShape: cfg.shape, seed: 0 });
  const [n, h, w, c] = [cfg.batch, ...cfg.shape];
  const x = tf.randomUniform([n, h, w, c], 0, 1, 'float32', 1);
  const times = [];
  for (let i = 0; i < cfg.runs + 1; i++) {
    globalThis.ftunetAt = i === 0 ? 'warm-up run' : 'run ' + i;
    const t0 = performance.now();
    const y = model.predict(x);
    const ys = Array.isArray(y) ? y : [y];
    await ys[ys.length - 1].data();
    tf.dispose(ys);
    times.push(performance.now() - t0);
  }
  tf.dispose(x);
  model.dispose();
  if (cfg.provider === 'wasm') threads = tf.backend().getThreadsCount?.() ?? threads;
  return { times: times.slice(1), threads, backend: tf.getBackend() };
};
`;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Serves the page, the bundles, the wasm files and the model, cross-origin isolated. */
function serve(dir: string): Promise<StaticServer> {
  return serveStatic({
    mounts: {
      '/ort/': path.join(NODE_MODULES, 'onnxruntime-web', 'dist'),
      '/tfwasm/': path.join(NODE_MODULES, '@tensorflow', 'tfjs-backend-wasm', 'dist'),
      '/model/': dir,
      '/': dir,
    },
  });
}

interface Timeout {
  timeout: true;
  /** What the page was doing when the time ran out. */
  at: string;
}

async function measure(
  context: BrowserContext,
  origin: string,
  e: Engine,
  p: Preset,
  batch: number,
  runs: number,
  timeoutS: number,
): Promise<(PageResult & { adapter?: string }) | Timeout> {
  const page = await context.newPage();
  let timer: NodeJS.Timeout | undefined;
  const adapter = async () =>
    ((await page.evaluate('globalThis.ftunetAdapter').catch(() => undefined)) as
      string | undefined) || undefined;
  try {
    await page.goto(`${origin}/index.html`);
    const cfg = { provider: e.provider, threads: e.threads, shape: p.shape, batch, runs };
    const fn = e.engine === 'tfjs' ? 'runTfjs' : 'runOrt';
    const work = page.evaluate(
      `import('/page.mjs').then((m) => m.${fn}(${JSON.stringify(cfg)}))`,
    ) as Promise<PageResult>;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutS * 1000);
    });
    const result = await Promise.race([work, timeout]);
    if (result === 'timeout') {
      const at = (await page.evaluate('globalThis.ftunetAt').catch(() => '?')) as string;
      const a = await adapter();
      return { timeout: true, at: at + (a ? `; adapter: ${a}` : '') };
    }
    return { ...result, adapter: await adapter() };
  } catch (err) {
    return { skipped: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
  } finally {
    clearTimeout(timer);
    await page.close().catch(() => undefined);
  }
}

function threadsLabel(r: Row): string {
  if (r.provider !== 'wasm') return '-';
  return r.threadsUsed !== undefined ? String(r.threadsUsed) : r.threads === 0 ? 'cores' : '1';
}

function printTable(rows: Row[], presets: Preset[]): void {
  const header = ['engine', 'provider', 'threads', ...presets.map((p) => `img/s ${p.name}`)];
  const lines: string[][] = [];
  for (const e of ENGINES) {
    const mine = rows.filter(
      (r) => r.engine === e.engine && r.provider === e.provider && r.threads === e.threads,
    );
    if (mine.length === 0) continue;
    lines.push([
      e.engine,
      e.provider,
      threadsLabel(mine[0]),
      ...presets.map((p) => {
        const r = mine.find((x) => x.preset === p.name);
        if (!r) return '';
        if (r.imgPerSec === undefined) return r.note ?? 'n/a';
        const v = r.imgPerSec.toFixed(2);
        return r.batch !== p.batch ? `${v} (batch ${r.batch})` : v;
      }),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (l: string[]) => l.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(fmt(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
  for (const r of rows) {
    if (r.note && r.imgPerSec !== undefined) {
      console.log(`note: ${r.engine} ${r.provider} ${r.preset}: ${r.note}`);
    }
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const quick = argv.includes('--quick');
  const cpuOnly = argv.includes('--cpu');
  const engines = cpuOnly ? ENGINES.filter((e) => e.provider === 'wasm') : ENGINES;
  const option = (name: string, fallback: number) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : fallback;
  };
  const runs = option('--runs', 3);
  const timeoutS = option('--timeout', 180);
  const presets = quick ? PRESETS.slice(0, 1) : PRESETS;
  const log = (line: string) => (json ? process.stderr : process.stdout).write(line + '\n');

  await tf.setBackend('cpu');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ftunet-bench-browser-'));
  const profile = await mkdtemp(path.join(os.tmpdir(), 'ftunet-chromium-'));
  let server: StaticServer | undefined;
  let context: BrowserContext | undefined;
  try {
    for (const p of presets) {
      const model = buildModel('attn_reg', { inputShape: p.shape, seed: 0 });
      const { bytes } = toOnnx(model, { outputs: 'final' });
      model.dispose();
      await writeFile(path.join(dir, `attn_reg_${p.shape.join('x')}.onnx`), bytes);
    }
    await writeFile(path.join(dir, 'page.mjs'), PAGE_MODULE);
    await writeFile(
      path.join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>ftunet browser bench</title>',
    );
    await build({
      stdin: { contents: TFJS_ENTRY, resolveDir: ROOT, loader: 'js' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: path.join(dir, 'tfjs.js'),
      logLevel: 'error',
      // tfjs-backend-wasm's emscripten glue names Node modules it never loads in a browser.
      external: ['fs', 'path', 'worker_threads', 'perf_hooks', 'os', 'crypto'],
    });
    server = await serve(dir);
    const origin = server.origin;
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
    });
    await context.route('**/*', (route) =>
      route
        .request()
        .url()
        .startsWith(origin + '/')
        ? route.continue()
        : route.abort(),
    );
    const probe = await context.newPage();
    await probe.goto(`${origin}/index.html`);
    const env = (await probe.evaluate(
      `({ isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency,
          gpu: typeof navigator.gpu !== 'undefined', ua: navigator.userAgent })`,
    )) as { isolated: boolean; cores: number; gpu: boolean; ua: string };
    await probe.close();
    log(
      `Chromium ${env.ua.match(/Chrome\/([\d.]+)/)?.[1] ?? '?'}: crossOriginIsolated ` +
        `${env.isolated}, ${env.cores} cores, navigator.gpu ${env.gpu ? 'present' : 'absent'}`,
    );

    const rows: Row[] = [];
    for (const e of engines) {
      for (const p of presets) {
        const row: Row = { ...e, preset: p.name, batch: p.batch };
        let result = await measure(context, origin, e, p, p.batch, runs, timeoutS);
        // A smaller batch helps only when the time ran out in the runs themselves.
        if ('timeout' in result && /^(warm-up run|run \d)/.test(result.at)) {
          row.batch = 1;
          row.note = `batch ${p.batch} passed the ${timeoutS} s timeout (at: ${result.at})`;
          result = await measure(context, origin, e, p, 1, runs, timeoutS);
        }
        if ('timeout' in result) {
          row.note = `timeout after ${timeoutS} s at batch ${row.batch} (at: ${result.at})`;
        } else if (result.skipped !== undefined || !result.times) {
          row.note = `skipped: ${result.skipped ?? 'no times'}`;
        } else {
          row.msPerBatch = median(result.times);
          row.imgPerSec = (row.batch * 1000) / row.msPerBatch;
          row.threadsUsed = result.threads;
          if (result.adapter) row.note = `adapter: ${result.adapter}`;
        }
        log(
          `${e.engine} ${e.provider} threads=${e.threads || 'cores'} ${p.name}: ` +
            (row.imgPerSec !== undefined
              ? `${row.imgPerSec.toFixed(2)} img/s (batch ${row.batch}, ${row.msPerBatch?.toFixed(0)} ms)`
              : row.note),
        );
        rows.push(row);
      }
    }
    if (json) {
      console.log(JSON.stringify({ chromium: env, runs, timeoutS, rows }, null, 2));
    } else {
      console.log('');
      printTable(rows, presets);
    }
  } finally {
    await context?.close().catch(() => undefined);
    await server?.close();
    await rm(dir, { recursive: true, force: true });
    await rm(profile, { recursive: true, force: true });
  }
}

await main();
