import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadSplit, saveSplit } from '../../src/data/split_file.js';
import {
  holdoutSplit,
  kFoldSplit,
  parseSplit,
  resolveSplit,
  type Split,
} from '../../src/data/splits.js';
import { makeTemp, removeTemp } from './fixtures.js';

const names = (n: number): string[] =>
  Array.from({ length: n }, (_, i) => `${String(i + 1).padStart(6, '0')}.png`);

function checkPartition(split: Split, all: string[]): void {
  for (const fold of split.folds) {
    const union = [...fold.train, ...fold.val, ...fold.test];
    assert.equal(new Set(union).size, union.length, 'parts are disjoint');
    assert.deepEqual([...union].sort(), [...all].sort(), 'parts cover every name');
  }
}

describe('holdoutSplit', () => {
  test("the paper's sizes: 163 -> 41 test, 19 val, 103 train; 2,594 -> 649 test", () => {
    const all = names(163);
    const s = holdoutSplit(all, { seed: 1 });
    assert.deepEqual(
      [s.folds.length, s.folds[0].test.length, s.folds[0].val.length, s.folds[0].train.length],
      [1, 41, 19, 103],
    );
    checkPartition(s, all);
    const isic = holdoutSplit(names(2594));
    assert.equal(isic.folds[0].test.length, 649); // ceil(648.5), as the paper's 649
    // Keras keeps floor(1945 * 0.85) = 1653 for training.
    assert.deepEqual([isic.folds[0].train.length, isic.folds[0].val.length], [1653, 292]);
  });

  test('seeded: same seed same split, other seed other split, input order irrelevant', () => {
    const all = names(40);
    const a = holdoutSplit(all, { seed: 7 });
    assert.deepEqual(holdoutSplit([...all].reverse(), { seed: 7 }), a);
    assert.notDeepEqual(holdoutSplit(all, { seed: 8 }).folds[0].test, a.folds[0].test);
    for (const part of ['train', 'val', 'test'] as const) {
      assert.deepEqual(a.folds[0][part], [...a.folds[0][part]].sort());
    }
  });

  test('bad arguments', () => {
    assert.throws(() => holdoutSplit(names(1)), {
      message: '1 item cannot be split with testFraction 0.25 (it leaves 1 to test and 0 to train)',
    });
    assert.throws(() => holdoutSplit(names(5), { testFraction: 1 }), {
      message: 'testFraction must be in (0, 1), got 1',
    });
    assert.throws(() => holdoutSplit(['a', 'b', 'a']), {
      message: '1 name repeated: a',
    });
  });
});

describe('kFoldSplit', () => {
  test('every image in exactly one test fold; fold sizes as scikit-learn (33,33,33,32,32)', () => {
    const all = names(163);
    const s = kFoldSplit(all, { seed: 3 });
    assert.equal(s.folds.length, 5);
    assert.deepEqual(
      s.folds.map((f) => f.test.length),
      [33, 33, 33, 32, 32],
    );
    const tests = s.folds.flatMap((f) => f.test);
    assert.deepEqual([...tests].sort(), all);
    checkPartition(s, all);
    // Validation is carved from each fold's training part: 130 -> 130 - floor(130 * 0.85) = 20.
    assert.equal(s.folds[0].val.length, 20);
    // The validation sets differ between folds (each fold's rest is reshuffled).
    assert.notDeepEqual(s.folds[0].val, s.folds[1].val);
    assert.deepEqual(kFoldSplit(all, { seed: 3 }), s);
  });

  test('k out of range is refused', () => {
    assert.throws(() => kFoldSplit(names(3), { k: 4 }), {
      message: 'the number of folds k must be an integer from 2 to the number of items (3), got 4',
    });
  });
});

