import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labelComponents, parseMinSize, postprocessMask } from '../../src/util/components.js';
import { Rng } from '../../src/util/rng.js';

const m = (rows: string[]) => ({
  data: Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0)),
  height: rows.length,
  width: rows[0].length,
});
const show = (mask: { data: Uint8Array; width: number }) =>
  Array.from({ length: mask.data.length / mask.width }, (_, y) =>
    Array.from(mask.data.subarray(y * mask.width, (y + 1) * mask.width), (v) =>
      v ? '#' : '.',
    ).join(''),
  );

/** Component sizes by flood fill over the 8 neighbours, sorted (an independent reference). */
function floodSizes(mask: { data: Uint8Array; height: number; width: number }): number[] {
  const { data, height: h, width: w } = mask;
  const seen = new Uint8Array(data.length);
  const sizes: number[] = [];
  for (let s = 0; s < data.length; s++) {
    if (!data[s] || seen[s]) continue;
    let n = 0;
    const stack = [s];
    seen[s] = 1;
    while (stack.length > 0) {
      const i = stack.pop()!;
      n++;
      const y = Math.floor(i / w);
      const x = i % w;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const v = y + dy;
          const u = x + dx;
          if (v < 0 || v >= h || u < 0 || u >= w) continue;
          const j = v * w + u;
          if (data[j] && !seen[j]) {
            seen[j] = 1;
            stack.push(j);
          }
        }
      }
    }
    sizes.push(n);
  }
  return sizes.sort((a, b) => a - b);
}

describe('connected components and post-processing', () => {
  test('8-connected: diagonal neighbours join; a U shape merges late', () => {
    const mask = m(['#..#.', '.#.#.', '..##.', '.....', '#...#']);
    const { count, sizes } = labelComponents(mask);
    assert.equal(count, 3);
    assert.deepEqual(
      sizes.slice(1).sort((a, b) => a - b),
      [1, 1, 6],
    );
  });

  test('keep largest: only the largest component stays', () => {
    const mask = m(['##..#', '##...', '.....', '...##', '#..##']);
    // Components: 4 (top-left), 1 (top-right), 4 (bottom-right), 1 (bottom-left): the tie goes
    // to the first in raster order.
    assert.deepEqual(show(postprocessMask(mask, { keepLargest: true })), [
      '##...',
      '##...',
      '.....',
      '.....',
      '.....',
    ]);
  });

  test('min size: components under n pixels are dropped; with keep largest too', () => {
    const mask = m(['#.###', '.....', '##...', '##..#']);
    assert.deepEqual(show(postprocessMask(mask, { minSize: 3 })), [
      '..###',
      '.....',
      '##...',
      '##...',
    ]);
    assert.deepEqual(show(postprocessMask(mask, { minSize: 4, keepLargest: true })), [
      '.....',
      '.....',
      '##...',
      '##...',
    ]);
    assert.deepEqual(show(postprocessMask(mask, { minSize: 5 })), [
      '.....',
      '.....',
      '.....',
      '.....',
    ]);
    assert.deepEqual(show(postprocessMask(mask, {})), show(mask));
    assert.deepEqual(show(postprocessMask(m(['...']), { keepLargest: true })), ['...']);
  });

  test('random masks: sizes equal a flood fill; keep largest keeps the largest size', () => {
    const rng = new Rng(3);
    for (let t = 0; t < 40; t++) {
      const h = 1 + rng.int(15);
      const w = 1 + rng.int(15);
      const data = new Uint8Array(h * w);
      for (let i = 0; i < data.length; i++) data[i] = rng.chance(0.45) ? 1 : 0;
      const mask = { data, height: h, width: w };
      const want = floodSizes(mask);
      const got = labelComponents(mask);
      assert.deepEqual(
        got.sizes.slice(1).sort((a, b) => a - b),
        want,
        `case ${t}`,
      );
      const kept = postprocessMask(mask, { keepLargest: true });
      assert.deepEqual(floodSizes(kept), want.length ? [want[want.length - 1]] : [], `case ${t}`);
      // Kept pixels are a subset of the mask.
      assert.ok(kept.data.every((v, i) => v <= data[i]));
    }
  });

  test('--min-size parsing', () => {
    assert.equal(parseMinSize('25'), 25);
    assert.throws(
      () => parseMinSize('-1'),
      /--min-size: expected a whole number of pixels >= 0, got '-1'/,
    );
    assert.throws(() => parseMinSize('2.5'), /got '2.5'/);
  });
});
