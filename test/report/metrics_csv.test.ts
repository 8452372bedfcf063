/** Reading back metrics.csv as evaluation writes it. Pure. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImageEvaluation } from '../../src/eval/evaluate.js';
import { metricsCsv } from '../../src/eval/evaluation_summary.js';
import { parseMetricsCsv } from '../../src/report/metrics_csv.js';

const metrics = (dsc: number) => ({ dsc, precision: 0.5, recall: 1 / 3, tnr: 0.99, iou: dsc / 2 });

const ROWS: ImageEvaluation[] = [
  {
    name: 'plain.png',
    index: 0,
    originalSize: [10, 20],
    metrics: metrics(0.8123456789012345),
    truthArea: 0.1,
    predictedArea: 0.2,
  },
  {
    name: 'a, "quoted" name.png',
    index: 1,
    originalSize: [10, 20],
    metrics: metrics(1e-7),
    truthArea: 0,
    predictedArea: 1 / 7,
  },
];

describe('parseMetricsCsv', () => {
  test('reads back what metricsCsv writes, every digit and quoted names', () => {
    const rows = parseMetricsCsv(metricsCsv(ROWS));
    assert.deepEqual(
      rows,
      ROWS.map((r) => ({
        name: r.name,
        metrics: r.metrics,
        truthArea: r.truthArea,
        predictedArea: r.predictedArea,
        // Rows without surface distances are written with empty hd95, assd and nsd cells.
        surface: { hd95: null, assd: null, nsd: null },
      })),
    );
  });

  test('names a spreadsheet would run as formulas are written neutralised and read back as they were', () => {
    const names = ['=HYPERLINK("http://x.example","open").png', '-1.png', '@a.png', "'=b.png"];
    const hostile = names.map((name, i) => ({ ...ROWS[0], name, index: i }));
    const text = metricsCsv(hostile);
    const cells = text
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((l) => l.slice(0, l.indexOf('.png",') + 5));
    assert.deepEqual(cells, [
      '"\'=HYPERLINK(""http://x.example"",""open"").png"',
      '"\'-1.png"',
      '"\'@a.png"',
      '"\'\'=b.png"',
    ]);
    assert.deepEqual(
      parseMetricsCsv(text).map((r) => r.name),
      names,
    );
  });

  test('HD95, ASSD, NSD: numbers, and null for the empty cells of undefined distances', () => {
    const withSurface: ImageEvaluation[] = [
      { ...ROWS[0], surface: { hd95: 2.5, assd: 0.75, nsd: 0.5 } },
      { ...ROWS[1], surface: null },
    ];
    const rows = parseMetricsCsv(metricsCsv(withSurface));
    assert.deepEqual(
      rows.map((r) => r.surface),
      [
        { hd95: 2.5, assd: 0.75, nsd: 0.5 },
        { hd95: null, assd: null, nsd: null },
      ],
    );
    // A file written before the columns existed has no `surface`.
    const old =
      'name,dsc,precision,recall,tnr,iou,truth_area,predicted_area\nx.png,1,1,1,1,1,0,0\n';
    assert.equal(parseMetricsCsv(old)[0].surface, undefined);
    // One written before NSD existed has the columns it has.
    const beforeNsd =
      'name,dsc,precision,recall,tnr,iou,hd95,assd,truth_area,predicted_area\n' +
      'x.png,1,1,1,1,1,2,,0,0\n';
    assert.deepEqual(parseMetricsCsv(beforeNsd)[0].surface, { hd95: 2, assd: null });
  });

  test('with the input-size columns', () => {
    const withInput = ROWS.map((r) => ({ ...r, atInputSize: metrics(0.25) }));
    const rows = parseMetricsCsv(metricsCsv(withInput));
    assert.deepEqual(
      rows.map((r) => r.atInputSize),
      [metrics(0.25), metrics(0.25)],
    );
  });

  test('errors name the file, the line and the column', () => {
    const header = 'name,dsc,precision,recall,tnr,iou,truth_area,predicted_area';
    assert.throws(
      () => parseMetricsCsv('name,dsc\n', 'm.csv'),
      /^UserError: m.csv: no column 'precision' \(header: name,dsc\)$/,
    );
    assert.throws(
      () => parseMetricsCsv(`${header}\nx.png,1,1,1,1,1,0\n`, 'm.csv'),
      /^UserError: m.csv: line 2 has 7 fields, the header 8$/,
    );
    assert.throws(
      () => parseMetricsCsv(`${header}\nx.png,1,1,oops,1,1,0,0\n`, 'm.csv'),
      /^UserError: m.csv: line 2, column 'recall': expected a number, got 'oops'$/,
    );
    assert.throws(() => parseMetricsCsv('', 'm.csv'), /^UserError: m.csv: the file is empty$/);
  });
});
