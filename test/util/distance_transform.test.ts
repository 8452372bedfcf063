import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { squaredDistanceTransform } from '../../src/util/distance_transform.js';
import { Rng } from '../../src/util/rng.js';

/**
 * Brute force: the squared distance to the nearest site, by looking at every site, with a
 * pixel of sy x sx (default 1 x 1).
 */
function bruteForce(sites: Uint8Array, w: number, [sy, sx] = [1, 1]): number[] {
  const list: [number, number][] = [];
  for (let i = 0; i < sites.length; i++) if (sites[i]) list.push([Math.floor(i / w), i % w]);
  return Array.from(sites, (_, i) => {
    const y = Math.floor(i / w);
    const x = i % w;
    return Math.min(Infinity, ...list.map(([v, u]) => (sy * (y - v)) ** 2 + (sx * (x - u)) ** 2));
  });
}

describe('squaredDistanceTransform', () => {
  test('hand-worked: one site in a 3x4 raster', () => {
    const sites = new Uint8Array(12);
    sites[1 * 4 + 2] = 1;
    assert.deepEqual(
      Array.from(squaredDistanceTransform(sites, 3, 4)),
      [5, 2, 1, 2, 4, 1, 0, 1, 5, 2, 1, 2],
    );
  });

  test('no site: Infinity everywhere', () => {
    assert.ok(
      Array.from(squaredDistanceTransform(new Uint8Array(6), 2, 3)).every((v) => v === Infinity),
    );
  });

  test('random rasters, sparse to dense, columns without sites: exact', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 80; t++) {
      const h = 1 + rng.int(20);
      const w = 1 + rng.int(20);
      const p = [0.005, 0.02, 0.1, 0.5, 0.95][t % 5];
      const sites = new Uint8Array(h * w);
      for (let i = 0; i < sites.length; i++) sites[i] = rng.chance(p) ? 1 : 0;
      assert.deepEqual(
        Array.from(squaredDistanceTransform(sites, h, w)),
        bruteForce(sites, w),
        `case ${t} (${h}x${w})`,
      );
    }
  });

  test('hand-worked, anisotropic: one site, rows 2 units apart and columns 1', () => {
    // Site (1, 2) of a 3x4 raster, spacing [2, 1]: (2 dy)^2 + dx^2.
    const sites = new Uint8Array(12);
    sites[1 * 4 + 2] = 1;
    assert.deepEqual(
      Array.from(squaredDistanceTransform(sites, 3, 4, [2, 1])),
      [8, 5, 4, 5, 4, 1, 0, 1, 8, 5, 4, 5],
    );
  });

  test('hand-worked, anisotropic: the spacing decides which site is nearest', () => {
    // Sites A (0, 0) and B (2, 2) of a 3x3 raster. Pixel (0, 2) is 2 columns from A and 2 rows
    // from B: with [1, 3] B is nearer (2^2 = 4 against (3*2)^2 = 36), with [3, 1] A is (4 against
    // 36). The whole raster with [1, 3]: (0,1): A 9, B 4 + 9; (1,1): 1 + 9 from both; ...
    const sites = new Uint8Array(9);
    sites[0] = 1;
    sites[8] = 1;
    assert.deepEqual(
      Array.from(squaredDistanceTransform(sites, 3, 3, [1, 3])),
      [0, 9, 4, 1, 10, 1, 4, 9, 0],
    );
    assert.deepEqual(
      Array.from(squaredDistanceTransform(sites, 3, 3, [3, 1])),
      [0, 1, 4, 9, 10, 9, 4, 1, 0],
    );
  });

  test('random rasters with anisotropic spacings: the brute force within float rounding', () => {
    const rng = new Rng(11);
    const spacings: [number, number][] = [
      [0.5, 1.7],
      [3, 0.25],
      [0.1, 0.1],
      [1, 2],
    ];
    for (let t = 0; t < 60; t++) {
      const h = 1 + rng.int(16);
      const w = 1 + rng.int(16);
      const spacing = spacings[t % spacings.length];
      const sites = new Uint8Array(h * w);
      for (let i = 0; i < sites.length; i++) sites[i] = rng.chance([0.02, 0.1, 0.5][t % 3]) ? 1 : 0;
      const got = squaredDistanceTransform(sites, h, w, spacing);
      const want = bruteForce(sites, w, spacing);
      for (let i = 0; i < want.length; i++) {
        // Sums of two products of the spacings: a few ulps apart at most.
        const ok =
          want[i] === Infinity
            ? got[i] === Infinity
            : Math.abs(got[i] - want[i]) <= 1e-12 * (1 + want[i]);
        assert.ok(
          ok,
          `case ${t} (${h}x${w}, ${spacing.join('x')}) pixel ${i}: ${got[i]} vs ${want[i]}`,
        );
      }
    }
  });

  test('a spacing that is not two numbers > 0 is refused', () => {
    assert.throws(
      () => squaredDistanceTransform(new Uint8Array(6), 2, 3, [0, 1]),
      /spacing must be two positive numbers, got 0,1/,
    );
  });

  test('size mismatch is an error naming the function', () => {
    assert.throws(
      () => squaredDistanceTransform(new Uint8Array(5), 2, 3),
      /a 2x3 raster needs 6 values, got 5/,
    );
  });
});
