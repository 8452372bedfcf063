/**
 * An ablation unit is a run folder, so its training takes the run's lock (`train.lock`) inside
 * the unit's own lock (`fold-<k>.lock`): the two never block each other, and a unit taken over
 * from a process that died on another machine is not refused by that process's run lock, which
 * goes stale after the study's --lock-timeout as the unit's lock does.
 */
import assert from 'node:assert/strict';
import { utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runAblation, type AblationRunOptions, type UnitOutcome } from '../../src/ablation/run.js';
import { unitDir, unitLockFile } from '../../src/ablation/study.js';
import type { AblationUnit } from '../../src/ablation/units.js';
import { InterruptedError } from '../../src/errors.js';
import { pathExists } from '../../src/io/atomic.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

const UNIT: AblationUnit = { variant: 'unet-dl', fold: 0 };
const MINUTE = 60_000;

let root: string;
before(async () => {
  await useBackend('wasm');
  root = await makeTemp('ftunet-ablation-run-lock-');
});
after(() => removeTemp(root));

describe('the run lock of an ablation unit', () => {
  test("a unit left by a process that died elsewhere resumes past that process's run lock", async () => {
    const options: AblationRunOptions = {
      out: path.join(root, 'study'),
      settings: {
        dataset: 'synthetic-bus',
        syntheticCount: 10,
        folds: 2,
        inputSize: [32, 32],
        width: 0.125,
        bnMomentum: 0.9,
        epochs: 2,
        batchSize: 4,
      },
      selection: { variants: ['unet-dl'], folds: [0] },
      cache: false,
      workers: 1,
      backend: 'wasm',
      packageInfo: { name: 'focal-tversky-unet', version: '0.0.0-test' },
      lockTimeoutMs: 30 * MINUTE,
    };
    // The first process stops after the unit's first epoch (as a kill would, minus the locks).
    let epochs = 0;
    await assert.rejects(
      runAblation(options, {
        onEpoch: () => epochs++,
        shouldStop: () => epochs >= 1,
      }),
      InterruptedError,
    );
    const dir = unitDir(options.out, UNIT);
    assert.equal(await pathExists(path.join(dir, 'train.lock')), false, 'released on the way out');
    // What a process that died on another host leaves: both locks, last refreshed an hour ago.
    const other = { host: 'other-node', pid: 1, time: '2025-01-01T00:00:00.000Z', token: 'gone' };
    const hourAgo = new Date(Date.now() - 60 * MINUTE);
    for (const file of [unitLockFile(options.out, UNIT), path.join(dir, 'train.lock')]) {
      await writeFile(file, JSON.stringify(other));
      await utimes(file, hourAgo, hourAgo);
    }
    const warnings: string[] = [];
    const ends: Array<[UnitOutcome['status'] | 'start', string?]> = [];
    const result = await runAblation(options, {
      onWarning: (w) => warnings.push(w),
      onUnitStart: (_u, _i, _n, action) => ends.push(['start', action]),
      onUnitEnd: (o) => ends.push([o.status, o.status === 'failed' ? o.message : undefined]),
    });
    assert.deepEqual(ends, [
      ['start', 'resume'],
      ['done', undefined],
    ]);
    assert.equal(result.complete, true);
    assert.deepEqual(warnings, [
      'unet-dl/fold-0: took over a stale lock (not refreshed for 1h (timeout 30m))',
      `took over the stale lock ${path.join(dir, 'train.lock')}: not refreshed for 1h (timeout 30m)`,
    ]);
    assert.equal(await pathExists(path.join(dir, 'train.lock')), false);
  });
});
