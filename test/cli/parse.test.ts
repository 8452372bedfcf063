/** The flag parsers' helpers: edit distance, suggestions, library messages cut to commander's. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from 'commander';
import {
  choice,
  editDistance,
  fromLibrary,
  suggestSimilar,
  withoutFlagAndValue,
} from '../../src/cli/parse.js';
import { MODEL_NAMES } from '../../src/models/options.js';
import { parseInputSize } from '../../src/data/presets.js';

describe('editDistance (optimal string alignment)', () => {
  // Worked by hand: one edit of each kind, and the classic kitten/sitting (3 substitutions
  // and an insertion would be 4; 2 substitutions and 1 insertion make 3).
  const cases: Array<[string, string, number]> = [
    ['', '', 0],
    ['', 'abc', 3],
    ['attn_reg', 'attn_reg', 0],
    ['attn_rg', 'attn_reg', 1], // insertion
    ['attn_regx', 'attn_reg', 1], // deletion
    ['vnet', 'unet', 1], // substitution
    ['bilinaer', 'bilinear', 1], // swap of neighbours
    ['kitten', 'sitting', 3],
  ];
  for (const [a, b, d] of cases) {
    test(`${JSON.stringify(a)} → ${JSON.stringify(b)}: ${d}`, () => {
      assert.equal(editDistance(a, b), d);
      assert.equal(editDistance(b, a), d);
    });
  }
});

describe('suggestSimilar', () => {
  test('the closest candidate within 3 edits, none when nothing is close', () => {
    assert.equal(suggestSimilar('attn_rg', MODEL_NAMES), '\n(Did you mean attn_reg?)');
    assert.equal(suggestSimilar('segformer', MODEL_NAMES), '');
  });
  test('ties are all named, sorted', () => {
    assert.equal(suggestSimilar('ab', ['ax', 'xb']), '\n(Did you mean one of ax, xb?)');
  });
});

describe('choice', () => {
  const parse = choice(MODEL_NAMES);
  test('accepts the values, also in another case', () => {
    assert.equal(parse('unet'), 'unet');
    assert.equal(parse(' UNET '), 'unet');
  });
  test("throws commander's error with the allowed values and a suggestion", () => {
    assert.throws(
      () => parse('attn_rg'),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.message ===
          'Allowed choices are unet, attn_unet, attn_reg_ds, attn_reg.\n(Did you mean attn_reg?)',
    );
  });
});

describe('fromLibrary', () => {
  test("a library parser's UserError loses the flag and the value that commander names", () => {
    const parse = fromLibrary(parseInputSize, '--input-size');
    assert.deepEqual(parse('64x96'), [64, 96]);
    assert.throws(
      () => parse('7'),
      (err: unknown) =>
        err instanceof InvalidArgumentError &&
        err.message === 'Expected rows,cols such as 128,128 or 192x256 (each 1 to 4096).',
    );
  });
  test('messages that name the flag with its value', () => {
    assert.equal(
      withoutFlagAndValue('--shard auto/4: X is not set', '--shard', 'auto/4'),
      'X is not set.',
    );
    assert.equal(
      withoutFlagAndValue("--fold: expected fold numbers, got 'a'", '--fold', 'a'),
      'Expected fold numbers.',
    );
  });
});
