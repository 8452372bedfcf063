/**
 * Whole-network speed: training and inference images/s of attn_reg with the paper's batch
 * sizes (128x128x1 batch 16, 192x256x3 batch 8), peak resident memory and the live tensor
 * count before and after. Not a test: speed only.
 *
 *   npm run build && node dist/bench/network.js [--quick] [--json] [--steps N] [--backend B]
 *       [--workers N] [--micro-batch N] [--bn-group N] [--objective-scope batch|pass]
 *
 * Training figures are the median of N optimiser updates (default 3) after one warm-up
 * update, with the trainer's default micro-batch for the backend; inference is the median
 * of N predictions of one batch. `--quick` runs only the 128x128x1 network. Each network
 * runs in its own child process (`--case K` runs case K here), so that its peak resident
 * memory is its own. `--workers N`, `--micro-batch N` and `--bn-group N` as for `ftunet train`
 * (the workers and passes follow from them as `train` resolves them: `trainingLanes`);
 * `--objective-scope pass` trains with the per-pass objective instead of the batch one.
 *
 * When onnxruntime-node loads, each case also gets ONNX Runtime inference rows (the model
 * exported with `toOnnx`, the same batch), with 1 thread and one per core, each in its own
 * child process (`--case K --engine onnx --threads T`) so that its memory is its own.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawn } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/backend/select.js';
import { makeBatch } from '../src/data/batch.js';
import { loadOnnxRuntime, OnnxRuntimeEngine } from '../src/export/onnx_engine.js';
import { synthesizeDataset } from '../src/data/synthetic/generate.js';
import { buildModel, outputNames } from '../src/models/build.js';
import { resolveTrainingWorkers, WorkerPool } from '../src/parallel/pool.js';
import type { ModelName } from '../src/models/options.js';
import { MODEL_SUPERVISION } from '../src/models/supervision.js';
import { trainingLanes } from '../src/train/memory.js';
import type { ObjectiveScope } from '../src/train/objective.js';
import { Trainer } from '../src/train/trainer.js';

interface NetworkCase {
  model: ModelName;
  inputShape: [number, number, number];
  batch: number;
}

const CASES: NetworkCase[] = [
  { model: 'attn_reg', inputShape: [128, 128, 1], batch: 16 },
  { model: 'attn_reg', inputShape: [192, 256, 3], batch: 8 },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One batch of synthetic data for case `c` and its network, seeded. */
function caseData(c: NetworkCase) {
  const [h, w, ch] = c.inputShape;
  const data = synthesizeDataset({
    kind: ch === 1 ? 'bus' : 'isic',
    count: c.batch,
    seed: 1,
    inputSize: [h, w],
    channels: ch === 1 ? 1 : 3,
  });
  return { data, model: buildModel(c.model, { inputShape: c.inputShape, seed: 1 }) };
}

export async function benchNetwork(
  c: NetworkCase,
  steps: number,
  backend: string,
  requestedWorkers: number,
  microBatchOverride?: number,
  objectiveScope: ObjectiveScope = 'batch',
  bnGroup = 0,
) {
  const { data, model } = caseData(c);
  const { workers, microBatch } = trainingLanes(
    model,
    c.batch,
    microBatchOverride ?? 'auto',
    requestedWorkers,
    bnGroup,
    backend,
  );
  const items = [...Array(c.batch).keys()];
  const objective = {
    loss: 'ftl' as const,
    finalLoss: MODEL_SUPERVISION[c.model].finalLoss,
  };
  const pool =
    workers > 1
      ? await WorkerPool.start({
          model,
          workers,
          backend,
          dataset: data,
          objective: { ...objective, outputs: outputNames(model) },
          bnGroup,
          maxBatch: c.batch,
        })
      : undefined;
  const trainer = new Trainer(
    model,
    data,
    { train: items, val: [] },
    {
      epochs: steps + 1,
      batchSize: c.batch,
      microBatch,
      bnGroup,
      objectiveScope,
      objective,
      executor: pool,
    },
  );
  const tensorsBefore = tf.memory().numTensors;
  const stepSeconds: number[] = [];
  const tensorsAfterStep: number[] = [];
  await trainer.run({
    onEpochEnd: (log) => {
      if (log.epoch > 1) stepSeconds.push(log.seconds);
      tensorsAfterStep.push(tf.memory().numTensors);
    },
  });
  const { xs, ys } = makeBatch(data, items);
  const inferSeconds: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const start = performance.now();
    const out =
      pool !== undefined
        ? await pool.predict(xs, c.batch)
        : ([model.predict(xs, { batchSize: c.batch })].flat() as tf.Tensor[]);
    await out[out.length - 1].data();
    tf.dispose(out);
    if (i > 0) inferSeconds.push((performance.now() - start) / 1000);
  }
  tf.dispose([xs, ys]);
  await pool?.close();
  trainer.dispose();
  model.dispose();
  return {
    engine: `tfjs-${backend}`,
    model: c.model,
    inputShape: c.inputShape,
    batch: c.batch,
    workers,
    microBatch,
    trainImagesPerSecond: c.batch / median(stepSeconds),
    inferImagesPerSecond: c.batch / median(inferSeconds),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    tensorsBefore,
    tensorsAfterSteps: tensorsAfterStep,
  };
}

