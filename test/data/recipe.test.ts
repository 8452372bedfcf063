import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_THRESHOLD,
  postprocess,
  PREDICTION_RECIPE_SCHEMA,
  predictionRecipe,
  preprocess,
  preprocessMask,
  toInput,
} from '../../src/data/recipe.js';
import { parseWith } from '../../src/util/schema.js';

describe('the prediction recipe', () => {
  test('defaults: nearest, threshold 0.5, divide by 255, no post-processing', () => {
    assert.deepEqual(predictionRecipe({ inputShape: [2, 3, 1] }), {
      inputShape: [2, 3, 1],
      scaling: 'divide-by-255',
      interpolation: 'nearest',
      threshold: DEFAULT_THRESHOLD,
      maskResize: 'nearest',
      output: 'final',
      postprocess: { keepLargest: false, minSize: 0 },
    });
  });

  test('bad options are one line naming the option', () => {
    assert.throws(() => predictionRecipe({ inputShape: [2, 2, 1], threshold: 2 }), {
      name: 'UserError',
      message: 'threshold must be a number from 0 to 1, got 2',
    });
    assert.throws(() => predictionRecipe({ inputShape: [2, 2, 2] }), {
      message: 'the model takes 2-channel images; only 1 (grey) and 3 (RGB) are supported',
    });
    assert.throws(
      () => predictionRecipe({ inputShape: [2, 2, 1], interpolation: 'cubic' as 'nearest' }),
      {
        message: "interpolation: unknown interpolation 'cubic'; expected one of nearest, bilinear",
      },
    );
  });

  test('preprocess: RGBA to grey (alpha dropped, BT.601 integer luma), then resized', () => {
    // One row of two pixels: red and blue, alpha ignored. Luma: (19595 * 255 + 32768) >> 16 = 76,
    // (7471 * 255 + 32768) >> 16 = 29.
    const image = {
      data: Uint8Array.from([255, 0, 0, 9, 0, 0, 255, 9]),
      height: 1,
      width: 2,
      channels: 4,
    };
    const x = preprocess({ inputShape: [2, 4, 1], interpolation: 'nearest' }, image);
    assert.deepEqual([x.height, x.width, x.channels], [2, 4, 1]);
    assert.deepEqual([...x.data], [76, 76, 29, 29, 76, 76, 29, 29]);
    const bilinear = preprocess({ inputShape: [1, 4, 1], interpolation: 'bilinear' }, image);
    // Half-pixel centres: 76, 76 + (29 - 76) / 4, 76 + 3 (29 - 76) / 4, 29, rounded.
    assert.deepEqual([...bilinear.data], [76, 64, 41, 29]);
  });

  test('preprocessMask resizes with nearest neighbour', () => {
    const mask = { data: Uint8Array.from([1, 0]), height: 1, width: 2 };
    assert.deepEqual([...preprocessMask({ inputShape: [1, 4, 1] }, mask).data], [1, 1, 0, 0]);
  });

  test('toInput divides by 255, image after image; images of another size are refused', () => {
    const a = { data: Uint8Array.from([0, 255]), height: 1, width: 2, channels: 1 };
    const b = { data: Uint8Array.from([51, 102]), height: 1, width: 2, channels: 1 };
    const x = toInput({ scaling: 'divide-by-255' }, [a, b]);
    assert.deepEqual([...x], [0, 1, Math.fround(0.2), Math.fround(0.4)]);
    assert.throws(
      () =>
        toInput({ scaling: 'divide-by-255' }, [a, { ...b, width: 1, data: b.data.subarray(1) }]),
      {
        message: 'the images of a batch differ in size: image 1 is 1x1x1, image 0 is 1x2x1',
      },
    );
  });

  test('postprocess: lesion where p > threshold, resized back with nearest, then post-processed', () => {
    // 2x2 probabilities; p = threshold is background.
    const p = [0.9, 0.5, 0.2, 0.7];
    const recipe = predictionRecipe({ inputShape: [2, 2, 1] });
    const { mask, inputMask } = postprocess(recipe, p, [4, 4]);
    assert.deepEqual([...inputMask.data], [1, 0, 0, 1]);
    assert.deepEqual([...mask.data], [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1]);
    // 8-connected, the two squares are one component: dropping components under 9 pixels
    // removes it, keep-largest keeps it.
    const dropped = postprocess(
      { ...recipe, postprocess: { keepLargest: false, minSize: 9 } },
      p,
      [4, 4],
    );
    assert.deepEqual([...dropped.mask.data], new Array(16).fill(0));
    const largest = postprocess(
      { ...recipe, postprocess: { keepLargest: true, minSize: 0 } },
      p,
      [4, 4],
    );
    assert.deepEqual([...largest.mask.data], [...mask.data]);
    assert.throws(() => postprocess(recipe, [0.1, 0.2, 0.3], [4, 4]), {
      message: 'a 2x2 probability map needs 4 values, got 3',
    });
  });

  test('the schema reads back what predictionRecipe makes and names a wrong field', () => {
    const recipe = predictionRecipe({
      inputShape: [8, 6, 3],
      threshold: 0.3,
      interpolation: 'bilinear',
    });
    assert.deepEqual(
      parseWith(PREDICTION_RECIPE_SCHEMA, JSON.parse(JSON.stringify(recipe)), 'r'),
      recipe,
    );
    assert.throws(
      () => parseWith(PREDICTION_RECIPE_SCHEMA, { ...recipe, inputShape: [8, 6, 4] }, 'r.json'),
      { message: 'r.json: "inputShape" must be [rows, cols, 1 or 3], got [8,6,4]' },
    );
  });
});
