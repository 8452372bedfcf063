/**
 * `--tta` follows what the model was trained to be invariant to (its flip augmentation, from
 * the run's config.json or an export's metadata): `auto` uses those mirrors, and a mirror
 * outside them warns (the BUS presets never flip vertically). Also `predict`'s summary and
 * `--json`, and `predict --model` on an ONNX export's folder.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { resolveAugmentConfig } from '../../src/data/augment.js';
import { DATASET_PRESETS } from '../../src/data/presets.js';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, rectMask, removeTemp, scale, writeRaw } from '../data/fixtures.js';
import { runConfig, writeBusItems, writeRunFolder } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';
import { runCli } from './run.js';

let root: string;
let data: string;
let images: string;
/** A BUS-like run trained with the 'default' augmentation: horizontal flips only. */
let bus: string;
/** The same model in a folder outside any run: nothing says how it was trained. */
let bare: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-tta-');
  data = path.join(root, 'bus');
  images = path.join(root, 'images');
  bus = path.join(root, 'bus-run');
  bare = path.join(root, 'bare');
  env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
  await writeBusItems(data);
  await writeRaw(
    path.join(images, 'a.png'),
    scale(rectMask(30, 45, [0, 8, 0, 20]), 255),
    30,
    45,
    1,
  );
  const net = buildModel('attn_reg', { inputShape: [32, 32, 1], width: 0.125, seed: 2 });
  await writeRunFolder(bus, data, net);
  await saveModel(net, bare);
  net.dispose();
  const config = {
    ...runConfig(data),
    augment: {
      level: 'default',
      transforms: resolveAugmentConfig('default', DATASET_PRESETS['synthetic-bus'].augmentExclude),
    },
  };
  await writeFile(path.join(bus, 'config.json'), JSON.stringify(config, null, 2));
});
after(() => removeTemp(root));

const predict = (...args: string[]) =>
  runCli(['predict', ...args, '--backend', 'cpu', '--threads', '1'], env);

/** The warning of `--tta flips` on a model trained with horizontal flips only. */
const FLIPS_WARNING =
  'warning: --tta flips: the model was not trained with vertical flips, nor does its data set ' +
  'show such mirrors, so its masks of mirrored images can be much worse; --tta auto uses the ' +
  'mirrors that suit it (hflip)';

/**
 * `stderr` without its qc warning, which it must hold: the network here is untrained, so quality
 * control (eval/quality.ts) flags its mask; these tests are about the mirrors.
 */
function withoutQc(stderr: string): string {
  const line =
    /^ftunet predict: warning: qc: 1 of 1 image flagged \(.+\): check their masks \(.+\)\n/m;
  assert.match(stderr, line);
  return stderr.replace(line, '');
}

