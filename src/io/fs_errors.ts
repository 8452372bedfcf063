/**
 * The file system's refusals that are conditions of the machine, not bugs: a read-only file
 * system (EROFS), permissions (EACCES, EPERM), a full disk or quota (ENOSPC, EDQUOT). The CLI
 * turns them into one line naming the file and the real cause, "cannot write FILE: read-only
 * file system (EROFS)". Node reports a recursive `mkdir` that a read-only file system refuses
 * as ENOENT; the folder's nearest existing ancestor is asked for the real cause. A temporary
 * name (src/io/atomic.ts) is named as the file it was to become. Node-only.
 */
import { access, constants, stat } from 'node:fs/promises';
import path from 'node:path';
import { publishedPath } from './atomic.js';

/** The conditions, by error code, and how they read. */
const CAUSES: Readonly<Record<string, string>> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
};

/** What Node's fs errors carry. */
interface SystemError {
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
}

/** `err` or the first of its causes that is a system error with a code. */
function systemError(err: unknown): SystemError | undefined {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 8; depth++) {
    const { code } = e as { code?: unknown };
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return e as SystemError;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Why creating the folder `dir` failed with ENOENT although its nearest existing ancestor is a
 * folder: the code (EROFS, EACCES, ...) that writing in that ancestor meets; undefined when the
 * ancestor is writable (then the ENOENT was real: a folder removed meanwhile).
 */
async function mkdirCause(dir: string): Promise<string | undefined> {
  let ancestor = path.dirname(path.resolve(dir));
  for (;;) {
    try {
      if (!(await stat(ancestor)).isDirectory()) return undefined;
      break;
    } catch {
      const up = path.dirname(ancestor);
      if (up === ancestor) return undefined;
      ancestor = up;
    }
  }
  try {
    await access(ancestor, constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code in CAUSES ? code : undefined;
  }
}

/** What the failed call was doing, e.g. "write FILE", "create the folder DIR". */
function attempted(e: SystemError, code: string): string {
  const file = e.path === undefined ? undefined : publishedPath(e.path);
  const target = e.dest === undefined ? file : publishedPath(e.dest);
  const named = (verb: string, p = file) => (p === undefined ? verb : `${verb} ${p}`);
  switch (e.syscall) {
    case 'mkdir':
      return named('create the folder');
    case 'rename':
    case 'link':
    case 'symlink':
    case 'copyfile':
      return named('write', target);
    case 'unlink':
    case 'rmdir':
    case 'rm':
      return named('remove');
    case 'open':
      // On a read-only or full file system an open that fails is one for writing.
      return named(code === 'EACCES' || code === 'EPERM' ? 'open' : 'write');
    default:
      return named(e.syscall === undefined ? 'write' : e.syscall);
  }
}

/**
 * One line for a file system error that is a condition of the machine (see the file's
 * comment), found in `err` or its causes; undefined for anything else.
 */
export async function describeFileSystemError(err: unknown): Promise<string | undefined> {
  const e = systemError(err);
  if (e === undefined) return undefined;
  let code: string | undefined = e.code;
  if (code === 'ENOENT' && e.syscall === 'mkdir' && e.path !== undefined) {
    code = await mkdirCause(e.path);
  }
  if (code === undefined || !(code in CAUSES)) return undefined;
  return `cannot ${attempted(e, code)}: ${CAUSES[code]} (${code})`;
}
