import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { saveModel } from '../../src/io/model_files.js';
import { makeIsic, makeTemp, removeTemp } from '../data/fixtures.js';
import {
  EVAL_SPLIT,
  runConfig,
  thresholdModel,
  writeBusItems,
  writeRunFolder,
} from '../eval/fixtures.js';
import { expectClose, useBackend } from '../helpers.js';
import { runCli, runMain } from './run.js';

let root: string;
let data: string;
let run: string;
let model: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-eval-');
  data = path.join(root, 'bus');
  run = path.join(root, 'run');
  model = path.join(root, 'model');
  // The default cache goes under XDG_CACHE_HOME: a temporary folder, never the user's.
  env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
  await writeBusItems(data);
  const net = thresholdModel();
  await writeRunFolder(run, data, net);
  await saveModel(net, model);
  net.dispose();
});
after(() => removeTemp(root));

const cli = (...args: string[]) => runCli(['evaluate', ...args], env);

describe('ftunet evaluate --run', () => {
  test('prints the summary table, writes RUN/eval/metrics.csv and summary.json', async () => {
    // Two tfjs workers share the three images (one per core is the default; this machine may
    // have one).
    const r = cli('--run', run, '--backend', 'cpu', '--engine', 'tfjs', '--workers', '2');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      'ftunet evaluate: backend: cpu (plain JavaScript, slow)\n' +
        'ftunet evaluate: engine: tfjs-cpu (2 workers)\n',
    );
    // Items 1-3 of the fixture (worked by hand in test/eval/evaluate.test.ts):
    // DSC 321/359, 1/51, 1 -> mean 0.6379, population std 0.4393.
    assert.deepEqual(r.stdout.split('\n'), [
      'threshold_net: 3 test images of fold 0, threshold 0.5, scored at the original size',
      'metric                mean     std',
      'DSC                 0.6379  0.4393',
      'precision           0.9363  0.0900',
      'recall              0.6732  0.4622',
      'TNR                 0.9894  0.0150',
      'IoU                 0.6096  0.4244',
      // IoU of item 2 (1/51) counts 0: (IoU_1 + 0 + 1) / 3, IoU_1 = 161/199 (smooth 1).
      'ISIC score          0.6030',
      // Plain: item 1's DSC (2 TP + 1) / (2 TP + FP + FN + 1) = 321/359 gives TP 160 and
      // FP + FN 38, IoU 160/198; item 2 0, item 3 (empty union) 1: (160/198 + 0 + 1) / 3.
      'ISIC score (plain)  0.6027',
      // Only item 1 has both a lesion and a prediction (the CLI scoring test checks its values
      // against the brute-force reference).
      'HD95 px               2.00    0.00',
      'ASSD px               0.64    0.00',
      // 109 of the 110 edge distances (67 ones, √2, √5, the rest 0) are within 2 px.
      'NSD                 0.9909  0.0000',
      'ISIC score: thresholded Jaccard (IoU < 0.65 counts 0); ISIC score (plain): the same with the plain Jaccard TP / (TP + FP + FN), no smoothing term (1 where both masks are empty); HD95, ASSD in pixels and NSD over the 1 of 3 images where both masks have a lesion',
      'lesion area: ground truth 5.19% ± 4.95%, prediction 4.89% ± 6.91%',
      // Items 2 and 3 (black images) predict nothing; item 2 has a lesion, item 3 none.
      'empty predictions: 2 of 3 images (1 with a lesion in the ground truth, scored precision 1); empty ground truths: 1 of 3',
      // The model records no training statistics: confidence and flip only, both fine
      // (test/cli/quality.test.ts flags images).
      'qc: none of 3 images flagged',
      // --run refreshes the run's report (--no-report leaves it).
      `wrote ${path.join(run, 'eval', 'metrics.csv')}, ${path.join(run, 'eval', 'summary.json')} ` +
        `and ${path.join(run, 'report.html')}`,
      '',
    ]);
    const csv = await readFile(path.join(run, 'eval', 'metrics.csv'), 'utf8');
    const rows = csv
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    assert.deepEqual(rows[0], [
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
      ...['qc', 'qc_score', 'qc_reasons', 'qc_input_distance', 'qc_area_excess', 'qc_entropy'],
      'qc_flip_dsc',
    ]);
    assert.deepEqual(
      rows.slice(1).map((r) => r[0]),
      ['000001.png', '000002.png', '000003.png'],
    );
    // HD95, ASSD and NSD: defined for item 1 alone (test/cli/scoring.test.ts checks the values).
    assert.deepEqual(
      rows.slice(1).map((r) => r.slice(6, 9).map((v) => v !== '')),
      [
        [true, true, true],
        [false, false, false],
        [false, false, false],
      ],
    );
    assert.equal(Number(rows[1][8]), 109 / 110);
    expectClose(
      rows.slice(1).flatMap((r) => [...r.slice(1, 6), ...r.slice(9, 11)].map(Number)),
      [
        ...[321 / 359, 161 / 199, 1, 1153 / 1191, 161 / 199, 160 / 1350, 198 / 1350],
        ...[1 / 51, 1, 1 / 51, 1, 1 / 51, 50 / 1350, 0],
        ...[1, 1, 1, 1, 1, 0, 0],
      ],
      { rtol: 1e-12, atol: 0 },
    );
    const summary = JSON.parse(await readFile(path.join(run, 'eval', 'summary.json'), 'utf8'));
    for (const key of ['dsc', 'precision', 'recall', 'tnr', 'iou']) {
      assert.deepEqual(Object.keys(summary[key]), ['mean', 'std'], key);
    }
    assert.deepEqual(
      [summary.count, summary.threshold, summary.fold, summary.model],
      [3, 0.5, 0, 'threshold_net'],
    );
    assert.deepEqual(
      [summary.emptyPredictions, summary.emptyTruths],
      [{ count: 2, ofLesionImages: 1 }, { count: 1 }],
    );
    expectClose(summary.dsc.mean, (321 / 359 + 1 / 51 + 1) / 3, { rtol: 1e-12, atol: 0 });
  });

  test('--json prints summary.json; --threshold and --input-size-metrics; --quiet', async () => {
    const out = path.join(root, 'thr');
    const r = cli(
      '--run',
      run,
      '--backend',
      'cpu',
      '--threshold',
      '0.9',
      '--input-size-metrics',
      '--out',
      out,
      '--json',
      '--quiet',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const printed = JSON.parse(r.stdout);
    assert.deepEqual(printed, JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8')));
    // At 0.9 nothing is predicted: DSC 1/161, 1/51 and 1.
    expectClose(printed.dsc.mean, (1 / 161 + 1 / 51 + 1) / 3);
    assert.equal(printed.threshold, 0.9);
    assert.deepEqual(printed.atInputSize.size, [32, 32]);
    const header = (await readFile(path.join(out, 'metrics.csv'), 'utf8')).split('\n')[0];
    assert.ok(
      header.endsWith(
        ',dsc_input_size,precision_input_size,recall_input_size,tnr_input_size,iou_input_size',
      ),
    );
  });
});

describe('ftunet evaluate --model', () => {
  test('every item of a data set when no split is given', async () => {
    const out = path.join(root, 'all');
    const r = cli(
      '--model',
      model,
      '--dataset',
      'bus',
      '--data',
      data,
      '--out',
      out,
      '--backend',
      'cpu',
      '--quiet',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout);
    assert.deepEqual([s.count, s.fold, s.split], [4, null, null]);
    // The fourth item comes back shifted by a row and a column: DSC 1293/1401.
    expectClose(s.dsc.mean, (321 / 359 + 1 / 51 + 1 + 1293 / 1401) / 4);
  });

  test('--split and --fold; a run folder as --model', () => {
    const r = cli(
      '--model',
      run,
      '--dataset',
      'synthetic-bus',
      '--data',
      data,
      '--split',
      path.join(run, 'split.json'),
      '--fold',
      '0',
      '--out',
      path.join(root, 'fold'),
      '--backend',
      'cpu',
      '--quiet',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).count, 3);
  });
});

