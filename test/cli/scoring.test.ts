/**
 * The scoring and inference options of issue 15 through the command line: evaluate --pred on
 * masks that predict wrote, predict --save-probabilities, ensembles, post-processing, TTA,
 * the drift warning, and their user errors (one line, exit code 2).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { computeInputStatistics, INPUT_STATISTICS_KEY } from '../../src/data/input_statistics.js';
import { decodeMask } from '../../src/io/image.js';
import { saveModel } from '../../src/io/model_files.js';
import { makeTemp, removeTemp, writeRaw } from '../data/fixtures.js';
import { EVAL_SPLIT, thresholdModel, writeBusItems, writeRunFolder } from '../eval/fixtures.js';
import { expectClose, useBackend } from '../helpers.js';
import { referenceSurface } from '../metrics/surface_reference.js';
import { runCli } from './run.js';

let root: string;
let data: string;
let run: string;
let small: string;
let dark: string;
let split: string;
let env: NodeJS.ProcessEnv;

/** The flags that name the fixture data set and its split. */
const onTestData = (): string[] => ['--dataset', 'bus', '--data', data, '--split', split];
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-scoring-');
  data = path.join(root, 'bus');
  run = path.join(root, 'run');
  small = path.join(root, 'small');
  dark = path.join(root, 'dark');
  split = path.join(run, 'split.json');
  env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
  await writeBusItems(data);
  await writeRunFolder(run, data);
  const s = thresholdModel([16, 16, 1]);
  await saveModel(s, small);
  s.dispose();
  // A model that records dark, low-contrast training images (brightness about 20).
  const d = thresholdModel();
  d.setUserDefinedMetadata({
    [INPUT_STATISTICS_KEY]: computeInputStatistics(
      [10, 20, 30].map((v) => new Uint8Array(1024).fill(v)),
      1,
    ),
  });
  await saveModel(d, dark);
  d.dispose();
});
after(() => removeTemp(root));

const cli = (...args: string[]) => runCli([...args, '--backend', 'cpu'], env);

