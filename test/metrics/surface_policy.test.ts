/**
 * The surface metrics' policies for empty masks and their pixel spacing, on masks small enough
 * to work by hand: each case's distances are counted on paper in its comment.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { surfaceScores, type SurfaceScores } from '../../src/metrics/registry.js';
import { surfaceDistanceMetrics } from '../../src/metrics/surface_distance.js';
import { surfaceDiceTolerance } from '../../src/metrics/surface_dice.js';
import {
  formatEmptyDistance,
  parseEmptyDistance,
  parseSpacing,
  surfaceRecord,
  type EmptyDistancePolicy,
} from '../../src/metrics/surface_policy.js';
import { textMask as mask } from './masks.js';
import { expectClose } from '../helpers.js';

// Exact up to float rounding.
const TOL = { rtol: 0, atol: 1e-12 };

const EMPTY = mask('....', '....', '....');
const EMPTY_5 = mask('.....', '.....', '.....', '.....', '.....');
// One lesion pixel at (1, 1), and one at (1, 3): 2 columns apart, so every distance is 2.
const ONE = mask('....', '.#..', '....');
const ONE_RIGHT = mask('....', '...#', '....');

const SKIP: EmptyDistancePolicy = { kind: 'skip' };
const NAN: EmptyDistancePolicy = { kind: 'nan' };
const PENALTY: EmptyDistancePolicy = { kind: 'penalty', distance: 100 };

/** The scores as plain numbers, NaN and Infinity compared by Object.is. */
function assertScores(actual: SurfaceScores | null, expected: SurfaceScores | null): void {
  if (expected === null || actual === null) {
    assert.equal(actual, expected);
    return;
  }
  for (const k of Object.keys(expected) as (keyof SurfaceScores)[]) {
    assert.ok(Object.is(actual[k], expected[k]), `${k}: ${actual[k]} vs ${expected[k]}`);
  }
}

describe('empty-mask policies (surfaceScores)', () => {
  test('neither mask empty: every policy gives the distances (2 px, NSD 1 at 2 px)', () => {
    for (const emptyDistance of [SKIP, NAN, PENALTY]) {
      assertScores(surfaceScores(ONE, ONE_RIGHT, { emptyDistance }), { hd95: 2, assd: 2, nsd: 1 });
    }
  });

  test('skip (the default): an empty prediction or truth, or both, has no surface scores', () => {
    for (const [truth, prediction] of [
      [ONE, EMPTY],
      [EMPTY, ONE],
      [EMPTY, EMPTY],
    ]) {
      assert.equal(surfaceScores(truth, prediction), null);
      assert.equal(surfaceScores(truth, prediction, { emptyDistance: SKIP }), null);
    }
  });

  test("nan: MONAI's values, HD95 NaN, ASSD inf where one is empty, NSD 0; all NaN for both", () => {
    // MONAI fills the distances of the non-empty mask's edge with inf: their mean is inf, their
    // interpolated 95th percentile inf - inf = NaN; no edge at all: NaN.
    const one = { hd95: Number.NaN, assd: Number.POSITIVE_INFINITY, nsd: 0 };
    assertScores(surfaceScores(ONE, EMPTY, { emptyDistance: NAN }), one);
    assertScores(surfaceScores(EMPTY, ONE, { emptyDistance: NAN }), one);
    assertScores(surfaceScores(EMPTY, EMPTY, { emptyDistance: NAN }), {
      hd95: Number.NaN,
      assd: Number.NaN,
      nsd: Number.NaN,
    });
  });

  test('penalty:100: 100 where exactly one is empty (NSD 0), 0 where both are (NSD 1)', () => {
    const one = { hd95: 100, assd: 100, nsd: 0 };
    assertScores(surfaceScores(ONE, EMPTY, { emptyDistance: PENALTY }), one);
    assertScores(surfaceScores(EMPTY, ONE, { emptyDistance: PENALTY }), one);
    assertScores(surfaceScores(EMPTY, EMPTY, { emptyDistance: PENALTY }), {
      hd95: 0,
      assd: 0,
      nsd: 1,
    });
  });
});

