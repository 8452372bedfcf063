/**
 * DSC and IoU of a mask against a ground truth in the page (src/webapp/mask_scores.ts), from
 * the project's definitions (smooth = 1, as `ftunet evaluate`), against cases worked by hand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BinaryMask } from '../../src/util/raster.js';
import { maskScores } from '../../src/webapp/mask_scores.js';

/** A mask from rows of '#' (lesion) and '.' (background). */
function mask(...rows: string[]): BinaryMask {
  const data = Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
  return { data, height: rows.length, width: rows[0].length };
}

const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);

describe('maskScores', () => {
  const cases: Array<[string, BinaryMask, BinaryMask, number, number]> = [
    // TP 2, FP 1, FN 1: DSC (4 + 1) / (4 + 1 + 1 + 1) = 5/7; IoU (2 + 1) / (2 + 1 + 1 + 1) = 3/5.
    ['overlap', mask('##.', '#..'), mask('##.', '.#.'), 5 / 7, 3 / 5],
    // Identical: TP 3: DSC 7/7, IoU 4/4.
    ['identical', mask('###', '...'), mask('###', '...'), 1, 1],
    // Both empty: 1/1 for both (the project's empty-mask convention).
    ['both empty', mask('...', '...'), mask('...', '...'), 1, 1],
    // Empty truth, 2 false positives: 1 / (2 + 1) for both.
    ['empty truth', mask('#.#', '...'), mask('...', '...'), 1 / 3, 1 / 3],
    // A one-pixel lesion missed: DSC (0 + 1) / (0 + 0 + 1 + 1) = 1/2, IoU 1/2.
    ['missed', mask('...', '...'), mask('.#.', '...'), 1 / 2, 1 / 2],
    // Disjoint: TP 0, FP 2, FN 2: 1/5 for both.
    ['disjoint', mask('##.', '...'), mask('...', '.##'), 1 / 5, 1 / 5],
  ];
  for (const [name, m, truth, dsc, iou] of cases) {
    test(`${name}: DSC ${dsc.toFixed(4)}, IoU ${iou.toFixed(4)}`, () => {
      const s = maskScores(m, truth);
      close(s.dsc, dsc);
      close(s.iou, iou);
    });
  }

  test('masks of two sizes cannot be compared', () => {
    assert.throws(() => maskScores(mask('##'), mask('#', '#')), {
      name: 'UserError',
      message: 'the mask is 2x1 but the ground truth is 1x2: they cannot be compared',
    });
  });
});