describe('ftunet evaluate errors: one line on stderr, exit code 2', () => {
  test('usage errors (in process: no backend starts before these checks)', async () => {
    const cases: Array<[string[], string]> = [
      [
        [],
        'ftunet: evaluate: give one of --run RUN_DIR, --model DIR or --pred DIR (with --dataset, --data ' +
          'and --out)\n',
      ],
      [
        ['--run', 'r', '--model', 'm'],
        'ftunet: evaluate: give one of --run RUN_DIR, --model DIR or --pred DIR (with --dataset, --data ' +
          'and --out)\n',
      ],
      [
        ['--run', 'r', '--dataset', 'bus'],
        "ftunet: --dataset: not used with --run (the run's config.json records it)\n",
      ],
      [
        ['--run', 'r', '--fold', '1'],
        "ftunet: --fold: not used with --run (the run's config.json records it)\n",
      ],
      [
        ['--run', 'r', '--threshold', '2'],
        "ftunet evaluate: option '--threshold <t>' argument '2' is invalid. Expected a number from 0 to 1. (see --help)\n",
      ],
      [
        ['--run', 'r', '--workers', '0'],
        "ftunet evaluate: option '--workers <n>' argument '0' is invalid. Expected an integer from 1 to 256. (see --help)\n",
      ],
      [
        ['--run', 'r', '--batch-size', '0'],
        "ftunet evaluate: option '--batch-size <n>' argument '0' is invalid. Expected an integer from 1 to 4096. (see --help)\n",
      ],
      [
        ['--model', 'm', '--dataset', 'bus', '--data', 'd'],
        'ftunet: --out: required with --model\n',
      ],
      [
        ['--model', 'm', '--dataset', 'busi', '--data', 'd', '--out', 'o'],
        "ftunet evaluate: option '--dataset <name>' argument 'busi' is invalid. Allowed choices are bus, isic2018, folder, synthetic-bus, synthetic-isic. (Did you mean bus?) (see --help)\n",
      ],
      [
        ['--model', 'm', '--dataset', 'bus', '--data', 'd', '--out', 'o', '--fold', '1'],
        'ftunet: --fold: applies to a split file; give --split FILE too\n',
      ],
      [
        ['--model', 'm', '--dataset', 'bus', '--data', 'd', '--out', 'o', '--mask-suffix', '_s'],
        'ftunet: --mask-suffix: applies to --dataset folder only, not bus\n',
      ],
      [
        ['--run', 'r', '--backend', 'gpu'],
        "ftunet evaluate: option '--backend <name>' argument 'gpu' is invalid. Allowed choices are auto, wasm, cpu, tensorflow. (Did you mean cpu?) (see --help)\n",
      ],
    ];
    for (const [args, message] of cases) {
      const r = await runMain(['evaluate', ...args]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [2, '', message], args.join(' '));
    }
  });

  test('a missing run folder, a damaged config.json, a fold outside the split', async () => {
    const missing = path.join(root, 'nope');
    let r = cli('--run', missing, '--backend', 'cpu', '--quiet');
    assert.deepEqual([r.code, r.stderr], [2, `ftunet: run folder '${missing}' does not exist\n`]);

    const damaged = path.join(root, 'damaged');
    await writeRunFolder(damaged, data);
    await writeFile(path.join(damaged, 'config.json'), '{"format": "ftunet-run"');
    r = cli('--run', damaged, '--backend', 'cpu', '--quiet');
    assert.deepEqual(
      [r.code, r.stderr],
      [
        2,
        `ftunet: '${path.join(damaged, 'config.json')}' is not valid JSON: the run's config is damaged\n`,
      ],
    );

    const split = path.join(run, 'split.json');
    r = cli(
      '--model',
      model,
      '--dataset',
      'bus',
      '--data',
      data,
      '--out',
      path.join(root, 'x'),
      '--split',
      split,
      '--fold',
      '3',
      '--backend',
      'cpu',
      '--quiet',
    );
    assert.deepEqual(
      [r.code, r.stderr],
      [2, `ftunet: split file ${split} has 1 fold (0), got fold 3\n`],
    );
  });
});

