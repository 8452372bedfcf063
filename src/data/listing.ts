/**
 * Listing image folders and pairing images with masks, shared by the readers. Checks the
 * structure of a data set before any pixel is decoded: missing folders, empty folders, two
 * files with the same stem, images without masks and masks without images all end in one
 * `DataError` naming the files (the first few and a count). Files that are not images are
 * returned as `skipped` so the caller can warn once. Nothing is written. Node-only (fs).
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../errors.js';
import { isImageFileName } from '../io/image.js';
import { listFew, plural } from '../util/messages.js';
import type { DatasetLayout } from './presets.js';

/** One image file in a folder. */
export interface ImageFile {
  /** File name, e.g. `000001.png`. */
  name: string;
  /** File name without its extension, e.g. `000001`. */
  stem: string;
  /** Absolute path. */
  path: string;
}

/** The image files of a folder, and what was skipped in it. */
export interface FolderListing {
  files: ImageFile[];
  /** Entries that are not images (shown as `folder/name`, sub-folders as `folder/name/`). */
  skipped: string[];
}

/** An image and its mask. */
export interface ImagePair {
  /** The image's file name, the item's name in a data set and in split files. */
  name: string;
  /** Absolute path of the image. */
  image: string;
  /** Absolute path of the mask. */
  mask: string;
}

/** The pairs of a data set on disk, before decoding. */
export interface PairListing {
  kind: DatasetLayout;
  /** The data folder (absolute). */
  root: string;
  /** The image and mask folders (absolute). */
  imageDir: string;
  maskDir: string;
  /** Sorted by name. */
  pairs: ImagePair[];
  /** Entries that are not images, in both folders. */
  skipped: string[];
}

/** Throws a `DataError` unless `dir` is an existing folder. */
export async function checkFolder(kind: string, dir: string): Promise<void> {
  let isDir = false;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch {
    throw new DataError(`${kind}: data folder ${dir} does not exist`);
  }
  if (!isDir) throw new DataError(`${kind}: ${dir} is a file, expected a data folder`);
}

/** The names of the sub-folders of `dir`, sorted. */
export async function subfolders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of entries) {
    if (e.isDirectory()) out.push(e.name);
    else if (e.isSymbolicLink()) {
      const s = await stat(path.join(dir, e.name)).catch(() => undefined);
      if (s?.isDirectory()) out.push(e.name);
    }
  }
  return out.sort();
}

/**
 * Finds the sub-folder of `dir` whose name is one of `names` ignoring case. Returns undefined
 * when there is none; throws when two differ only in case (e.g. both gt/ and GT/).
 */
export function findFolder(
  kind: string,
  folders: readonly string[],
  names: readonly string[],
  root: string,
): string | undefined {
  const wanted = names.map((n) => n.toLowerCase());
  const found = folders.filter((f) => wanted.includes(f.toLowerCase()));
  if (found.length > 1) {
    throw new DataError(
      `${kind}: ${root} has both ${found.map((f) => `${f}/`).join(' and ')}; keep one of them`,
    );
  }
  return found[0];
}

/** Lists the image files of a folder; `label` is how messages show the folder. */
export async function listImageFolder(dir: string, label: string): Promise<FolderListing> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: ImageFile[] = [];
  const skipped: string[] = [];
  for (const e of entries) {
    const full = path.join(dir, e.name);
    let isFile = e.isFile();
    let isDir = e.isDirectory();
    if (e.isSymbolicLink()) {
      const s = await stat(full).catch(() => undefined);
      isFile = s?.isFile() ?? false;
      isDir = s?.isDirectory() ?? false;
    }
    if (isDir) skipped.push(`${label}/${e.name}/`);
    else if (isFile && isImageFileName(e.name)) {
      files.push({ name: e.name, stem: path.parse(e.name).name, path: full });
    } else skipped.push(`${label}/${e.name}`);
  }
  return { files, skipped };
}

/** Options of `pairFolders`. */
export interface PairOptions {
  kind: DatasetLayout;
  root: string;
  imageDir: string;
  maskDir: string;
  /** The stem a mask must have for an image stem. Default: the same stem. */
  maskStem?: (imageStem: string) => string;
}

/**
 * Lists both folders and pairs images with masks by stem. Throws one `DataError` listing every
 * structural problem: an empty image folder, duplicate stems, unpaired images or masks.
 */
