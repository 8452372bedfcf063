/**
 * `ftunet quickstart --out DIR` over a folder that holds a real run of `ftunet train` (config,
 * checkpoint, best/, eval/ and report, made by the built CLI on a tiny configuration) refuses
 * it in one line with exit code 2 and leaves every file byte for byte as it was (issue 10,
 * item 1). The folder rules themselves are tested in test/experiments/quickstart_dir.test.ts.
 */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { hashTree } from '../experiments/tree.js';
import { runCli } from './run.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-cli-quickstart-');
});
after(() => removeTemp(root));

describe('ftunet quickstart --out', () => {
  test('refuses a train run in one line, exit 2, and leaves it untouched', async () => {
    const run = path.join(root, 'run');
    const trained = runCli(
      (
        `train --dataset synthetic-bus --count 8 --input-size 32,32 --width 0.125 --epochs 1 ` +
        `--batch-size 4 --workers 1 --backend wasm --no-cache --quiet --out ${run}`
      ).split(' '),
    );
    assert.equal(trained.code, 0, trained.stderr);
    const evaluated = runCli(['evaluate', '--run', run, '--workers', '1', '--backend', 'wasm']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const entries = await readdir(run);
    for (const e of ['config.json', 'best', 'checkpoint', 'eval', 'report.html']) {
      assert.ok(entries.includes(e), `the train run has ${e}`);
    }
    const before = await hashTree(run);

    const r = runCli(['quickstart', '--out', run, '--backend', 'wasm']);
    assert.deepEqual(
      [r.code, r.stdout, r.stderr],
      [
        2,
        '',
        `ftunet: --out ${run} is not a quick-start run (no quickstart.json; it holds best, ` +
          'checkpoint, config.json, eval, log.csv and 3 more): choose another --out\n',
      ],
    );
    assert.deepEqual(await hashTree(run), before);
  });
});
