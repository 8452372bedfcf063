/** Runs the built `ftunet` command in a child process, for CLI tests. */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** How a command run by `spawnCli` ended. */
export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the built `ftunet` in a child process without blocking this one (so that tests of runs
 * killed by `FTUNET_KILL_AT` see the signal); stdout is ignored.
 */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

/**
 * Runs the command line in this process (as main.js does, without a child's start-up cost),
 * capturing what it writes; for the checks that end before any long work starts.
 */
export async function runMain(args: string[]): Promise<CliResult> {
  const { main } = await import('../../src/cli/program.js');
  const out: string[] = [];
  const err: string[] = [];
  const { stdout, stderr } = process;
  const [writeOut, writeErr] = [stdout.write, stderr.write];
  stdout.write = ((chunk: string) => out.push(String(chunk)) > 0) as typeof stdout.write;
  stderr.write = ((chunk: string) => err.push(String(chunk)) > 0) as typeof stderr.write;
  try {
    const code = await main(args);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    stdout.write = writeOut;
    stderr.write = writeErr;
  }
}
