/**
 * The README's quick-start sample shows what `npm start` prints today: each line of the
 * evaluation table (`formatEvaluationSummary`, with HD95, ASSD and the ISIC score) and the
 * lines that say where the run is, in that order. Values differ run to run; the labels are
 * what the check compares.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ImageEvaluation } from '../src/eval/evaluate.js';
import { formatEvaluationSummary, summarizeEvaluation } from '../src/eval/evaluation_summary.js';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));

/** The first code block after "It prints the metrics table". */
function quickStartSample(): string[] {
  const text = readFileSync(README, 'utf8');
  const at = text.indexOf('It prints the metrics table');
  assert.ok(at >= 0, 'the quick-start paragraph');
  const m = /```\n([\s\S]*?)```/.exec(text.slice(at));
  assert.ok(m !== null, 'the quick-start sample');
  return m[1].trimEnd().split('\n');
}

/** A line's label: its text up to ':' or the first number after a space, spaces collapsed. */
const label = (line: string): string =>
  line
    .split(/:|\s+[-\d]/)[0]
    .replace(/\s+/g, ' ')
    .trim();

describe("README's quick-start sample", () => {
  test("has every line of today's metrics table and the run's lines, in order", () => {
    const metrics = (dsc: number) => ({ dsc, precision: 0.9, recall: 0.8, tnr: 0.99, iou: 0.7 });
    const rows: ImageEvaluation[] = [0.8, 0.9].map((dsc, index) => ({
      name: `${index}.png`,
      index,
      originalSize: [30, 40],
      metrics: metrics(dsc),
      // An evaluation's rows carry their counts (the plain ISIC score reads them).
      counts: { tp: 7, fp: 1, fn: 2, tn: 90 },
      surface: { hd95: 2, assd: 1, nsd: 0.5 },
      truthArea: 0.05,
      predictedArea: 0.04,
      qc: {
        verdict: 'ok',
        score: 0.5,
        reasons: [],
        signals: { inputDistance: 1, areaExcess: 0, entropy: 0.1, flipDsc: 0.9 },
      },
    }));
    const summary = summarizeEvaluation(rows, {
      threshold: 0.5,
      fold: 0,
      model: 'attn_reg',
      inputSize: [64, 64],
    });
    const expected = [
      ...formatEvaluationSummary(summary),
      '',
      'run folder: RUN',
      'summary: FILE',
      'time: 1.0 min',
      'report: FILE',
    ].map(label);
    assert.ok(expected.includes('HD95 px') && expected.includes('ISIC score'), String(expected));
    assert.ok(expected.includes('qc'), String(expected));
    assert.deepEqual(quickStartSample().map(label), expected);
  });
});
