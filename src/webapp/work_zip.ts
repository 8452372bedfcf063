/**
 * The workbench as one zip, and what the page can import.
 *
 * Export (`workZipEntries`): the layout `ftunet train --dataset folder` reads (data/folder.ts),
 * so the corrected work trains a model as it is:
 * - `images/<stem><ext>`: each image with a mask, its file's own bytes (the extension that of
 *   its format: `.png`, `.jpg`, `.bmp`);
 * - `masks/<stem>.png`: its mask in force (`currentMask`: the person's correction, else the
 *   model's), an 8-bit grey PNG of 0 and 255 at the image's size, paired by stem;
 * - `truths/<stem>.png`: the ground truth given with an image, when there is one;
 * - `unmasked/<stem><ext>`: images without a mask yet (outside `images/`, which a data set
 *   wants fully paired);
 * - `manifest.json` (`WORK_MANIFEST_FILE`, versioned): the app's version, the date, the model's
 *   name and hash, and per image its file name, entries, size, review status, mask settings
 *   (threshold, keep-largest, min-size, TTA), whether the mask is the model's or corrected,
 *   and its lesion pixels.
 * Stems are made safe to extract (`safeStem` of browser/masks_zip.ts) and unique ignoring case.
 *
 * Import (`readWork`), from files chosen or dropped together:
 * - one work zip (with `manifest.json`): images, masks (as the model's or as corrections),
 *   ground truths, statuses and settings come back as they were exported;
 * - one zip of any `images/` + `masks/` folder without a manifest (a data set), or loose
 *   files: images with `<stem>_mask.png` (or `<stem>_segmentation.png`, or in a zip's masks/
 *   `<stem>.png`) files, paired by stem as `ftunet evaluate --pred` pairs them
 *   (eval/mask_pairing.ts). A mask given so is both the image's ground truth (what the
 *   model's mask is scored against: DSC, IoU) and its correction (the mask in force), and the
 *   image is marked 'corrected'; an image without a mask comes 'unreviewed', to predict.
 * Bad input (not a zip, a mask whose size differs from its image's, a mask without an image,
 * a manifest of an unknown version, ...) throws one `WorkImportError` naming the file, and
 * nothing is imported. Unzipping runs off the main thread (fflate's asynchronous `unzip`).
 * Browser and Node (Blob, File); no DOM except `createImageBitmap` for JPEG masks.
 */
import { unzip, type Unzipped } from 'fflate';
import * as v from 'valibot';
import { safeStem } from '../browser/masks_zip.js';
import { encodeMaskPng } from '../browser/png.js';
import type { TtaMode } from '../eval/ensemble.js';
import { pairMasks, PREDICTION_STEM_SUFFIXES, stemOf } from '../eval/mask_pairing.js';
import {
  headerSize,
  jpegOrientation,
  sniffImageFormat,
  type ImageFormat,
} from '../io/image_format.js';
import { listFew } from '../util/messages.js';
import type { BinaryMask } from '../util/raster.js';
import { parseWith } from '../util/schema.js';
import { defineFileFormat, readVersioned, type FileFormat } from '../util/versioned.js';
import { decodeMaskBytes, WorkImportError } from './mask_file.js';
import {
  currentMask,
  REVIEW_STATUSES,
  type MaskSettings,
  type ReviewStatus,
  type StoredMask,
  type WorkImage,
} from './work.js';

/** The manifest's entry name. */
export const WORK_MANIFEST = 'manifest.json';

/** The folders of a work zip. */
export const WORK_FOLDERS = {
  images: 'images',
  masks: 'masks',
  truths: 'truths',
  unmasked: 'unmasked',
} as const;

/** The manifest's `format`. */
export const WORK_MANIFEST_FORMAT = 'ftunetWork';
/** The manifest's version written today. */
export const WORK_MANIFEST_VERSION = 1;

/** Where an image's mask in force came from. */
export type MaskSource = 'model' | 'corrected';
export const MASK_SOURCES: readonly MaskSource[] = ['model', 'corrected'];

