/**
 * `ftunet export`: model.onnx that ONNX Runtime runs to tfjs's output, a deployable tfjs
 * folder, exit 2 with one line for bad flags, a missing model, an unwritable --out and a layer
 * that ONNX cannot express (with no file written); and `predict` / `evaluate` taking the
 * threshold and resizing an exported folder records unless the flags are given.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import ort from 'onnxruntime-node';
import { decodeImage } from '../../src/io/image.js';
import { loadModel, saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { Predictor } from '../../src/predict/predictor.js';
import { greyPattern, writeRaw } from '../data/fixtures.js';
import { writeBusItems } from '../eval/fixtures.js';
import { hashTree } from '../experiments/tree.js';
import { expectClose, useBackend } from '../helpers.js';
import { deadPid } from '../io/faults.js';
import { runCli } from './run.js';

describe('ftunet export', () => {
  let dir: string;
  let modelDir: string;
  before(async () => {
    await useBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'ftunet-export-'));
    modelDir = join(dir, 'model');
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 5 });
    await saveModel(m, modelDir);
    m.dispose();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('--format onnx writes model.onnx that ONNX Runtime runs to tfjs output (1e-4)', async () => {
    const out = join(dir, 'onnx');
    const r = runCli(['export', '--model', modelDir, '--format', 'onnx', '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { file: string; outputs: string[]; model: string };
    assert.equal(result.file, join(out, 'model.onnx'));
    assert.deepEqual(result.outputs, ['final']);
    assert.equal(result.model, 'attn_reg');
    const session = await ort.InferenceSession.create(await readFile(result.file));
    const meta = await loadModel(modelDir);
    const x = tf.randomUniform([3, 32, 32, 1], 0, 1, 'float32', 9);
    const got = await session.run({
      input: new ort.Tensor('float32', x.dataSync() as Float32Array, x.shape),
    });
    const expected = ([meta.predict(x)].flat() as tf.Tensor[]).at(-1)!;
    expectClose(got.final.data as Float32Array, expected.dataSync(), { rtol: 0, atol: 1e-4 });
    await session.release();
    tf.dispose([x, expected]);
    meta.dispose();
  });

  test('--format tfjs (the default) writes a LayersModel folder with the final output', () => {
    const out = join(dir, 'tfjs');
    const r = runCli(['export', '--model', modelDir, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^exported attn_reg to .*model\.json \(TensorFlow\.js LayersModel, outputs final, float32 weights, 0\.\d\d MB\)\n$/,
    );
    assert.ok(existsSync(join(out, 'model.json')));
  });

  test('--quantize uint8 --json: what was written', () => {
    const out = join(dir, 'tfjs-uint8');
    const r = runCli([
      'export',
      '--model',
      modelDir,
      '--out',
      out,
      '--quantize',
      'uint8',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const result = JSON.parse(r.stdout) as {
      quantization: string;
      outputs: string[];
      metadata: { quantization: string; producer: string };
    };
    assert.equal(result.quantization, 'uint8');
    assert.deepEqual(result.outputs, ['final']);
    assert.equal(result.metadata.quantization, 'uint8');
    assert.match(result.metadata.producer, /^focal-tversky-unet \d+\.\d+\.\d+/);
  });

  test('user errors: one line, exit 2, nothing written', async () => {
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    const cases: Array<[string[], RegExp | string]> = [
      [
        ['--model', modelDir, '--out', join(dir, 'q'), '--quantize', 'int4'],
        "ftunet export: option '--quantize <dtype>' argument 'int4' is invalid. Allowed choices are none, float16, uint8. (Did you mean uint8?) (see --help)\n",
      ],
      [
        ['--model', modelDir, '--out', join(dir, 'q'), '--threshold', '1.5'],
        "ftunet export: option '--threshold <t>' argument '1.5' is invalid. Expected a number from 0 to 1. (see --help)\n",
      ],
      [
        ['--model', join(dir, 'nowhere'), '--out', join(dir, 'q')],
        `ftunet: model folder '${join(dir, 'nowhere')}' does not exist\n`,
      ],
      [
        ['--model', modelDir, '--out', join(dir, 'q'), '--format', 'onnx', '--quantize', 'float16'],
        "ftunet: quantize 'float16' applies to the tfjs format; ONNX exports store float32 weights (quantize 'none')\n",
      ],
      [
        ['--model', modelDir, '--out', join(file, 'sub')],
        `ftunet: cannot create the output folder ${join(file, 'sub')}: ENOTDIR\n`,
      ],
      [['--model', modelDir, '--out', file], `ftunet: --out ${file} is a file; choose a folder\n`],
    ];
    for (const [args, message] of cases) {
      const r = runCli(['export', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr, message);
    }
    assert.ok(!existsSync(join(dir, 'q')));
  });

  test('a layer ONNX cannot express: exit 2 naming it, no file', async () => {
    const flatDir = join(dir, 'flat');
    const input = tfl.input({ shape: [4, 4, 1] });
    const m = tfl.model({
      inputs: input,
      outputs: tfl.layers.flatten({ name: 'flat' }).apply(input) as tfl.SymbolicTensor,
    });
    await saveModel(m, flatDir);
    m.dispose();
    const out = join(dir, 'flat-onnx');
    const r = runCli([
      'export',
      '--model',
      flatDir,
      '--format',
      'onnx',
      '--outputs',
      'all',
      '--out',
      out,
    ]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      "ftunet: layer 'flat' cannot be exported: layer type Flatten has no ONNX export\n",
    );
    assert.ok(!existsSync(join(out, 'model.onnx')));
  });
});

describe('predict and evaluate on an exported folder', () => {
  let dir: string;
  let constant: string;
  let images: string;
  let data: string;
  before(async () => {
    await useBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'ftunet-export-recipe-'));
    images = join(dir, 'images');
    data = join(dir, 'bus');
    await writeRaw(join(images, 'g.png'), greyPattern(40, 29, 3), 40, 29, 1);
    await writeBusItems(data);
    // attn_reg whose final layer outputs p = sigmoid(log(0.6 / 0.4)) = 0.6 at every pixel.
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 2 });
    const final = m.getLayer('final');
    const [kernel, bias] = final.getWeights();
    final.setWeights([tf.zerosLike(kernel), tf.fill(bias.shape, Math.log(0.6 / 0.4))]);
    constant = join(dir, 'constant');
    await saveModel(m, constant);
    m.dispose();
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** The fraction of lesion pixels in each mask predict wrote into `out`. */
  const lesion = async (out: string): Promise<number[]> => {
    const names = (await readdir(out)).filter((n) => n.endsWith('_mask.png')).sort();
    const fractions: number[] = [];
    for (const n of names) {
      const { data: px } = await decodeImage(join(out, n), 1);
      fractions.push(px.reduce((a, v) => a + (v > 0 ? 1 : 0), 0) / px.length);
    }
    return fractions;
  };

  test('the recorded threshold is the default; --threshold wins', async () => {
    const exported = join(dir, 'exported-07');
    let r = runCli(['export', '--model', constant, '--out', exported, '--threshold', '0.7']);
    assert.equal(r.code, 0, r.stderr);
    // p = 0.6 everywhere: empty at the recorded 0.7, full at 0.5.
    for (const [flags, expected] of [
      [[], 0],
      [['--threshold', '0.5'], 1],
    ] as const) {
      const out = join(dir, `p-${expected}`);
      r = runCli(['predict', '--model', exported, images, '--out', out, '--quiet', ...flags]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await lesion(out), [expected]);
    }
    const out = join(dir, 'eval');
    r = runCli([
      'evaluate',
      '--model',
      exported,
      '--dataset',
      'bus',
      '--data',
      data,
      '--out',
      out,
      '--no-cache',
      '--quiet',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')) as {
      threshold: number;
      emptyPredictions: { count: number };
    };
    assert.equal(summary.threshold, 0.7);
    assert.equal(summary.emptyPredictions.count, 4);
  });

  test('the recorded interpolation is the default', async () => {
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 4 });
    const final = m.getLayer('final');
    const [kernel, bias] = final.getWeights();
    final.setWeights([tf.mul(kernel, 30), tf.fill(bias.shape, 0.05)]);
    const src = join(dir, 'spread');
    await saveModel(m, src);
    const image = await decodeImage(join(images, 'g.png'), 1);
    // The threshold: between the two middle probabilities of the bilinear input, so that the
    // mask has lesion and background.
    const sorted = [
      ...(await new Predictor(m, { interpolation: 'bilinear' }).predict(image)).probabilities,
    ].sort((a, b) => a - b);
    const mid = sorted.length / 2;
    const threshold = (sorted[mid - 1] + sorted[mid]) / 2;
    const expected: Record<string, Uint8Array> = {};
    for (const interpolation of ['nearest', 'bilinear'] as const) {
      const p = new Predictor(m, { interpolation, threshold });
      expected[interpolation] = (await p.predict(image)).mask.data;
    }
    m.dispose();
    assert.notDeepEqual(expected.bilinear, expected.nearest, 'the two resizings differ here');
    const exported = join(dir, 'exported-bilinear');
    let r = runCli([
      'export',
      '--model',
      src,
      '--out',
      exported,
      '--interpolation',
      'bilinear',
      '--threshold',
      String(threshold),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = join(dir, 'p-bilinear');
    r = runCli([
      'predict',
      '--model',
      exported,
      images,
      '--out',
      out,
      '--quiet',
      '--engine',
      'tfjs',
      '--backend',
      'cpu',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const { data: mask } = await decodeImage(join(out, 'g_mask.png'), 1);
    assert.deepEqual(
      mask.map((v) => (v > 0 ? 1 : 0)),
      expected.bilinear,
    );
  });
});

describe('ftunet export --out replaces its own earlier export and nothing else (issue 20)', () => {
  let dir: string;
  let modelDir: string;
  let otherRun: string;
  before(async () => {
    await useBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'ftunet-export-out-'));
    modelDir = join(dir, 'model');
    // Another run: its best model and a checkpoint, neither of which an export may replace.
    otherRun = join(dir, 'other-run');
    const m = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 5 });
    await saveModel(m, modelDir);
    await saveModel(m, join(otherRun, 'best'));
    await saveModel(m, join(otherRun, 'checkpoint', 'epoch-0001'));
    m.dispose();
    await writeFile(join(otherRun, 'checkpoint', 'epoch-0001', 'state.json'), '{"epoch":1}');
    await writeFile(join(otherRun, 'config.json'), '{"format":"ftunet-run"}');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test("another run's best/, a checkpoint, a link into a run, the user's files: exit 2, untouched", async () => {
    // Item 1.
    const best = join(otherRun, 'best');
    const epoch = join(otherRun, 'checkpoint', 'epoch-0001');
    const link = join(dir, 'link-to-best');
    await symlink(best, link);
    const mine = join(dir, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'notes.txt'), 'keep me');
    const weights = (await readdir(best)).find((n) => n.startsWith('weights-'))!;
    const notOurs = (out: string, holds: string) =>
      `ftunet: --out ${out} is not an export written by ftunet export (no ftunet-export.json; ` +
      `it holds ${holds}): choose another --out\n`;
    const cases: Array<[string, string]> = [
      [best, notOurs(best, `model.json, ${weights}`)],
      [epoch, notOurs(epoch, `model.json, state.json, ${weights}`)],
      [link, notOurs(`${link} (${best})`, `model.json, ${weights}`)],
      [mine, notOurs(mine, 'notes.txt')],
    ];
    const before = [await hashTree(otherRun), await hashTree(mine)];
    for (const [out, message] of cases) {
      for (const format of ['tfjs', 'onnx']) {
        const r = runCli(['export', '--model', modelDir, '--out', out, '--format', format]);
        assert.deepEqual([r.code, r.stderr], [2, message], `${out} ${format}`);
      }
    }
    assert.deepEqual([await hashTree(otherRun), await hashTree(mine)], before);
    assert.ok((await lstat(link)).isSymbolicLink());
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  test("its own earlier export is replaced whole, the user's files kept; an empty folder taken", async () => {
    // Item 1.
    const out = join(dir, 'web');
    let r = runCli(['export', '--model', modelDir, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const written = (await readdir(out)).sort();
    assert.deepEqual(written.length, 3);
    assert.deepEqual(written.slice(0, 2), ['ftunet-export.json', 'model.json']);
    assert.match(written[2], /^weights-[0-9a-f]{16}\.bin$/);
    await writeFile(join(out, 'README.txt'), 'my notes');
    r = runCli(['export', '--model', modelDir, '--out', out, '--format', 'onnx']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), [
      'README.txt',
      'ftunet-export.json',
      'model.onnx',
    ]);
    assert.equal(await readFile(join(out, 'README.txt'), 'utf8'), 'my notes');
    const marker = JSON.parse(await readFile(join(out, 'ftunet-export.json'), 'utf8')) as unknown;
    assert.deepEqual(marker, { format: 'ftunet-export', version: 1, files: ['model.onnx'] });

    const empty = join(dir, 'empty');
    await mkdir(empty);
    r = runCli(['export', '--model', modelDir, '--out', empty]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(empty, 'model.json')));
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  test('--format onnx sweeps the temporaries that killed exports left, and no others', async () => {
    // Item 4.
    const out = join(dir, 'onnx');
    const dead = await deadPid();
    const stale = join(dir, `.onnx.tmp-${dead}`);
    await mkdir(stale);
    await writeFile(join(stale, 'model.onnx'), 'partial');
    const others = [`.other.tmp-${dead}`, `.notes.txt.tmp-${dead}-0a1b2c3d`];
    for (const name of others) await writeFile(join(dir, name), 'not ours');
    let r = runCli(['export', '--model', modelDir, '--out', out, '--format', 'onnx']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!existsSync(stale));
    // What a kill in the middle of writing model.onnx in place left (before this issue).
    const inside = join(out, `.model.onnx.tmp-${dead}-0a1b2c3d`);
    await writeFile(inside, 'partial');
    r = runCli(['export', '--model', modelDir, '--out', out, '--format', 'onnx']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(out)).sort(), ['ftunet-export.json', 'model.onnx']);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith('.')).sort(), others.sort());
    for (const name of others) await rm(join(dir, name));
  });
});
