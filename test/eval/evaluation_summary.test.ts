import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import type { ImageEvaluation } from '../../src/eval/evaluate.js';
import {
  countEmptyMasks,
  formatEvaluationSummary,
  metricsCsv,
  readEvaluationSummary,
  summarizeEvaluation,
  SUMMARY_FORMAT,
  SUMMARY_VERSION,
} from '../../src/eval/evaluation_summary.js';
import { expectClose } from '../helpers.js';

describe('summary.json versions', () => {
  const fixture = async (): Promise<Record<string, unknown>> =>
    JSON.parse(
      await readFile(
        new URL('../../../test/fixtures/formats/summary-v1.json', import.meta.url),
        'utf8',
      ),
    ) as Record<string, unknown>;
  test('version 1 (test/fixtures/formats/summary-v1.json, no format or version) reads as today', async () => {
    const v1 = await fixture();
    assert.equal('format' in v1 || 'version' in v1, false);
    assert.deepEqual(readEvaluationSummary(v1, 'summary.json'), {
      ...v1,
      format: SUMMARY_FORMAT,
      version: SUMMARY_VERSION,
    });
  });
  test("today's summary reads back as written", () => {
    const s = summarizeEvaluation(rows, { threshold: 0.5, fold: 2, model: 'attn_reg' });
    const written = JSON.parse(JSON.stringify(s)) as unknown;
    assert.deepEqual(readEvaluationSummary(written, 'summary.json'), written);
  });
  test('a newer version, another format and a damaged field are refused, naming the file', async () => {
    const v1 = await fixture();
    assert.throws(
      () => readEvaluationSummary({ ...v1, format: SUMMARY_FORMAT, version: 3 }, 'e/summary.json'),
      {
        name: 'UserError',
        message:
          'e/summary.json: unsupported version 3 (this program reads versions up to 2): it was ' +
          'written by a newer focal-tversky-unet; upgrade to read it',
      },
    );
    assert.throws(() => readEvaluationSummary({ ...v1, format: 'x', version: 2 }, 's.json'), {
      message: 's.json: expected "format": "ftunet-evaluation-summary", got "x"',
    });
    assert.throws(
      () => readEvaluationSummary({ ...v1, hd95: { mean: 1, std: 'x', count: 1 } }, 's.json'),
      {
        message: 's.json: "hd95.std" must be a number or null, got "x"',
      },
    );
  });
});

const m = (dsc: number, precision: number, recall: number, tnr: number, iou: number) => ({
  dsc,
  precision,
  recall,
  tnr,
  iou,
});

const rows: ImageEvaluation[] = [
  {
    name: 'a.png',
    index: 0,
    originalSize: [30, 45],
    metrics: m(0.5, 1, 0.25, 1, 0.25),
    truthArea: 0.1,
    predictedArea: 0.05,
  },
  {
    name: 'b, "c".png',
    index: 2,
    originalSize: [17, 23],
    metrics: m(1, 0.5, 0.75, 0.5, 0.75),
    truthArea: 0.3,
    predictedArea: 0.25,
  },
];

