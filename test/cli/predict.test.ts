import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../src/io/image.js';
import { saveModel } from '../../src/io/model_files.js';
import { buildModel } from '../../src/models/build.js';
import { makeTemp, rectMask, removeTemp, rgbPattern, scale, writeRaw } from '../data/fixtures.js';
import { writeBusItems, writeRunFolder } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';
import { runCli } from './run.js';

let root: string;
let images: string;
let run: string;
let attn: string;
let unet: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-predict-');
  images = path.join(root, 'images');
  run = path.join(root, 'run');
  attn = path.join(root, 'attn');
  unet = path.join(root, 'unet');
  await writeRaw(
    path.join(images, 'a.png'),
    scale(rectMask(30, 45, [0, 8, 0, 20]), 255),
    30,
    45,
    1,
  );
  await writeRaw(path.join(images, 'more', 'b.jpg'), rgbPattern(37, 23), 37, 23, 3, 'jpeg');
  await writeFile(path.join(images, 'more', 'c.png'), 'this is not a PNG');
  await writeBusItems(path.join(root, 'bus'));
  await writeRunFolder(run, path.join(root, 'bus'));
  const a = buildModel('attn_reg', { inputShape: [32, 32, 3], width: 0.125, seed: 2 });
  await saveModel(a, attn);
  a.dispose();
  const u = buildModel('unet', { inputShape: [32, 32, 1], width: 0.125, seed: 2 });
  await saveModel(u, unet);
  u.dispose();
});
after(() => removeTemp(root));

const cli = (...args: string[]) => runCli(['predict', ...args, '--backend', 'cpu']);

/** [rows, cols, channels] of a PNG. */
async function shape(file: string): Promise<[number, number, number]> {
  const m = await sharp(file).metadata();
  return [m.height!, m.width!, m.channels!];
}

describe('ftunet predict', () => {
  test('files and folders in; masks (0/255) and overlays at the original size; bad inputs exit 2', async () => {
    const out = path.join(root, 'out');
    const missing = path.join(images, 'missing.png');
    const bad = path.join(images, 'more', 'c.png');
    const r = cli(
      '--model',
      run,
      path.join(images, 'a.png'),
      path.join(images, 'more'),
      missing,
      '--out',
      out,
      '--threads',
      '1',
    );
    assert.equal(r.code, 2);
    assert.equal(
      r.stdout,
      `predicted 2 images into ${out}: <stem>_mask.png and <stem>_overlay.png each\n`,
    );
    const lines = r.stderr.trim().split('\n');
    assert.deepEqual(lines, [
      'ftunet predict: backend: cpu (plain JavaScript, slow)',
      'ftunet predict: engine: onnxruntime (1 thread)',
      `ftunet predict: cannot read ${missing}: no such file or folder`,
      lines[3],
      // b.jpg, a colour pattern made grey, has mid-grey pixels to which the threshold model
      // gives p between 0.5 and 0.88: its lesion is unsure (eval/quality.ts).
      'ftunet predict: warning: qc: 1 of 2 images flagged (1 low confidence): check their ' +
        'masks (run with --json for each verdict)',
      'ftunet: predict: 2 of 4 inputs failed (see above)',
    ]);
    assert.match(lines[3], new RegExp(`^ftunet predict: cannot read ${bad}: .+`));
    assert.deepEqual((await readdir(out)).sort(), [
      'a_mask.png',
      'a_overlay.png',
      'b_mask.png',
      'b_overlay.png',
    ]);
    assert.deepEqual(await shape(path.join(out, 'a_mask.png')), [30, 45, 1]);
    assert.deepEqual(await shape(path.join(out, 'a_overlay.png')), [30, 45, 3]);
    assert.deepEqual(await shape(path.join(out, 'b_mask.png')), [37, 23, 1]);
    assert.deepEqual(await shape(path.join(out, 'b_overlay.png')), [37, 23, 3]);
    // The run's best model is the threshold model: a.png's white rectangle, rows 0-7 and
    // cols 0-19, comes back as rows 0-8, cols 0-21 (see test/eval/score.test.ts).
    const mask = await decodeImage(path.join(out, 'a_mask.png'), 1);
    assert.deepEqual([...mask.data], [...scale(rectMask(30, 45, [0, 9, 0, 22]), 255)]);
    const b = await decodeImage(path.join(out, 'b_mask.png'), 1);
    assert.ok(b.data.every((v) => v === 0 || v === 255));
  });

  test('--attention writes one heat map per gate at the image size; --json lists the files', async () => {
    const out = path.join(root, 'attn-out');
    const r = cli(
      '--model',
      attn,
      path.join(images, 'more', 'b.jpg'),
      '--out',
      out,
      '--attention',
      '--overlay',
      'tint',
      '--json',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    // An untrained network: quality control flags its mask, even with --quiet.
    assert.match(
      r.stderr,
      /^ftunet predict: warning: qc: 1 of 1 image flagged \(.+\): check their masks \(qc in the JSON\)\n$/,
    );
    const j = JSON.parse(r.stdout);
    assert.deepEqual(j.failed, []);
    assert.deepEqual(j.predicted[0].size, [37, 23]);
    assert.equal(j.predicted[0].qc.verdict, 'check');
    const names = (await readdir(out)).sort();
    assert.deepEqual(names, [
      'b_attention_1.png',
      'b_attention_2.png',
      'b_attention_3.png',
      'b_mask.png',
      'b_overlay.png',
    ]);
    for (const n of names.filter((n) => n.includes('attention'))) {
      assert.deepEqual(await shape(path.join(out, n)), [37, 23, 3], n);
    }
  });

  test('--attention on a model without gates: a clear error, nothing written', async () => {
    const out = path.join(root, 'never');
    const r = cli(
      '--model',
      unet,
      path.join(images, 'a.png'),
      '--out',
      out,
      '--attention',
      '--quiet',
    );
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `ftunet: --attention: model 'unet' in ${unet} has no attention gates ` +
        '(attn_unet, attn_reg_ds and attn_reg have them; unet does not)\n',
    );
    await assert.rejects(readdir(out), { code: 'ENOENT' });
  });

  test('usage errors: no input, a mistyped flag, no model, a bad flag value, a folder that is not a model', () => {
    const out = path.join(root, 'x');
    const cases: Array<[string[], string]> = [
      [
        ['--model', unet, '--out', out],
        "ftunet predict: missing required argument 'input' (see --help)\n",
      ],
      // A mistyped flag is named before the required option it leaves out.
      [
        ['--modle', unet, 'a.png', '--out', out],
        "ftunet predict: unknown option '--modle' (Did you mean --model?) (see --help)\n",
      ],
      [
        ['a.png', '--out', out],
        "ftunet predict: required option '--model <dir>' not specified (see --help)\n",
      ],
      [
        ['--model', unet, 'a.png', '--out', out, '--threshold', 'high'],
        "ftunet predict: option '--threshold <t>' argument 'high' is invalid. Expected a number from 0 to 1. (see --help)\n",
      ],
      [
        ['--model', unet, 'a.png', '--out', out, '--overlay', 'fill'],
        "ftunet predict: option '--overlay <style>' argument 'fill' is invalid. Allowed choices are contour, tint. (see --help)\n",
      ],
      [
        ['--model', images, 'a.png', '--out', out, '--quiet'],
        `ftunet: no saved model in '${images}': expected model.json (a model folder) or config.json (a run folder)\n`,
      ],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', message], args.join(' '));
    }
  });
});