const integer = (min: number) =>
  v.pipe(
    v.number('must be a number'),
    v.integer('must be an integer'),
    v.minValue(min, `must be >= ${min}`),
  );

/**
 * The TTA modes as a record, so that the compiler checks it names each of `TtaMode` and no
 * other (the values are eval/ensemble.ts's `TTA_MODES`; importing that module would bring
 * tfjs into the page's main script). A test checks both lists are the same.
 */
const TTA: Record<TtaMode, true> = { none: true, hflip: true, vflip: true, flips: true };
export const WORK_TTA_MODES = Object.keys(TTA) as TtaMode[];

/** `MaskSettings` as a schema (the manifest's, and the page's remembered settings). */
export const MASK_SETTINGS_SCHEMA = v.strictObject(
  {
    threshold: v.pipe(
      v.number('must be a number'),
      v.minValue(0, 'must be from 0 to 1'),
      v.maxValue(1, 'must be from 0 to 1'),
    ),
    keepLargest: v.boolean('must be true or false'),
    minSize: integer(0),
    tta: v.picklist(WORK_TTA_MODES, `must be one of ${WORK_TTA_MODES.join(', ')}`),
  },
  'must be an object with threshold, keepLargest, minSize and tta',
);

const entry = v.pipe(v.string('must be a string'), v.minLength(1, 'must not be empty'));

const IMAGE_SCHEMA = v.strictObject(
  {
    name: entry,
    image: entry,
    mask: v.nullable(entry),
    truth: v.nullable(entry),
    width: integer(1),
    height: integer(1),
    channels: integer(1),
    status: v.picklist(REVIEW_STATUSES, `must be one of ${REVIEW_STATUSES.join(', ')}`),
    settings: MASK_SETTINGS_SCHEMA,
    maskSource: v.nullable(v.picklist(MASK_SOURCES, `must be one of ${MASK_SOURCES.join(', ')}`)),
    lesionPixels: v.nullable(integer(0)),
    truthPixels: v.nullable(integer(0)),
    added: v.number('must be a number'),
  },
  'must be an object',
);

const MANIFEST_SCHEMA = v.strictObject(
  {
    format: v.literal(WORK_MANIFEST_FORMAT),
    version: v.literal(WORK_MANIFEST_VERSION),
    app: v.strictObject(
      { name: v.string('must be a string'), version: v.string('must be a string') },
      'must be an object',
    ),
    created: v.pipe(v.string('must be a string'), v.isoTimestamp('must be an ISO date and time')),
    model: v.nullable(
      v.strictObject(
        { name: v.string('must be a string'), hash: v.nullable(v.string('must be a string')) },
        'must be an object',
      ),
    ),
    images: v.array(IMAGE_SCHEMA, 'must be a list'),
  },
  'must be an object',
);

/** One image as the manifest records it. */
export type WorkManifestImage = v.InferOutput<typeof IMAGE_SCHEMA>;

/** `manifest.json` of a work zip. */
export type WorkManifest = v.InferOutput<typeof MANIFEST_SCHEMA>;

/** The manifest as a versioned file format (version 1: the first). */
export const WORK_MANIFEST_FILE: FileFormat<WorkManifest> = defineFileFormat({
  format: WORK_MANIFEST_FORMAT,
  version: WORK_MANIFEST_VERSION,
  migrate: {},
  parse: (value, source) => parseWith(MANIFEST_SCHEMA, value, source),
});

/** What the manifest says of the work as a whole (the page knows it). */
export interface WorkManifestMeta {
  /** The model that made the masks: its name (as the page shows it) and hash, when known. */
  model?: { name: string; hash?: string };
  /** The app's version (the package's). */
  appVersion: string;
  /** When the zip was made. Default: now. */
  created?: Date;
}

/** The file name extensions of each format a browser decodes; the first is the one given. */
const EXTENSIONS: Record<Exclude<ImageFormat, 'tiff'>, readonly string[]> = {
  png: ['.png'],
  jpeg: ['.jpg', '.jpeg', '.jpe', '.jfif'],
  bmp: ['.bmp'],
};

/** The extension of a file name, lower case, with its dot ('' when none). */
function extensionOf(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot).toLowerCase() : '';
}

