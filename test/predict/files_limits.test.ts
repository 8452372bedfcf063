import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { predictFiles } from '../../src/predict/files.js';
import { greyPattern, makeTemp, removeTemp, writeRaw } from '../data/fixtures.js';
import { thresholdModel } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';

let root: string;
before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-predict-limits-');
  await writeRaw(path.join(root, 'in', 'big.png'), greyPattern(30, 45), 30, 45, 1);
  await writeRaw(path.join(root, 'in', 'small.png'), greyPattern(17, 9), 17, 9, 1);
});
after(() => removeTemp(root));

describe('predictFiles: the pixel limit', () => {
  test('an image over maxPixels is a failure naming its size; the others are predicted', async () => {
    const model = thresholdModel();
    const big = path.join(root, 'in', 'big.png');
    const out = path.join(root, 'out');
    const result = await predictFiles({
      model,
      inputs: [path.join(root, 'in')],
      out,
      maxPixels: 1000,
    });
    model.dispose();
    assert.deepEqual(result.failed, [
      {
        input: big,
        reason:
          'its header gives 30 rows x 45 columns = 0.00135 megapixels, more than the limit of ' +
          '0.001 megapixels; raise the limit with --max-pixels (option maxPixels)',
      },
    ]);
    assert.deepEqual((await readdir(out)).sort(), ['small_mask.png', 'small_overlay.png']);
  });

  test('a bad limit is refused naming the option, before anything is written', async () => {
    const model = thresholdModel();
    await assert.rejects(
      predictFiles({ model, inputs: [root], out: path.join(root, 'never'), maxPixels: 2.5 }),
      {
        name: 'UserError',
        message: 'maxPixels: expected a positive whole number of pixels, got 2.5',
      },
    );
    model.dispose();
    await assert.rejects(readdir(path.join(root, 'never')), { code: 'ENOENT' });
  });
});