/** ONNX Runtime's inference of case `c` with `threads` intra-op threads (no training). */
export async function benchOnnx(c: NetworkCase, steps: number, threads: number) {
  const ort = await loadOnnxRuntime();
  if (ort === undefined) throw new Error('bench: onnxruntime-node is not installed');
  const { data, model } = caseData(c);
  const engine = await OnnxRuntimeEngine.create(ort, model, threads);
  const { xs, ys } = makeBatch(data, [...Array(c.batch).keys()]);
  const seconds: number[] = [];
  for (let i = 0; i < steps + 1; i++) {
    const start = performance.now();
    await engine.predict(xs);
    if (i > 0) seconds.push((performance.now() - start) / 1000);
  }
  tf.dispose([xs, ys]);
  await engine.dispose();
  model.dispose();
  return {
    engine: 'onnxruntime',
    threads,
    model: c.model,
    inputShape: c.inputShape,
    batch: c.batch,
    trainImagesPerSecond: null,
    inferImagesPerSecond: c.batch / median(seconds),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

type NetworkResult =
  Awaited<ReturnType<typeof benchNetwork>> | Awaited<ReturnType<typeof benchOnnx>>;

/** One line of a result for a person. */
function describeResult(r: NetworkResult): string {
  const what = `${r.engine} ${r.model} ${r.inputShape.join('x')} batch ${r.batch}`;
  if (r.engine === 'onnxruntime' && 'threads' in r) {
    return (
      `${what} (${r.threads} thread${r.threads === 1 ? '' : 's'}): infer ` +
      `${r.inferImagesPerSecond.toFixed(2)} img/s, peak RSS ${r.peakRssMB} MB`
    );
  }
  const t = r as Awaited<ReturnType<typeof benchNetwork>>;
  return (
    `${what} (micro-batch ${t.microBatch}): train ${t.trainImagesPerSecond.toFixed(2)} img/s, ` +
    `infer ${t.inferImagesPerSecond.toFixed(2)} img/s, peak RSS ${t.peakRssMB} MB, tensors ` +
    `${t.tensorsBefore} -> ${t.tensorsAfterSteps.join(', ')}`
  );
}

/** Runs case `k` in a child process (its own peak memory); resolves to its figures. */
function caseInChild(k: number, args: string[]): Promise<NetworkResult> {
  const script = fileURLToPath(import.meta.url);
  const rest = args.filter((a) => a !== '--json' && a !== '--quick');
  const child = spawn(process.execPath, [script, ...rest, '--json', '--case', String(k)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`bench case ${k} failed (exit code ${code})`));
        return;
      }
      const report = JSON.parse(out.trim().split('\n').pop() ?? '') as {
        networks: NetworkResult[];
      };
      resolve(report.networks[0]);
    });
  });
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const quick = args.includes('--quick');
  const stepsAt = args.indexOf('--steps');
  const steps = stepsAt >= 0 ? Number(args[stepsAt + 1]) : 3;
  const backendAt = args.indexOf('--backend');
  const info = await initBackend({
    ...(backendAt >= 0 ? { backend: args[backendAt + 1] } : {}),
    report: json ? undefined : (line) => console.error(line),
  });
  const workersAt = args.indexOf('--workers');
  const workers = resolveTrainingWorkers(
    workersAt >= 0 ? Number(args[workersAt + 1]) : undefined,
    info.name,
  );
  const microAt = args.indexOf('--micro-batch');
  const micro = microAt >= 0 ? Number(args[microAt + 1]) : undefined;
  const scopeAt = args.indexOf('--objective-scope');
  const scope = scopeAt >= 0 ? (args[scopeAt + 1] as ObjectiveScope) : 'batch';
  const groupAt = args.indexOf('--bn-group');
  const bnGroup = groupAt >= 0 ? Number(args[groupAt + 1]) : 0;
  const caseAt = args.indexOf('--case');
  const engineAt = args.indexOf('--engine');
  const onnx = engineAt >= 0 && args[engineAt + 1] === 'onnx';
  const threadsAt = args.indexOf('--threads');
  const networks: NetworkResult[] = [];
  const report = (r: NetworkResult): void => {
    networks.push(r);
    if (!json) console.log(describeResult(r));
  };
  if (caseAt >= 0) {
    const c = CASES[Number(args[caseAt + 1])];
    report(
      onnx
        ? await benchOnnx(c, steps, Number(args[threadsAt + 1]))
        : await benchNetwork(c, steps, info.name, workers, micro, scope, bnGroup),
    );
  } else {
    const ort = (await loadOnnxRuntime()) !== undefined;
    const threads = [...new Set([1, os.availableParallelism()])];
    for (const k of quick ? [0] : CASES.keys()) {
      report(await caseInChild(k, args));
      if (!ort) continue;
      for (const t of threads) {
        report(await caseInChild(k, [...args, '--engine', 'onnx', '--threads', String(t)]));
      }
    }
  }
  if (json) {
    const cores = os.availableParallelism();
    console.log(JSON.stringify({ cores, backend: info.name, workers, networks }));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
