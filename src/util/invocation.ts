/**
 * How this process was started, for the commands it prints for the user to type (resume after
 * Ctrl-C, ensembles, k-fold, "evaluate it first"). `npm install` puts no `ftunet` on the
 * user's PATH, so a printed command starts with `npx ftunet`, unless the user can type
 * `ftunet` itself. The rule, in one place:
 *
 * 1. Started by npm (`npx ftunet`, `npm start`, an npm script: npm sets `npm_command` or
 *    `npm_lifecycle_event`): `npx ftunet`. npm gave this process a PATH with
 *    node_modules/.bin in it that the user's shell does not have.
 * 2. Otherwise, the first executable `ftunet` on PATH (as a POSIX shell finds it) is, after
 *    following links, the same file as the script this process runs (`process.argv[1]`,
 *    also followed): `ftunet` (a global install, `npm link`, or a PATH the user set).
 * 3. Otherwise (no `ftunet` on PATH, or another program of that name first): `npx ftunet`.
 *    On Windows npm's `ftunet.cmd` shims are not links, so this is the case there.
 *
 * Node-only (fs, path, process).
 */
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { NPX_FTUNET } from './shell.js';

/** What the rule looks at; the defaults are this process's. */
export interface InvocationContext {
  /** The script Node runs. Default `process.argv[1]`. */
  script?: string | undefined;
  /** The environment (PATH, npm's variables). Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Whether the user can type `ftunet` to run this program (rules 1 and 2 of the module doc). */
export function invokedFromPath(context: InvocationContext = {}): boolean {
  const env = context.env ?? process.env;
  const script = context.script ?? process.argv[1];
  if (env.npm_command !== undefined || env.npm_lifecycle_event !== undefined) return false;
  if (script === undefined) return false;
  const found = findOnPath('ftunet', env.PATH ?? '');
  if (found === undefined) return false;
  const real = (p: string): string | undefined => {
    try {
      return realpathSync(p);
    } catch {
      return undefined;
    }
  };
  const a = real(found);
  return a !== undefined && a === real(script);
}

/** The words that start a printed command: `['ftunet']` or `['npx', 'ftunet']`. */
export function ftunetProgram(context: InvocationContext = {}): readonly string[] {
  return invokedFromPath(context) ? ['ftunet'] : NPX_FTUNET;
}

/** The first executable regular file named `name` in the folders of `pathList`. */
function findOnPath(name: string, pathList: string): string | undefined {
  for (const dir of pathList.split(path.delimiter)) {
    // An empty entry means the current folder to a shell; a printed command cannot rely on it.
    if (dir === '' || !path.isAbsolute(dir)) continue;
    const file = path.join(dir, name);
    try {
      if (!statSync(file).isFile()) continue;
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      continue;
    }
  }
  return undefined;
}