describe('summarizeEvaluation', () => {
  test('mean and population std of each metric and of the lesion areas (worked by hand)', () => {
    // dsc: mean 0.75, std sqrt((0.25^2 + 0.25^2) / 2) = 0.25; precision and tnr: 0.75 ± 0.25;
    // recall and iou: 0.5 ± 0.25. Areas: truth 0.2 ± 0.1, prediction 0.15 ± 0.1.
    const s = summarizeEvaluation(rows, { threshold: 0.5, fold: 2, model: 'attn_reg' });
    assert.deepEqual(Object.keys(s), [
      'format',
      'version',
      'dsc',
      'precision',
      'recall',
      'tnr',
      'iou',
      'count',
      'threshold',
      'fold',
      'model',
      'size',
      'lesionArea',
      'thresholdedJaccard',
      'emptyPredictions',
      'emptyTruths',
    ]);
    expectClose(
      [s.dsc.mean, s.dsc.std, s.precision.mean, s.recall.mean, s.tnr.mean, s.iou.mean, s.iou.std],
      [0.75, 0.25, 0.75, 0.5, 0.75, 0.5, 0.25],
    );
    expectClose(
      [
        s.lesionArea.truth.mean,
        s.lesionArea.truth.std,
        s.lesionArea.prediction.mean,
        s.lesionArea.prediction.std,
      ],
      [0.2, 0.1, 0.15, 0.1],
    );
    assert.deepEqual(
      [s.count, s.threshold, s.fold, s.model, s.size],
      [2, 0.5, 2, 'attn_reg', 'original'],
    );
    assert.equal(s.atInputSize, undefined);
    // Both images have a lesion and a prediction.
    assert.deepEqual(
      [s.emptyPredictions, s.emptyTruths],
      [{ count: 0, ofLesionImages: 0 }, { count: 0 }],
    );
  });

  test('counts empty predictions, those on lesion images, and empty ground truths (by hand)', () => {
    // Five images, each scored as evaluateMask does with smooth = 1 on a 10x10 original
    // (100 pixels); |G| and |P| are the mask sizes (the found lesion is predicted exactly).
    const row = (
      name: string,
      g: number,
      p: number,
      metrics: ReturnType<typeof m>,
    ): ImageEvaluation => ({
      name,
      index: 0,
      originalSize: [10, 10],
      metrics,
      truthArea: g / 100,
      predictedArea: p / 100,
    });
    const table = [
      // |G| 9, nothing predicted: precision (0+1)/(0+0+1) = 1, recall = DSC = IoU = 1/10,
      // TNR (91+1)/(91+0+1) = 1.
      row('missed.png', 9, 0, m(1 / 10, 1, 1 / 10, 1, 1 / 10)),
      // Both empty: every ratio 1/1.
      row('clear.png', 0, 0, m(1, 1, 1, 1, 1)),
      // |G| 4, |P| 4, TP 4: all 1.
      row('found.png', 4, 4, m(1, 1, 1, 1, 1)),
      // Empty ground truth, |P| 3: DSC = precision = IoU = 1/4, recall 1, TNR 98/101.
      row('false-alarm.png', 0, 3, m(1 / 4, 1 / 4, 1, 98 / 101, 1 / 4)),
      // |G| 1, nothing predicted: precision 1, recall = DSC = IoU = 1/2, TNR 1.
      row('tiny-missed.png', 1, 0, m(1 / 2, 1, 1 / 2, 1, 1 / 2)),
    ];
    const s = summarizeEvaluation(table, { threshold: 0.5, fold: 0, model: 'attn_reg' });
    // Empty predictions: missed, clear, tiny-missed = 3; of them on lesion images: missed and
    // tiny-missed = 2. Empty ground truths: clear and false-alarm = 2.
    assert.deepEqual(s.emptyPredictions, { count: 3, ofLesionImages: 2 });
    assert.deepEqual(s.emptyTruths, { count: 2 });
    assert.deepEqual(countEmptyMasks(table), {
      emptyPredictions: { count: 3, ofLesionImages: 2 },
      emptyTruths: { count: 2 },
    });
    // The two missed lesions keep the mean precision high: (1 + 1 + 1 + 1/4 + 1) / 5 = 0.85,
    // while the mean recall is (1/10 + 1 + 1 + 1 + 1/2) / 5 = 0.72.
    expectClose([s.precision.mean, s.recall.mean], [0.85, 0.72], { rtol: 1e-12, atol: 0 });
    assert.deepEqual(formatEvaluationSummary(s).slice(-1), [
      'empty predictions: 3 of 5 images (2 with a lesion in the ground truth, each scored ' +
        'precision 1); empty ground truths: 2 of 5',
    ]);
  });

  test('input-size metrics and extra fields (which never replace a statistic)', () => {
    const withInput = rows.map((r) => ({ ...r, atInputSize: m(1, 1, 1, 1, 0.5) }));
    const s = summarizeEvaluation(withInput, {
      threshold: 0.3,
      fold: null,
      model: 'unet',
      inputSize: [32, 32],
      extra: { modelDir: '/m', dsc: 'not this' },
    });
    assert.deepEqual(s.atInputSize?.size, [32, 32]);
    assert.deepEqual(
      [s.atInputSize?.dsc, s.atInputSize?.iou],
      [
        { mean: 1, std: 0 },
        { mean: 0.5, std: 0 },
      ],
    );
    assert.equal(s.modelDir, '/m');
    assert.equal(s.dsc.mean, 0.75);
    assert.equal(s.fold, null);
  });

  test('no rows, or input-size metrics on some rows only, are errors', () => {
    const ctx = { threshold: 0.5, fold: 0, model: 'x', inputSize: [2, 2] as [number, number] };
    assert.throws(() => summarizeEvaluation([], ctx), {
      name: 'UserError',
      message: 'no results to summarize',
    });
    assert.throws(
      () => summarizeEvaluation([rows[0], { ...rows[1], atInputSize: rows[1].metrics }], ctx),
      {
        message: 'input-size metrics need every row to have them and an inputSize',
      },
    );
  });
});

