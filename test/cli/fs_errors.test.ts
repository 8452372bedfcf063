/**
 * A user's condition is one line on stderr and exit code 2, never a stack trace, and the line
 * names the real cause:
 * - a read-only file system (EROFS) under `evaluate` and `app`, both injected through the
 *   write-fault seam (in process) and real (a tmpfs mounted read-only; skipped with the reason
 *   where mounting is not permitted). Node reports a recursive mkdir there as ENOENT: the line
 *   says "read-only file system".
 * - a model whose model.json was edited to take 3 channels while its weights take 1.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { injectWriteFault } from '../../src/io/atomic.js';
import { saveModel } from '../../src/io/model_files.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { thresholdModel, writeBusItems, writeRunFolder } from '../eval/fixtures.js';
import { useBackend } from '../helpers.js';
import { runCli, type CliResult, runMain } from './run.js';

let root: string;
let data: string;
let run: string;
let env: NodeJS.ProcessEnv;
/** The read-only mount, or why there is none. */
let readOnly: { dir: string } | { skip: string };

before(async () => {
  await useBackend('cpu');
  root = await makeTemp('ftunet-cli-fs-errors-');
  data = path.join(root, 'bus');
  run = path.join(root, 'run');
  env = { XDG_CACHE_HOME: path.join(root, 'xdg') };
  await writeBusItems(data);
  await writeRunFolder(run, data);
  readOnly = await mountReadOnlyCopy(path.join(root, 'ro'), run);
});
after(async () => {
  if ('dir' in readOnly) spawnSync('umount', [readOnly.dir]);
  await removeTemp(root);
});

/** A tmpfs at `dir` holding a copy of `runDir` (as `run`), then remounted read-only. */
async function mountReadOnlyCopy(dir: string, runDir: string) {
  await mkdir(dir);
  if (process.platform !== 'linux') return { skip: 'tmpfs mounts need Linux' };
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (mount.status !== 0) {
    return { skip: `mount is not permitted here: ${(mount.stderr || String(mount.error)).trim()}` };
  }
  await cp(runDir, path.join(dir, 'run'), { recursive: true });
  const ro = spawnSync('mount', ['-o', 'remount,ro', dir], { encoding: 'utf8' });
  if (ro.status !== 0) {
    spawnSync('umount', [dir]);
    return { skip: `remounting read-only is not permitted here: ${ro.stderr.trim()}` };
  }
  return { dir };
}

/** An error as Node's fs makes it for `syscall` on `file` with `code`. */
function fsError(code: string, syscall: string, file: string, why: string): Error {
  return Object.assign(new Error(`${code}: ${why}, ${syscall} '${file}'`), {
    code,
    syscall,
    path: file,
    errno: -30,
  });
}

describe('a read-only file system: one line naming it, exit 2', () => {
  test('evaluate --run with EROFS injected at its first write', async () => {
    const written: string[] = [];
    injectWriteFault((file) => {
      written.push(file);
      throw fsError('EROFS', 'open', file, 'read-only file system');
    });
    let r: CliResult;
    try {
      r = await runMain(['evaluate', '--run', run, '--engine', 'tfjs', '--quiet']);
    } finally {
      injectWriteFault(undefined);
    }
    assert.equal(written.length, 1, written.join('\n'));
    // The temporary file's name is the file it was to become.
    const target = path.join(
      path.dirname(written[0]),
      path.basename(written[0]).replace(/^\.(.+)\.tmp-\d+-[0-9a-f]+$/, '$1'),
    );
    assert.deepEqual(
      [r.code, r.stderr],
      [2, `ftunet: cannot write ${target}: read-only file system (EROFS)\n`],
    );
  });

  test('evaluate --run on a run folder mounted read-only', (t) => {
    if ('skip' in readOnly) return t.skip(readOnly.skip);
    const ro = path.join(readOnly.dir, 'run');
    const r = runCli(['evaluate', '--run', ro, '--engine', 'tfjs', '--quiet'], env);
    assert.deepEqual(
      [r.code, r.stderr],
      [2, `ftunet: cannot create the folder ${ro}/eval: read-only file system (EROFS)\n`],
    );
  });

  test('app --out on a read-only file system', (t) => {
    if ('skip' in readOnly) return t.skip(readOnly.skip);
    const out = path.join(readOnly.dir, 'app');
    const r = runCli(['app', '--model', run, '--out', out], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^ftunet: cannot (create the folder|write) ${out.replace(/[.\\]/g, '\\$&')}\\S*: ` +
          'read-only file system \\(EROFS\\)\\n$',
      ),
    );
  });
});

describe('a model.json edited to 3 channels (its weights take 1)', () => {
  let model: string;
  before(async () => {
    model = path.join(root, 'model-3ch');
    const net = thresholdModel();
    await saveModel(net, model);
    net.dispose();
    const file = path.join(model, 'model.json');
    const text = await readFile(file, 'utf8');
    const edited = text.replace(
      '"batch_input_shape":[null,32,32,1]',
      '"batch_input_shape":[null,32,32,3]',
    );
    assert.notEqual(edited, text);
    await writeFile(file, edited);
  });

  const message = () =>
    `ftunet: ${path.join(model, 'model.json')} is damaged: its weights do not fit the layers ` +
    'it describes (a weight of shape [1,1,1,1] where the layers take [1,1,3,1])\n';

  test('evaluate --model: one line naming model.json, exit 2', () => {
    const r = runCli(
      [
        'evaluate',
        '--model',
        model,
        '--dataset',
        'bus',
        '--data',
        data,
        '--engine',
        'tfjs',
        '--quiet',
        '--out',
        path.join(root, 'eval-3ch'),
      ],
      env,
    );
    assert.deepEqual([r.code, r.stderr], [2, message()]);
  });

  test('predict: the same line', () => {
    const r = runCli(
      [
        'predict',
        '--model',
        model,
        path.join(data, 'original', '000001.png'),
        '--quiet',
        '--out',
        path.join(root, 'pred-3ch'),
      ],
      env,
    );
    assert.deepEqual([r.code, r.stderr], [2, message()]);
  });
});
