/**
 * Output folders that a command owns, as `ftunet export --out` and `ftunet app --out` write
 * them: a folder is replaced only when it is missing, empty, or marked as this command's
 * earlier output; what the user added to a marked folder is kept; and a kill at any moment
 * leaves the old folder or the new one. Node-only.
 *
 * - The marker: a JSON file in the folder, `{ format, version, files, ... }`, where `files`
 *   lists, relative and with `/`, every file the command wrote. A folder without the marker
 *   (another run's `best/`, a checkpoint, the user's files) is refused with a `UserError`
 *   and left as it was.
 * - Real paths: `out` is resolved through symbolic links first, so a link into a run is judged
 *   by what it points to, and a link to an earlier output stays a link while the folder behind
 *   it is replaced.
 * - Kept files: a file (or folder) of the old folder that the marker does not list is copied
 *   into the new folder before the swap (never moved: until the swap the old folder is whole).
 *   A listed file that the new output no longer writes goes with the old folder.
 * - The swap: the new folder is written beside `out` as `.NAME.tmp-PID` (`temporaryFolderPath`)
 *   and fsynced; then the old folder is renamed aside to `.NAME.old-PID`, the new one renamed
 *   into place, and the old one removed. A kill between the two renames leaves `out` missing
 *   with both complete folders beside it; the next claim of `out` renames the old one back
 *   (the old one, because the new one's `.tmp-` name is swept by any writer of the folder,
 *   e.g. training in a run folder, while `.old-` names are not).
 * - Sweeping: only the names this module makes for this `out`, of dead processes; the other
 *   temporaries of the parent folder are left to their owners.
 */