describe('split files', () => {
  let dir: string;
  before(async () => {
    dir = await makeTemp();
  });
  after(async () => {
    await removeTemp(dir);
  });

  test('save and load round-trip, and resolve to indices', async () => {
    const all = names(12);
    const s = kFoldSplit(all, { k: 3, seed: 5 });
    const file = path.join(dir, 'split.json');
    await saveSplit(file, s);
    const loaded = await loadSplit(file);
    assert.deepEqual(loaded, s);
    const folds = resolveSplit(loaded, all);
    assert.equal(folds.length, 3);
    assert.deepEqual(
      folds[1].test.map((i) => all[i]),
      s.folds[1].test,
    );
  });

  test('a split that does not match the data set names the problems', () => {
    const all = names(6);
    const s = holdoutSplit(all, { seed: 1 });
    const bad: Split = {
      ...s,
      folds: [
        {
          train: [...s.folds[0].train.slice(1), 'ghost.png', s.folds[0].test[0]],
          val: s.folds[0].val,
          test: s.folds[0].test,
        },
      ],
    };
    const dropped = s.folds[0].train[0];
    assert.throws(() => resolveSplit(bad, all, 'split file s.json'), {
      name: 'DataError',
      message:
        'split file s.json does not match the data set: 1 name is not in the data set: ghost.png; ' +
        `1 name appears more than once: ${s.folds[0].test[0]}; ` +
        `1 image of the data set is missing: ${dropped}`,
    });
  });

  test('k-fold: an image in two test folds is refused', () => {
    const all = names(4);
    const s = kFoldSplit(all, { k: 2 });
    const [a, b] = s.folds;
    // Fold 1 tests the same images as fold 0 (and trains on the rest): each fold is a
    // partition, but the test folds do not cover the data set once.
    const bad: Split = { ...s, folds: [a, { train: b.test, val: [], test: a.test }] };
    assert.throws(() => resolveSplit(bad, all), {
      message: `split does not match the data set: 4 images are not in exactly one test fold: ${all.join(', ')}`,
    });
  });

  test('malformed files are refused with the file named', async () => {
    const cases: Array<[string, string]> = [
      ['{nope', 'is not valid JSON'],
      ['[]', 'expected a JSON object'],
      ['{"format":"x"}', 'expected "format": "ftunet-split", got "x"'],
      [
        '{"format":"ftunet-split","version":9}',
        'unsupported version 9 (this program reads versions up to 1)',
      ],
      [
        '{"format":"ftunet-split","version":1,"method":"loo"}',
        '"method" must be one of holdout, kfold, got "loo"',
      ],
      [
        '{"format":"ftunet-split","version":1,"method":"kfold","folds":[{"train":[1],"val":[],"test":[]}]}',
        '"folds.0.train.0" must be a file name, got 1',
      ],
    ];
    for (const [text, message] of cases) {
      const file = path.join(dir, 'bad.json');
      await writeFile(file, text);
      await assert.rejects(loadSplit(file), (err: Error) => {
        assert.equal(err.name, 'DataError');
        assert.ok(err.message.startsWith(`split file ${file}`), err.message);
        assert.ok(err.message.includes(message), err.message);
        return true;
      });
    }
    await assert.rejects(loadSplit(path.join(dir, 'none.json')), {
      message: `split file ${path.join(dir, 'none.json')}: no such file`,
    });
    assert.throws(() => parseSplit(null), { message: 'split: expected a JSON object' });
    const head = { format: 'ftunet-split', version: 1, method: 'holdout' };
    assert.throws(() => parseSplit({ ...head, folds: [] }), {
      name: 'DataError',
      message: 'split: "folds" must be a non-empty array, got []',
    });
    assert.throws(() => parseSplit({ ...head, folds: [{ train: [], test: [] }] }), {
      name: 'DataError',
      message: 'split: "folds.0.val" is missing',
    });
  });

  test('optional fields missing or not numbers read as their defaults', () => {
    const fold = { train: ['a', 'b'], val: ['c'], test: ['d'] };
    const head = { format: 'ftunet-split', version: 1, method: 'holdout', folds: [fold] } as const;
    assert.deepEqual(parseSplit({ ...head, seed: 'x', k: 'y', extra: 1 }), {
      ...head,
      seed: 0,
      valFraction: 0.15,
      count: 4,
    });
    assert.deepEqual(
      parseSplit({ ...head, seed: 3, testFraction: 0.25, valFraction: 0, count: 9 }),
      {
        ...head,
        seed: 3,
        testFraction: 0.25,
        valFraction: 0,
        count: 9,
      },
    );
  });
});
