import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { metricsFromCounts } from '../../src/metrics/evaluation.js';
import { summarizeMetrics } from '../../src/metrics/aggregate.js';
import { expectClose } from '../helpers.js';

describe('summarizeMetrics', () => {
  it('gives the mean and the population std per metric', () => {
    // dsc: 0.5, 0.7, 0.9 -> mean 0.7, deviations -0.2, 0, 0.2:
    //   population std sqrt(0.08 / 3) = 0.163299316185545 (the sample std would be 0.2).
    // iou: 1, 1, 0 -> mean 2/3, deviations 1/3, 1/3, -2/3: sqrt((1/9 + 1/9 + 4/9) / 3)
    //   = sqrt(2/9) = 0.471404520791032.
    const s = summarizeMetrics([
      { dsc: 0.5, iou: 1 },
      { dsc: 0.7, iou: 1 },
      { dsc: 0.9, iou: 0 },
    ]);
    assert.equal(s.count, 3);
    expectClose([s.mean.dsc, s.mean.iou], [0.7, 2 / 3], { rtol: 1e-12, atol: 1e-12 });
    expectClose([s.std.dsc, s.std.iou], [0.163299316185545, 0.471404520791032], {
      rtol: 1e-12,
      atol: 1e-12,
    });
  });

  it('summarizes SegmentationMetrics with all five fields; one result has std 0', () => {
    const m = metricsFromCounts({ tp: 1, fp: 1, fn: 1, tn: 2 });
    const s = summarizeMetrics([m]);
    assert.deepEqual(Object.keys(s.mean), ['dsc', 'precision', 'recall', 'tnr', 'iou']);
    assert.deepEqual(s.mean, m);
    assert.deepEqual(s.std, { dsc: 0, precision: 0, recall: 0, tnr: 0, iou: 0 });
  });

  it('gives std near 0 for identical values (no cancellation in the two-pass std)', () => {
    // The one-pass sqrt(E[x^2] - E[x]^2) is off by about sqrt(1e-16) = 1e-8 here, or NaN.
    const s = summarizeMetrics(Array.from({ length: 1000 }, () => ({ dsc: 0.8137 })));
    assert.ok(s.std.dsc < 1e-12, `std ${s.std.dsc}`);
    expectClose(s.mean.dsc, 0.8137, { rtol: 1e-12, atol: 0 });
  });

  it('rejects an empty list and results missing a field', () => {
    assert.throws(() => summarizeMetrics([]), {
      name: 'UserError',
      message: 'summarizeMetrics: no results to summarize',
    });
    assert.throws(
      () => summarizeMetrics([{ dsc: 1, iou: 1 }, { dsc: 1 } as { dsc: number; iou: number }]),
      {
        message: "summarizeMetrics: result 1 has no numeric 'iou' (got undefined)",
      },
    );
  });
});
