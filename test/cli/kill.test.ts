/**
 * kill -9 at any moment: `ftunet train` killed at named points inside the writes that matter
 * (before the first epoch, between the best model, the logs and the checkpoint, inside the
 * checkpoint's own steps) and at random times, then `ftunet train --resume` until it finishes,
 * must end with the same bytes as a run that was never interrupted, and leave no temporary
 * file behind.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { loadCheckpoint } from '../../src/run/checkpoint.js';
import { loadModel } from '../../src/io/model_files.js';
import { Rng } from '../../src/util/rng.js';
import { useBackend } from '../helpers.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the CLI; with `killAfterMs`, sends SIGKILL after that long. */
function run(args: string[], env: NodeJS.ProcessEnv = {}, killAfterMs?: number): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer =
      killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

/** Every file under `dir` (relative paths), for looking for leftovers. */
async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map(String);
}

describe('kill -9 during training, then --resume', () => {
  let root: string;
  let reference: string;
  before(async () => {
    await useBackend('wasm');
    root = await mkdtemp(path.join(tmpdir(), 'ftunet-kill-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const trainArgs = (out: string, data = path.join(root, 'data')) => [
    'train',
    '--dataset',
    'synthetic-bus',
    '--count',
    '10',
    '--data',
    data,
    '--model',
    'attn_reg_ds',
    '--width',
    '0.125',
    '--input-size',
    '32,32',
    '--epochs',
    '3',
    '--batch-size',
    '4',
    '--micro-batch',
    '2',
    '--workers',
    '1',
    '--seed',
    '5',
    '--no-cache',
    '--optimizer',
    'adam',
    '--lr',
    '0.01',
    '--backend',
    'wasm',
    '--quiet',
    '--out',
    out,
  ];
  const resumeArgs = (out: string) => ['train', '--resume', out, '--backend', 'wasm', '--quiet'];

  /** Asserts that `out` ended exactly as the reference run: checkpoint, state and best model. */
  async function assertSameAsReference(out: string, ref = reference): Promise<void> {
    const reference = ref;
    const a = await loadCheckpoint(path.join(reference, 'checkpoint'));
    const b = await loadCheckpoint(path.join(out, 'checkpoint'));
    assert.equal(b.state.epoch, 3);
    assert.deepEqual(b.state.optimizer.slots, a.state.optimizer.slots);
    const [ba, bb] = [
      await loadModel(path.join(reference, 'best')),
      await loadModel(path.join(out, 'best')),
    ];
    for (const [x, y] of [
      [a.model, b.model],
      [ba, bb],
    ]) {
      const wx = x.getWeights();
      const wy = y.getWeights();
      wx.forEach((w, i) => assert.deepEqual(wy[i].dataSync(), w.dataSync(), x.weights[i].name));
      x.dispose();
      y.dispose();
    }
    const leftovers = (await listFiles(out)).filter((f) => /\.tmp/.test(path.basename(f)));
    assert.deepEqual(leftovers, [], 'no temporary file is left');
  }

  test('the uninterrupted reference run', async () => {
    reference = path.join(root, 'reference');
    const r = await run(trainArgs(reference));
    assert.equal(r.code, 0, r.stderr);
  });

  const points = [
    'run:config-written:1',
    'run:best-saved:1',
    'run:logs-written:2',
    'checkpoint:model-saved:2',
    'checkpoint:folder-renamed:1',
    'checkpoint:latest-written:2',
  ];
  for (const point of points) {
    test(`killed at ${point}, resumed: the same bytes as the reference`, async () => {
      const out = path.join(root, point.replace(/:/g, '-'));
      const killed = await run(trainArgs(out), { FTUNET_KILL_AT: point });
      assert.equal(killed.signal, 'SIGKILL', `the fault point ${point} was reached`);
      const resumed = await run(resumeArgs(out));
      assert.equal(resumed.code, 0, resumed.stderr);
      await assertSameAsReference(out);
    });
  }

  test('killed at random times (data writing included), resumed each time', async () => {
    const out = path.join(root, 'random');
    const rng = new Rng(20261130);
    const data = path.join(root, 'data-random');
    // A kill before config.json was written leaves nothing to resume: start it again.
    const args = async () =>
      (await readdir(out).catch((): string[] => [])).includes('config.json')
        ? resumeArgs(out)
        : trainArgs(out, data);
    let r = await run(await args(), {}, 200 + 3000 * rng.next());
    for (let attempt = 0; attempt < 4 && r.code !== 0; attempt++) {
      assert.ok(r.signal === 'SIGKILL', r.stderr);
      r = await run(await args(), {}, 500 + 3000 * rng.next());
    }
    if (r.code !== 0) r = await run(await args());
    assert.equal(r.code, 0, r.stderr);
    await assertSameAsReference(out);
  });

  // Augmentation (drawn per seed, epoch and item) and a schedule with state (plateau) resume
  // exactly as well.
  const augmentFlags = [
    '--augment',
    'default',
    '--aug-elastic',
    '0.5',
    '--schedule',
    'plateau',
    '--plateau-patience',
    '1',
    '--warmup',
    '1',
  ];
  let augmented: string;
  test('the uninterrupted reference run with augmentation and the plateau schedule', async () => {
    augmented = path.join(root, 'augmented');
    const r = await run([...trainArgs(augmented), ...augmentFlags]);
    assert.equal(r.code, 0, r.stderr);
  });

  for (const point of ['run:logs-written:2', 'checkpoint:folder-renamed:1']) {
    test(`with augmentation, killed at ${point}, resumed: the same bytes`, async () => {
      const out = path.join(root, `augmented-${point.replace(/:/g, '-')}`);
      const killed = await run([...trainArgs(out), ...augmentFlags], { FTUNET_KILL_AT: point });
      assert.equal(killed.signal, 'SIGKILL', `the fault point ${point} was reached`);
      const resumed = await run(resumeArgs(out));
      assert.equal(resumed.code, 0, resumed.stderr);
      await assertSameAsReference(out, augmented);
    });
  }
});
