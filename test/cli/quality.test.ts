import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { INPUT_STATISTICS_KEY, type InputStatistics } from '../../src/data/input_statistics.js';
import { saveModel } from '../../src/io/model_files.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { thresholdModel, writeBusItems } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';
import { runCli } from './run.js';

/**
 * Training statistics made to fit item 4 of the fixture (white rows 5-24, cols 5-39 of 30x45:
 * 52% white, brightness about 132 and contrast about 127 of 255) and not the others (item 1:
 * 12% white, brightness about 30; items 2 and 3: black). Training areas 30% to 70%: item 4's
 * predicted 52% is inside, item 1's 12% is (0.3 - 0.12) / 0.3 = 0.6 below, beyond the limit of
 * 0.5, and items 2 and 3 predict nothing (1 below).
 */
const STATS: InputStatistics = {
  channels: 1,
  images: 20,
  brightness: { mean: [130], std: [20] },
  contrast: { mean: [125], std: [20] },
  correlation: [0],
  lesionArea: { levels: [0, 1], quantiles: [0.3, 0.7] },
};

let root: string;
let data: string;
let model: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-qc-');
  data = path.join(root, 'bus');
  model = path.join(root, 'model');
  await writeBusItems(data);
  const net = thresholdModel();
  net.setUserDefinedMetadata({ [INPUT_STATISTICS_KEY]: STATS });
  await saveModel(net, model);
  net.dispose();
});
after(() => removeTemp(root));

const FLAGGED = ['000001.png', '000002.png', '000003.png'];

describe('quality control on the command line', () => {
  test('evaluate: the qc columns of metrics.csv and one qc line', async () => {
    const out = path.join(root, 'eval');
    const r = runCli([
      'evaluate',
      ...['--model', model, '--dataset', 'bus', '--data', data, '--out', out],
      ...['--backend', 'cpu', '--quiet'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stdout.includes(
        'qc: 3 of 4 images flagged (3 unlike the training images, 3 lesion area outside the ' +
          'training range): check their masks (the qc column of metrics.csv)\n',
      ),
      r.stdout,
    );
    const [header, ...rows] = (await readFile(path.join(out, 'metrics.csv'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    const at = (column: string): string[] => rows.map((row) => row[header.indexOf(column)]);
    assert.deepEqual(at('name'), [...FLAGGED, '000004.png']);
    assert.deepEqual(at('qc'), ['check', 'check', 'check', 'ok']);
    assert.deepEqual(at('qc_reasons'), ['input area', 'input area', 'input area', '']);
    assert.deepEqual(
      at('qc_score').map((s) => Number(s) > 1),
      [true, true, true, false],
    );
    // Items 2 and 3 predict no lesion: no entropy; the 1x1 network mirrors exactly: DSC 1.
    assert.deepEqual(at('qc_entropy').slice(1, 3), ['', '']);
    assert.deepEqual(at('qc_flip_dsc'), ['1', '1', '1', '1']);
    const summary = JSON.parse(await readFile(path.join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.qc, {
      checked: 4,
      flagged: 3,
      reasons: { input: 3, area: 3, confidence: 0, flip: 0 },
    });
  });

  test('predict --json: a verdict per image and one warning line', () => {
    const out = path.join(root, 'predict');
    const r = runCli([
      'predict',
      path.join(data, 'original'),
      ...['--model', model, '--out', out, '--backend', 'cpu', '--json', '--quiet'],
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      r.stderr.includes(
        'ftunet predict: warning: qc: 3 of 4 images flagged (3 unlike the training images, 3 ' +
          'lesion area outside the training range): check their masks (qc in the JSON)\n',
      ),
      r.stderr,
    );
    const printed = JSON.parse(r.stdout) as {
      predicted: Array<{ input: string; qc: { verdict: string; reasons: string[] } }>;
      qc: { flagged: number };
    };
    assert.deepEqual(
      printed.predicted.map((p) => [path.basename(p.input), p.qc.verdict, p.qc.reasons]),
      [...FLAGGED.map((name) => [name, 'check', ['input', 'area']]), ['000004.png', 'ok', []]],
    );
    assert.equal(printed.qc.flagged, 3);
  });
});
