/**
 * A run folder is locked by the process that trains it: a second `ftunet train --resume` of the
 * same run, started while the first trains, exits 2 naming the holder (host, pid, since when)
 * and touches nothing; the lock is gone once the first stops; a stale lock of a dead process
 * is taken over. Two real processes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { pathExists } from '../../src/io/atomic.js';
import { train } from '../../src/run/train.js';
import { runCli } from '../cli/run.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { useBackend } from '../helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

let root: string;
let run: string;
/** A copy of `run` made before any test resumes it. */
let copy: string;
before(async () => {
  await useBackend('wasm');
  root = await makeTemp('ftunet-run-lock-');
  run = path.join(root, 'run');
  await train({
    out: run,
    dataset: 'synthetic-bus',
    syntheticCount: 10,
    data: path.join(root, 'data'),
    model: 'unet',
    width: 0.125,
    inputSize: [32, 32],
    epochs: 1,
    batchSize: 4,
    microBatch: 4,
    workers: 1,
    seed: 3,
    cache: false,
    backend: 'wasm',
    packageInfo: { name: 'focal-tversky-unet', version: 'test' },
  });
  copy = path.join(root, 'copy');
  await cp(run, copy, { recursive: true });
});
after(() => removeTemp(root));

/** Resolves once `child`'s stderr has matched `pattern` (rejects if it exits first). */
function waitForLine(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      if (pattern.test(text)) {
        child.stderr!.off('data', onData);
        resolve(text);
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} first:\n${text}`)));
  });
}

describe('the lock of a run folder', () => {
  test('a second resume while the first trains exits 2 naming the holder', async () => {
    const first = spawn(
      process.execPath,
      [MAIN, 'train', '--resume', run, '--epochs', '400', '--backend', 'wasm'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const exited = new Promise<number | null>((resolve) => first.on('close', resolve));
    try {
      await waitForLine(first, /resuming .* after epoch 1 of 400\n/);
      const config = await readFile(path.join(run, 'config.json'), 'utf8');
      const lock = JSON.parse(await readFile(path.join(run, 'train.lock'), 'utf8')) as {
        host: string;
        pid: number;
        time: string;
      };
      assert.deepEqual([lock.host, lock.pid], [os.hostname(), first.pid]);
      const second = runCli([
        'train',
        '--resume',
        run,
        '--epochs',
        '3',
        '--backend',
        'wasm',
        '--quiet',
      ]);
      const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      assert.equal(second.code, 2, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(
          `^ftunet: ${escape(run)} is being trained by another process: ${escape(os.hostname())} ` +
            `pid ${first.pid} \\(since ${escape(lock.time)}, refreshed [0-9T:.Z-]+\\); wait for ` +
            'it to finish or stop it\\n$',
        ),
      );
      assert.equal(
        await readFile(path.join(run, 'config.json'), 'utf8'),
        config,
        'config.json is the first process',
      );
    } finally {
      first.kill('SIGINT');
    }
    assert.equal(await exited, 130, 'the first stops at Ctrl-C');
    assert.equal(await pathExists(path.join(run, 'train.lock')), false, 'its lock is released');
  });

  test('a stale lock (its process on this host is gone) is taken over', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const lockFile = path.join(copy, 'train.lock');
    await writeFile(
      lockFile,
      JSON.stringify({
        host: os.hostname(),
        pid: dead,
        time: new Date(0).toISOString(),
        token: 'x',
      }),
    );
    const r = runCli(['train', '--resume', copy, '--backend', 'wasm']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `\nftunet train: warning: took over the stale lock ${lockFile.replace(/[.\\]/g, '\\$&')}: ` +
          `its process ${dead} on this host is gone\n`,
      ),
    );
    assert.equal(await pathExists(lockFile), false, 'released at the end');
  });
});