describe('ftunet evaluate on ISIC 2018', () => {
  test('a file that is not an image is named in one warning, not one per data set load', async () => {
    // The ISIC 2018 layout with LICENSE.txt beside the images, as in the official download.
    const isic = path.join(root, 'isic');
    const items = await makeIsic(isic, { count: 4 });
    const names = items.map((it) => `${it.stem}.jpg`);
    const isicRun = path.join(root, 'isic-run');
    await writeRunFolder(isicRun, isic, thresholdModel([32, 32, 3]));
    const config = runConfig(isic);
    await writeFile(
      path.join(isicRun, 'config.json'),
      JSON.stringify({
        ...config,
        model: { name: 'attn_reg', inputShape: [32, 32, 3], width: 0.125 },
        dataset: { ...(config.dataset as object), kind: 'isic2018', channels: 3 },
      }),
    );
    await writeFile(
      path.join(isicRun, 'split.json'),
      JSON.stringify({
        ...EVAL_SPLIT,
        folds: [{ train: [names[3]], val: [], test: names.slice(0, 3) }],
      }),
    );
    // The evaluation and then the report (written by default) each load the data set.
    const r = cli('--run', isicRun, '--backend', 'cpu', '--threads', '1');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stderr,
      'ftunet evaluate: backend: cpu (plain JavaScript, slow)\n' +
        'ftunet evaluate: warning: isic2018: skipped 1 entry that is not an image: ' +
        'ISIC2018_Task1-2_Training_Input/LICENSE.txt\n' +
        'ftunet evaluate: engine: onnxruntime (1 thread)\n',
    );
    assert.match(r.stdout, /^threshold_net: 3 test images of fold 0/);
  });
});