export async function pairFolders(options: PairOptions): Promise<PairListing> {
  const { kind, root, imageDir, maskDir } = options;
  const maskStem = options.maskStem ?? ((s: string) => s);
  const imageLabel = path.relative(root, imageDir) || '.';
  const maskLabel = path.relative(root, maskDir) || '.';
  const images = await listImageFolder(imageDir, imageLabel);
  const masks = await listImageFolder(maskDir, maskLabel);
  const skipped = [...images.skipped, ...masks.skipped];
  const problems: string[] = [];

  if (images.files.length === 0) {
    const extra = images.skipped.length
      ? ` (only ${plural(images.skipped.length, 'entry', 'entries')} that ` +
        `${images.skipped.length === 1 ? 'is not an image' : 'are not images'}: ${listFew(images.skipped)})`
      : '';
    problems.push(`no images in ${imageLabel}/${extra}`);
  }
  if (masks.files.length === 0 && images.files.length > 0) {
    problems.push(`no masks in ${maskLabel}/`);
  }
  const imageByStem = byStem(images.files, imageLabel, problems);
  const maskByStem = byStem(masks.files, maskLabel, problems);

  const pairs: ImagePair[] = [];
  const noMask: string[] = [];
  const used = new Set<string>();
  for (const [stem, file] of imageByStem) {
    const m = maskByStem.get(maskStem(stem));
    if (m === undefined) noMask.push(file.name);
    else {
      used.add(maskStem(stem));
      pairs.push({ name: file.name, image: file.path, mask: m.path });
    }
  }
  const noImage = [...maskByStem.values()].filter((m) => !used.has(m.stem)).map((m) => m.name);
  if (noMask.length > 0 && masks.files.length > 0) {
    problems.push(
      `${plural(noMask.length, 'image')} in ${imageLabel}/ ${noMask.length === 1 ? 'has' : 'have'} ` +
        `no mask in ${maskLabel}/: ${listFew(noMask)}`,
    );
  }
  if (noImage.length > 0 && images.files.length > 0) {
    problems.push(
      `${plural(noImage.length, 'mask')} in ${maskLabel}/ ${noImage.length === 1 ? 'has' : 'have'} ` +
        `no image in ${imageLabel}/: ${listFew(noImage)}` +
        (noImage.length === masks.files.length ? expectedMaskNames(images.files, maskStem) : ''),
    );
  }
  if (problems.length > 0) throw new DataError(`${kind}: ${problems.join('; ')}`);
  pairs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { kind, root, imageDir, maskDir, pairs, skipped };
}

/** When nothing pairs, say what a mask was expected to be called. */
function expectedMaskNames(images: ImageFile[], maskStem: (s: string) => string): string {
  const first = images[0];
  return first ? ` (for ${first.name} a mask named ${maskStem(first.stem)}.png was expected)` : '';
}

function byStem(files: ImageFile[], label: string, problems: string[]): Map<string, ImageFile> {
  const map = new Map<string, ImageFile>();
  const dupes = new Map<string, string[]>();
  for (const f of files) {
    const prev = map.get(f.stem);
    if (prev === undefined) map.set(f.stem, f);
    else dupes.set(f.stem, [...(dupes.get(f.stem) ?? [prev.name]), f.name]);
  }
  if (dupes.size > 0) {
    const groups = [...dupes.values()].map((g) => g.join(' and '));
    problems.push(
      `${plural(dupes.size, 'name stem')} in ${label}/ ${dupes.size === 1 ? 'is' : 'are'} used by ` +
        `more than one file: ${listFew(groups, 3)}`,
    );
  }
  return map;
}

/** Guesses which layout a folder holds, for hints in error messages. */
export function guessLayout(folders: readonly string[]): DatasetLayout | undefined {
  const lower = folders.map((f) => f.toLowerCase());
  if (lower.includes('original') && lower.includes('gt')) return 'bus';
  if (folders.some((f) => /^ISIC2018_Task1(-2)?_\w+_Input$/i.test(f))) return 'isic2018';
  if (lower.includes('images') && lower.includes('masks')) return 'folder';
  return undefined;
}

/** " (this looks like the isic2018 layout: use --dataset isic2018)" or "". */
export function layoutHint(kind: DatasetLayout, folders: readonly string[]): string {
  const guess = guessLayout(folders);
  const found = folders.length
    ? `; found ${listFew(folders.map((f) => `${f}/`))}`
    : '; it has no folders';
  const hint =
    guess && guess !== kind ? ` (this looks like the ${guess} layout: use --dataset ${guess})` : '';
  return `${found}${hint}`;
}
