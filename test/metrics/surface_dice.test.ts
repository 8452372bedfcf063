/**
 * The normalized surface Dice on masks small enough to work by hand: the edges (a lesion pixel
 * with a 4-neighbour in the background or outside) and the distances between them are counted
 * on paper in each case's comment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  surfaceDice,
  surfaceDiceFromDistances,
  SURFACE_DICE_TOLERANCE,
} from '../../src/metrics/surface_dice.js';
import { METRICS, surfaceScores } from '../../src/metrics/registry.js';
import type { BinaryMask } from '../../src/util/raster.js';
import { textMask as mask } from './masks.js';

// A 3x3 square in a 5x5 image: its edge is the 8 pixels around the centre.
const truth = mask('.....', '.###.', '.###.', '.###.', '.....');
// The same square one pixel to the right: edges (1,2) (1,3) (3,2) (3,3) are shared.
const shifted = mask('.....', '..###', '..###', '..###', '.....');

describe('surfaceDice', () => {
  const cases: Array<{ name: string; t: BinaryMask; p: BinaryMask; tol: number; want: number }> = [
    { name: 'identical masks', t: truth, p: truth, tol: 0, want: 1 },
    // Tolerance 0 is the Dice of the edge sets: 2 * 4 shared / (8 + 8).
    { name: 'shifted square, tolerance 0', t: truth, p: shifted, tol: 0, want: 0.5 },
    // Every edge pixel of either square is 0 or 1 pixel from the other's edge.
    { name: 'shifted square, tolerance 1', t: truth, p: shifted, tol: 1, want: 1 },
    // One-pixel masks 3 apart on a row: each edge is its pixel, at distance 3 from the other.
    { name: 'points 3 apart, tolerance 2', t: mask('#....'), p: mask('...#.'), tol: 2, want: 0 },
    { name: 'points 3 apart, tolerance 3', t: mask('#....'), p: mask('...#.'), tol: 3, want: 1 },
    // Diagonal neighbours: distance sqrt(2), between 1 and 1.5.
    { name: 'diagonal, tolerance 1', t: mask('#.', '..'), p: mask('..', '.#'), tol: 1, want: 0 },
    {
      name: 'diagonal, tolerance 1.5',
      t: mask('#.', '..'),
      p: mask('..', '.#'),
      tol: 1.5,
      want: 1,
    },
    // Truth: a 1x3 bar (3 edge pixels); prediction: its left pixel. The prediction's pixel is
    // on the truth's edge (0); of the truth's 3 edge pixels, at 0, 1 and 2 from it: with
    // tolerance 1, (1 + 2) / (1 + 3).
    { name: 'bar and its end, tolerance 1', t: mask('###'), p: mask('#..'), tol: 1, want: 0.75 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(surfaceDice(c.t, c.p, c.tol), c.want);
      assert.equal(surfaceDice(c.p, c.t, c.tol), c.want, 'symmetric');
    });
  }

  test('undefined (null) when either mask is empty, as HD95', () => {
    const empty = mask('.....', '.....', '.....', '.....', '.....');
    assert.equal(surfaceDice(truth, empty), null);
    assert.equal(surfaceDice(empty, truth), null);
    assert.equal(surfaceDice(empty, empty), null);
  });

  test('the default tolerance is 2 pixels; a negative one is refused', () => {
    assert.equal(SURFACE_DICE_TOLERANCE, 2);
    // Points 2 apart agree at the default, 3 apart do not.
    assert.equal(surfaceDice(mask('#....'), mask('..#..')), 1);
    assert.equal(surfaceDice(mask('#....'), mask('...#.')), 0);
    const d = {
      predictionToTruth: new Float64Array([0]),
      truthToPrediction: new Float64Array([0]),
    };
    assert.throws(
      () => surfaceDiceFromDistances(d, -1),
      /^UserError: surfaceDice: tolerance must be a number >= 0, got -1$/,
    );
  });

  test('evaluation computes it through the registry beside HD95 and ASSD', () => {
    const s = surfaceScores(truth, shifted);
    assert.ok(s !== null);
    // Tolerance 2 >= every distance here (0 or 1).
    assert.equal(s.nsd, 1);
    assert.equal(METRICS.nsd.aggregation, 'defined');
    assert.equal(METRICS.nsd.column, 'nsd');
    assert.equal(METRICS.nsd.direction, 'higher');
    assert.equal(surfaceScores(truth, mask('.....', '.....', '.....', '.....', '.....')), null);
  });
});