describe('evaluate --pred, predict --save-probabilities, ensembles', () => {
  test('masks written by predict score as the model does, HD95/ASSD empty where undefined', async () => {
    const model = cli(
      'evaluate',
      '--model',
      run,
      ...onTestData(),
      '--out',
      path.join(root, 'e-model'),
      '--json',
      '--quiet',
    );
    assert.equal(model.code, 0, model.stderr);
    const pred = path.join(root, 'pred');
    const p = cli(
      'predict',
      '--model',
      run,
      path.join(data, 'original'),
      '--out',
      pred,
      '--save-probabilities',
      '--quiet',
    );
    assert.equal(p.code, 0, p.stderr);
    const r = cli(
      'evaluate',
      '--pred',
      pred,
      ...onTestData(),
      '--out',
      path.join(root, 'e-pred'),
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^pred: 3 test images of fold 0, masks as given, scored at the original size\n/,
    );
    const a = JSON.parse(model.stdout);
    const b = JSON.parse(await readFile(path.join(root, 'e-pred', 'summary.json'), 'utf8'));
    for (const k of ['dsc', 'precision', 'recall', 'tnr', 'iou', 'hd95', 'assd', 'nsd'])
      assert.deepEqual(b[k], a[k], k);
    assert.equal(b.thresholdedJaccard, a.thresholdedJaccard);
    // Item 1 is found up to the 32x32 round trip; item 2's prediction and item 3's masks are
    // empty, so HD95 and ASSD are defined for item 1 alone: the brute-force reference's values.
    const gt1 = await decodeMask(path.join(data, 'gt', '000001.png'));
    const pred1 = await decodeMask(path.join(pred, '000001_mask.png'));
    const want = referenceSurface(gt1.data, pred1.data, 30, 45)!;
    assert.deepEqual(a.hd95, { mean: want.hd95, std: 0, count: 1 });
    expectClose(a.assd.mean, want.assd, { rtol: 1e-12, atol: 1e-12 });
    assert.equal(a.assd.count, 1);
    // IoU 1/51 of item 2 counts 0: (IoU_1 + 0 + 1) / 3.
    const csv = (await readFile(path.join(root, 'e-pred', 'metrics.csv'), 'utf8'))
      .trim()
      .split('\n');
    assert.deepEqual(csv[0].split(','), [
      'name',
      'dsc',
      'precision',
      'recall',
      'tnr',
      'iou',
      'hd95',
      'assd',
      'nsd',
      'truth_area',
      'predicted_area',
    ]);
    assert.deepEqual(csv[2].split(',').slice(6, 9), ['', '', '']);
    assert.equal(b.threshold, null);
    assert.equal(b.predictions, pred);

    // The probability map: 16-bit grey at the image's size; mask = value / 65535 > 0.5.
    const prob = path.join(pred, '000001_prob.png');
    const meta = await sharp(prob).metadata();
    assert.deepEqual([meta.height, meta.width, meta.channels, meta.depth], [30, 45, 1, 'ushort']);
    const values = new Uint16Array(
      (await sharp(prob).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer()).buffer.slice(
        0,
      ),
    );
    const mask = pred1.data;
    assert.equal(values.length, 30 * 45);
    assert.ok(values.every((v, i) => (v / 65535 > 0.5 ? 1 : 0) === mask[i]));
    // sigmoid(2) and sigmoid(-2) of the threshold model, rounded to 16 bits.
    assert.deepEqual(
      [...new Set(values)].sort(),
      [Math.round(65535 / (1 + Math.exp(2))), Math.round(65535 / (1 + Math.exp(-2)))].sort(),
    );
  });

  test('an ensemble of a model with itself, TTA and post-processing keep these exact masks', async () => {
    const r = cli(
      'evaluate',
      '--model',
      run,
      '--model',
      run,
      '--tta',
      'flips',
      '--keep-largest',
      '--min-size',
      '3',
      ...onTestData(),
      '--out',
      path.join(root, 'e-ens'),
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /engine: .*, ensemble of 2 models, tta flips\n/);
    const s = JSON.parse(r.stdout);
    // The threshold model is pointwise, so flips and a copy of itself change nothing; each mask
    // is one rectangle, so post-processing keeps it.
    const base = JSON.parse(await readFile(path.join(root, 'e-model', 'summary.json'), 'utf8'));
    assert.deepEqual(s.dsc, base.dsc);
    assert.equal(s.model, 'ensemble of 2 (threshold_net)');
    assert.equal(s.tta, 'flips');
    assert.deepEqual(s.postprocess, { keepLargest: true, minSize: 3 });
    assert.equal(s.modelDirs.length, 2);
  });

  test('the drift warning: one line, once, when the images are unlike the training ones', async () => {
    const r = cli(
      'predict',
      '--model',
      dark,
      path.join(data, 'original'),
      '--out',
      path.join(root, 'p-dark'),
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    // The fixture's images are black with white rectangles: items 1 and 4 are bright and
    // contrasted, items 2 and 3 black (brightness 0, within 4 spreads of 20). Quality control
    // flags the same two (eval/quality.ts; the model records no areas).
    assert.match(
      r.stderr,
      /^ftunet predict: warning: 2 of 4 images do not look like the model's 3 training images \(mean brightness \d+ there, 20 ± 8 in training; contrast \d+, 0 ± 0 in training\): its masks may be meaningless\nftunet predict: warning: qc: 2 of 4 images flagged \(2 unlike the training images\): check their masks \(run with --json for each verdict\)\n$/,
    );
    const ok = cli(
      'predict',
      '--model',
      run,
      path.join(data, 'original'),
      '--out',
      path.join(root, 'p-ok'),
      '--quiet',
    );
    assert.equal(ok.stderr, '');
  });
});

describe('scoring errors: one line on stderr, exit code 2', () => {
  test('models that disagree, bad flags, missing masks', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['predict', '--model', run, '--model', small, data, '--out', path.join(root, 'x')],
        new RegExp(
          `^ftunet: ${run} takes 32x32x1 inputs but ${small} takes 16x16x1: the models of an ensemble must agree on input size and channels\\n$`,
        ),
      ],
      [
        ['predict', '--model', run, data, '--out', path.join(root, 'x'), '--min-size', '-2'],
        /^ftunet predict: option '--min-size <n>' argument '-2' is invalid\. Expected a whole number of pixels >= 0\. \(see --help\)\n$/,
      ],
      [
        [
          'evaluate',
          '--model',
          run,
          '--tta',
          'rotate',
          '--dataset',
          'bus',
          '--data',
          data,
          '--out',
          'x',
        ],
        /^ftunet evaluate: option '--tta <mode>' argument 'rotate' is invalid\. .*\n$/,
      ],
      [
        ['evaluate', '--pred', path.join(root, 'pred'), '--model', run],
        /^ftunet: evaluate: give one of --run RUN_DIR, --model DIR or --pred DIR \(with --dataset, --data and --out\)\n$/,
      ],
      [
        [
          'evaluate',
          '--pred',
          path.join(root, 'pred'),
          '--dataset',
          'bus',
          '--data',
          data,
          '--out',
          'x',
          '--threshold',
          '0.4',
        ],
        /^ftunet: --threshold: not used with --pred \(the masks are scored as they are\)\n$/,
      ],
      [
        [
          'evaluate',
          '--pred',
          path.join(root, 'x-none'),
          '--dataset',
          'bus',
          '--data',
          data,
          '--out',
          'x',
        ],
        /^ftunet: --pred: data folder .* does not exist\n$/,
      ],
      [
        [
          'evaluate',
          '--pred',
          path.join(data, 'gt'),
          '--dataset',
          'bus',
          '--data',
          data,
          '--out',
          path.join(root, 'e-gt'),
        ],
        /^$/,
      ],
    ];
    await writeRaw(path.join(root, 'few', '000001.png'), new Uint8Array(30 * 45), 30, 45, 1);
    cases.push([
      [
        'evaluate',
        '--pred',
        path.join(root, 'few'),
        '--dataset',
        'bus',
        '--data',
        data,
        '--out',
        'x',
      ],
      /^ftunet: --pred .*few: no mask for 3 images of 4 \(expected <stem>.png, <stem>_mask.png or <stem>_segmentation.png\): 000002, 000003, 000004\n$/,
    ]);
    for (const [args, message] of cases) {
      const r = cli(...args);
      assert.match(
        r.stderr.replace(/^ftunet (predict|evaluate): (backend|engine): .*\n/gm, ''),
        message,
        args.join(' '),
      );
      // The ground truths scored against themselves: a perfect score, exit 0.
      assert.equal(r.code, message.source === '^$' ? 0 : 2, `${args.join(' ')}: ${r.stderr}`);
    }
    const self = JSON.parse(await readFile(path.join(root, 'e-gt', 'summary.json'), 'utf8'));
    assert.equal(self.dsc.mean, 1);
    assert.equal(self.thresholdedJaccard, 1);
    assert.deepEqual(self.hd95, { mean: 0, std: 0, count: 3 });
    assert.equal(EVAL_SPLIT.folds.length, 1);
  });
});
