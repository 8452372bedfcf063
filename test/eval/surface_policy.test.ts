/**
 * An evaluation's surface metrics under each policy for empty masks, end to end from masks to
 * summary.json, metrics.csv and the terminal's lines: three images worked by hand, one with a
 * lesion found two columns off, one whose lesion the prediction misses, one empty in both.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ImageEvaluation } from '../../src/eval/evaluate.js';
import {
  formatEvaluationSummary,
  metricsCsv,
  readEvaluationSummary,
  summarizeEvaluation,
} from '../../src/eval/evaluation_summary.js';
import { scoreMask } from '../../src/eval/score.js';
import type { SurfaceOptions } from '../../src/metrics/surface_policy.js';
import type { BinaryMask } from '../../src/util/raster.js';
import { textMask as mask } from '../metrics/masks.js';
import { expectClose } from '../helpers.js';

const EMPTY = mask('....', '....', '....');
const ONE = mask('....', '.#..', '....');
const ONE_RIGHT = mask('....', '...#', '....');

/**
 * a: a one-pixel lesion found two columns off (HD95 = ASSD = 2 px, NSD 1 at 2 px);
 * b: a one-pixel lesion missed (empty prediction); c: both empty.
 */
function rows(surface: SurfaceOptions): ImageEvaluation[] {
  const pairs: Array<[string, BinaryMask, BinaryMask]> = [
    ['a', ONE, ONE_RIGHT],
    ['b', ONE, EMPTY],
    ['c', EMPTY, EMPTY],
  ];
  return pairs.map(([name, truth, prediction], index) => {
    const s = scoreMask(prediction, truth, { surface });
    return {
      name,
      index,
      originalSize: [3, 4],
      metrics: s.metrics,
      counts: s.counts,
      surface: s.surface,
      truthArea: s.truthArea,
      predictedArea: s.predictedArea,
    };
  });
}

const summarize = (surface: SurfaceOptions) =>
  summarizeEvaluation(rows(surface), { threshold: null, fold: null, model: 'm', surface });

const TOL = { rtol: 0, atol: 1e-12 };

describe('surface metrics of an evaluation under each policy', () => {
  test('skip: only image a counts (1 of 3); recorded as skip, pixels', () => {
    const s = summarize({});
    assert.deepEqual(s.hd95, { mean: 2, std: 0, count: 1 });
    assert.deepEqual(s.assd, { mean: 2, std: 0, count: 1 });
    assert.deepEqual(s.nsd, { mean: 1, std: 0, count: 1 });
    assert.deepEqual(s.surface, { emptyDistance: 'skip', spacing: null, unit: 'px' });
    const lines = formatEvaluationSummary(s).join('\n');
    assert.match(lines, /\nHD95 px +2\.00 +0\.00\n/);
    assert.match(lines, /HD95, ASSD in pixels and NSD over the 1 of 3 images where both masks/);
  });

  test("nan: HD95 leaves out b and c (NaN); ASSD keeps b's inf (mean inf); NSD b 0", () => {
    const s = summarize({ emptyDistance: { kind: 'nan' } });
    assert.deepEqual(s.hd95, { mean: 2, std: 0, count: 1 });
    assert.deepEqual(s.assd, { mean: null, std: null, count: 2, infinite: 1 });
    // NSD [1, 0] (c is NaN): mean 0.5, population std 0.5.
    assert.deepEqual(s.nsd, { mean: 0.5, std: 0.5, count: 2 });
    assert.equal(s.surface?.emptyDistance, 'nan');
    const csv = metricsCsv(rows({ emptyDistance: { kind: 'nan' } })).split('\n');
    // name, 5 hard metrics, hd95, assd, nsd, areas: b's HD95 empty, ASSD Infinity, NSD 0.
    assert.deepEqual(csv[2].split(',').slice(6, 9), ['', 'Infinity', '0']);
    assert.deepEqual(csv[3].split(',').slice(6, 9), ['', '', '']);
    const lines = formatEvaluationSummary(s).join('\n');
    assert.match(lines, /\nASSD px +inf +-\n/);
    assert.match(lines, /HD95 over 1, ASSD over 2 \(1 infinite\), NSD over 2 of 3 images/);
  });

  test('penalty:10: b scores 10 (NSD 0), c 0 (NSD 1); every image counts', () => {
    const s = summarize({ emptyDistance: { kind: 'penalty', distance: 10 } });
    // [2, 10, 0]: mean 4, std sqrt((4 + 36 + 16) / 3).
    for (const m of ['hd95', 'assd'] as const) {
      expectClose(s[m]!.mean!, 4, TOL);
      expectClose(s[m]!.std!, Math.sqrt(56 / 3), TOL);
      assert.equal(s[m]!.count, 3);
    }
    expectClose(s.nsd!.mean!, 2 / 3, TOL);
    assert.equal(s.nsd!.count, 3);
    assert.equal(s.surface?.emptyDistance, 'penalty:10');
    assert.match(
      formatEvaluationSummary(s).join('\n'),
      /over all 3 images: one empty mask scores HD95 10, ASSD 10, NSD 0, both empty HD95 0, ASSD 0, NSD 1/,
    );
  });

  test('a spacing: distances in mm, labelled so in the table, the CSV header and summary.json', () => {
    // a's pixels are two columns of 0.25 mm apart: 0.5 mm.
    const surface: SurfaceOptions = { spacing: [2, 0.25] };
    const s = summarize(surface);
    assert.deepEqual(s.hd95, { mean: 0.5, std: 0, count: 1 });
    assert.deepEqual(s.surface, { emptyDistance: 'skip', spacing: [2, 0.25], unit: 'mm' });
    const header = metricsCsv(rows(surface), 'mm').split('\n')[0];
    assert.match(header, /,hd95_mm,assd_mm,nsd,/);
    assert.match(formatEvaluationSummary(s).join('\n'), /\nHD95 mm +0\.50 +0\.00\n/);
  });

  test('the summary reads back through its schema; the plain ISIC score is in it', () => {
    for (const surface of [{}, { emptyDistance: { kind: 'nan' } }] as SurfaceOptions[]) {
      const s = summarize(surface);
      const back = readEvaluationSummary(JSON.parse(JSON.stringify(s)) as unknown, 'summary.json');
      assert.deepEqual(back.surface, s.surface);
      assert.deepEqual(back.assd, s.assd);
    }
    // Plain IoU: a 0 / 2 = 0, b 0 / 1 = 0, c empty union 1: one image of three at 1.
    expectClose(summarize({}).thresholdedJaccardPlain!, 1 / 3, TOL);
  });

  test('a summary.json whose surface record is not skip, nan or penalty:N is refused', () => {
    const s = JSON.parse(JSON.stringify(summarize({}))) as Record<string, unknown>;
    s.surface = { emptyDistance: 'zero', spacing: null, unit: 'px' };
    assert.throws(
      () => readEvaluationSummary(s, 'summary.json'),
      /summary\.json: "surface\.emptyDistance" must be skip, nan or penalty:N/,
    );
  });
});
