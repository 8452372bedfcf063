/**
 * The pairing rule of masks with images by stem (src/eval/mask_pairing.ts), shared by
 * `ftunet evaluate --pred` (predictions.ts, tested through `matchPredictions`) and the web
 * app's import: a mask's stem is its image's plus '', '_mask' or '_segmentation'.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pairMasks, PREDICTION_STEM_SUFFIXES, stemOf } from '../../src/eval/mask_pairing.js';
import { PREDICTION_STEM_SUFFIXES as FROM_PREDICTIONS } from '../../src/eval/predictions.js';

const named = (...names: string[]) =>
  names.map((name) => ({ name, stem: name.slice(0, name.lastIndexOf('.')) }));

describe('pairMasks', () => {
  test('the suffixes, one definition re-exported where evaluate --pred found it', () => {
    assert.deepEqual(PREDICTION_STEM_SUFFIXES, ['', '_mask', '_segmentation']);
    assert.equal(FROM_PREDICTIONS, PREDICTION_STEM_SUFFIXES);
  });

  test('each stem with its mask; missing, ambiguous and unused files reported', () => {
    const masks = named(
      'a.png',
      'b_mask.png',
      'c_segmentation.tif',
      'd.png',
      'd_mask.png',
      'z_mask.png',
    );
    const r = pairMasks(masks, ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(
      r.found.map((f) => f?.name),
      ['a.png', 'b_mask.png', 'c_segmentation.tif', 'd.png', undefined],
    );
    assert.deepEqual(r.missing, ['e']);
    assert.deepEqual(r.ambiguous, ['d.png and d_mask.png']);
    assert.deepEqual(
      r.unused.map((f) => f.name),
      ['z_mask.png'],
    );
  });

  test('one stem in two formats is ambiguous', () => {
    const r = pairMasks(named('x.png', 'x.tiff'), ['x']);
    assert.deepEqual(r.ambiguous, ['x.png and x.tiff']);
    assert.deepEqual(r.unused, []);
  });
});

describe('stemOf', () => {
  test('the name without its folder and its last extension; a leading dot stays', () => {
    assert.deepEqual(['a/b.c.png', 'C:\\x\\y.jpg', 'noext', '.png', 'p_mask.png'].map(stemOf), [
      'b.c',
      'y',
      'noext',
      '.png',
      'p_mask',
    ]);
  });
});
