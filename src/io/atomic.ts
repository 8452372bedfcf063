/**
 * Atomic and durable file writes, and the sweeping of temporary files that a killed process
 * left behind. Node-only.
 *
 * - Atomic: the data go to a temporary file in the same folder, which is then renamed over
 *   the target, so a reader sees either the old file or the whole new one, never a partial
 *   file (rename is atomic within one file system).
 * - Durable: the temporary file is fsynced before the rename and the folder after it, so a
 *   power loss cannot leave a renamed but empty file (the rename reaches the disk after the
 *   data it publishes).
 * - Named by owner: every temporary name carries the writing process's id,
 *   `.NAME.tmp-PID-RANDOM` for files and `.NAME.tmp-PID` for folders, so that
 *   `sweepStaleTemporaries` can tell the leftovers of a dead process from files being written,
 *   and by target, so that a writer can sweep its own leftovers and leave a shared folder's
 *   others alone.
 * - A full disk (ENOSPC, EDQUOT) is a `DiskFullError` naming the target, and the temporary
 *   file is removed.
 */
import { randomBytes } from 'node:crypto';
import { open, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { DiskFullError } from '../errors.js';

/** A temporary name: a leading dot, the target's name, `.tmp-`, the owner's pid, any suffix. */
const TEMPORARY_NAME = /^\.(.+)\.tmp-(\d+)(?:-[0-9a-f]+)?$/;

/** The temporary name used next to `file` while it is written. */
export function temporaryPath(file: string): string {
  const dir = path.dirname(file);
  const base = path.basename(file);
  return path.join(dir, `.${base}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** The temporary name of a folder `dir` while it is written (one per process). */
export function temporaryFolderPath(dir: string): string {
  return path.join(path.dirname(dir), `.${path.basename(dir)}.tmp-${process.pid}`);
}

let writeFault: ((file: string) => void) | undefined;

/**
 * Test seam: `fault(file)` is called before each write of this module and of the cache; an
 * error it throws acts as the write's error (e.g. one with code 'ENOSPC'). `undefined` removes
 * it. Not part of the public API.
 */
export function injectWriteFault(fault: ((file: string) => void) | undefined): void {
  writeFault = fault;
}

/** Calls the injected write fault, if any, for a write to `file`. */
export function checkWriteFault(file: string): void {
  writeFault?.(file);
}

/** Whether `err` says the disk or the user's quota is full. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** `err` as a `DiskFullError` naming `target` when it is a full disk; else `err` itself. */
export function diskFullAs(err: unknown, target: string): unknown {
  return isDiskFull(err) && !(err instanceof DiskFullError)
    ? new DiskFullError(target, { cause: err })
    : err;
}

async function writeSynced(file: string, data: string | Uint8Array): Promise<void> {
  const handle = await open(file, 'w');
  try {
    checkWriteFault(file);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes `data` to `file` (created or truncated) and fsyncs it; no rename. For files inside a
 * temporary folder that is published as a whole. A full disk is a `DiskFullError` naming `file`.
 */
export async function writeFileDurable(file: string, data: string | Uint8Array): Promise<void> {
  try {
    await writeSynced(file, data);
  } catch (err) {
    throw diskFullAs(err, file);
  }
}

/**
 * Fsyncs a folder, so that the names created, renamed or removed in it survive a power loss.
 * Where a platform cannot open or sync folders (Windows), this does nothing.
 */
export async function syncFolder(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EISDIR' || code === 'EPERM' || code === 'EACCES') return;
    throw err;
  }
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw err;
  } finally {
    await handle.close();
  }
}

/** Options of `writeFileAtomic`. */
export interface WriteFileAtomicOptions {
  /**
   * First remove the temporaries of `file` that dead processes left (`sweepStaleTemporaries`
   * with its name), for a writer whose file lies in a folder it does not sweep as a whole.
   * Default false.
   */
  sweep?: boolean;
}

/**
 * Writes `data` to `file` atomically and durably: temporary file, fsync, rename, fsync of the
 * folder. On any error the temporary file is removed; a full disk is a `DiskFullError` naming
 * `file`.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  options: WriteFileAtomicOptions = {},
): Promise<void> {
  if (options.sweep === true) {
    await sweepStaleTemporaries(path.dirname(file), { name: path.basename(file) });
  }
  const tmp = temporaryPath(file);
  try {
    await writeSynced(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw diskFullAs(err, file);
  }
  try {
    await syncFolder(path.dirname(file));
  } catch (err) {
    throw diskFullAs(err, file);
  }
}

/** Whether the process `pid` is alive (a process of another user counts as alive). */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code !== 'ESRCH';
  }
}

/**
 * The path a temporary file or folder (see `temporaryPath`, `temporaryFolderPath`) is to be
 * published as; `file` itself when it is no temporary.
 */
export function publishedPath(file: string): string {
  const match = TEMPORARY_NAME.exec(path.basename(file));
  return match === null ? file : path.join(path.dirname(file), match[1]);
}

/**
 * Whether `name` is a temporary name (see `temporaryPath`, `temporaryFolderPath`) of a process
 * that is no longer running; with `target`, only a temporary of the file or folder `target`.
 */
export function isStaleTemporary(name: string, target?: string): boolean {
  const match = TEMPORARY_NAME.exec(name);
  if (match === null || (target !== undefined && match[1] !== target)) return false;
  const pid = Number(match[2]);
  return Number.isSafeInteger(pid) && pid > 0 && !isProcessAlive(pid);
}

/** Options of `sweepStaleTemporaries`. */
export interface SweepOptions {
  /**
   * Only the temporaries of the file or folder of this name in `dir` (`.NAME.tmp-PID…`), for a
   * writer whose target shares its folder with others' files. Default: every temporary.
   */
  name?: string;
}

/**
 * Removes the temporary files and folders in `dir` (not below it) whose owning process, named
 * by the pid in their name (see `temporaryPath`), is no longer running: what a kill in the
 * middle of a write leaves. Those of live processes, this one included, are kept. A missing
 * folder has nothing to sweep. Returns the names removed.
 *
 * A pid is only meaningful on this machine: on a folder shared between machines (NFS), a
 * temporary file of a process on another machine whose pid is free here would be removed.
 */
export async function sweepStaleTemporaries(
  dir: string,
  options: SweepOptions = {},
): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
  const removed: string[] = [];
  for (const name of entries) {
    if (!isStaleTemporary(name, options.name)) continue;
    await rm(path.join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return removed;
}

/** Whether something (file or folder) exists at `p`. */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
