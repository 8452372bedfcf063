/**
 * The ensemble a study suggests when it ends, on hand-made fold results: the complete variant
 * (every fold finished) with the highest mean DSC, its unit folders in fold order, and the
 * `predict` command that averages them. Pure apart from path joining.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeStudyEnsemble, studyEnsemble } from '../../src/ablation/ensemble.js';
import { buildAblationTable, type FoldResult } from '../../src/ablation/table.js';
import type { AblationUnit } from '../../src/ablation/units.js';
import { ensemblePredictCommand } from '../../src/eval/ensemble_command.js';
import { FIXTURE_FOLDS, fixtureResult } from './fixtures.js';

const result = (dsc: number, fold: number): FoldResult => ({
  fold,
  dsc,
  precision: 0.5,
  recall: 0.5,
  count: 4,
});

describe('studyEnsemble', () => {
  test('the complete variant with the highest mean DSC, not an incomplete better one', () => {
    // Fixture: unet-dl complete (DSC 0.5, 0.6, 0.7: mean 0.6); attn-mi-ftl has 2 of 3 folds
    // (mean 0.82), so it is not offered.
    const table = buildAblationTable({
      dataset: 'bus',
      folds: FIXTURE_FOLDS,
      result: fixtureResult,
    });
    const e = studyEnsemble(table, 'studies/bus')!;
    assert.equal(e.variant, 'unet-dl');
    assert.ok(Math.abs(e.dsc - 0.6) < 1e-12, String(e.dsc));
    assert.deepEqual(e.modelDirs, [
      'studies/bus/units/unet-dl/fold-0',
      'studies/bus/units/unet-dl/fold-1',
      'studies/bus/units/unet-dl/fold-2',
    ]);
    assert.equal(
      describeStudyEnsemble(e),
      'ensemble of the 3 folds of unet-dl (the highest mean DSC of the complete variants, ' +
        '0.600) for new images: npx ftunet predict --model studies/bus/units/unet-dl/fold-0 ' +
        '--model studies/bus/units/unet-dl/fold-1 --model studies/bus/units/unet-dl/fold-2 ' +
        'IMAGES --out PREDICTIONS',
    );
  });

  test('of two complete variants the better; a tie keeps study order; none complete: none', () => {
    const dscs: Record<string, number[]> = { 'unet-ftl': [0.7, 0.7], 'attn-mi-tl': [0.6, 0.9] };
    const of = (table: Record<string, number[]>) => (u: AblationUnit) =>
      table[u.variant] !== undefined ? result(table[u.variant][u.fold], u.fold) : undefined;
    const pick = (table: Record<string, number[]>) =>
      studyEnsemble(buildAblationTable({ dataset: 'folder', folds: 2, result: of(table) }), 's')
        ?.variant;
    assert.equal(pick(dscs), 'attn-mi-tl'); // 0.75 > 0.7
    assert.equal(pick({ ...dscs, 'attn-mi-tl': [0.7, 0.7] }), 'unet-ftl');
    assert.equal(pick({ 'unet-dl': [0.9, Number.NaN] }), 'unet-dl');
    assert.equal(
      studyEnsemble(buildAblationTable({ dataset: 'bus', folds: 2, result: () => undefined }), 's'),
      undefined,
    );
  });

  test('folders a shell would split are quoted; the placeholders are not', () => {
    assert.equal(
      ensemblePredictCommand(['my runs/fold-0', "it's/fold-1"]),
      "npx ftunet predict --model 'my runs/fold-0' --model 'it'\\''s/fold-1' IMAGES --out PREDICTIONS",
    );
  });
});
