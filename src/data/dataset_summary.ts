/**
 * What `ftunet inspect` reports about a data set: the number of pairs, the range of original
 * sizes, the channel layouts of the image files and the lesion-area fraction. Pure.
 */
import { formatFractionStats, summaryStats, type SummaryStats } from '../util/stats.js';
import type { SegmentationDataset } from './dataset.js';

/** The summary of a data set (the `--json` output of `ftunet inspect`). */
export interface DatasetSummary {
  /** Number of image/mask pairs. */
  count: number;
  /** Range of the original sizes, in pixels. */
  sizes: { height: { min: number; max: number }; width: { min: number; max: number } };
  /** How many image files store each channel layout ('grey', 'rgb', 'palette', ...). */
  layouts: Record<string, number>;
  /** The lesion's fraction of each image at its original size (population std). */
  lesionArea: SummaryStats;
  /** Masks without any lesion pixel. */
  emptyMasks: number;
}

/** Summarises a data set (sizes, layouts, lesion areas). */
export function summarizeDataset(
  dataset: Pick<SegmentationDataset, 'count' | 'originalSizes' | 'layouts' | 'lesionArea'>,
): DatasetSummary {
  const heights = dataset.originalSizes.map((s) => s[0]);
  const widths = dataset.originalSizes.map((s) => s[1]);
  const hs = summaryStats(heights);
  const ws = summaryStats(widths);
  const layouts: Record<string, number> = {};
  for (const l of dataset.layouts) layouts[l] = (layouts[l] ?? 0) + 1;
  return {
    count: dataset.count,
    sizes: { height: { min: hs.min, max: hs.max }, width: { min: ws.min, max: ws.max } },
    layouts,
    lesionArea: summaryStats(dataset.lesionArea),
    emptyMasks: dataset.lesionArea.filter((a) => a === 0).length,
  };
}

/** The summary as lines of text for a terminal. */
export function formatDatasetSummary(summary: DatasetSummary): string[] {
  const { height, width } = summary.sizes;
  const range = (r: { min: number; max: number }): string =>
    r.min === r.max ? `${r.min}` : `${r.min}-${r.max}`;
  const layouts = Object.entries(summary.layouts)
    .sort((a, b) => b[1] - a[1])
    .map(([l, n]) => `${l} ${n}`)
    .join(', ');
  return [
    `pairs: ${summary.count}`,
    `original sizes (rows x cols): ${range(height)} x ${range(width)}`,
    `channel layouts: ${layouts}`,
    `lesion area: ${formatFractionStats(summary.lesionArea)}` +
      (summary.emptyMasks > 0 ? `; ${summary.emptyMasks} empty masks` : ''),
  ];
}
