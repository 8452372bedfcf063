/**
 * The paper's published results (Abraham & Khan, ISBI 2019, Tables 1 and 2):
 * DSC, precision and recall of each row, mean over 5-fold cross-validation. Only the proposed
 * row (Attn U-Net + Multi-Input + FTL) has a published standard deviation, and only for DSC.
 *
 * Pure.
 */
import type { DatasetSourceKind } from '../data/dataset.js';
import type { PaperVariantId } from './variants.js';

/** A published number: the mean, and the std where the paper gives one. */
export interface PaperValue {
  mean: number;
  std?: number;
}

/** One row of a published table. */
export interface PaperRow {
  dsc: PaperValue;
  precision: PaperValue;
  recall: PaperValue;
}

/** A published table. */
export interface PaperTable {
  /** "Table 1". */
  table: string;
  /** The data set the paper used, e.g. "BUS 2017 dataset B". */
  dataset: string;
  /** Test images per fold in the paper. */
  testImages: number;
  rows: Readonly<Record<PaperVariantId, PaperRow>>;
}

const row = (dsc: number, precision: number, recall: number, dscStd?: number): PaperRow => ({
  dsc: dscStd === undefined ? { mean: dsc } : { mean: dsc, std: dscStd },
  precision: { mean: precision },
  recall: { mean: recall },
});

/** Table 1: BUS 2017 dataset B. */
export const PAPER_TABLE_BUS: PaperTable = {
  table: 'Table 1',
  dataset: 'BUS 2017 dataset B',
  testImages: 40,
  rows: {
    'unet-dl': row(0.547, 0.653, 0.658),
    'unet-tl': row(0.657, 0.732, 0.723),
    'unet-ftl': row(0.669, 0.775, 0.715),
    'attn-dl': row(0.615, 0.675, 0.658),
    'attn-mi-dl': row(0.716, 0.759, 0.751),
    'attn-mi-tl': row(0.751, 0.802, 0.768),
    'attn-mi-ftl': row(0.804, 0.829, 0.817, 0.024),
  },
};

/** Table 2: ISIC 2018. */
export const PAPER_TABLE_ISIC: PaperTable = {
  table: 'Table 2',
  dataset: 'ISIC 2018',
  testImages: 649,
  rows: {
    'unet-dl': row(0.82, 0.849, 0.867),
    'unet-tl': row(0.838, 0.822, 0.917),
    'unet-ftl': row(0.829, 0.797, 0.926),
    'attn-dl': row(0.806, 0.874, 0.827),
    'attn-mi-dl': row(0.827, 0.896, 0.829),
    'attn-mi-tl': row(0.841, 0.823, 0.912),
    'attn-mi-ftl': row(0.856, 0.858, 0.897, 0.007),
  },
};

/**
 * The published table to put beside a study's results, and whether the study's data are
 * synthetic (the published numbers are then for reference only); undefined for data sets the
 * paper did not use.
 */
export function paperTableFor(
  dataset: DatasetSourceKind,
): { table: PaperTable; synthetic: boolean } | undefined {
  switch (dataset) {
    case 'bus':
      return { table: PAPER_TABLE_BUS, synthetic: false };
    case 'synthetic-bus':
      return { table: PAPER_TABLE_BUS, synthetic: true };
    case 'isic2018':
      return { table: PAPER_TABLE_ISIC, synthetic: false };
    case 'synthetic-isic':
      return { table: PAPER_TABLE_ISIC, synthetic: true };
    case 'folder':
      return undefined;
    default:
      throw new Error(
        `paperTableFor: unknown data set '${String(dataset)}'; expected bus, synthetic-bus, ` +
          'isic2018, synthetic-isic or folder',
      );
  }
}
