import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mapLimit } from '../../src/util/concurrency.js';

describe('mapLimit', () => {
  test('keeps input order and never exceeds the limit', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (v, i) => {
      running++;
      peak = Math.max(peak, running);
      // Later items finish first when their value is smaller: order must still hold.
      for (let k = 0; k < v; k++) await Promise.resolve();
      running--;
      return `${i}:${v}`;
    });
    assert.deepEqual(out, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0']);
    assert.equal(peak, 2);
  });

  test('rejects with the first error and starts nothing after it', async () => {
    const started: number[] = [];
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4], 1, async (v) => {
        started.push(v);
        if (v === 1) throw new Error('boom');
        return v;
      }),
      { message: 'boom' },
    );
    assert.deepEqual(started, [0, 1]);
  });

  test('an empty list gives an empty result', async () => {
    assert.deepEqual(await mapLimit([], 4, async () => 1), []);
  });
});
