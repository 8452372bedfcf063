/**
 * The rule that pairs a mask file with its image by name, as `ftunet evaluate --pred` and the
 * web app's import use it: a mask's stem is its image's stem plus one of
 * `PREDICTION_STEM_SUFFIXES` (none, as nnU-Net and MONAI write them; `_mask`, as `ftunet
 * predict` and the web app write them; `_segmentation`, the ISIC 2018 ground truths' naming).
 * Pure (no Node API): evaluate's folder listing (`predictions.ts`) and the browser share it.
 */

/**
 * The stem endings a predicted mask may have after its image's stem: none (nnU-Net, MONAI),
 * `_mask` (ftunet predict) or `_segmentation` (the ISIC 2018 ground truths' naming).
 */
export const PREDICTION_STEM_SUFFIXES = ['', '_mask', '_segmentation'] as const;

/** A file as pairing sees it. */
export interface NamedFile {
  /** The file name, e.g. `a_mask.png`. */
  name: string;
  /** The name without its extension, e.g. `a_mask`. */
  stem: string;
}

/** What `pairMasks` found for each image stem. */
export interface MaskPairing<T extends NamedFile> {
  /** Per stem (in the order given): its mask, when exactly one matched. */
  found: (T | undefined)[];
  /** Image stems without a mask. */
  missing: string[];
  /** Stems with two or more masks: the file names, joined with ' and '. */
  ambiguous: string[];
  /** The mask files that no image stem took. */
  unused: T[];
}

/**
 * For each image stem in `stems`, the files of `masks` whose stem is that stem plus one of
 * `PREDICTION_STEM_SUFFIXES`. A stem with none is `missing`; one with two (two suffixes, or
 * one stem in two formats: `x.png` and `x.tiff`) is `ambiguous` and takes the first.
 */
export function pairMasks<T extends NamedFile>(
  masks: readonly T[],
  stems: readonly string[],
): MaskPairing<T> {
  const byStem = new Map<string, T[]>();
  for (const f of masks) byStem.set(f.stem, [...(byStem.get(f.stem) ?? []), f]);
  const missing: string[] = [];
  const ambiguous: string[] = [];
  const taken = new Set<T>();
  const found = stems.map((stem) => {
    const files = PREDICTION_STEM_SUFFIXES.flatMap((s) => byStem.get(stem + s) ?? []);
    if (files.length === 0) missing.push(stem);
    if (files.length > 1) ambiguous.push(files.map((f) => f.name).join(' and '));
    for (const f of files) taken.add(f);
    return files[0];
  });
  return { found, missing, ambiguous, unused: masks.filter((f) => !taken.has(f)) };
}

/** A file name without its folder and extension: `a/b.c.png` gives `b.c`, `.png` stays. */
export function stemOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}
