/**
 * The files of the web app's zip download: every mask as `<stem>_mask.png` and `areas.csv`
 * (one row per image: its file, its mask's entry, size, threshold and lesion area). Entry names
 * come from the names of files people picked, and the zip is opened elsewhere, so each name is
 * made safe to extract (`maskEntryName`) and the CSV is written by `csvDocument` (text cells a
 * spreadsheet would run as formulas neutralised). Pure: no DOM, no Node API.
 */
import { csvDocument } from '../util/csv.js';

/** The CSV in the zip. Mask entries end in `_mask.png`, so none can take this name. */
export const AREAS_CSV = 'areas.csv';

/** The columns of `areas.csv`. */
export const AREAS_CSV_HEADER = [
  'file',
  'mask',
  'width',
  'height',
  'threshold',
  'lesion_pixels',
  'lesion_percent',
] as const;

/** The longest stem kept in an entry name, in UTF-8 bytes (file systems allow 255 per name). */
const MAX_STEM_BYTES = 200;

/**
 * Characters replaced by `_` in entry names: path separators (`/`, `\`), control characters
 * (C0, DEL, C1, and the line and paragraph separators U+2028, U+2029), and the characters
 * Windows refuses in file names (`<>:"|?*`).
 */
// eslint-disable-next-line no-control-regex -- control characters are what it removes
const UNSAFE = /[/\\\u0000-\u001f\u007f-\u009f\u2028\u2029<>:"|?*]/gu;

/**
 * Bidirectional controls, removed: the embeddings and overrides U+202A-U+202E, the isolates
 * U+2066-U+2069 and the marks U+200E, U+200F, U+061C. They make `gnp.exe` show as `exe.png`.
 */
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/** One image's mask as the zip holds it. */
export interface ZipMask {
  /** The image's file name as it was picked (the CSV's `file` column). */
  name: string;
  /** The image's file name without its extension. */
  stem: string;
  /** The mask's size (the image's). */
  width: number;
  height: number;
  /** The probability threshold the mask was made at. */
  threshold: number;
  /** Lesion pixels in the mask. */
  pixels: number;
  /** The mask as PNG bytes. */
  png: Uint8Array;
}

/**
 * A stem made safe as the start of a file name in a zip: path separators, control and
 * Windows-reserved characters become `_`, bidirectional controls are removed, leading dots
 * and spaces are removed (no hidden files), and it is cut to `MAX_STEM_BYTES` bytes of UTF-8.
 * An empty result is `image`.
 */
export function safeStem(stem: string): string {
  const cleaned = stem
    .replace(BIDI, '')
    .replace(UNSAFE, '_')
    .replace(/^[.\s]+/u, '');
  let out = '';
  let bytes = 0;
  for (const ch of cleaned) {
    const cp = ch.codePointAt(0)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes > MAX_STEM_BYTES) break;
    out += ch;
  }
  return out === '' ? 'image' : out;
}

/**
 * The entry name of a mask: `<safe stem>_mask.png`, or `<safe stem>_<k>_mask.png` with the
 * smallest k from 2 that no name in `used` takes, ignoring case (two images whose names differ
 * only in case, or only in the characters `safeStem` replaces, must not overwrite each other
 * when the zip is extracted on Windows or macOS). Adds the name to `used` (lower case).
 */
export function maskEntryName(stem: string, used: Set<string>): string {
  const safe = safeStem(stem);
  let name = `${safe}_mask.png`;
  for (let k = 2; used.has(name.toLowerCase()); k++) name = `${safe}_${k}_mask.png`;
  used.add(name.toLowerCase());
  return name;
}

/** The files of the zip: each mask under its entry name, then `areas.csv`. */
export function masksZipFiles(masks: readonly ZipMask[]): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  const used = new Set<string>([AREAS_CSV]);
  const rows = masks.map((m) => {
    const entry = maskEntryName(m.stem, used);
    files[entry] = m.png;
    const percent = (100 * m.pixels) / (m.width * m.height);
    return [m.name, entry, m.width, m.height, m.threshold, m.pixels, percent.toFixed(4)];
  });
  files[AREAS_CSV] = new TextEncoder().encode(csvDocument(AREAS_CSV_HEADER, rows));
  return files;
}