/** The extension an image gets in the zip: its own when it fits its format, else the format's. */
export function imageExtension(name: string, format: ImageFormat | undefined): string {
  const own = extensionOf(name);
  if (format === undefined || format === 'tiff') return own || '.png';
  return EXTENSIONS[format].includes(own) ? own : EXTENSIONS[format][0];
}

/**
 * The stem each image gets in the zip: `safeStem` of its own, or `<safe stem>_<k>` with the
 * smallest k from 2 that no earlier image takes ignoring case (so that no two entries
 * overwrite each other when the zip is extracted on Windows or macOS).
 */
export function uniqueStems(stems: readonly string[]): string[] {
  const used = new Set<string>();
  return stems.map((stem) => {
    const safe = safeStem(stem);
    let out = safe;
    for (let k = 2; used.has(out.toLowerCase()); k++) out = `${safe}_${k}`;
    used.add(out.toLowerCase());
    return out;
  });
}

/** The bytes of a Blob. */
async function bytesOf(blob: Blob): Promise<Uint8Array> {
  return new Uint8Array(await blob.arrayBuffer());
}

/**
 * The entries of the work zip (see the module doc): for `Pipeline.zip` or fflate's `zip`.
 * Images are listed in the order given.
 */
export async function workZipEntries(
  images: readonly WorkImage[],
  meta: WorkManifestMeta,
): Promise<Record<string, Uint8Array>> {
  const entries: Record<string, Uint8Array> = {};
  const stems = uniqueStems(images.map((i) => i.stem));
  const records: WorkManifestImage[] = [];
  for (const [k, image] of images.entries()) {
    const bytes = await bytesOf(image.file);
    const mask = currentMask(image);
    const folder = mask ? WORK_FOLDERS.images : WORK_FOLDERS.unmasked;
    const imageEntry = `${folder}/${stems[k]}${imageExtension(image.name, sniffImageFormat(bytes))}`;
    entries[imageEntry] = bytes;
    let maskEntry: string | null = null;
    if (mask) {
      maskEntry = `${WORK_FOLDERS.masks}/${stems[k]}.png`;
      entries[maskEntry] = await bytesOf(mask.png);
    }
    let truthEntry: string | null = null;
    if (image.truth) {
      truthEntry = `${WORK_FOLDERS.truths}/${stems[k]}.png`;
      entries[truthEntry] = await bytesOf(image.truth.png);
    }
    records.push({
      name: image.name,
      image: imageEntry,
      mask: maskEntry,
      truth: truthEntry,
      width: image.width,
      height: image.height,
      channels: image.channels,
      status: image.status,
      settings: { ...image.settings },
      maskSource: image.correction ? 'corrected' : image.modelMask ? 'model' : null,
      lesionPixels: mask ? mask.pixels : null,
      truthPixels: image.truth ? image.truth.pixels : null,
      added: image.added,
    });
  }
  const manifest: WorkManifest = {
    format: WORK_MANIFEST_FORMAT,
    version: WORK_MANIFEST_VERSION,
    app: { name: 'focal-tversky-unet', version: meta.appVersion },
    created: (meta.created ?? new Date()).toISOString(),
    model: meta.model ? { name: meta.model.name, hash: meta.model.hash ?? null } : null,
    images: records,
  };
  entries[WORK_MANIFEST] = new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`);
  return entries;
}

/** Checks a parsed `manifest.json` of any version; `source` names it in messages. */
export function parseWorkManifest(value: unknown, source = WORK_MANIFEST): WorkManifest {
  return readVersioned(WORK_MANIFEST_FILE, value, source);
}

// ---------------------------------------------------------------------------------------
// Import

export { WorkImportError };

/** One image as imported: what the page needs to add it to the workbench. */
export interface ImportedImage {
  /** The image's file name (as it was chosen, or as the manifest recorded it). */
  name: string;
  /** `name` without its extension. */
  stem: string;
  /** The image file's own bytes, as a File named `name`. */
  file: File;
  /** Its size as shown (a JPEG's after its EXIF orientation), when its header gives it. */
  size?: { width: number; height: number };
  /** The review status (a work zip's; else 'unreviewed'). */
  status: ReviewStatus;
  /** The settings of its mask (a work zip's); absent: the page's. */
  settings?: MaskSettings;
  /** A work zip's model mask (to show before the model runs again; the same at `settings`). */
  modelMask?: StoredMask;
  /** A work zip's correction (the person's earlier work), or a mask given with the image. */
  correction?: StoredMask;
  /** A ground truth to compare with (a mask given with the image is also its correction). */
  truth?: StoredMask;
  /** When it was first added (a work zip's), for the list's order. */
  added?: number;
}

/** What `readWork` found. */
export interface ImportedWork {
  /** 'work': a work zip; 'dataset': a zip of images/ + masks/; 'files': loose files. */
  kind: 'work' | 'dataset' | 'files';
  images: ImportedImage[];
  /** A work zip's manifest. */
  manifest?: WorkManifest;
  /**
   * A data set zip's files outside `images/` and `masks/` (sub-folders of theirs included),
   * which were not read: for the page to name (as `ftunet inspect` warns of them).
   */
  skipped: string[];
}

/** Options of `readWork`: where the heavy work on masks runs (default: in this thread). */
export interface ReadWorkOptions {
  /** Decodes a mask file of any format to 0/1 (e.g. in the pipeline's worker). */
  decodeMask?: (file: Blob, name: string) => Promise<BinaryMask>;
  /** Encodes a 0/1 mask as the stored PNG (e.g. `Pipeline.encodeMask`). */
  encodeMask?: (mask: BinaryMask) => Promise<StoredMask>;
}

/** A file to read: its name (an entry's path, or a chosen file's name) and its bytes. */
interface Source {
  name: string;
  read(): Promise<Uint8Array>;
}

const ZIP_SIGNATURES = [
  [0x50, 0x4b, 0x03, 0x04],
  [0x50, 0x4b, 0x05, 0x06], // an empty zip
];

function isZipBytes(head: Uint8Array): boolean {
  return ZIP_SIGNATURES.some((sig) => sig.every((b, i) => head[i] === b));
}

/** Whether a chosen file looks like a zip (by its name, or its first bytes). */
async function looksLikeZip(file: File): Promise<boolean> {
  if (file.name.toLowerCase().endsWith('.zip')) return true;
  return isZipBytes(await bytesOf(file.slice(0, 4)));
}

/**
 * Reads what a person chose or dropped (see the module doc): one zip (a work zip, or a data
 * set's images/ + masks/), or images with their `<stem>_mask.png` files. Throws a
 * `WorkImportError` naming the file at the first problem; nothing is returned half read.
 */
export async function readWork(
  files: readonly File[],
  options: ReadWorkOptions = {},
): Promise<ImportedWork> {
  if (files.length === 0) throw new WorkImportError('import', 'no files were chosen');
  const zips: File[] = [];
  for (const f of files) if (await looksLikeZip(f)) zips.push(f);
  if (zips.length > 0) {
    if (files.length > 1) {
      throw new WorkImportError(
        zips[0].name,
        'a zip is imported on its own: choose the zip alone, or images with their ' +
          '<stem>_mask.png files',
      );
    }
    return readZip(zips[0], options);
  }
  return readLooseFiles(
    files.map((f) => ({ name: f.name, read: () => bytesOf(f) })),
    options,
  );
}

/**
 * The most bytes a zip may unpack to (its entries' sizes as its directory gives them): 2 GiB,
 * about what a tab can hold; a larger one (or a zip bomb) is refused before it is unpacked.
 */
export const MAX_UNZIPPED_BYTES = 2 ** 31;

/** The entries of a zip, off the main thread; a damaged or foreign file is a WorkImportError. */
async function unzipFile(file: File): Promise<Unzipped> {
  const bytes = await bytesOf(file);
  if (!isZipBytes(bytes)) {
    throw new WorkImportError(file.name, 'not a zip file (it may be damaged or incomplete)');
  }
  let total = 0;
  const data = await new Promise<Unzipped>((resolve, reject) => {
    unzip(
      bytes,
      {
        filter: (entry) => {
          total += entry.originalSize;
          return total <= MAX_UNZIPPED_BYTES;
        },
      },
      (err, result) => {
        if (err) {
          reject(
            new WorkImportError(
              file.name,
              `the zip cannot be read (${err.message}): it may be damaged or incomplete`,
            ),
          );
        } else resolve(result);
      },
    );
  });
  if (total > MAX_UNZIPPED_BYTES) {
    throw new WorkImportError(
      file.name,
      `it unpacks to ${(total / 2 ** 30).toFixed(1)} GiB, more than a page can hold ` +
        `(${MAX_UNZIPPED_BYTES / 2 ** 30} GiB): import its images in smaller zips`,
    );
  }
  return data;
}

/**
 * A zip's files by path: folders, macOS's `__MACOSX/` and hidden files left out, and one
 * folder that holds everything (a folder zipped as a whole) taken off the paths, unless it is
 * one of the work zip's own folders (a zip of images/ alone).
 */
export function zipFiles(entries: Unzipped): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(entries)) {
    const parts = name.split('/');
    if (name.endsWith('/') || parts[0] === '__MACOSX' || parts.some((p) => p.startsWith('.'))) {
      continue;
    }
    files.set(name, data);
  }
  const tops = new Set([...files.keys()].map((n) => (n.includes('/') ? n.split('/')[0] : '')));
  const known = Object.values(WORK_FOLDERS) as string[];
  const [top] = tops;
  if (tops.size === 1 && top !== '' && !known.includes(top.toLowerCase())) {
    return new Map([...files].map(([n, d]) => [n.slice(top.length + 1), d]));
  }
  return files;
}

async function readZip(file: File, options: ReadWorkOptions): Promise<ImportedWork> {
  const files = zipFiles(await unzipFile(file));
  const label = (entry: string) => `${file.name}: ${entry}`;
  const manifestBytes = files.get(WORK_MANIFEST);
  if (manifestBytes !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(manifestBytes));
    } catch (err) {
      throw new WorkImportError(label(WORK_MANIFEST), `not JSON (${(err as Error).message})`);
    }
    let manifest: WorkManifest;
    try {
      manifest = parseWorkManifest(json, label(WORK_MANIFEST));
    } catch (err) {
      // RefusedValueError's message already starts with the source.
      const message = (err as Error).message;
      const reason = message.startsWith(`${label(WORK_MANIFEST)}: `)
        ? message.slice(label(WORK_MANIFEST).length + 2)
        : message;
      throw new WorkImportError(label(WORK_MANIFEST), reason);
    }
    return {
      kind: 'work',
      manifest,
      images: await readManifestImages(manifest, files, label, options),
      skipped: [],
    };
  }
  const folders = new Map<string, string>();
  for (const name of files.keys()) {
    if (name.includes('/')) folders.set(name.split('/')[0].toLowerCase(), name.split('/')[0]);
  }
  const images = folders.get(WORK_FOLDERS.images);
  if (images === undefined) {
    const found = [
      ...new Set([...files.keys()].map((n) => n.split('/')[0] + (n.includes('/') ? '/' : ''))),
    ];
    throw new WorkImportError(
      file.name,
      `neither a work zip (no ${WORK_MANIFEST}) nor a data set (no images/ folder beside ` +
        `masks/); it holds ${found.length ? listFew(found) : 'nothing'}`,
    );
  }
  const masks = folders.get(WORK_FOLDERS.masks);
  const inFolder = (folder: string | undefined): Source[] =>
    folder === undefined
      ? []
      : [...files]
          .filter(([n]) => n.startsWith(`${folder}/`) && !n.slice(folder.length + 1).includes('/'))
          .map(([n, d]) => ({ name: n, read: async () => d }));
  const read = [...inFolder(images), ...inFolder(masks)];
  const taken = new Set(read.map((f) => f.name));
  const skipped = [...files.keys()].filter((n) => !taken.has(n));
  const imported = await pairAndRead(inFolder(images), inFolder(masks), label, options);
  return { kind: 'dataset', images: imported, skipped };
}

async function readManifestImages(
  manifest: WorkManifest,
  files: Map<string, Uint8Array>,
  label: (entry: string) => string,
  options: ReadWorkOptions,
): Promise<ImportedImage[]> {
  const named = new Set<string>([WORK_MANIFEST]);
  const entry = (name: string, what: string): Uint8Array => {
    const data = files.get(name);
    if (data === undefined) {
      throw new WorkImportError(
        label(WORK_MANIFEST),
        `names ${name} as ${what}, but the zip does not hold it`,
      );
    }
    named.add(name);
    return data;
  };
  const out: ImportedImage[] = [];
  for (const record of manifest.images) {
    const bytes = entry(record.image, `the image ${record.name}`);
    const image = await checkImage(label(record.image), bytes);
    const imported: ImportedImage = {
      name: record.name,
      stem: stemOf(record.name),
      file: new File([bytes as BlobPart], record.name, { type: mimeOf(image.format) }),
      ...(image.size ? { size: image.size } : {}),
      status: record.status,
      settings: { ...record.settings },
      added: record.added,
    };
    if (record.mask !== null) {
      const data = entry(record.mask, `the mask of ${record.name}`);
      const mask = await readMask(label(record.mask), data, image, options);
      if (record.maskSource === 'corrected') imported.correction = mask;
      else imported.modelMask = mask;
    }
    if (record.truth !== null) {
      const data = entry(record.truth, `the ground truth of ${record.name}`);
      imported.truth = await readMask(label(record.truth), data, image, options);
    }
    out.push(imported);
  }
  const extra = [...files.keys()].filter((n) => !named.has(n));
  if (extra.length > 0) {
    throw new WorkImportError(
      label(WORK_MANIFEST),
      `does not name ${listFew(extra)}: remove ${WORK_MANIFEST} to import the folders as a ` +
        'data set (images with ground truths), or take the files out of the zip',
    );
  }
  return out;
}

/** Loose files: images and `<stem>_mask.png` (or `_segmentation`) files. */
async function readLooseFiles(files: Source[], options: ReadWorkOptions): Promise<ImportedWork> {
  const stems = new Set(files.map((f) => stemOf(f.name)));
  const suffixes = PREDICTION_STEM_SUFFIXES.filter((s) => s !== '');
  const masks: Source[] = [];
  const images: Source[] = [];
  for (const f of files) {
    const stem = stemOf(f.name);
    const suffix = suffixes.find((s) => stem.endsWith(s) && stem.length > s.length);
    if (suffix === undefined) {
      images.push(f);
    } else if (stems.has(stem.slice(0, -suffix.length))) {
      masks.push(f);
    } else {
      throw new WorkImportError(
        f.name,
        `a mask (its name ends in ${suffix}) without its image: choose ` +
          `${stem.slice(0, -suffix.length)}.png (or .jpg, .bmp) with it`,
      );
    }
  }
  const imported = await pairAndRead(images, masks, (n) => n, options);
  return { kind: 'files', images: imported, skipped: [] };
}

/**
 * Pairs images with masks by stem (`pairMasks`) and reads them all: every mask becomes its
 * image's ground truth and correction (the image 'corrected'). Two images of one stem, two
 * masks of one image and a mask without an image are refused. Names are shown with `label`;
 * an image's name is its file name.
 */
async function pairAndRead(
  images: Source[],
  masks: Source[],
  label: (name: string) => string,
  options: ReadWorkOptions,
): Promise<ImportedImage[]> {
  const base = (name: string) => name.split('/').pop()!;
  const byStem = new Map<string, Source>();
  for (const image of images) {
    const stem = stemOf(image.name);
    const other = byStem.get(stem);
    if (other !== undefined) {
      throw new WorkImportError(
        label(image.name),
        `has the name of ${base(other.name)} without its extension: rename one of them ` +
          '(a mask is named <stem>_mask.png)',
      );
    }
    byStem.set(stem, image);
  }
  const named = masks.map((m) => ({ name: base(m.name), stem: stemOf(m.name), source: m }));
  const pairing = pairMasks(named, [...byStem.keys()]);
  if (pairing.ambiguous.length > 0) {
    const first = pairing.ambiguous[0].split(' and ')[0];
    const where = named.find((m) => m.name === first)?.source.name ?? first;
    throw new WorkImportError(
      label(where),
      `one image has two masks: ${pairing.ambiguous[0]}; keep one of them`,
    );
  }
  if (pairing.unused.length > 0) {
    const m = pairing.unused[0];
    throw new WorkImportError(
      label(m.source.name),
      `a mask without an image: no image pairs with it (the mask of an image <stem>.* is ` +
        'named <stem>.png, <stem>_mask.png or <stem>_segmentation.png)',
    );
  }
  const out: ImportedImage[] = [];
  for (const [k, [stem, source]] of [...byStem].entries()) {
    const bytes = await source.read();
    const image = await checkImage(label(source.name), bytes);
    const name = base(source.name);
    const imported: ImportedImage = {
      name,
      stem,
      file: new File([bytes as BlobPart], name, { type: mimeOf(image.format) }),
      ...(image.size ? { size: image.size } : {}),
      status: 'unreviewed',
    };
    const mask = pairing.found[k];
    if (mask !== undefined) {
      const data = await mask.source.read();
      const stored = await readMask(label(mask.source.name), data, image, options);
      imported.truth = stored;
      imported.correction = stored;
      imported.status = 'corrected';
    }
    out.push(imported);
  }
  return out;
}

const mimeOf = (format: ImageFormat): string =>
  format === 'jpeg' ? 'image/jpeg' : `image/${format}`;

/** An image's format and header size; anything a browser cannot decode is refused. */
async function checkImage(
  label: string,
  bytes: Uint8Array,
): Promise<{ format: Exclude<ImageFormat, 'tiff'>; size?: { width: number; height: number } }> {
  const format = sniffImageFormat(bytes.subarray(0, 64));
  if (format === undefined || format === 'tiff') {
    const what = format === 'tiff' ? 'a TIFF image, which browsers cannot decode' : 'not an image';
    throw new WorkImportError(label, `${what}: expected a PNG, JPEG or BMP file`);
  }
  const header = headerSize(bytes);
  if (header === undefined) return { format };
  // A JPEG turned a quarter by its EXIF orientation shows (and decodes) with its sides swapped.
  const turned = format === 'jpeg' && jpegOrientation(bytes) >= 5;
  const { width, height } = header;
  return { format, size: turned ? { width: height, height: width } : { width, height } };
}

/**
 * A mask file as the stored mask (8-bit grey PNG of 0 and 255), checked to be its image's size
 * as shown (a JPEG's after its EXIF orientation).
 */
async function readMask(
  label: string,
  bytes: Uint8Array,
  image: { format: ImageFormat; size?: { width: number; height: number } },
  options: ReadWorkOptions,
): Promise<StoredMask> {
  let mask: BinaryMask;
  let canonical = false;
  try {
    if (options.decodeMask) {
      mask = await options.decodeMask(new Blob([bytes as BlobPart]), label);
    } else {
      ({ mask, canonical } = await decodeMaskBytes(label, bytes));
    }
  } catch (err) {
    if (err instanceof WorkImportError) throw err;
    // The worker's message, with or without the name it gave the file.
    const message = err instanceof Error ? err.message : String(err);
    throw new WorkImportError(
      label,
      message.startsWith(`${label}: `) ? message.slice(label.length + 2) : message,
    );
  }
  const size = image.size;
  if (size !== undefined && (mask.width !== size.width || mask.height !== size.height)) {
    throw new WorkImportError(
      label,
      `the mask is ${mask.width}x${mask.height} but its image is ${size.width}x${size.height}`,
    );
  }
  let pixels = 0;
  for (let i = 0; i < mask.data.length; i++) pixels += mask.data[i];
  if (canonical) return { png: new Blob([bytes as BlobPart], { type: 'image/png' }), pixels };
  if (options.encodeMask) return options.encodeMask(mask);
  return { png: new Blob([encodeMaskPng(mask) as BlobPart], { type: 'image/png' }), pixels };
}