describe('pixel spacing', () => {
  // Truth: one pixel (0, 0) of a 5x5 image. Prediction: the pixels (0, 3) and (2, 0), each its
  // own edge. In pixels, (0, 3) is 3 from the truth and (2, 0) is 2: truth -> prediction 2,
  // prediction -> truth [3, 2] (raster order). With spacing [3, 0.5] (rows 3 mm, columns
  // 0.5 mm), (0, 3) is 3 x 0.5 = 1.5 mm away and (2, 0) is 2 x 3 = 6 mm: the nearest pixel of
  // the prediction changes from (2, 0) to (0, 3).
  const truth = mask('#....', '.....', '.....', '.....', '.....');
  const prediction = mask('...#.', '.....', '#....', '.....', '.....');

  test('in pixels: HD95 2.95, ASSD 7/3', () => {
    // prediction -> truth sorted [2, 3]: rank 0.95 -> 2.95; truth -> prediction 2.
    const r = surfaceDistanceMetrics(truth, prediction)!;
    expectClose(r.hd95, 2.95, TOL);
    expectClose(r.assd, 7 / 3, TOL);
  });

  test('anisotropic [3, 0.5] mm: HD95 5.775, ASSD 3', () => {
    // prediction -> truth sorted [1.5, 6]: 1.5 + 0.95 (6 - 1.5) = 5.775; truth -> prediction
    // 1.5. ASSD (1.5 + 6 + 1.5) / 3 = 3.
    const r = surfaceDistanceMetrics(truth, prediction, [3, 0.5])!;
    expectClose(r.hd95, 5.775, TOL);
    expectClose(r.assd, 3, TOL);
    const s = surfaceScores(truth, prediction, { spacing: [3, 0.5] })!;
    expectClose(s.hd95, 5.775, TOL);
    expectClose(s.assd, 3, TOL);
    // NSD's tolerance is 2 pixels of the coarser axis, 2 x 3 = 6 mm: every distance is within.
    assert.equal(surfaceDiceTolerance([3, 0.5]), 6);
    assert.equal(s.nsd, 1);
  });

  test('square pixels scale the distances and leave the NSD as it is in pixels', () => {
    // In pixels the distances are [3, 2] and [2]: at 2 px, 2 of the 3 are within. At 0.5 mm
    // they are [1.5, 1] and [1] with a tolerance of 2 x 0.5 = 1 mm: the same 2 of 3.
    const px = surfaceScores(truth, prediction)!;
    const mm = surfaceScores(truth, prediction, { spacing: [0.5, 0.5] })!;
    expectClose(px.nsd, 2 / 3, TOL);
    expectClose(mm.nsd, 2 / 3, TOL);
    expectClose(mm.hd95, 2.95 / 2, TOL);
    expectClose(mm.assd, 7 / 6, TOL);
  });

  test('a penalty is in the spacing unit as given', () => {
    const s = surfaceScores(truth, EMPTY_5, { spacing: [3, 0.5], emptyDistance: PENALTY })!;
    assert.equal(s.hd95, 100);
  });
});

describe('--empty-distance and --spacing values', () => {
  test('policies: skip, nan, penalty:N; written back as given', () => {
    assert.deepEqual(parseEmptyDistance('skip'), { kind: 'skip' });
    assert.deepEqual(parseEmptyDistance(' NaN '), { kind: 'nan' });
    assert.deepEqual(parseEmptyDistance('penalty:12.5'), { kind: 'penalty', distance: 12.5 });
    assert.equal(formatEmptyDistance(parseEmptyDistance('penalty:373')), 'penalty:373');
    for (const bad of ['foo', 'penalty', 'penalty:', 'penalty:0', 'penalty:-3', 'penalty:x', '']) {
      assert.throws(
        () => parseEmptyDistance(bad),
        new RegExp(
          `^UserError: --empty-distance: expected skip, nan or penalty:N with a distance N > 0, ` +
            `got '${bad}'$`,
        ),
        bad,
      );
    }
  });

  test('spacings: SY,SX or one number for both, each > 0', () => {
    assert.deepEqual(parseSpacing('0.5'), [0.5, 0.5]);
    assert.deepEqual(parseSpacing('0.1, 0.25'), [0.1, 0.25]);
    for (const bad of ['0', 'a,b', '1,2,3', '-1', '', '1,', 'Infinity']) {
      assert.throws(
        () => parseSpacing(bad),
        new RegExp(`^UserError: --spacing: expected a pixel's size in mm, .* got '${bad}'$`),
        bad,
      );
    }
  });

  test("summary.json's record: defaults skip and pixels", () => {
    assert.deepEqual(surfaceRecord(), { emptyDistance: 'skip', spacing: null, unit: 'px' });
    assert.deepEqual(surfaceRecord({ emptyDistance: PENALTY, spacing: [0.1, 0.2] }), {
      emptyDistance: 'penalty:100',
      spacing: [0.1, 0.2],
      unit: 'mm',
    });
  });
});
