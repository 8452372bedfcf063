/**
 * Study folders on disk: the merged report from hand-made unit folders (files written, numbers
 * as worked by hand in fixtures.ts), what a unit folder holds (`inspectUnit`), and opening a
 * study: one split made once, settings checked, concurrent openers taking turns.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ablationReport,
  parseReportFormat,
  readUnitResult,
} from '../../src/ablation/table_files.js';
import { pathExists } from '../../src/io/atomic.js';
import { inspectUnit } from '../../src/ablation/run.js';
import { openStudy, readStudy } from '../../src/ablation/study.js';
import type { AblationTable } from '../../src/ablation/table.js';
import { unitAction } from '../../src/ablation/units.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { writeBusItems } from '../eval/fixtures.js';
import { expectClose } from '../helpers.js';
import { FIXTURE_EXTRA_STATS, FIXTURE_STATS, writeFixtureStudy } from './fixtures.js';

let root: string;
before(async () => {
  root = await makeTemp('ftunet-ablation-');
});
after(() => removeTemp(root));

const PACKAGE = { name: 'focal-tversky-unet', version: '0.0.0-test' };

describe('ablationReport', () => {
  test('reads the finished units, writes report/ablation.md, .csv and .json', async () => {
    const dir = path.join(root, 'report-bus');
    await writeFixtureStudy(dir, 'synthetic-bus');
    const report = await ablationReport(dir);
    const reportDir = path.join(dir, 'report');
    assert.deepEqual(report.files, {
      md: path.join(reportDir, 'ablation.md'),
      csv: path.join(reportDir, 'ablation.csv'),
      json: path.join(reportDir, 'ablation.json'),
    });
    for (const format of ['md', 'csv', 'json'] as const) {
      assert.equal(await readFile(report.files[format], 'utf8'), report.text[format]);
    }
    const json = JSON.parse(report.text.json) as AblationTable;
    for (const [variant, metric, mean, std] of FIXTURE_STATS) {
      const row = json.rows.find((r) => r.variant === variant)!;
      expectClose([row[metric]!.mean, row[metric]!.std], [mean, std], { rtol: 1e-12, atol: 1e-12 });
    }
    assert.deepEqual(
      json.rows[0].perFold.map((f) => f.count),
      [10, 11, 12],
    );
    assert.equal(json.missing.length, 16);
    assert.equal(json.paper?.forReferenceOnly, true);
    assert.deepEqual(json.rows[6].paper?.dsc, { mean: 0.804, std: 0.024 });
    assert.match(
      report.text.md,
      /\| 0\.820 ± 0\.020 \| 0\.800 ± 0\.100 \| 0\.800 ± 0\.050 \| 2\/3 \|/,
    );
    // HD95, ASSD and the ISIC score read from the summaries (null and absent ones left out).
    for (const [variant, metric, mean, std, folds] of FIXTURE_EXTRA_STATS) {
      const v = json.rows.find((r) => r.variant === variant)![metric]!;
      expectClose(
        [v.mean, v.std],
        [mean, std],
        { rtol: 1e-12, atol: 1e-12 },
        `${variant} ${metric}`,
      );
      assert.equal(v.folds, folds);
    }
    assert.deepEqual(json.metrics, ['dsc', 'precision', 'recall']);
    const extra = await ablationReport(dir, { metrics: ['hd95'] });
    assert.match(extra.text.md, /\| HD95 \(px\) \| Folds \|/);
    assert.match(extra.text.md, /\| `unet-dl` \| 5\.00 ± 1\.00 \(2 of 3 folds\) \| 3\/3 \|/);
  });

  test('a folder without study.json is refused', async () => {
    await assert.rejects(ablationReport(path.join(root, 'nothing')), {
      name: 'UserError',
      message: `${path.join(root, 'nothing')} holds no ablation study: study.json not found`,
    });
  });

  test('a summary without the numbers is refused, naming the file', async () => {
    const dir = path.join(root, 'report-damaged');
    await writeFixtureStudy(dir, 'bus');
    const file = path.join(dir, 'units', 'unet-dl', 'fold-1', 'eval', 'summary.json');
    await writeFile(
      file,
      JSON.stringify({ dsc: { mean: 0.5, std: 0 }, precision: {}, recall: { mean: 1, std: 0 } }),
    );
    await assert.rejects(readUnitResult(dir, { variant: 'unet-dl', fold: 1 }), {
      message: `${file}: "precision.mean" is missing; delete it to evaluate unet-dl/fold-1 again`,
    });
  });

  test('parseReportFormat', () => {
    assert.equal(parseReportFormat('markdown'), 'md');
    assert.equal(parseReportFormat('CSV'), 'csv');
    assert.throws(() => parseReportFormat('html'), {
      message: "--format: unknown format 'html'; expected one of md, csv, json",
    });
  });
});

describe('inspectUnit', () => {
  async function unit(name: string, files: Record<string, unknown>): Promise<string> {
    const dir = path.join(root, 'units', name);
    await mkdir(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await writeFile(path.join(dir, file), JSON.stringify(content));
    }
    return dir;
  }

  test('what each kind of unit folder holds, and the action it gets', async () => {
    const config = { epochs: 8 };
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['started', { 'config.json': config, 'split.json': {} }, 'restart'],
      [
        'interrupted',
        {
          'config.json': config,
          'checkpoint/latest.json': { epoch: 3, dir: 'epoch-0003' },
          'checkpoint/epoch-0003/state.json': { epoch: 3 },
        },
        'resume',
      ],
      [
        'trained',
        { 'config.json': config, 'checkpoint/epoch-0008/state.json': { epoch: 8 } },
        'evaluate',
      ],
      ['finished', { 'config.json': config, 'eval/summary.json': {} }, 'skip'],
    ];
    for (const [name, files, action] of cases) {
      const facts = await inspectUnit(await unit(name, files));
      assert.equal(unitAction(facts), action, `${name}: ${JSON.stringify(facts)}`);
    }
    const interrupted = await inspectUnit(path.join(root, 'units', 'interrupted'));
    assert.deepEqual(interrupted, {
      exists: true,
      evaluated: false,
      hasConfig: true,
      checkpointEpoch: 3,
      epochs: 8,
    });
    assert.equal(unitAction(await inspectUnit(path.join(root, 'units', 'none'))), 'train');
  });
});

describe('openStudy', () => {
  let data: string;
  before(async () => {
    data = path.join(root, 'bus-data');
    await writeBusItems(data); // 4 items: 000001.png to 000004.png
  });

  test('makes study.json and one k-fold split once; concurrent openers take turns', async () => {
    const dir = path.join(root, 'study-a');
    const settings = {
      dataset: 'bus' as const,
      data,
      folds: 2,
      epochs: 1,
      inputSize: [16, 16] as [number, number],
    };
    const infos: string[] = [];
    const [a, b] = await Promise.all([
      openStudy({ dir, settings, packageInfo: PACKAGE, pollMs: 10, onInfo: (l) => infos.push(l) }),
      // The same settings: either opener may take the lock first (a loaded machine decides).
      openStudy({
        dir,
        settings,
        packageInfo: PACKAGE,
        pollMs: 10,
        onInfo: (l) => infos.push(l),
      }),
    ]);
    assert.deepEqual(a.settings, b.settings);
    assert.equal(a.settings.epochs, 1);
    assert.equal(infos.filter((l) => l.startsWith('made a 2-fold split of 4 items')).length, 1);
    const split = JSON.parse(await readFile(path.join(dir, 'split.json'), 'utf8')) as {
      method: string;
      folds: Array<{ test: string[] }>;
    };
    assert.equal(split.method, 'kfold');
    assert.deepEqual(split.folds.flatMap((f) => f.test).sort(), [
      '000001.png',
      '000002.png',
      '000003.png',
      '000004.png',
    ]);
    const before = (await stat(path.join(dir, 'split.json'))).mtimeMs;
    const again = await openStudy({ dir, settings: { folds: 2 }, packageInfo: PACKAGE });
    assert.equal((await stat(path.join(dir, 'split.json'))).mtimeMs, before, 'split made once');
    assert.deepEqual(again.settings, a.settings);
    assert.deepEqual((await readStudy(dir)).settings, a.settings);
    await assert.rejects(stat(path.join(dir, 'study.lock')), { code: 'ENOENT' });
  });

  test('another version of the package: a warning, not a refusal', async () => {
    const dir = path.join(root, 'study-b');
    await openStudy({ dir, settings: { dataset: 'bus', data, folds: 2 }, packageInfo: PACKAGE });
    const warnings: string[] = [];
    await openStudy({
      dir,
      settings: {},
      packageInfo: { ...PACKAGE, version: '9.9.9' },
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(warnings, [
      'the study was made with focal-tversky-unet 0.0.0-test; this is 9.9.9: units trained by ' +
        'the two may differ',
    ]);
  });

  test('more folds than items, and a changed setting, are refused', async () => {
    await assert.rejects(
      openStudy({
        dir: path.join(root, 'study-c'),
        settings: { dataset: 'bus', data, folds: 5 },
        packageInfo: PACKAGE,
      }),
      {
        message:
          '--folds 5: 4 item(s) are too few: fold 4 would have no test images ' +
          '(--val-fraction 0.15); give at least 5 items or fewer folds',
      },
    );
    assert.equal(await pathExists(path.join(root, 'study-c')), false, 'nothing written');
    const dir = path.join(root, 'study-d');
    await openStudy({ dir, settings: { dataset: 'bus', data, folds: 2 }, packageInfo: PACKAGE });
    await assert.rejects(
      openStudy({ dir, settings: { folds: 3, seed: 1 }, packageInfo: PACKAGE }),
      {
        message: new RegExp(
          `^the study in ${dir.replace(/[/\\.]/g, '\\$&')} was made with other settings: ` +
            '--folds 3 \\(the study has 2\\), --seed 1 \\(the study has 0\\)\\.',
        ),
      },
    );
  });
});
