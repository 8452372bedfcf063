import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  maskEdges,
  percentileInPlace,
  surfaceDistanceMetrics,
} from '../../src/metrics/surface_distance.js';
import { Rng } from '../../src/util/rng.js';
import { rectMask } from '../data/fixtures.js';
import { expectClose } from '../helpers.js';
import { numpyPercentile, referenceSurface } from './surface_reference.js';

const mask = (h: number, w: number, rects: [number, number, number, number][]) => {
  const data = new Uint8Array(h * w);
  for (const r of rects) rectMask(h, w, r).forEach((v, i) => (data[i] |= v));
  return { data, height: h, width: w };
};

// Hand-worked cases; distances in pixels. Exact up to float rounding: atol 1e-12.
const TOL = { rtol: 0, atol: 1e-12 };

describe('surface distances (MONAI conventions)', () => {
  test('edges: the mask minus its erosion by the cross; border pixels are edges', () => {
    // A 3x3 square inside: 8 edges, the centre is interior.
    assert.deepEqual(
      Array.from(maskEdges(mask(5, 5, [[1, 4, 1, 4]]))),
      [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0],
    );
    // The whole 3x3 image: the border counts as background, so only the centre is interior.
    assert.deepEqual(
      Array.from(maskEdges(mask(3, 3, [[0, 3, 0, 3]]))),
      [1, 1, 1, 1, 0, 1, 1, 1, 1],
    );
  });

  test('two 3x3 squares two columns apart: HD95 2, ASSD 1', () => {
    // Truth rows 2-4, cols 2-4; prediction cols 4-6. Each square's 8 edge pixels are at
    // 0,0,0,1,1,2,2,2 from the other's: 95th percentile at rank 6.65 of those is 2, mean 1.
    const r = surfaceDistanceMetrics(mask(8, 9, [[2, 5, 2, 5]]), mask(8, 9, [[2, 5, 4, 7]]));
    expectClose(r!.hd95, 2, TOL);
    expectClose(r!.assd, 1, TOL);
  });

  test('a one-pixel lesion against a 1x4 bar: the percentile interpolates', () => {
    // Bar row 3, cols 1-4 (all four are edges); prediction the single pixel (3, 7).
    // bar -> pixel: 6, 5, 4, 3; 95th percentile at rank 2.85: 5 + 0.85 (6 - 5) = 5.85.
    // pixel -> bar: 3. ASSD = (6 + 5 + 4 + 3 + 3) / 5 = 4.2.
    const r = surfaceDistanceMetrics(mask(6, 9, [[3, 4, 1, 5]]), mask(6, 9, [[3, 4, 7, 8]]));
    expectClose(r!.hd95, 5.85, TOL);
    expectClose(r!.assd, 4.2, TOL);
  });

  test('a one-pixel lesion found exactly: 0 and 0; diagonal neighbours: sqrt 2', () => {
    const one = mask(5, 5, [[2, 3, 2, 3]]);
    assert.deepEqual(surfaceDistanceMetrics(one, one), { hd95: 0, assd: 0 });
    const r = surfaceDistanceMetrics(one, mask(5, 5, [[3, 4, 3, 4]]));
    expectClose(r!.hd95, Math.SQRT2, TOL);
    expectClose(r!.assd, Math.SQRT2, TOL);
  });

  test('masks touching the border: border pixels are edges', () => {
    // Truth: the left 3 columns of a 5x5 image (edges: every pixel but (1..3, 1)); prediction:
    // the left 2 columns (all 10 pixels edges, as column 0 touches the border).
    // truth -> pred: col 0 and 1 edges 0 (8 of them: rows 0, 4 of col 1 and all of col 0...),
    // worked below by the brute-force reference and by hand for the maximum: col 2 is 1 away.
    const truth = mask(5, 5, [[0, 5, 0, 3]]);
    const pred = mask(5, 5, [[0, 5, 0, 2]]);
    // Truth edges: col 0 (5), col 2 (5), (0,1), (4,1): 12. Pred edges: all 10.
    // truth -> pred: col 0: 0 x5, (0,1), (4,1): 0 x2, col 2: 1 x5 -> 5 ones of 12.
    // pred -> truth: col 0: 0 x5; (0,1), (4,1): 0; (1..3, 1): 1 each (nearest edge at col 0 or 2).
    // HD95: truth->pred sorted has 7 zeros then 5 ones: rank 10.45 -> 1. pred->truth: 7 zeros,
    // 3 ones: rank 8.55 -> 1. ASSD = (5 + 3) / 22.
    const r = surfaceDistanceMetrics(truth, pred);
    expectClose(r!.hd95, 1, TOL);
    expectClose(r!.assd, 8 / 22, TOL);
  });

  test('undefined when the prediction or the ground truth is empty', () => {
    const empty = mask(4, 4, []);
    const one = mask(4, 4, [[1, 2, 1, 2]]);
    assert.equal(surfaceDistanceMetrics(empty, one), null);
    assert.equal(surfaceDistanceMetrics(one, empty), null);
    assert.equal(surfaceDistanceMetrics(empty, empty), null);
  });

  test('percentile: numpy linear interpolation', () => {
    expectClose(percentileInPlace(Float64Array.from([4, 1, 3, 2]), 95), 3.85, TOL);
    expectClose(percentileInPlace(Float64Array.from([7]), 95), 7, TOL);
    expectClose(percentileInPlace(Float64Array.from([0, 10]), 50), 5, TOL);
  });

  test('random masks: equal to the brute-force reference', () => {
    const rng = new Rng(15);
    const rand = () => rng.next();
    let defined = 0;
    for (let t = 0; t < 60; t++) {
      const h = 3 + Math.floor(rand() * 14);
      const w = 3 + Math.floor(rand() * 14);
      // Blobs of random density, sometimes empty, sometimes touching the border.
      const density = [0, 0.05, 0.3, 0.6, 0.9][t % 5];
      const make = () => {
        const data = new Uint8Array(h * w);
        for (let i = 0; i < data.length; i++) data[i] = rand() < density ? 1 : 0;
        return { data, height: h, width: w };
      };
      const truth = make();
      const pred = make();
      const want = referenceSurface(truth.data, pred.data, h, w);
      const got = surfaceDistanceMetrics(truth, pred);
      if (want === null) {
        assert.equal(got, null, `case ${t}`);
        continue;
      }
      defined += 1;
      expectClose(got!.hd95, want.hd95, { rtol: 1e-12, atol: 1e-12 }, `case ${t} hd95`);
      expectClose(got!.assd, want.assd, { rtol: 1e-12, atol: 1e-12 }, `case ${t} assd`);
    }
    assert.ok(defined >= 30, `only ${defined} cases had both masks`);
  });

  test('the reference percentile agrees with the hand value', () => {
    expectClose(numpyPercentile([3, 4, 5, 6], 95), 5.85, TOL);
  });
});
