/**
 * Helpers for fault-injection tests of the file modules: a pid that is certainly not running,
 * an injected ENOSPC, and a small real tmpfs where this machine allows mounting one.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { injectWriteFault } from '../../src/io/atomic.js';

const run = promisify(execFile);

/** The pid of a child process that has exited (and been reaped), so it is not alive. */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  return pid;
}

/** An error as the kernel gives it for a full disk (`code` 'ENOSPC') or quota ('EDQUOT'). */
export function diskFull(file: string, code: 'ENOSPC' | 'EDQUOT' = 'ENOSPC'): Error {
  return Object.assign(new Error(`${code}: no space left on device, write '${file}'`), {
    code,
    path: file,
  });
}

/**
 * Makes every write (by `writeFileAtomic`, `writeFileDurable` and the cache) to a path that
 * `matches` fail as on a full disk, until `clearFaults()`.
 */
export function failWrites(matches: (file: string) => boolean, code?: 'ENOSPC' | 'EDQUOT'): void {
  injectWriteFault((file) => {
    if (matches(file)) throw diskFull(file, code);
  });
}

/** Removes an injected write fault. */
export function clearFaults(): void {
  injectWriteFault(undefined);
}

/**
 * Mounts a tmpfs of `bytes` at `dir`; returns undefined when mounted, else why not (mounting
 * needs root, or CAP_SYS_ADMIN, and a `mount` that allows it: containers often do not).
 */
export async function mountTmpfs(dir: string, bytes: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return `tmpfs needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  await mkdir(dir, { recursive: true });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir]);
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

/** Unmounts a tmpfs mounted by `mountTmpfs` and removes its mount point. */
export async function unmountTmpfs(dir: string): Promise<void> {
  await run('umount', [dir]);
  await rm(dir, { recursive: true, force: true });
}
