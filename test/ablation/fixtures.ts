/**
 * Hand-made results of a 3-fold study, for the merged-table tests. Two variants have finished
 * folds; the statistics below are worked by hand (population std over the finished folds):
 *
 *   unet-dl, folds 0, 1, 2:
 *     DSC 0.5, 0.6, 0.7        mean 0.6, std sqrt((0.01 + 0 + 0.01) / 3) = 0.0816497
 *     precision 0.8 x 3        mean 0.8, std 0
 *     recall 0.2, 0.4, 0.9     mean 0.5, std sqrt((0.09 + 0.01 + 0.16) / 3) = 0.2943920
 *   attn-mi-ftl, folds 0 and 2 (fold 1 missing):
 *     DSC 0.80, 0.84           mean 0.82, std 0.02
 *     precision 0.9, 0.7       mean 0.8, std 0.1
 *     recall 0.75, 0.85        mean 0.8, std 0.05
 *
 * Surface distances and the ISIC score (the extra columns): fold 2 of unet-dl has no image
 * with both masks non-empty (HD95 and ASSD null), fold 0 of attn-mi-ftl is a summary written
 * before these fields existed (none of them):
 *   unet-dl      HD95 4, 6, null      mean 5, std 1 (2 of 3 folds)
 *                ASSD 1, 2, null      mean 1.5, std 0.5 (2 of 3 folds)
 *                ISIC 0.5, 0.6, 0.7   mean 0.6, std 0.0816497
 *   attn-mi-ftl  HD95 -, 3            mean 3, std 0 (1 of 2 folds)
 *                ASSD -, 1.5          mean 1.5, std 0 (1 of 2 folds)
 *                ISIC -, 0.8          mean 0.8, std 0 (1 of 2 folds)
 */
import { STUDY_VERSION } from '../../src/ablation/study.js';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { resolveAblationSettings } from '../../src/ablation/settings.js';
import type { FoldResult } from '../../src/ablation/table.js';
import { unitName, type AblationUnit } from '../../src/ablation/units.js';
import { ABLATION_VARIANT_IDS } from '../../src/ablation/variants.js';
import type { DatasetSourceKind } from '../../src/data/dataset.js';
import {
  SUMMARY_FORMAT,
  SUMMARY_VERSION,
  type EvaluationSummary,
} from '../../src/eval/evaluation_summary.js';

export const FIXTURE_FOLDS = 3;

export const FIXTURE_RESULTS: ReadonlyMap<string, FoldResult> = new Map(
  (
    [
      ['unet-dl', 0, 0.5, 0.8, 0.2, { hd95: 4, assd: 1, thresholdedJaccard: 0.5 }],
      ['unet-dl', 1, 0.6, 0.8, 0.4, { hd95: 6, assd: 2, thresholdedJaccard: 0.6 }],
      ['unet-dl', 2, 0.7, 0.8, 0.9, { hd95: null, assd: null, thresholdedJaccard: 0.7 }],
      ['attn-mi-ftl', 0, 0.8, 0.9, 0.75, {}],
      ['attn-mi-ftl', 2, 0.84, 0.7, 0.85, { hd95: 3, assd: 1.5, thresholdedJaccard: 0.8 }],
    ] as const
  ).map(([variant, fold, dsc, precision, recall, extra]) => [
    `${variant}/fold-${fold}`,
    { fold, dsc, precision, recall, ...extra, count: 10 + fold },
  ]),
);

export const fixtureResult = (unit: AblationUnit): FoldResult | undefined =>
  FIXTURE_RESULTS.get(unitName(unit));

/** The worked statistics of the extra columns: [variant, metric, mean, std, folds]. */
export const FIXTURE_EXTRA_STATS = [
  ['unet-dl', 'hd95', 5, 1, 2],
  ['unet-dl', 'assd', 1.5, 0.5, 2],
  ['unet-dl', 'thresholdedJaccard', 0.6, 0.08164965809277261, 3],
  ['attn-mi-ftl', 'hd95', 3, 0, 1],
  ['attn-mi-ftl', 'assd', 1.5, 0, 1],
  ['attn-mi-ftl', 'thresholdedJaccard', 0.8, 0, 1],
] as const;

/** The worked statistics: [variant, metric, mean, std]. */
export const FIXTURE_STATS = [
  ['unet-dl', 'dsc', 0.6, 0.08164965809277261],
  ['unet-dl', 'precision', 0.8, 0],
  ['unet-dl', 'recall', 0.5, 0.29439202887759486],
  ['attn-mi-ftl', 'dsc', 0.82, 0.02],
  ['attn-mi-ftl', 'precision', 0.8, 0.1],
  ['attn-mi-ftl', 'recall', 0.8, 0.05],
] as const;

/**
 * Writes a study folder by hand: study.json for `dataset` with 3 folds, and an
 * eval/summary.json for each fixture unit: a whole summary of today's version, as evaluation
 * writes it (`readEvaluationSummary` reads it), with the fixture's means.
 */
export async function writeFixtureStudy(dir: string, dataset: DatasetSourceKind): Promise<void> {
  await mkdir(dir, { recursive: true });
  const settings = resolveAblationSettings(
    {
      dataset,
      data: path.join(dir, 'data'),
      folds: FIXTURE_FOLDS,
      ...(dataset.startsWith('synthetic') ? { syntheticCount: 30 } : {}),
    },
    path.join(dir, 'data'),
  );
  const study = {
    format: 'ftunet-ablation',
    version: STUDY_VERSION,
    createdAt: '2025-01-01T00:00:00.000Z',
    package: { name: 'focal-tversky-unet', version: '0.0.0-test' },
    variants: [...ABLATION_VARIANT_IDS],
    split: 'split.json',
    settings,
  };
  await writeFile(path.join(dir, 'study.json'), JSON.stringify(study));
  for (const [name, r] of FIXTURE_RESULTS) {
    const evalDir = path.join(dir, 'units', ...name.split('/'), 'eval');
    await mkdir(evalDir, { recursive: true });
    const summary: EvaluationSummary = {
      format: SUMMARY_FORMAT,
      version: SUMMARY_VERSION,
      dsc: { mean: r.dsc, std: 0.3 },
      precision: { mean: r.precision, std: 0.3 },
      recall: { mean: r.recall, std: 0.3 },
      tnr: { mean: 0.99, std: 0.01 },
      iou: { mean: 0.5, std: 0.2 },
      count: r.count,
      threshold: 0.5,
      fold: r.fold,
      model: 'fixture',
      size: 'original',
      lesionArea: { truth: { mean: 0.2, std: 0.1 }, prediction: { mean: 0.2, std: 0.1 } },
      // As evaluation writes them: {mean, std, count}, null when no image has a distance.
      ...Object.fromEntries(
        (['hd95', 'assd'] as const)
          .filter((m) => r[m] !== undefined)
          .map((m) => [
            m,
            r[m] === null
              ? { mean: null, std: null, count: 0 }
              : { mean: r[m], std: 1, count: r.count - 1 },
          ]),
      ),
      ...(typeof r.thresholdedJaccard === 'number'
        ? { thresholdedJaccard: r.thresholdedJaccard }
        : {}),
    };
    await writeFile(path.join(evalDir, 'summary.json'), JSON.stringify(summary));
  }
}
