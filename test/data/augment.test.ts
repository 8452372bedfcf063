/**
 * Augmentation: flips and quarter turns move pixels exactly; every spatial transform moves a
 * mask drawn from the image's own pixels with the image; intensity transforms leave the mask
 * alone; the draws depend on the seed only; levels, presets and single settings combine.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AUGMENT_LEVEL_TABLE,
  AUGMENT_TRANSFORMS,
  augmentPair,
  augmentSeed,
  augmentSource,
  checkAugmentConfig,
  DEFAULT_TRANSFORM_MAGNITUDES,
  isAugmenting,
  parseTransformSetting,
  resolveAugmentConfig,
  type AugmentConfig,
  type AugmentTransform,
  type ItemPair,
  type ItemShape,
} from '../../src/data/augment.js';
import { DATASET_PRESETS } from '../../src/data/presets.js';
import { Rng } from '../../src/util/rng.js';

/** Only `on` transforms, each with probability 1 (and the given magnitudes). */
function only(on: Partial<Record<AugmentTransform, number>>): AugmentConfig {
  const config = resolveAugmentConfig('none');
  for (const [name, magnitude] of Object.entries(on)) {
    config[name as AugmentTransform] = { p: 1, magnitude };
  }
  return config;
}

/** A grey image of distinct values 0..rows*cols-1 (mod 256) and a mask of its odd pixels. */
function ramp(rows: number, cols: number): ItemPair {
  const image = new Uint8Array(rows * cols).map((_, i) => i % 256);
  const mask = image.map((v) => v % 2);
  return { image, mask };
}

/** numpy's rot90 (counter-clockwise) of an HWC array, k times. */
function rot90(data: Uint8Array, shape: ItemShape, k: number): Uint8Array {
  let out = data;
  const n = shape.rows;
  for (let t = 0; t < k; t++) {
    const next = new Uint8Array(out.length);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        for (let ch = 0; ch < shape.channels; ch++) {
          next[(r * n + c) * shape.channels + ch] =
            out[(c * n + (n - 1 - r)) * shape.channels + ch];
        }
      }
    }
    out = next;
  }
  return out;
}

function mirror(data: Uint8Array, shape: ItemShape, axis: 'h' | 'v'): Uint8Array {
  const { rows, cols, channels } = shape;
  const out = new Uint8Array(data.length);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const sr = axis === 'v' ? rows - 1 - r : r;
      const sc = axis === 'h' ? cols - 1 - c : c;
      for (let ch = 0; ch < channels; ch++) {
        out[(r * cols + c) * channels + ch] = data[(sr * cols + sc) * channels + ch];
      }
    }
  }
  return out;
}

describe('flips and quarter turns are exact', () => {
  test('numpy rot90 of [[1,2],[3,4]] is [[2,4],[1,3]] (the reference the tests use)', () => {
    assert.deepEqual(
      [...rot90(Uint8Array.of(1, 2, 3, 4), { rows: 2, cols: 2, channels: 1 }, 1)],
      [2, 4, 1, 3],
    );
  });

  test('a horizontal flip mirrors the columns of an RGB image and its mask', () => {
    const shape = { rows: 3, cols: 5, channels: 3 };
    const image = new Uint8Array(45).map((_, i) => i);
    const mask = new Uint8Array(15).map((_, i) => (i * 7) % 2);
    const out = augmentPair({ image, mask }, shape, only({ flipH: 0 }), new Rng(1));
    assert.deepEqual(out.image, mirror(image, shape, 'h'));
    assert.deepEqual(out.mask, mirror(mask, { ...shape, channels: 1 }, 'h'));
  });

  test('a vertical flip mirrors the rows, and two flips give the item back', () => {
    const shape = { rows: 4, cols: 3, channels: 1 };
    const pair = ramp(4, 3);
    const once = augmentPair(pair, shape, only({ flipV: 0 }), new Rng(2));
    assert.deepEqual(once.image, mirror(pair.image, shape, 'v'));
    assert.deepEqual(once.mask, mirror(pair.mask, shape, 'v'));
    const twice = augmentPair(once, shape, only({ flipV: 0 }), new Rng(3));
    assert.deepEqual(twice, pair);
  });

  test('quarter turns of a square item are numpy rot90, the same k for image and mask', () => {
    const shape = { rows: 6, cols: 6, channels: 1 };
    const pair = ramp(6, 6);
    const seen = new Set<number>();
    for (let seed = 0; seed < 20; seed++) {
      const out = augmentPair(pair, shape, only({ rot90: 0 }), new Rng(seed));
      const k = [1, 2, 3].find((j) =>
        rot90(pair.image, shape, j).every((v, i) => v === out.image[i]),
      );
      assert.ok(k !== undefined, `seed ${seed}: the image is a quarter, half or 3/4 turn`);
      assert.deepEqual(
        out.mask,
        rot90(pair.mask, shape, k),
        `seed ${seed}: the mask turned by ${k}`,
      );
      seen.add(k);
    }
    assert.deepEqual([...seen].sort(), [1, 2, 3], 'all three turns are drawn');
  });

  test('a non-square item only turns half way (its shape stays)', () => {
    const shape = { rows: 4, cols: 6, channels: 1 };
    const pair = ramp(4, 6);
    const out = augmentPair(pair, shape, only({ rot90: 0 }), new Rng(9));
    assert.deepEqual(out.image, mirror(mirror(pair.image, shape, 'h'), shape, 'v'));
    assert.deepEqual(out.mask, mirror(mirror(pair.mask, shape, 'h'), shape, 'v'));
  });
});