describe('--tta and the mirrors a model was trained with', () => {
  test('predict: flips on a BUS run warns in one line; auto uses its horizontal flips', async () => {
    const flips = predict(
      '--model',
      bus,
      images,
      '--out',
      path.join(root, 'p1'),
      '--tta',
      'flips',
      '--json',
      '--quiet',
    );
    assert.equal(flips.code, 0, flips.stderr);
    assert.equal(withoutQc(flips.stderr), `ftunet predict: ${FLIPS_WARNING}\n`);
    assert.equal(JSON.parse(flips.stdout).tta, 'flips');
    for (const model of [bus, path.join(bus, 'best')]) {
      const auto = predict(
        '--model',
        model,
        images,
        '--out',
        path.join(root, 'p2'),
        '--tta',
        'auto',
        '--json',
        '--quiet',
      );
      assert.equal(auto.code, 0, auto.stderr);
      assert.equal(withoutQc(auto.stderr), '', model);
      assert.equal(JSON.parse(auto.stdout).tta, 'hflip', model);
    }
    // hflip is what it was trained with: no warning.
    const hflip = predict(
      '--model',
      bus,
      images,
      '--out',
      path.join(root, 'p3'),
      '--tta',
      'hflip',
      '--quiet',
    );
    assert.deepEqual([hflip.code, withoutQc(hflip.stderr)], [0, '']);
  });

  test('predict: auto on a model that records nothing uses no mirror and says why', () => {
    const r = predict(
      '--model',
      bare,
      images,
      '--out',
      path.join(root, 'p4'),
      '--tta',
      'auto',
      '--json',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      withoutQc(r.stderr),
      'ftunet predict: warning: --tta auto: the model does not record its training augmentation ' +
        '(a model folder outside its run, or an export of one), so no mirror is used; give the ' +
        'run folder, or --tta hflip or flips\n',
    );
    assert.equal(JSON.parse(r.stdout).tta, 'none');
  });

  test('evaluate --run: the warning, and summary.json records the mirrors used', async () => {
    const out = path.join(root, 'e1');
    const flips = runCli(
      [
        'evaluate',
        '--run',
        bus,
        '--out',
        out,
        '--tta',
        'flips',
        '--backend',
        'cpu',
        '--quiet',
        '--no-report',
      ],
      env,
    );
    assert.equal(flips.code, 0, flips.stderr);
    assert.equal(flips.stderr, `ftunet evaluate: ${FLIPS_WARNING}\n`);
    assert.equal(JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')).tta, 'flips');
    const auto = runCli(
      [
        'evaluate',
        '--run',
        bus,
        '--out',
        out,
        '--tta',
        'auto',
        '--backend',
        'cpu',
        '--quiet',
        '--no-report',
      ],
      env,
    );
    assert.deepEqual([auto.code, auto.stderr], [0, '']);
    assert.equal(JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')).tta, 'hflip');
  });

  test('exports record the mirrors: tfjs in model.json, ONNX in its metadata; auto reads both', async () => {
    const tfjs = path.join(root, 'export-tfjs');
    const onnx = path.join(root, 'export-onnx');
    for (const [format, out] of [
      ['tfjs', tfjs],
      ['onnx', onnx],
    ]) {
      const r = runCli(['export', '--model', bus, '--format', format, '--out', out], env);
      assert.equal(r.code, 0, r.stderr);
    }
    const json = JSON.parse(await readFile(path.join(tfjs, 'model.json'), 'utf8'));
    assert.deepEqual(json.userDefinedMetadata.ftunetExport.training.mirrors, {
      horizontal: true,
      vertical: false,
    });
    for (const model of [tfjs, onnx]) {
      const auto = predict(
        '--model',
        model,
        images,
        '--out',
        path.join(root, 'p5'),
        '--tta',
        'auto',
        '--json',
        '--quiet',
      );
      assert.equal(auto.code, 0, auto.stderr);
      assert.equal(JSON.parse(auto.stdout).tta, 'hflip', model);
      const flips = predict(
        '--model',
        model,
        images,
        '--out',
        path.join(root, 'p6'),
        '--tta',
        'flips',
        '--quiet',
      );
      assert.equal(withoutQc(flips.stderr), `ftunet predict: ${FLIPS_WARNING}\n`, model);
    }
  });
});

describe('ftunet predict: what it wrote, an ONNX export folder', () => {
  test('the summary names the files written for each image, probabilities too', async () => {
    const out = path.join(root, 'p7');
    const r = predict('--model', bus, images, '--out', out, '--save-probabilities', '--quiet');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `predicted 1 image into ${out}: <stem>_mask.png, <stem>_overlay.png and <stem>_prob.png each\n`,
    );
    assert.deepEqual((await readdir(out)).sort(), ['a_mask.png', 'a_overlay.png', 'a_prob.png']);
    const attention = predict(
      '--model',
      bus,
      images,
      '--out',
      path.join(root, 'p8'),
      '--attention',
      '--quiet',
    );
    assert.equal(attention.code, 0, attention.stderr);
    assert.equal(
      attention.stdout,
      `predicted 1 image into ${path.join(root, 'p8')}: <stem>_mask.png, <stem>_overlay.png and ` +
        '<stem>_attention_1.png to <stem>_attention_3.png each\n',
    );
  });

  test('--json lists every ensemble member, the test-time augmentation and the post-processing', () => {
    const r = predict(
      '--model',
      bus,
      '--model',
      bare,
      images,
      '--out',
      path.join(root, 'p9'),
      '--tta',
      'hflip',
      '--keep-largest',
      '--min-size',
      '4',
      '--json',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.models, [path.join(bus, 'best'), bare]);
    assert.equal(j.model, path.join(bus, 'best'));
    assert.deepEqual(
      [j.tta, j.postprocess, j.threshold, j.interpolation, j.engine],
      ['hflip', { keepLargest: true, minSize: 4 }, 0.5, 'nearest', 'onnxruntime'],
    );
    assert.equal(j.predicted.length, 1);
  });

  test('--model takes the folder of an ONNX export: the masks of the run it was exported from', async () => {
    const onnx = path.join(root, 'export-onnx-2');
    const exported = runCli(['export', '--model', bus, '--format', 'onnx', '--out', onnx], env);
    assert.equal(exported.code, 0, exported.stderr);
    const fromRun = path.join(root, 'p10');
    const fromOnnx = path.join(root, 'p11');
    const a = predict(
      '--model',
      bus,
      images,
      '--out',
      fromRun,
      '--engine',
      'onnx',
      '--save-probabilities',
      '--quiet',
    );
    const b = predict('--model', onnx, images, '--out', fromOnnx, '--save-probabilities', '--json');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.match(
      withoutQc(b.stderr),
      /^ftunet predict: backend: cpu .*\nftunet predict: engine: onnxruntime \(1 thread\)\n$/,
    );
    assert.deepEqual(JSON.parse(b.stdout).models, [onnx]);
    for (const name of ['a_mask.png', 'a_prob.png', 'a_overlay.png']) {
      assert.deepEqual(
        await readFile(path.join(fromOnnx, name)),
        await readFile(path.join(fromRun, name)),
        name,
      );
    }
    const attention = predict(
      '--model',
      onnx,
      images,
      '--out',
      path.join(root, 'p12'),
      '--attention',
    );
    assert.deepEqual(
      [attention.code, attention.stderr],
      [
        2,
        `ftunet: --attention: ${onnx} is an ONNX export; the attention maps need a TensorFlow.js ` +
          'model folder (or its run folder)\n',
      ],
    );
  });
});
