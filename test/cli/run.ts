/** Runs the built `ftunet` command in a child process, for CLI tests. */
import { spawnSync } from 'node:child_process';
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
