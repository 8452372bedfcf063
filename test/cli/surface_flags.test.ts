/**
 * `--empty-distance` and `--spacing` from the command line to summary.json and metrics.csv, with
 * `evaluate --pred` on the BUS-layout fixture (no model, no backend: quick): the ground truths
 * as predictions except item 000002, whose lesion the prediction misses (an empty mask).
 * Bad values end in one line and exit code 2.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeTemp, removeTemp, writeRaw } from '../data/fixtures.js';
import { EVAL_ITEMS, writeBusItems } from '../eval/fixtures.js';
import { runCli, runMain } from './run.js';

let root: string;
let data: string;
let pred: string;

before(async () => {
  root = await makeTemp('ftunet-cli-surface-');
  data = path.join(root, 'bus');
  await writeBusItems(data);
  pred = path.join(root, 'pred');
  await mkdir(pred, { recursive: true });
  for (const it of EVAL_ITEMS) {
    await copyFile(path.join(data, 'gt', it.name), path.join(pred, it.name));
  }
  const missed = EVAL_ITEMS[1];
  assert.equal(missed.name, '000002.png');
  await writeRaw(
    path.join(pred, missed.name),
    new Uint8Array(missed.height * missed.width),
    missed.height,
    missed.width,
    1,
  );
});
after(() => removeTemp(root));

async function evaluate(out: string, flags: string[]) {
  const dir = path.join(root, out);
  const r = runCli([
    'evaluate',
    '--pred',
    pred,
    '--dataset',
    'bus',
    '--data',
    data,
    '--out',
    dir,
    '--quiet',
    ...flags,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(await readFile(path.join(dir, 'summary.json'), 'utf8')) as Record<
    string,
    { mean: number; count: number } & Record<string, unknown>
  >;
  const csv = (await readFile(path.join(dir, 'metrics.csv'), 'utf8')).trim().split('\n');
  const header = csv[0].split(',');
  const cell = (name: string, column: string): string =>
    csv.find((l) => l.startsWith(`${name},`))!.split(',')[header.indexOf(column)];
  return { summary, header, cell, stdout: r.stdout };
}

describe('--empty-distance and --spacing reach summary.json and metrics.csv', () => {
  test('default: skip, in pixels; the missed lesion and the empty image are left out', async () => {
    const { summary, header, cell } = await evaluate('default', []);
    assert.deepEqual(summary.surface, { emptyDistance: 'skip', spacing: null, unit: 'px' });
    // Items 000001 and 000004 are predicted exactly: HD95 0 over 2 of the 4 images.
    assert.deepEqual(summary.hd95, { mean: 0, std: 0, count: 2 });
    assert.ok(header.includes('hd95') && !header.includes('hd95_mm'));
    assert.equal(cell('000002.png', 'hd95'), '');
  });

  test('penalty:50 with --spacing 0.5,0.25: 50 mm for the missed lesion, 0 for the empty image', async () => {
    const { summary, header, cell } = await evaluate('penalty', [
      '--empty-distance',
      'penalty:50',
      '--spacing',
      '0.5,0.25',
    ]);
    assert.deepEqual(summary.surface, {
      emptyDistance: 'penalty:50',
      spacing: [0.5, 0.25],
      unit: 'mm',
    });
    // HD95 and ASSD [0, 50, 0, 0]: mean 12.5 over all 4; NSD [1, 0, 1, 1]: 0.75.
    for (const m of ['hd95', 'assd']) {
      assert.equal(summary[m].mean, 12.5);
      assert.equal(summary[m].count, 4);
    }
    assert.equal(summary.nsd.mean, 0.75);
    assert.ok(header.includes('hd95_mm') && header.includes('assd_mm'));
    assert.equal(cell('000002.png', 'hd95_mm'), '50');
    assert.equal(cell('000003.png', 'hd95_mm'), '0');
  });

  test("nan: MONAI's values; the table shows ASSD inf", async () => {
    const { summary, cell, stdout } = await evaluate('nan', ['--empty-distance', 'nan']);
    assert.equal(summary.surface.emptyDistance, 'nan');
    assert.deepEqual(summary.assd, { mean: null, std: null, count: 3, infinite: 1 });
    assert.deepEqual(summary.hd95, { mean: 0, std: 0, count: 2 });
    assert.equal(cell('000002.png', 'assd'), 'Infinity');
    assert.match(stdout, /\nASSD px +inf +-\n/);
  });
});

describe('bad values: one line, exit code 2', () => {
  const cases: Array<[string[], string]> = [
    [
      ['evaluate', '--empty-distance', 'foo'],
      "ftunet evaluate: option '--empty-distance <policy>' argument 'foo' is invalid. " +
        'Expected skip, nan or penalty:N with a distance N > 0. (see --help)\n',
    ],
    [
      ['evaluate', '--spacing', '0'],
      "ftunet evaluate: option '--spacing <sy,sx>' argument '0' is invalid. Expected a " +
        "pixel's size in mm, SY,SX or one number for both, each > 0. (see --help)\n",
    ],
    [
      ['evaluate', '--spacing', 'a,b'],
      "ftunet evaluate: option '--spacing <sy,sx>' argument 'a,b' is invalid. Expected a " +
        "pixel's size in mm, SY,SX or one number for both, each > 0. (see --help)\n",
    ],
    [
      ['ablation', '--out', 'x', '--empty-distance', 'penalty:0'],
      "ftunet ablation: option '--empty-distance <policy>' argument 'penalty:0' is invalid. " +
        'Expected skip, nan or penalty:N with a distance N > 0. (see --help)\n',
    ],
  ];
  for (const [args, message] of cases) {
    test(args.join(' '), async () => {
      const r = await runMain(args);
      assert.deepEqual([r.code, r.stderr], [2, message]);
    });
  }
});
