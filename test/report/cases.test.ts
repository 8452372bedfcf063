/** Choosing the best, median and worst test images. Pure. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCasesPerGroup, selectCases } from '../../src/report/cases.js';

interface Item {
  name: string;
  dsc: number;
}

const items = (scores: number[]): Item[] =>
  scores.map((dsc, i) => ({ name: String.fromCharCode(97 + i), dsc }));

/** The selection as "group: name(rank) ..." for compact comparisons. */
function describeSelection(list: Item[], perGroup: number): string[] {
  return selectCases(list, (x) => x.dsc, perGroup).map((g) =>
    `${g.group}: ${g.cases.map((c) => `${c.item.name}${c.rank}`).join(' ')}`.trimEnd(),
  );
}

describe('selectCases', () => {
  test('seven images, two per group', () => {
    // By DSC, highest first: b .9, f .8, d .7, a .5, e .3, g .2, c .1 (ranks 1 to 7).
    // Median: the 2 positions from floor((7 - 2) / 2) = 2, ranks 3 and 4.
    assert.deepEqual(describeSelection(items([0.5, 0.9, 0.1, 0.7, 0.3, 0.8, 0.2]), 2), [
      'best: b1 f2',
      'median: d3 a4',
      'worst: g6 c7',
    ]);
  });

  test('fewer images than three groups need: each image once, best first, then worst', () => {
    assert.deepEqual(describeSelection(items([0.2, 0.6, 0.4]), 2), [
      'best: b1 c2',
      'median:',
      'worst: a3',
    ]);
    assert.deepEqual(describeSelection(items([0.2, 0.6, 0.4, 0.8, 0.1]), 2), [
      'best: d1 b2',
      'median: c3',
      'worst: a4 e5',
    ]);
  });

  test('ties keep the input order; NaN ranks last', () => {
    assert.deepEqual(describeSelection(items([0.5, 0.5, 0.5]), 1), [
      'best: a1',
      'median: b2',
      'worst: c3',
    ]);
    assert.deepEqual(describeSelection(items([Number.NaN, 0.1, 0.9]), 1), [
      'best: c1',
      'median: b2',
      'worst: a3',
    ]);
  });

  test('no images: three empty groups; a bad count is an error', () => {
    assert.deepEqual(describeSelection([], 2), ['best:', 'median:', 'worst:']);
    assert.throws(
      () => selectCases([], () => 0, 0),
      /^UserError: perGroup must be a positive integer, got 0$/,
    );
  });
});

describe('parseCasesPerGroup', () => {
  test('integers from 1 to 50', () => {
    assert.equal(parseCasesPerGroup('1'), 1);
    assert.equal(parseCasesPerGroup(' 50 '), 50);
    for (const bad of ['0', '51', '2.5', 'two', '']) {
      assert.throws(
        () => parseCasesPerGroup(bad, '--cases'),
        new RegExp(`^UserError: --cases: expected an integer from 1 to 50, got '${bad}'$`),
      );
    }
  });
});
