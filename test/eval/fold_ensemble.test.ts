/**
 * What a run trained on one fold of a k-fold split prints at its end: the other folds to train
 * on the same split and the command that ensembles the k runs; nothing for a holdout split.
 * Split files are written by hand with the split functions.
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { saveSplit } from '../../src/data/split_file.js';
import { holdoutSplit, kFoldSplit } from '../../src/data/splits.js';
import { foldEnsembleHint } from '../../src/eval/fold_ensemble.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-fold-ensemble-');
});
after(() => removeTemp(root));

const NAMES = Array.from({ length: 12 }, (_, i) => `${i}.png`);

describe('foldEnsembleHint', () => {
  test('fold 1 of a 3-fold split: this run in its place among the folds', async () => {
    const run = path.join(root, 'kfold');
    await mkdir(run);
    await saveSplit(path.join(run, 'split.json'), kFoldSplit(NAMES, { k: 3 }));
    const hint = await foldEnsembleHint(run, { split: { file: 'split.json', fold: 1 } });
    assert.equal(
      hint,
      `fold 1 of a 3-fold split: train the other folds with the same flags and --split ` +
        `${path.join(run, 'split.json')} --fold K, then ensemble the 3 runs for new images: ` +
        `npx ftunet predict --model RUN_OF_FOLD_0 --model ${run} --model RUN_OF_FOLD_2 IMAGES ` +
        '--out PREDICTIONS',
    );
  });

  test('a holdout split: no hint', async () => {
    const run = path.join(root, 'holdout');
    await mkdir(run);
    await saveSplit(path.join(run, 'split.json'), holdoutSplit(NAMES));
    assert.equal(
      await foldEnsembleHint(run, { split: { file: 'split.json', fold: 0 } }),
      undefined,
    );
  });
});
