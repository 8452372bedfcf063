/**
 * Lock files, so that several processes (on one machine or on several sharing a folder) never
 * work on the same thing at once: an ablation study's unit (src/ablation/run.ts), a run folder
 * being trained (src/run/train.ts).
 *
 * A lock is a small JSON file `{host, pid, time, token}` created with `open(file, 'wx')`
 * (O_CREAT | O_EXCL: exactly one creator succeeds, also on NFS v3 and later). Its holder
 * refreshes the file's modification time while it works (`UnitLock.touch`), and removes it
 * when done. A lock is stale, and may be taken over, when
 * - its modification time is older than the timeout (its holder died on another machine, or
 *   hangs), or
 * - it is empty or unreadable and older than a minute (`UNREADABLE_LOCK_STALE_MS`): its
 *   creator was killed between creating and writing it (a live creator writes it at once, and
 *   its refreshes need a lock that names it), or
 * - it was made on this host and its process is gone, or
 * - it names this host and this very process id but this process does not hold it: a
 *   restarted container (a Kubernetes Indexed Job's pod keeps its host name
 *   `<job>-<index>`, and often its pid) left it behind.
 * A stale lock is taken over by renaming it away (atomic: of several processes breaking the
 * same lock, one wins), checking that what was moved is the lock that was judged, and then
 * claiming the file anew. The unreadable-lock threshold assumes that the clocks of machines
 * sharing the folder agree within a minute.
 *
 * Node-only (fs, os).
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import { UserError } from '../errors.js';

/** What a lock file holds. */
export interface LockInfo {
  host: string;
  pid: number;
  /** When the lock was made (ISO 8601). */
  time: string;
  /** Random, so a holder can tell its own lock from a later one at the same path. */
  token: string;
}

/** A lock file as found: its content (undefined when unreadable or half-written) and age. */
export interface FoundLock {
  info?: LockInfo;
  /** Modification time (refreshed by the holder), in ms since the epoch. */
  mtimeMs: number;
}

/** What `lockStaleReason` compares a lock with. */
export interface StaleCheck {
  /** Now, in ms since the epoch. */
  nowMs: number;
  /** A lock not refreshed for this long is stale, in ms. */
  timeoutMs: number;
  /** An empty or unreadable lock older than this is stale, in ms (see the file's comment). */
  unreadableStaleMs: number;
  /** This machine's host name. */
  host: string;
  /** Whether a process of this host is alive. */
  isAlive: (pid: number) => boolean;
  /** This process's id. */
  pid: number;
  /** Whether this process holds the lock with this token. */
  holds: (token: string) => boolean;
}

/** Default lock timeout: 3 hours without a refresh. */
export const DEFAULT_LOCK_TIMEOUT_MS = 3 * 60 * 60 * 1000;

/**
 * An empty or unreadable lock file older than this (1 minute) is stale: its creator writes it
 * within milliseconds of creating it, so one this old was left by a kill in between.
 */
export const UNREADABLE_LOCK_STALE_MS = 60 * 1000;

/** Why a lock is stale, or null when it is held. Pure. */
export function lockStaleReason(lock: FoundLock, check: StaleCheck): string | null {
  const age = check.nowMs - lock.mtimeMs;
  if (age > check.timeoutMs) {
    return `not refreshed for ${formatDuration(age)} (timeout ${formatDuration(check.timeoutMs)})`;
  }
  const info = lock.info;
  if (info === undefined) {
    return age > check.unreadableStaleMs
      ? `empty or unreadable for ${formatDuration(age)} (a holder writes it at once; stale after ${formatDuration(check.unreadableStaleMs)})`
      : null;
  }
  if (info.host !== check.host) return null;
  if (info.pid === check.pid) {
    return check.holds(info.token)
      ? null
      : `made by an earlier process with this host name and pid ${info.pid} (a restarted container)`;
  }
  if (!check.isAlive(info.pid)) return `its process ${info.pid} on this host is gone`;
  return null;
}

/** "2h 5m", "3m 20s", "45s". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  const m = Math.floor(s / 60) % 60;
  return `${Math.floor(s / 3600)}h${m ? ` ${m}m` : ''}`;
}

/**
 * Parses a duration: a number of seconds, or a number with the unit s, m, h or d ("90m",
 * "6h"). Returns milliseconds; throws a `UserError` naming the flag.
 */
export function parseDuration(text: string, flag = '--lock-timeout'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$/.exec(text);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };
  const ms = m === null ? NaN : Number(m[1]) * unit[m[2] as keyof typeof unit] * 1000;
  if (!(ms > 0)) {
    throw new UserError(
      `${flag}: expected a duration such as 90s, 30m or 6h, or a number of seconds, got '${text}'`,
    );
  }
  return ms;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseInfo(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (
      typeof v.host === 'string' &&
      typeof v.pid === 'number' &&
      typeof v.time === 'string' &&
      typeof v.token === 'string'
    ) {
      return v as LockInfo;
    }
  } catch {
    // Half-written or not ours.
  }
  return undefined;
}