describe('metricsCsv', () => {
  test('header, one row per image in order, names quoted as RFC 4180, every digit kept', () => {
    const third = {
      ...rows[0],
      name: 'c.png',
      metrics: m(1 / 3, 1, 1, 1, 1 / 3),
      surface: { hd95: Math.SQRT2, assd: 0.5, nsd: 0.75 },
    };
    // HD95, ASSD and NSD are empty cells where undefined (here: not computed).
    assert.equal(
      metricsCsv([...rows, third]),
      'name,dsc,precision,recall,tnr,iou,hd95,assd,nsd,truth_area,predicted_area\n' +
        'a.png,0.5,1,0.25,1,0.25,,,,0.1,0.05\n' +
        '"b, ""c"".png",1,0.5,0.75,0.5,0.75,,,,0.3,0.25\n' +
        'c.png,0.3333333333333333,1,1,1,0.3333333333333333,1.4142135623730951,0.5,0.75,0.1,0.05\n',
    );
  });

  test('input-size columns follow when every row has them', () => {
    const csv = metricsCsv(rows.map((r) => ({ ...r, atInputSize: m(1, 1, 1, 1, 0.5) })));
    const [header, first] = csv.split('\n');
    assert.equal(
      header,
      'name,dsc,precision,recall,tnr,iou,hd95,assd,nsd,truth_area,predicted_area,' +
        'dsc_input_size,precision_input_size,recall_input_size,tnr_input_size,iou_input_size',
    );
    assert.equal(first, 'a.png,0.5,1,0.25,1,0.25,,,,0.1,0.05,1,1,1,1,0.5');
  });
});

describe('formatEvaluationSummary', () => {
  test('a table with 4 decimals, and a second pair of columns for the input size', () => {
    const s = summarizeEvaluation(rows, { threshold: 0.5, fold: 2, model: 'attn_reg' });
    assert.deepEqual(formatEvaluationSummary(s), [
      'attn_reg: 2 test images of fold 2, threshold 0.5, scored at the original size',
      'metric        mean     std',
      'DSC         0.7500  0.2500',
      'precision   0.7500  0.2500',
      'recall      0.5000  0.2500',
      'TNR         0.7500  0.2500',
      'IoU         0.5000  0.2500',
      // IoU 0.25 counts 0, 0.75 counts: (0 + 0.75) / 2.
      'ISIC score  0.3750',
      'ISIC score: thresholded Jaccard (IoU < 0.65 counts 0)',
      'lesion area: ground truth 20.00% ± 10.00%, prediction 15.00% ± 10.00%',
      'empty predictions: 0 of 2 images; empty ground truths: 0 of 2',
    ]);
    // With surface distances: undefined ones (null) are left out of the mean and counted.
    const withSurface = summarizeEvaluation(
      [
        { ...rows[0], surface: { hd95: 3, assd: 1, nsd: 0.25 } },
        { ...rows[1], surface: null },
        { ...rows[1], surface: { hd95: 1, assd: 0.5, nsd: 0.75 } },
      ],
      { threshold: 0.5, fold: 2, model: 'attn_reg' },
    );
    assert.deepEqual(withSurface.hd95, { mean: 2, std: 1, count: 2 });
    assert.deepEqual(withSurface.assd, { mean: 0.75, std: 0.25, count: 2 });
    assert.deepEqual(withSurface.nsd, { mean: 0.5, std: 0.25, count: 2 });
    // ISIC score: IoU 0.25 counts 0, the two 0.75 count: 1.5 / 3.
    assert.deepEqual(formatEvaluationSummary(withSurface).slice(7, 12), [
      'ISIC score  0.5000',
      'HD95 px       2.00    1.00',
      'ASSD px       0.75    0.25',
      'NSD         0.5000  0.2500',
      'ISIC score: thresholded Jaccard (IoU < 0.65 counts 0); HD95, ASSD in pixels and NSD over ' +
        'the 2 of 3 images where both masks have a lesion',
    ]);
    const none = summarizeEvaluation([{ ...rows[0], surface: null }], {
      threshold: 0.5,
      fold: 2,
      model: 'attn_reg',
    });
    assert.deepEqual(none.hd95, { mean: null, std: null, count: 0 });
    const t = summarizeEvaluation(
      rows.map((r) => ({ ...r, atInputSize: m(1, 1, 1, 1, 0.5) })),
      { threshold: 0.5, fold: null, model: 'unet', inputSize: [32, 32] },
    );
    const lines = formatEvaluationSummary(t);
    assert.equal(lines[0], 'unet: 2 images, threshold 0.5, scored at the original size');
    assert.equal(lines[1], 'metric        mean     std  mean 32x32     std');
    assert.equal(lines[6], 'IoU         0.5000  0.2500      0.5000  0.0000');
  });

  test('one empty prediction on a lesion image; a summary.json without the counts', () => {
    const one = [{ ...rows[0], predictedArea: 0 }, rows[1]];
    const s = summarizeEvaluation(one, { threshold: 0.5, fold: 2, model: 'attn_reg' });
    assert.equal(
      formatEvaluationSummary(s).at(-1),
      'empty predictions: 1 of 2 images (1 with a lesion in the ground truth, scored ' +
        'precision 1); empty ground truths: 0 of 2',
    );
    // Written before the counts existed: the table ends with the lesion areas.
    const { emptyPredictions: _p, emptyTruths: _t, ...older } = s;
    assert.match(formatEvaluationSummary(older).at(-1)!, /^lesion area: /);
  });
});
