/**
 * `ftunet ablation` on a data set too small for its folds: one line, exit code 2, and nothing
 * written (no study folder), so the same command with more data or fewer folds just works.
 * Synthetic data sets are checked by their count before any image is written; a data folder
 * by its listing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathExists } from '../../src/io/atomic.js';
import { runCli } from '../cli/run.js';
import { makeBus, makeTemp, removeTemp } from '../data/fixtures.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-ablation-small-');
});
after(() => removeTemp(root));

const TINY =
  '--input-size 32,32 --width 0.125 --epochs 1 --batch-size 4 --backend wasm --no-cache --quiet'.split(
    ' ',
  );

describe('ablation on a data set too small for its folds', () => {
  test('a synthetic data set of 3 items in 2 folds: one line, nothing written', () => {
    const study = path.join(root, 'synthetic');
    const r = runCli([
      'ablation',
      '--dataset',
      'synthetic-bus',
      '--count',
      '3',
      '--folds',
      '2',
      ...TINY,
      '--out',
      study,
    ]);
    assert.deepEqual(
      [r.code, r.stderr],
      [
        2,
        'ftunet: --folds 2: 3 item(s) are too few: fold 0 would have no training images ' +
          '(--val-fraction 0.15); give at least 4 items or fewer folds\n',
      ],
    );
    assert.equal(r.stdout, '');
    return pathExists(study).then((exists) => assert.equal(exists, false, 'no study folder'));
  });

  test('a data folder of 5 items in 2 folds with --val-fraction 0.6: one line, nothing written', async () => {
    const data = path.join(root, 'bus');
    await makeBus(data, { count: 5, height: 32, width: 32 });
    const study = path.join(root, 'folder');
    const r = runCli([
      'ablation',
      '--dataset',
      'bus',
      '--data',
      data,
      '--folds',
      '2',
      '--val-fraction',
      '0.6',
      ...TINY,
      '--out',
      study,
    ]);
    assert.deepEqual(
      [r.code, r.stderr],
      [
        2,
        'ftunet: --folds 2: 5 item(s) are too few: fold 0 would have no training images ' +
          '(--val-fraction 0.6); give at least 6 items or fewer folds\n',
      ],
    );
    assert.equal(await pathExists(study), false, 'no study folder');
  });
});