/** Reads a lock file; undefined when there is none. */
export async function readLock(file: string): Promise<FoundLock | undefined> {
  try {
    const [text, s] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
    const info = parseInfo(text);
    return info === undefined ? { mtimeMs: s.mtimeMs } : { info, mtimeMs: s.mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Options of `claimLock`. */
export interface ClaimOptions {
  /** See `StaleCheck.timeoutMs`. Default `DEFAULT_LOCK_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** See `StaleCheck.unreadableStaleMs`. Default `UNREADABLE_LOCK_STALE_MS`. */
  unreadableStaleMs?: number;
  /** Default `os.hostname()`. */
  host?: string;
  /** Default `process.pid`. */
  pid?: number;
  /** Default: `process.kill(pid, 0)` succeeds. */
  isAlive?: (pid: number) => boolean;
}

/** What `claimLock` got: the lock, or who holds it. */
export type ClaimResult =
  | { claimed: true; lock: UnitLock; tookOver?: { from?: LockInfo; reason: string } }
  | { claimed: false; heldBy: FoundLock };

/** The tokens of the locks this process holds. */
const heldTokens = new Set<string>();

/** A lock this process holds (of an ablation unit, a study or a run folder). */
export class UnitLock {
  private released = false;

  constructor(
    readonly file: string,
    readonly info: LockInfo,
  ) {}

  /** Whether the file still holds this lock (not taken over as stale by another process). */
  async held(): Promise<boolean> {
    const found = await readLock(this.file);
    return found?.info?.token === this.info.token;
  }

  /** Refreshes the modification time, so that others see the holder alive. */
  async touch(): Promise<void> {
    if (this.released || !(await this.held())) return;
    const now = new Date();
    await utimes(this.file, now, now);
  }

  /** Removes the lock file if it is still this lock. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldTokens.delete(this.info.token);
    if (await this.held()) await rm(this.file, { force: true });
  }
}

async function create(file: string, info: LockInfo): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(`${JSON.stringify(info)}\n`);
  } catch (err) {
    // Leave no empty lock behind (a full disk): it would block the unit for a minute.
    await handle.close().catch(() => undefined);
    await rm(file, { force: true });
    throw err;
  }
  await handle.close();
  return true;
}

/**
 * Claims the lock `file`: creates it, or takes it over when it is stale. Returns the lock, or
 * the lock that another process holds.
 */
export async function claimLock(file: string, options: ClaimOptions = {}): Promise<ClaimResult> {
  const host = options.host ?? os.hostname();
  const pid = options.pid ?? process.pid;
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const unreadableStaleMs = options.unreadableStaleMs ?? UNREADABLE_LOCK_STALE_MS;
  const isAlive = options.isAlive ?? processAlive;
  let tookOver: { from?: LockInfo; reason: string } | undefined;
  // A few rounds: the lock may be released or broken by others between our steps.
  for (let round = 0; round < 5; round++) {
    const info: LockInfo = {
      host,
      pid,
      time: new Date().toISOString(),
      token: randomBytes(8).toString('hex'),
    };
    // Ours before the file exists: another claimer in this process that reads it meanwhile
    // must see a held lock, not a stale one of this pid.
    heldTokens.add(info.token);
    if (await create(file, info)) {
      const lock = new UnitLock(file, info);
      // Taken over while we wrote it (only if this process stalled for the stale threshold).
      if (!(await lock.held())) {
        heldTokens.delete(info.token);
        continue;
      }
      return tookOver === undefined ? { claimed: true, lock } : { claimed: true, lock, tookOver };
    }
    heldTokens.delete(info.token);
    const found = await readLock(file);
    if (found === undefined) continue; // Released meanwhile: try again.
    const reason = lockStaleReason(found, {
      nowMs: Date.now(),
      timeoutMs,
      unreadableStaleMs,
      host,
      isAlive,
      pid,
      holds: (token) => heldTokens.has(token),
    });
    if (reason === null) return { claimed: false, heldBy: found };
    // Break it: rename it away, then check that what we moved is the lock we judged.
    const moved = `${file}.stale-${info.token}`;
    try {
      await rename(file, moved);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // Someone else broke it.
      throw err;
    }
    const movedLock = await readLock(moved);
    const same =
      found.info === undefined
        ? movedLock !== undefined &&
          movedLock.info === undefined &&
          movedLock.mtimeMs === found.mtimeMs
        : movedLock?.info?.token === found.info.token;
    if (!same) {
      // A fresh lock made after our look: put it back (fails if yet another one exists).
      await link(moved, file).catch(() => undefined);
      await rm(moved, { force: true });
      continue;
    }
    await rm(moved, { force: true });
    tookOver = found.info === undefined ? { reason } : { from: found.info, reason };
  }
  const found = await readLock(file);
  return { claimed: false, heldBy: found ?? { mtimeMs: Date.now() } };
}

/** "host/pid since time" of a lock, for messages. */
export function describeLock(lock: FoundLock): string {
  const age = new Date(lock.mtimeMs).toISOString();
  if (lock.info === undefined) return `an unreadable lock (refreshed ${age})`;
  return `${lock.info.host} pid ${lock.info.pid} (since ${lock.info.time}, refreshed ${age})`;
}
