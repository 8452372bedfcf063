/**
 * A study table's surface columns never mix units evaluated under different policies for
 * empty masks or spacings (`ablation --empty-distance/--spacing` given to some runs only).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ablationReport } from '../../src/ablation/table_files.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { writeFixtureStudy } from './fixtures.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-ablation-surface-');
});
after(() => removeTemp(root));

describe('surface columns over units evaluated differently', () => {
  test('refused for hd95; the paper columns are still made', async () => {
    const dir = path.join(root, 'study');
    await writeFixtureStudy(dir, 'bus');
    // unet-dl fold 1 evaluated with a penalty; the other units' summaries have no `surface`
    // (written before it: skip, pixels).
    const file = path.join(dir, 'units', 'unet-dl', 'fold-1', 'eval', 'summary.json');
    const summary = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    summary.surface = { emptyDistance: 'penalty:100', spacing: null, unit: 'px' };
    await writeFile(file, JSON.stringify(summary));
    await assert.rejects(ablationReport(dir, { metrics: ['dsc', 'hd95'] }), {
      name: 'UserError',
      message:
        "the units' surface metrics were computed differently (skip, pixels: unet-dl/fold-0, " +
        'unet-dl/fold-2, attn-mi-ftl/fold-2; penalty:100, pixels: unet-dl/fold-1); evaluate ' +
        'them alike (delete their eval/summary.json and run ablation again with the same ' +
        '--empty-distance and --spacing)',
    });
    const paper = await ablationReport(dir);
    assert.deepEqual(paper.table.metrics, ['dsc', 'precision', 'recall']);
  });

  test('units all evaluated with a spacing: the distance columns say mm', async () => {
    const dir = path.join(root, 'study-mm');
    await writeFixtureStudy(dir, 'bus');
    for (const unit of [
      'unet-dl/fold-0',
      'unet-dl/fold-1',
      'unet-dl/fold-2',
      'attn-mi-ftl/fold-2',
    ]) {
      const file = path.join(dir, 'units', ...unit.split('/'), 'eval', 'summary.json');
      const summary = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      summary.surface = { emptyDistance: 'skip', spacing: [0.1, 0.1], unit: 'mm' };
      await writeFile(file, JSON.stringify(summary));
    }
    const report = await ablationReport(dir, { metrics: ['dsc', 'hd95'] });
    assert.equal(report.table.distanceUnit, 'mm');
    assert.match(report.text.md, /\| DSC \| HD95 \(mm\) \| Folds \|/);
  });
});