describe('the mask stays on the image', () => {
  // A blocky image (8x8 blocks of 0 or 255) and the mask drawn from its own pixels.
  const shape = { rows: 48, cols: 40, channels: 1 };
  const image = new Uint8Array(48 * 40);
  const blocks = new Rng(77);
  const value = Array.from({ length: 6 * 5 }, () => (blocks.chance(0.5) ? 255 : 0));
  for (let r = 0; r < 48; r++) {
    for (let c = 0; c < 40; c++)
      image[r * 40 + c] = value[Math.floor(r / 8) * 5 + Math.floor(c / 8)];
  }
  const mask = image.map((v) => (v > 127 ? 1 : 0));

  const cases: Array<[string, Partial<Record<AugmentTransform, number>>]> = [
    ['rotation', { rotate: 30 }],
    ['scaling', { scale: 0.3 }],
    ['elastic deformation', { elastic: 4 }],
    ['everything spatial at once', { flipH: 0, flipV: 0, rotate: 25, scale: 0.2, elastic: 3 }],
  ];
  for (const [what, on] of cases) {
    test(`${what}: wherever the image is pure 0 or 255, the mask is its threshold`, () => {
      for (let seed = 0; seed < 5; seed++) {
        const out = augmentPair({ image, mask }, shape, only(on), new Rng(seed));
        let pure = 0;
        let moved = 0;
        out.image.forEach((v, i) => {
          if (v !== image[i]) moved++;
          if (v !== 0 && v !== 255) return;
          pure++;
          assert.equal(out.mask[i], v === 255 ? 1 : 0, `seed ${seed}, pixel ${i}`);
        });
        assert.ok(moved > 20, `seed ${seed}: the transform moved the image (${moved} pixels)`);
        // Block edges blur under bilinear sampling; most pixels stay inside a block.
        assert.ok(pure > 0.6 * out.image.length, `seed ${seed}: ${pure} pure pixels`);
      }
    });
  }

  test('intensity transforms change the image and never the mask', () => {
    const on = { noise: 0.05, blur: 1, brightness: 0.1, contrast: 0.3, gamma: 0.4 };
    const grey = new Uint8Array(image.length).map((_, i) => 60 + (i % 120));
    const out = augmentPair({ image: grey, mask }, shape, only(on), new Rng(4));
    assert.equal(out.mask, mask, 'the same mask array');
    assert.ok(out.image.some((v, i) => v !== grey[i]));
  });
});

describe('seeding', () => {
  const shape = { rows: 16, cols: 16, channels: 3 };
  const pair = {
    image: new Uint8Array(768).map((_, i) => (i * 37) % 256),
    mask: ramp(16, 16).mask,
  };
  const heavy = AUGMENT_LEVEL_TABLE.heavy;

  test('the same seed gives the same item; another seed another', () => {
    const a = augmentPair(pair, shape, heavy, new Rng(augmentSeed(5, 2, 7)));
    const b = augmentPair(pair, shape, heavy, new Rng(augmentSeed(5, 2, 7)));
    assert.deepEqual(a, b);
    const others = [augmentSeed(5, 3, 7), augmentSeed(5, 2, 8), augmentSeed(6, 2, 7)];
    for (const seed of others) {
      assert.notDeepEqual(augmentPair(pair, shape, heavy, new Rng(seed)).image, a.image);
    }
  });

  test('augmentSource augments item k with seeds[k] and leaves the source alone', () => {
    const source = {
      count: 2,
      inputSize: [16, 16] as [number, number],
      channels: 3 as const,
      images: [pair.image, pair.image.map((v) => 255 - v)],
      masks: [pair.mask, pair.mask],
    };
    const copy = source.images.map((x) => x.slice());
    const out = augmentSource(source, [1, 0, 1], heavy, [11, 12, 13]);
    assert.equal(out.count, 3);
    const expected = augmentPair(
      { image: source.images[1], mask: source.masks[1] },
      shape,
      heavy,
      new Rng(13),
    );
    assert.deepEqual(out.images[2], expected.image);
    assert.deepEqual(out.masks[2], expected.mask);
    assert.deepEqual(source.images, copy);
  });
});

