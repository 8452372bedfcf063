/**
 * `npm run bench`: the machine's speed on the paper's model, network figures then kernel
 * figures, on one backend. Not a test: speed only.
 *
 *   npm run build && node dist/bench/index.js [--quick] [--json] [--steps N] [--backend B]
 *       [--workers N] [--micro-batch N]
 *
 * 1. Whole network (bench/network.ts): training and inference images/s of attn_reg at
 *    128x128x1 batch 16 and 192x256x3 batch 8, peak resident memory, live tensors before and
 *    after. It runs as its own process (`node dist/bench/network.js --json` with the same
 *    flags), so its peak memory and tensor counts are the network's alone and every flag it
 *    knows (`--steps`, `--workers`, `--micro-batch`) passes through unchanged.
 * 2. Convolution kernels (bench/kernels.ts, in this process): GFLOPS of the forward,
 *    input-gradient and filter-gradient kernels of every distinct convolution and transposed
 *    convolution of attn_reg at 128x128x1, batch 16; median of 5 runs after one warm-up. On
 *    wasm: the direct kernels, and Winograd F(2x2, 3x3) and F(4x4, 3x3) on the 3x3 stride-1
 *    shapes (JSON entries with `"algorithm": "winograd"` / `"winograd4"`, GFLOPS counted as
 *    the direct arithmetic).
 *
 * `--quick` runs only the 128x128x1 network, and the kernels of one shape per (layer type,
 * kernel, stride), median of 3 runs. `--json` prints one object: `{"cores", "backend",
 * "workers", "networks": [{"model", "inputShape", "batch", "trainImagesPerSecond",
 * "inferImagesPerSecond", "peakRssMB", ...}], "kernels": [{"op", "shape", "gflops"}]}`.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { describeBackend, initBackend } from '../src/backend/select.js';
import {
  benchKernels,
  formatKernelTable,
  WINOGRAD_NOTE,
  winogradColumns,
  type KernelBenchOptions,
} from './kernels.js';
import { formatTable } from '../src/util/text_table.js';

/** What bench/network.js prints with `--json` (the fields read here). */
interface NetworkReport {
  cores: number;
  backend: string;
  workers: number;
  networks: {
    /** 'tfjs-wasm', 'onnxruntime', ... */
    engine: string;
    /** ONNX Runtime's intra-op threads. */
    threads?: number;
    model: string;
    inputShape: number[];
    batch: number;
    microBatch?: number;
    /** Null for inference-only engines. */
    trainImagesPerSecond: number | null;
    inferImagesPerSecond: number;
    peakRssMB: number;
    tensorsBefore?: number;
    tensorsAfterSteps?: number[];
  }[];
}

/** Runs bench/network.js with `args` and `--json` in a child process; resolves to its report. */
function runNetworkBench(args: string[]): Promise<NetworkReport> {
  const script = fileURLToPath(new URL('./network.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [...process.execArgv, script, ...args.filter((a) => a !== '--json'), '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (stdout += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench: ${script} exited with code ${code}`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as NetworkReport);
      } catch {
        reject(new Error(`bench: ${script} printed no JSON report: ${JSON.stringify(last)}`));
      }
    });
  });
}

function networkTable(report: NetworkReport): string[] {
  const rows = report.networks.map((r) => [
    r.threads !== undefined
      ? `${r.engine} (${r.threads} thr)`
      : `${r.engine} (${report.workers} wkr)`,
    r.model,
    r.inputShape.join('x'),
    String(r.batch),
    String(r.microBatch ?? ''),
    r.trainImagesPerSecond === null ? '-' : r.trainImagesPerSecond.toFixed(2),
    r.inferImagesPerSecond.toFixed(2),
    String(r.peakRssMB),
    r.tensorsBefore !== undefined
      ? `${r.tensorsBefore} -> ${(r.tensorsAfterSteps ?? []).join(', ')}`
      : '',
  ]);
  const header = [
    'engine',
    'model',
    'input',
    'batch',
    'micro-batch',
    'train img/s',
    'infer img/s',
    'peak RSS MB',
    'tensors before -> after each step',
  ];
  return formatTable(header, rows, 'lllrrrrrl');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const backendAt = args.indexOf('--backend');
  const info = await initBackend(backendAt >= 0 ? { backend: args[backendAt + 1] } : {});
  const cores = os.availableParallelism();
  if (!json) {
    console.log(`cores: ${cores}`);
    console.log(describeBackend(info));
    console.log(`network figures (${quick ? '128x128x1 only' : 'both input sizes'})...`);
  }

  const network = await runNetworkBench(args);
  if (network.backend !== info.name) {
    throw new Error(`bench: the network ran on ${network.backend}, the kernels on ${info.name}`);
  }
  if (!json) {
    console.log(`workers: ${network.workers}`);
    for (const line of networkTable(network)) console.log(line);
    console.log('');
  }

  const kernelOptions: KernelBenchOptions = quick
    ? { shapes: 'classes', reps: 3, warmUp: 1 }
    : { shapes: 'all', reps: 5, warmUp: 1 };
  // On wasm: the direct kernels, then Winograd forced on the shapes it applies to.
  const wasm = info.name === 'wasm';
  const direct = await benchKernels({
    ...kernelOptions,
    ...(wasm ? { algorithm: 'direct' as const } : {}),
  });
  const winograd = wasm
    ? [
        ...(await benchKernels({ ...kernelOptions, algorithm: 'winograd' })),
        ...(await benchKernels({ ...kernelOptions, algorithm: 'winograd4' })),
      ]
    : [];
  const kernels = [...direct, ...winograd];
  if (json) {
    const { workers, networks } = network;
    console.log(JSON.stringify({ cores, backend: info.name, workers, networks, kernels }));
    return;
  }
  console.log(
    `convolution kernels of attn_reg 128x128x1, GFLOPS, median of ${kernelOptions.reps} runs ` +
      `after ${kernelOptions.warmUp} warm-up${quick ? ' (one shape per layer type, kernel, stride)' : ''}`,
  );
  const extra = winograd.length > 0 ? winogradColumns(winograd) : [];
  for (const line of formatKernelTable(direct, extra)) console.log(line);
  if (winograd.length > 0) console.log(WINOGRAD_NOTE);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
