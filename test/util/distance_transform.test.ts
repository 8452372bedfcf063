import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { squaredDistanceTransform } from '../../src/util/distance_transform.js';
import { Rng } from '../../src/util/rng.js';

/** Brute force: the squared distance to the nearest site, by looking at every site. */
function bruteForce(sites: Uint8Array, w: number): number[] {
  const list: [number, number][] = [];
  for (let i = 0; i < sites.length; i++) if (sites[i]) list.push([Math.floor(i / w), i % w]);
  return Array.from(sites, (_, i) => {
    const y = Math.floor(i / w);
    const x = i % w;
    return Math.min(Infinity, ...list.map(([v, u]) => (y - v) ** 2 + (x - u) ** 2));
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

  test('size mismatch is an error naming the function', () => {
    assert.throws(
      () => squaredDistanceTransform(new Uint8Array(5), 2, 3),
      /a 2x3 raster needs 6 values, got 5/,
    );
  });
});