import { cp, lstat, mkdir, open, readdir, readFile, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { UserError } from '../errors.js';
import { listFew } from '../util/messages.js';
import {
  isProcessAlive,
  isStaleTemporary,
  sweepStaleTemporaries,
  syncFolder,
  temporaryFolderPath,
  writeFileDurable,
} from './atomic.js';

/** What an output folder is, for its marker and messages. */
export interface OutputFolderKind {
  /** The marker's file name in the folder, e.g. 'ftunet-app.json'. */
  marker: string;
  /** The marker's `format` field, e.g. 'ftunet-app'. */
  format: string;
  /** For messages: what the folder is and who writes it, e.g. 'an app' and 'ftunet app'. */
  what: string;
  writer: string;
  /**
   * Whether a marker without a `files` list (written by an earlier version) is this kind's,
   * and then which files of the old folder the writer owned. Default: no such marker is.
   */
  legacy?: { accepts: (marker: object) => boolean; owns: (file: string) => boolean };
}

/** What `claimOutputFolder` found: where to write, and what the old folder holds. */
export interface OutputFolderClaim {
  /** The folder as given, absolute (for messages and results). */
  given: string;
  /** Its real path: links resolved. */
  out: string;
  /** Whether a folder is there now. */
  exists: boolean;
  /**
   * The old folder's files that its writer owned (relative, `/`): from its marker's list, or,
   * for a legacy marker, `undefined` (then the files the new output writes and those that
   * `legacy.owns`, decided once the new output is written).
   */
  owned?: ReadonlySet<string>;
}

/**
 * The real path of `p`: its own when it exists, else its nearest existing ancestor's with the
 * rest of `p` appended. A broken link is a `UserError`.
 */
export async function realTarget(p: string): Promise<string> {
  const abs = path.resolve(p);
  try {
    return await realpath(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
  if (
    await lstat(abs).then(
      (s) => s.isSymbolicLink(),
      () => false,
    )
  ) {
    throw new UserError(`--out ${abs} is a link to a missing folder; choose another --out`);
  }
  const parent = path.dirname(abs);
  if (parent === abs) return abs;
  return path.join(await realTarget(parent), path.basename(abs));
}

/** `--out GIVEN`, with its real path when a link leads elsewhere. */
const named = (claim: { given: string; out: string }): string =>
  claim.given === claim.out ? claim.given : `${claim.given} (${claim.out})`;

/** The aside name of `out`'s old folder during a swap by process `pid`. */
const asidePath = (out: string, pid = process.pid): string =>
  path.join(path.dirname(out), `.${path.basename(out)}.old-${pid}`);

/**
 * Makes `out` ready to be written by `kind`'s command, changing nothing but this module's own
 * leftovers: restores an old folder that a kill left aside, and removes the aside and
 * temporary folders of `out` of dead processes. Then checks that `out` is missing, empty or
 * marked as `kind` (else a `UserError` naming it and what it holds).
 */
export async function claimOutputFolder(
  given: string,
  kind: OutputFolderKind,
): Promise<OutputFolderClaim> {
  const abs = path.resolve(given);
  const out = await realTarget(abs);
  await recover(out);
  const claim = { given: abs, out };
  let entries: string[];
  try {
    const s = await lstat(out);
    if (!s.isDirectory()) throw new UserError(`--out ${named(claim)} is a file; choose a folder`);
    entries = (await readdir(out)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ...claim, exists: false };
    if (code === 'ENOTDIR') throw cannotCreate(abs, err);
    throw err;
  }
  if (entries.length === 0) return { ...claim, exists: true, owned: new Set() };
  const notOurs = (why: string): UserError =>
    new UserError(
      `--out ${named(claim)} is not ${kind.what} written by ${kind.writer} (${why}): ` +
        'choose another --out',
    );
  if (!entries.includes(kind.marker)) {
    throw notOurs(`no ${kind.marker}; it holds ${listFew(entries)}`);
  }
  const marker = await readMarker(path.join(out, kind.marker));
  if (marker === undefined) throw notOurs(`its ${kind.marker} cannot be read`);
  const files = (marker as { files?: unknown }).files;
  if (
    (marker as { format?: unknown }).format === kind.format &&
    Array.isArray(files) &&
    files.every((f) => typeof f === 'string')
  ) {
    return { ...claim, exists: true, owned: new Set(files as string[]) };
  }
  if (kind.legacy?.accepts(marker)) return { ...claim, exists: true };
  throw notOurs(`its ${kind.marker} is not one`);
}

async function readMarker(file: string): Promise<object | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

const cannotCreate = (out: string, err: unknown): UserError =>
  new UserError(
    `cannot create the output folder ${out}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
  );

/**
 * What a kill may have left of `out`'s swaps: when `out` is missing and a dead process's old
 * folder lies aside, it is renamed back (the newest, by its time of change); then the asides
 * and temporary folders of `out` of dead processes are removed.
 */
async function recover(out: string): Promise<void> {
  const dir = path.dirname(out);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return; // a missing parent has nothing to recover
  }
  const prefix = `.${path.basename(out)}.old-`;
  const asides = entries.filter((name) => {
    if (!name.startsWith(prefix)) return false;
    const pid = Number(name.slice(prefix.length));
    return /^\d+$/.test(name.slice(prefix.length)) && pid > 0 && !isProcessAlive(pid);
  });
  const missing = await lstat(out).then(
    () => false,
    () => true,
  );
  if (missing && asides.length > 0) {
    const times = await Promise.all(
      asides.map(async (a) => (await lstat(path.join(dir, a))).ctimeMs),
    );
    const newest = asides[times.indexOf(Math.max(...times))];
    await rename(path.join(dir, newest), out);
    await syncFolder(dir);
    asides.splice(asides.indexOf(newest), 1);
  }
  for (const a of asides) await rm(path.join(dir, a), { recursive: true, force: true });
  await sweepStaleTemporaries(dir, { name: path.basename(out) });
}

let swapFault: (() => void) | undefined;

/**
 * Test seam: `fault()` is called between moving the old folder aside and moving the new one
 * into place (e.g. to kill the process there). `undefined` removes it. Not part of the API.
 */
export function injectSwapFault(fault: (() => void) | undefined): void {
  swapFault = fault;
}

/** Every file (not folder) under `dir`, relative with `/`, sorted. */
async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const files: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) files.push(...(await listFiles(dir, r)));
    else files.push(r);
  }
  return files.sort();
}

/**
 * The entries of the old folder to keep (relative, `/`): every file or folder not `owned` and
 * not the marker, nor a temporary of a dead process; a folder with nothing owned inside is
 * kept whole.
 */
async function keptEntries(
  old: string,
  owned: ReadonlySet<string>,
  marker: string,
  rel = '',
): Promise<string[]> {
  const kept: string[] = [];
  for (const e of await readdir(path.join(old, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (r === marker || owned.has(r) || isStaleTemporary(e.name)) continue;
    if (e.isDirectory() && [...owned].some((f) => f.startsWith(`${r}/`))) {
      kept.push(...(await keptEntries(old, owned, marker, r)));
    } else {
      kept.push(r);
    }
  }
  return kept;
}

/** Fsyncs every file and folder under `dir` (and `dir`), so that the swap publishes data. */
async function syncTree(dir: string): Promise<void> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      await syncTree(p);
    } else if (e.isFile()) {
      const handle = await open(p, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  }
  await syncFolder(dir);
}

/**
 * Writes the output folder of a claim (see the module's comment): `fill(dir)` writes the new
 * output into the empty folder `dir`; the marker, with `record(result)`'s fields and the list
 * of the files `fill` wrote, is added; the old folder's kept entries are copied in (a kept
 * file where the new output has one is a `UserError`, and nothing changes); then the swap.
 * On any error the new folder is removed and the old one is left as it was.
 */
export async function writeOutputFolder<T>(
  claim: OutputFolderClaim,
  kind: OutputFolderKind,
  fill: (dir: string) => Promise<T>,
  record: (result: T) => Record<string, unknown> = () => ({}),
): Promise<T> {
  const { out } = claim;
  const parent = path.dirname(out);
  try {
    await mkdir(parent, { recursive: true });
  } catch (err) {
    throw cannotCreate(claim.given, err);
  }
  const tmp = temporaryFolderPath(out);
  const aside = asidePath(out);
  let movedAside = false;
  try {
    await rm(tmp, { recursive: true, force: true }); // this process's own, from an earlier call
    await mkdir(tmp);
    const result = await fill(tmp);
    const files = (await listFiles(tmp)).filter((f) => f !== kind.marker);
    if (claim.exists) {
      let owned = claim.owned;
      if (owned === undefined) {
        const legacy = kind.legacy;
        const old = await listFiles(out);
        owned = new Set([...files, ...old.filter((f) => legacy?.owns(f) === true)]);
      }
      for (const rel of await keptEntries(out, owned, kind.marker)) {
        const clash = await lstat(path.join(tmp, rel)).then(
          () => true,
          () => false,
        );
        if (clash) {
          throw new UserError(
            `--out ${named(claim)} holds ${rel}, which ${kind.writer} did not write and would ` +
              'replace: move it away or choose another --out',
          );
        }
        await mkdir(path.dirname(path.join(tmp, rel)), { recursive: true });
        await cp(path.join(out, rel), path.join(tmp, rel), {
          recursive: true,
          errorOnExist: true,
          force: false,
          preserveTimestamps: true,
          verbatimSymlinks: true,
        });
      }
    }
    const marker = { format: kind.format, version: 1, ...record(result), files };
    await writeFileDurable(path.join(tmp, kind.marker), `${JSON.stringify(marker, null, 2)}\n`);
    await syncTree(tmp);
    if (claim.exists) {
      await rm(aside, { recursive: true, force: true }); // this process's own
      await rename(out, aside);
      movedAside = true;
      swapFault?.();
      await rename(tmp, out);
      movedAside = false;
      await syncFolder(parent);
      await rm(aside, { recursive: true, force: true });
    } else {
      await rename(tmp, out);
      await syncFolder(parent);
    }
    return result;
  } catch (err) {
    if (movedAside) await rename(aside, out);
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
