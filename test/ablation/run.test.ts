/**
 * `runAblation` waiting for the units that other processes hold (issue 10, item 13): a unit
 * that its holder finishes counts as finished here (complete, exit 0), a unit released
 * unfinished is trained here, and without waiting a held unit leaves the run incomplete. The
 * "other process" is played by the test: a lock file of another host, and what that process
 * would do to the unit's folder once the run starts waiting.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  runAblation,
  UNIT_SUMMARY,
  type AblationCallbacks,
  type AblationRunOptions,
  type UnitOutcome,
} from '../../src/ablation/run.js';
import { readStudy, unitDir, unitLockFile } from '../../src/ablation/study.js';
import { buildStudyTable } from '../../src/ablation/table_files.js';
import { readTrainRunConfig } from '../../src/run/config.js';
import type { AblationUnit } from '../../src/ablation/units.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

const UNIT: AblationUnit = { variant: 'unet-dl', fold: 0 };
const OTHER = { host: 'other-node', pid: 1, time: '2025-01-01T00:00:00.000Z', token: 'other' };

let root: string;
let n = 0;
before(async () => {
  await useBackend('wasm');
  root = await makeTemp('ftunet-ablation-run-');
});
after(() => removeTemp(root));

/** A tiny study in a new folder, whose one selected unit another host holds. */
async function heldStudy(): Promise<AblationRunOptions> {
  const out = path.join(root, `study-${n++}`);
  await mkdir(path.dirname(unitDir(out, UNIT)), { recursive: true });
  await writeFile(unitLockFile(out, UNIT), JSON.stringify(OTHER));
  return {
    out,
    settings: {
      dataset: 'synthetic-bus',
      syntheticCount: 10,
      folds: 2,
      inputSize: [32, 32],
      width: 0.125,
      bnMomentum: 0.9,
      epochs: 1,
      batchSize: 4,
    },
    selection: { variants: ['unet-dl'], folds: [0] },
    cache: false,
    workers: 1,
    backend: 'wasm',
    packageInfo: { name: 'focal-tversky-unet', version: '0.0.0-test' },
    maxPollIntervalMs: 50,
  };
}

/** Runs the study, recording the unit ends and calling `onWait` (once) when it waits. */
async function run(
  options: AblationRunOptions,
  onWait: () => Promise<void>,
): Promise<{ ends: Array<UnitOutcome['status']>; waits: number; complete: boolean }> {
  const ends: Array<UnitOutcome['status']> = [];
  let waits = 0;
  let acting: Promise<void> | undefined;
  const callbacks: AblationCallbacks = {
    onUnitEnd: (o) => ends.push(o.status),
    onWait: (busy) => {
      assert.deepEqual(
        busy.map((b) => [b.unit, b.heldBy.info?.host]),
        [[UNIT, 'other-node']],
      );
      waits++;
      acting ??= onWait();
    },
  };
  const result = await runAblation(options, callbacks);
  await acting;
  return { ends, waits, complete: result.complete };
}

describe('runAblation: units that other processes hold', () => {
  test('a unit its holder finishes while this run waits counts as finished', async () => {
    const options = await heldStudy();
    const dir = unitDir(options.out, UNIT);
    const r = await run(options, async () => {
      // The other process writes the unit's summary, then releases its lock.
      await mkdir(path.dirname(path.join(dir, UNIT_SUMMARY)), { recursive: true });
      await writeFile(path.join(dir, UNIT_SUMMARY), '{}');
      await rm(unitLockFile(options.out, UNIT));
    });
    assert.deepEqual(r, { ends: ['busy', 'finished-elsewhere'], waits: 1, complete: true });
  });

  test('a unit its holder releases unfinished is trained here', async () => {
    const options = await heldStudy();
    const r = await run(options, () => rm(unitLockFile(options.out, UNIT)));
    assert.deepEqual(r, { ends: ['busy', 'done'], waits: 1, complete: true });
  });

  test('without waiting, a held unit leaves the selection incomplete', async () => {
    const options = await heldStudy();
    const r = await run({ ...options, wait: false }, () => Promise.resolve());
    assert.deepEqual(r, { ends: ['busy'], waits: 0, complete: false });
  });
});

describe('a study with an extra row', () => {
  test("the extra row's unit trains with its augmentation and schedule; the table marks it", async () => {
    const out = path.join(root, 'extra');
    const variant = 'unet-dl+aug-light+cosine';
    const result = await runAblation({
      out,
      settings: {
        dataset: 'synthetic-bus',
        syntheticCount: 10,
        folds: 2,
        inputSize: [32, 32],
        width: 0.125,
        bnMomentum: 0.9,
        epochs: 1,
        batchSize: 4,
        extraVariants: [variant],
      },
      selection: { variants: [variant], folds: [0] },
      cache: false,
      workers: 1,
      backend: 'wasm',
      packageInfo: { name: 'focal-tversky-unet', version: '0.0.0-test' },
    });
    const config = await readTrainRunConfig(unitDir(out, { variant, fold: 0 }));
    assert.equal(config.augment.level, 'light');
    assert.equal(config.schedule.name, 'cosine');
    assert.equal(config.model.name, 'unet');
    const table = await buildStudyTable(await readStudy(out));
    assert.equal(table.rows.length, 8);
    assert.deepEqual(
      [table.rows[7].variant, table.rows[7].paperRow, table.rows[7].folds.done],
      [variant, false, 1],
    );
    assert.equal(result.complete, true, 'the selected unit finished');
  });
});
