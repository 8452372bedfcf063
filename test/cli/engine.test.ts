/**
 * `--engine onnx` against `--engine tfjs` at the command line: `predict` writes the same masks
 * and `evaluate` the same metrics, for an attention U-Net with seeded random weights (saved as
 * a model folder and as a run's best model). ONNX Runtime's probabilities differ from
 * TensorFlow.js's by at most 1e-4 (test/export/onnx.test.ts); the threshold is chosen in the
 * widest gap of TensorFlow.js's probabilities, checked to be wider than that, so the masks
 * must be equal.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage } from '../../src/io/image.js';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { Predictor } from '../../src/predict/predictor.js';
import { makeTemp, removeTemp, rgbPattern, writeRaw } from '../data/fixtures.js';
import { writeBusItems, writeRunFolder } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';
import { runCli } from './run.js';

/** |ORT − tfjs| bound of the exporter's tests; every probability must be further from 0.5. */
const PROBABILITY_ATOL = 1e-4;
/** Mean metrics of the two engines: float32 probabilities, thresholded, then float64 means. */
const METRIC_ATOL = 1e-6;

let root: string;
let data: string;
let images: string;
let run: string;
let model: string;
let env: NodeJS.ProcessEnv;
let threshold: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-engine-');
  data = path.join(root, 'bus');
  images = path.join(root, 'images');
  run = path.join(root, 'run');
  model = path.join(root, 'model');
  env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
  await writeBusItems(data);
  for (const [k, [h, w]] of [
    [40, 29],
    [32, 32],
    [17, 51],
  ].entries()) {
    await writeRaw(path.join(images, `p${k}.png`), rgbPattern(h, w, k), h, w, 3);
  }
  const net = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 7 });
  // The initial weights keep every logit near 0 (exactly 0 on black images): spread the final
  // layer's logits and shift them off 0, so that the probabilities leave gaps.
  const final = net.getLayer('final');
  const [kernel, bias] = final.getWeights();
  final.setWeights([tf.mul(kernel, 30), tf.fill(bias.shape, 0.05)]);
  await writeRunFolder(run, data, net);
  await saveModel(net, model);
  // TensorFlow.js's probabilities of every image, as predict sees them.
  const predictor = new Predictor(net);
  const probabilities: number[] = [];
  for (const name of [
    ...(await readdir(images)).map((n) => path.join(images, n)),
    ...(await readdir(path.join(data, 'original'))).map((n) => path.join(data, 'original', n)),
  ]) {
    probabilities.push(...(await predictor.predict(await decodeImage(name, 3))).probabilities);
  }
  net.dispose();
  // The threshold: the middle of the widest gap between the probabilities within 0.3-0.7, so
  // that the masks have lesion and background, and no probability is within the engines' gap.
  const sorted = probabilities.filter((p) => p > 0.3 && p < 0.7).sort((x, y) => x - y);
  let gap = 0;
  for (let k = 1; k < sorted.length; k += 1) {
    if (sorted[k] - sorted[k - 1] > gap) {
      gap = sorted[k] - sorted[k - 1];
      threshold = String((sorted[k] + sorted[k - 1]) / 2);
    }
  }
  assert.ok(gap / 2 > PROBABILITY_ATOL, `the widest gap is ${gap}`);
});
after(() => removeTemp(root));

const cli = (...args: string[]) =>
  runCli([...args, '--backend', 'cpu', '--threads', '1', '--threshold', threshold], env);

describe('--engine onnx and --engine tfjs', () => {
  test('predict writes the same masks', async () => {
    const masks: Record<string, Buffer[]> = {};
    for (const engine of ['tfjs', 'onnx']) {
      const out = path.join(root, `predict-${engine}`);
      const r = cli(
        'predict',
        '--model',
        model,
        images,
        '--out',
        out,
        '--engine',
        engine,
        '--json',
      );
      assert.equal(r.code, 0, r.stderr);
      const result = JSON.parse(r.stdout) as { engine: string; predicted: unknown[] };
      assert.equal(result.engine, engine === 'onnx' ? 'onnxruntime' : 'tfjs-cpu');
      assert.equal(result.predicted.length, 3);
      const names = (await readdir(out)).filter((n) => n.endsWith('_mask.png')).sort();
      assert.deepEqual(names, ['p0_mask.png', 'p1_mask.png', 'p2_mask.png']);
      masks[engine] = await Promise.all(names.map((n) => readFile(path.join(out, n))));
    }
    masks.tfjs.forEach((m, k) => assert.ok(m.equals(masks.onnx[k]), `mask ${k} differs`));
  });

  test('evaluate gives the same metrics, with --run and with --model', async () => {
    for (const form of [
      ['--run', run],
      ['--model', model, '--dataset', 'bus', '--data', data],
    ]) {
      const summaries: Record<string, Record<string, unknown>> = {};
      const csv: Record<string, string> = {};
      for (const engine of ['tfjs', 'onnx']) {
        const out = path.join(root, `eval-${form[0].slice(2)}-${engine}`);
        const r = cli('evaluate', ...form, '--out', out, '--engine', engine, '--no-report');
        assert.equal(r.code, 0, r.stderr);
        summaries[engine] = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
        csv[engine] = await readFile(path.join(out, 'metrics.csv'), 'utf8');
      }
      assert.equal(summaries.tfjs.engine, 'tfjs-cpu');
      assert.equal(summaries.onnx.engine, 'onnxruntime');
      // Same masks: the per-image thresholded metrics are the same text, and so are the qc
      // verdicts; the qc score and entropy come from the probabilities, which the engines
      // round differently (within float32 rounding of values near 1).
      const [head, ...tfjsRows] = csv.tfjs
        .trim()
        .split('\n')
        .map((l) => l.split(','));
      const onnxRows = csv.onnx
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => l.split(','));
      const fromProbabilities = ['qc_score', 'qc_entropy'].map((c) => head.indexOf(c));
      assert.ok(
        fromProbabilities.every((i) => i > 0),
        head.join(','),
      );
      const exact = (rows: string[][]): string[][] =>
        rows.map((row) => row.filter((_, i) => !fromProbabilities.includes(i)));
      assert.deepEqual(exact(onnxRows), exact(tfjsRows));
      for (const [k, row] of tfjsRows.entries()) {
        for (const i of fromProbabilities) {
          const [a, b] = [Number(row[i]), Number(onnxRows[k][i])];
          assert.ok(Math.abs(a - b) <= 1e-5, `${head[i]} of row ${k}: ${a} vs ${b}`);
        }
      }
      for (const name of ['dsc', 'precision', 'recall', 'tnr', 'iou']) {
        const [a, b] = [summaries.tfjs[name], summaries.onnx[name]] as { mean: number }[];
        assert.ok(Math.abs(a.mean - b.mean) <= METRIC_ATOL, `${name}: ${a.mean} vs ${b.mean}`);
      }
    }
  });
});