describe('settings', () => {
  test('none augments nothing; every other level does', () => {
    assert.equal(isAugmenting(resolveAugmentConfig('none')), false);
    for (const level of ['light', 'default', 'heavy'] as const) {
      assert.ok(isAugmenting(resolveAugmentConfig(level)), level);
    }
  });

  test("BUS's preset drops the vertical flip and the quarter turn; a flag brings one back", () => {
    const bus = resolveAugmentConfig('heavy', DATASET_PRESETS.bus.augmentExclude);
    assert.deepEqual(bus.flipV, { p: 0, magnitude: 0 });
    assert.deepEqual(bus.rot90, { p: 0, magnitude: 0 });
    assert.deepEqual(bus.flipH, AUGMENT_LEVEL_TABLE.heavy.flipH);
    const isic = resolveAugmentConfig('heavy', DATASET_PRESETS.isic2018.augmentExclude);
    assert.deepEqual(isic.flipV, AUGMENT_LEVEL_TABLE.heavy.flipV);
    const asked = resolveAugmentConfig('default', DATASET_PRESETS.bus.augmentExclude, {
      flipV: { p: 0.25 },
      rotate: { p: 1, magnitude: 5 },
      elastic: { p: 0.5 },
    });
    assert.deepEqual(asked.flipV, { p: 0.25, magnitude: 0 });
    assert.deepEqual(asked.rotate, { p: 1, magnitude: 5 });
    // The default level has no elastic deformation: a probability alone takes its own default size.
    assert.deepEqual(asked.elastic, { p: 0.5, magnitude: DEFAULT_TRANSFORM_MAGNITUDES.elastic });
  });

  test('transform settings parse as P or P:M, with the flag in errors', () => {
    assert.deepEqual(parseTransformSetting('0.5', '--aug-flip-h'), { p: 0.5 });
    assert.deepEqual(parseTransformSetting('0.2:15', '--aug-rotate'), { p: 0.2, magnitude: 15 });
    assert.throws(
      () => parseTransformSetting('2', '--aug-rotate'),
      /^UserError: --aug-rotate: expected a probability in \[0, 1\], optionally ':' and a magnitude >= 0 \(e\.g\. 0\.5 or 0\.2:15\), got '2'$/,
    );
    assert.throws(() => parseTransformSetting('0.5:-1', '--aug-blur'), /--aug-blur: expected/);
  });

  test('a recorded augmentation is checked transform by transform', () => {
    const config = resolveAugmentConfig('light');
    assert.deepEqual(checkAugmentConfig(JSON.parse(JSON.stringify(config)), 'config.json'), config);
    const bad = { ...config, gamma: { p: 2, magnitude: 0 } };
    assert.throws(
      () => checkAugmentConfig(bad, 'config.json'),
      /^UserError: config\.json: "augment\.gamma" must be \{"p": <0 to 1>, "magnitude": <number >= 0>\}, got \{"p":2,"magnitude":0\}$/,
    );
    assert.equal(AUGMENT_TRANSFORMS.length, Object.keys(config).length);
    assert.throws(
      () => checkAugmentConfig('light', 'config.json'),
      /^UserError: config\.json: "augment" must be an object, got "light"$/,
    );
    const { gamma: _, ...withoutGamma } = config;
    assert.throws(
      () => checkAugmentConfig(withoutGamma, 'config.json'),
      /^UserError: config\.json: "augment\.gamma" is missing$/,
    );
    // Only p and magnitude are kept.
    const extra = { ...config, flipH: { ...config.flipH, note: 'x' } };
    assert.deepEqual(checkAugmentConfig(extra, 'config.json'), config);
  });
});
