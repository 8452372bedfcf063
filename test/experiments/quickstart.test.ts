import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { quickstart, QUICKSTART_MARKER } from '../../src/experiments/quickstart.js';
import { useBackend } from '../helpers.js';

describe('quickstart', () => {
  let root: string;
  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-quick-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  test('trains, evaluates and writes summary.json with mean and std per metric', async () => {
    const out = path.join(root, 'quick');
    const options = {
      out,
      backend: 'wasm',
      packageInfo: { name: 'x', version: 'test' },
      epochs: 1,
      count: 8,
    };
    const first = await quickstart(options);
    assert.equal(first.train.logs.length, 1);
    const summary = JSON.parse(
      await readFile(path.join(out, 'eval', 'summary.json'), 'utf8'),
    ) as Record<string, { mean: number; std: number }>;
    for (const key of ['dsc', 'precision', 'recall']) {
      assert.equal(typeof summary[key].mean, 'number', key);
      assert.equal(typeof summary[key].std, 'number', key);
    }
    // 8 items: 25% test → 2 test images.
    assert.equal(first.evaluation.rows.length, 2);
    const config = JSON.parse(await readFile(path.join(out, 'config.json'), 'utf8')) as {
      model: { name: string; inputShape: number[] };
      loss: { name: string };
    };
    assert.equal(config.model.name, 'attn_reg');
    assert.deepEqual(config.model.inputShape, [64, 64, 1]);
    assert.equal(config.loss.name, 'ftl');

    // A second quick start replaces the first run and keeps its data.
    const second = await quickstart(options);
    assert.equal(second.train.logs.length, 1);
    assert.ok((await readdir(out)).includes('data'));
    assert.ok((await readdir(out)).includes(QUICKSTART_MARKER));
  });
});
