/**
 * The commands `ftunet` prints for the user to type start the way the user can run them: with
 * `ftunet` when this process was started through an `ftunet` found on PATH, otherwise (`npm
 * install` puts no `ftunet` on PATH; npx and npm scripts give their children a PATH the user's
 * shell does not have) with `npx ftunet`. Run as a child process through a temporary PATH
 * entry holding an `ftunet` link to the built main.js, as `npm install --global` makes one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { EVAL_SPLIT, runConfig } from '../eval/fixtures.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let root: string;
let run: string;
/** A PATH entry holding `ftunet`, a link to the built main.js. */
let bin: string;
/** A PATH entry holding `ftunet`, a link to another copy of the program. */
let otherBin: string;
/** A PATH entry without `ftunet`. */
let emptyBin: string;

before(async () => {
  root = await makeTemp('ftunet-cli-commands-');
  run = path.join(root, 'my run');
  await mkdir(run);
  await writeFile(path.join(run, 'config.json'), JSON.stringify(runConfig(path.join(root, 'bus'))));
  await writeFile(path.join(run, 'split.json'), JSON.stringify(EVAL_SPLIT));
  bin = path.join(root, 'bin');
  otherBin = path.join(root, 'other-bin');
  emptyBin = path.join(root, 'empty-bin');
  for (const d of [bin, otherBin, emptyBin]) await mkdir(d);
  // What npm's bin links point to: an executable script (npm sets the mode when it links it).
  await chmod(MAIN, 0o755);
  await symlink(MAIN, path.join(bin, 'ftunet'));
  const other = path.join(root, 'other-main.js');
  await writeFile(other, '#!/usr/bin/env node\n');
  await chmod(other, 0o755);
  await symlink(other, path.join(otherBin, 'ftunet'));
});
after(() => removeTemp(root));

/**
 * `ftunet report RUN` on a run with no evaluation (its message says which command evaluates
 * it), started as `node SCRIPT` (what the kernel runs for a script with `#!/usr/bin/env node`)
 * with `PATH` and no npm variables unless `npm` gives some.
 */
function reportHint(script: string, pathEntries: string[], npm: NodeJS.ProcessEnv = {}): string {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: pathEntries.join(path.delimiter) };
  for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];
  const r = spawnSync(process.execPath, [script, 'report', run, '--quiet'], {
    encoding: 'utf8',
    env: { ...env, ...npm },
    timeout: 60_000,
  });
  assert.equal(r.status, 2, r.stderr);
  const m = /\(evaluate it first: (.*)\): /.exec(r.stderr);
  assert.ok(m, r.stderr);
  return m[1];
}

describe('printed commands', () => {
  test('started through the ftunet on PATH: "ftunet ..."', () => {
    assert.equal(
      reportHint(path.join(bin, 'ftunet'), [bin, emptyBin]),
      `ftunet evaluate --run '${run}'`,
    );
    // Started as node main.js while PATH's ftunet is the same file: typing ftunet runs it too.
    assert.equal(reportHint(MAIN, [emptyBin, bin]), `ftunet evaluate --run '${run}'`);
  });

  test('no ftunet on PATH, another program named ftunet, or npx: "npx ftunet ..."', () => {
    const npx = `npx ftunet evaluate --run '${run}'`;
    assert.equal(reportHint(MAIN, [emptyBin]), npx);
    assert.equal(reportHint(MAIN, [otherBin, bin]), npx);
    // npx (npm exec) and npm scripts put node_modules/.bin on the PATH of their child alone.
    assert.equal(reportHint(path.join(bin, 'ftunet'), [bin], { npm_command: 'exec' }), npx);
    assert.equal(
      reportHint(path.join(bin, 'ftunet'), [bin], { npm_lifecycle_event: 'start' }),
      npx,
    );
  });
});
