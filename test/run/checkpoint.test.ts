import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, afterEach, before, describe, mock, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DamagedFileError, DiskFullError, UserError } from '../../src/errors.js';
import { KEPT_CHECKPOINTS, loadCheckpoint, saveCheckpoint } from '../../src/run/checkpoint.js';
import { parseCheckpointState } from '../../src/run/checkpoint_state.js';
import { buildModel } from '../../src/models/build.js';
import type { TrainState } from '../../src/train/trainer.js';
import { useBackend } from '../helpers.js';
import { clearFaults, deadPid, failWrites, mountTmpfs, unmountTmpfs } from '../io/faults.js';
import { flipByte, weightsFileOf } from '../io/damage.js';

const MISMATCH = 'is damaged: its content does not match the hash recorded when it was written';

let root: string;
let model: tfl.LayersModel;
before(async () => {
  await useBackend('cpu');
  root = await mkdtemp(path.join(tmpdir(), 'ftunet-checkpoint-'));
  model = buildModel('unet', { inputShape: [16, 16, 1], width: 0.125, seed: 1 });
});
after(async () => {
  model.dispose();
  await rm(root, { recursive: true, force: true });
});
afterEach(clearFaults);

/** A training state after `epoch` epochs, its numbers derived from the epoch. */
function stateAt(epoch: number): TrainState {
  return {
    epoch,
    rngState: 1000 + epoch,
    bestScore: epoch === 1 ? -Infinity : 0.5 + epoch / 100,
    bestEpoch: epoch - 1,
    optimizer: {
      iterations: 10 * epoch,
      slots: {
        'm/conv/kernel': { shape: [2, 3], values: Float32Array.from([1, 2, 3, 4, 5, epoch]) },
        'v/conv/kernel': { shape: [2], values: Float32Array.from([epoch, -epoch]) },
      },
    },
  };
}

/** A fresh checkpoint folder with the checkpoints of epochs 1..`epochs`. */
async function run(name: string, epochs: number): Promise<string> {
  const dir = path.join(root, name, 'checkpoint');
  for (let e = 1; e <= epochs; e++) await saveCheckpoint(dir, model, stateAt(e));
  return dir;
}

async function loadAndDispose(dir: string, warnings: string[] = []) {
  const before = tf.memory().numTensors;
  const loaded = await loadCheckpoint(dir, { onWarning: (m) => warnings.push(m) });
  loaded.model.dispose();
  assert.equal(tf.memory().numTensors, before, 'tensors leaked');
  return loaded;
}

describe('checkpoint round trip', () => {
  test('loads what was saved and keeps the newest two epoch folders', async () => {
    const dir = await run('roundtrip', 3);
    assert.equal(KEPT_CHECKPOINTS, 2);
    assert.deepEqual((await readdir(dir)).sort(), ['epoch-0002', 'epoch-0003', 'latest.json']);
    const loaded = await loadAndDispose(dir);
    assert.equal(loaded.folder, path.join(dir, 'epoch-0003'));
    assert.deepEqual(loaded.skipped, []);
    assert.deepEqual(loaded.state, stateAt(3));
    const state = JSON.parse(await readFile(path.join(dir, 'epoch-0003', 'state.json'), 'utf8'));
    assert.match(state.optimizerSha256, /^[0-9a-f]{64}$/);
  });

  test('-Infinity as the best score survives the round trip', async () => {
    const dir = await run('first', 1);
    assert.equal((await loadAndDispose(dir)).state.bestScore, -Infinity);
  });

  test('a checkpoint folder and its files are fsynced before and after the rename', async () => {
    const probe = await open(path.join(root, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = mock.method(proto, 'sync');
    try {
      await run('synced', 1);
    } finally {
      sync.mock.restore();
    }
    // Files: weights, model.json (each also its folder), optimizer.bin, state.json; the
    // temporary folder, the checkpoint folder after the rename; latest.json and its folder.
    assert.equal(sync.mock.callCount(), 10);
  });

  test('no checkpoint at all keeps its message', async () => {
    await assert.rejects(loadCheckpoint(path.join(root, 'none')), {
      message: `no checkpoint in ${path.join(root, 'none')}: the run has not finished an epoch yet`,
    });
  });
});

describe('damaged checkpoints', () => {
  /** Damages the newest checkpoint of a 3-epoch run; checks the fallback to epoch 2. */
  async function fallsBack(name: string, damage: (folder: string) => Promise<string>) {
    const dir = await run(name, 3);
    const newest = path.join(dir, 'epoch-0003');
    const expected = await damage(newest);
    const warnings: string[] = [];
    const loaded = await loadAndDispose(dir, warnings);
    assert.equal(loaded.folder, path.join(dir, 'epoch-0002'));
    assert.deepEqual(loaded.state, stateAt(2));
    assert.deepEqual(loaded.skipped, [{ folder: newest, reason: expected }]);
    assert.deepEqual(warnings, [`${expected}; resuming from the checkpoint of epoch 2 instead`]);
    return dir;
  }

  test('random bytes in the weights: the epoch before is loaded, and said so', async () => {
    await fallsBack('weights', async (folder) => {
      const file = await weightsFileOf(folder);
      await flipByte(file);
      return `${file} ${MISMATCH}`;
    });
  });

  test('a truncated optimizer.bin', async () => {
    await fallsBack('truncated', async (folder) => {
      const file = path.join(folder, 'optimizer.bin');
      await truncate(file, 20);
      return `${file} is damaged: it holds 20 bytes, state.json describes 32`;
    });
  });

  test('random bytes in optimizer.bin', async () => {
    await fallsBack('optimizer', async (folder) => {
      const file = path.join(folder, 'optimizer.bin');
      await flipByte(file);
      return `${file} ${MISMATCH}`;
    });
  });

  test('a state.json without "optimizer"', async () => {
    await fallsBack('state', async (folder) => {
      const file = path.join(folder, 'state.json');
      const state = JSON.parse(await readFile(file, 'utf8'));
      delete state.optimizer;
      await writeFile(file, JSON.stringify(state));
      return `${file} is damaged: "optimizer" is missing`;
    });
  });

  test("a state.json whose epoch is not its folder's", async () => {
    await fallsBack('epoch99', async (folder) => {
      const file = path.join(folder, 'state.json');
      const state = JSON.parse(await readFile(file, 'utf8'));
      state.epoch = 99;
      await writeFile(file, JSON.stringify(state));
      return `${file} is damaged: "epoch" is 99 but the folder holds epoch 3`;
    });
  });

  test('a state.json that is not JSON', async () => {
    await fallsBack('notjson', async (folder) => {
      const file = path.join(folder, 'state.json');
      await writeFile(file, '{"epoch": 3,');
      return `${file} is damaged: it is not valid JSON`;
    });
  });

  test('a model.json with a layer removed', async () => {
    await fallsBack('topology', async (folder) => {
      const file = path.join(folder, 'model.json');
      const json = JSON.parse(await readFile(file, 'utf8'));
      const layers = json.modelTopology.config.layers as Array<{ name: string }>;
      layers.splice(
        layers.findIndex((l) => l.name === 'conv1_1_bn'),
        1,
      );
      await writeFile(file, JSON.stringify(json));
      return (
        `${file} is damaged: layer 'conv1_1_act' takes its input from layer 'conv1_1_bn', ` +
        'which is not in the model'
      );
    });
  });

  test('none intact: one error listing each', async () => {
    const dir = await run('none-intact', 2);
    const w2 = await weightsFileOf(path.join(dir, 'epoch-0002'));
    await flipByte(w2);
    const o1 = path.join(dir, 'epoch-0001', 'optimizer.bin');
    await truncate(o1, 4);
    await assert.rejects(
      loadCheckpoint(dir),
      (e: unknown) =>
        e instanceof UserError &&
        e.message ===
          `no intact checkpoint in ${dir}: ${w2} ${MISMATCH}; ` +
            `${o1} is damaged: it holds 4 bytes, state.json describes 32`,
    );
  });
});

describe('parseCheckpointState', () => {
  const F = 'checkpoint/epoch-0003/state.json';
  const valid = () => ({
    format: 'ftunet-checkpoint',
    version: 1,
    epoch: 3,
    rngState: 7,
    bestScore: null,
    bestEpoch: 2,
    optimizer: { iterations: 30, slots: [{ name: 'm/k', shape: [2], offset: 0 }] },
  });
  const cases: Array<[string, (s: ReturnType<typeof valid>) => unknown, string]> = [
    ['epoch a string', (s) => ({ ...s, epoch: '3' }), '"epoch" must be an integer >= 0, got "3"'],
    [
      'rngState negative',
      (s) => ({ ...s, rngState: -1 }),
      '"rngState" must be an integer in [0, 4294967295], got -1',
    ],
    [
      'bestScore a string',
      (s) => ({ ...s, bestScore: 'high' }),
      '"bestScore" must be a finite number or null, got "high"',
    ],
    [
      'bestEpoch fractional',
      (s) => ({ ...s, bestEpoch: 1.5 }),
      '"bestEpoch" must be an integer >= 0, got 1.5',
    ],
    [
      'optimizer.iterations null',
      (s) => ({ ...s, optimizer: { ...s.optimizer, iterations: null } }),
      '"optimizer.iterations" must be an integer >= 0, got null',
    ],
    [
      'optimizer.slots not a list',
      (s) => ({ ...s, optimizer: { ...s.optimizer, slots: {} } }),
      '"optimizer.slots" must be a list, got {}',
    ],
    [
      'a slot shape with a negative size',
      (s) => ({
        ...s,
        optimizer: { ...s.optimizer, slots: [{ name: 'm/k', shape: [-2], offset: 0 }] },
      }),
      '"optimizer.slots.0.shape" must be a list of integers >= 0, got [-2]',
    ],
    [
      'a slot without an offset',
      (s) => ({ ...s, optimizer: { ...s.optimizer, slots: [{ name: 'm/k', shape: [2] }] } }),
      '"optimizer.slots.0.offset" is missing',
    ],
    [
      'another format',
      (s) => ({ ...s, format: 'x' }),
      'expected "format": "ftunet-checkpoint", got "x"',
    ],
    [
      'two slots of one name',
      (s) => ({
        ...s,
        optimizer: {
          ...s.optimizer,
          slots: [s.optimizer.slots[0], { name: 'm/k', shape: [1], offset: 2 }],
        },
      }),
      '"optimizer.slots.1.name" must be a name not used before, got "m/k"',
    ],
    [
      'a newer version',
      (s) => ({ ...s, version: 2 }),
      'unsupported version 2 (this program reads versions up to 1): it was written by a newer ' +
        'focal-tversky-unet; upgrade to read it',
    ],
    [
      'a schedule with scale 0',
      (s) => ({ ...s, schedule: { scale: 0, wait: 1 } }),
      '"schedule.scale" must be a number > 0, got 0',
    ],
    [
      'stopped for another reason',
      (s) => ({ ...s, stopped: { reason: 'time', epoch: 3, bestEpoch: 2, patience: 1 } }),
      '"stopped.reason" must be "patience", got "time"',
    ],
    [
      'a malformed optimizerSha256',
      (s) => ({ ...s, optimizerSha256: 'abc' }),
      '"optimizerSha256" must be 64 hex digits, got "abc"',
    ],
  ];
  test('an intact state passes', () => {
    assert.deepEqual(parseCheckpointState(valid(), F), valid());
  });
  test('an absent bestScore reads as null; schedule and stopped are kept', () => {
    const { bestScore: _, ...rest } = valid();
    const extra = {
      schedule: { scale: 0.1, wait: 3 },
      stopped: { reason: 'patience', epoch: 3, bestEpoch: 2, patience: 1 },
    };
    assert.deepEqual(parseCheckpointState({ ...rest, ...extra }, F), { ...valid(), ...extra });
  });
  for (const [name, edit, why] of cases) {
    test(name, () => {
      assert.throws(
        () => parseCheckpointState(edit(valid()), F),
        (e: unknown) => e instanceof DamagedFileError && e.message === `${F} is damaged: ${why}`,
      );
    });
  }
});

describe('full disk and temporaries', () => {
  test('ENOSPC in a checkpoint: DiskFullError, no temporary folder, the rest intact', async () => {
    const dir = await run('enospc', 2);
    failWrites((f) => f.includes(`${path.sep}enospc${path.sep}`) && f.endsWith('optimizer.bin'));
    await assert.rejects(
      saveCheckpoint(dir, model, stateAt(3)),
      (e: unknown) =>
        e instanceof DiskFullError &&
        e.path === path.join(dir, 'epoch-0003') &&
        e.message === `no space left on device writing ${path.join(dir, 'epoch-0003')}`,
    );
    assert.deepEqual((await readdir(dir)).sort(), ['epoch-0001', 'epoch-0002', 'latest.json']);
    assert.deepEqual((await loadAndDispose(dir)).state, stateAt(2));
    // Space freed: the same checkpoint is written and loads.
    clearFaults();
    await saveCheckpoint(dir, model, stateAt(3));
    assert.deepEqual((await loadAndDispose(dir)).state, stateAt(3));
  });

  test('a real full tmpfs: the same, and resuming after freeing space works', async (t) => {
    const mount = path.join(root, 'tmpfs');
    // A checkpoint of this model is about 490 KB; the filler fills what the first one leaves.
    const why = await mountTmpfs(mount, 2 * 1024 * 1024);
    if (why !== undefined) {
      t.skip(`${why}; the injected ENOSPC test above covers this path`);
      return;
    }
    try {
      const dir = path.join(mount, 'checkpoint');
      await saveCheckpoint(dir, model, stateAt(1));
      const filler = path.join(mount, 'filler');
      const handle = await open(filler, 'w');
      try {
        await handle.write(new Uint8Array(4 * 1024 * 1024));
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'ENOSPC');
      } finally {
        await handle.close();
      }
      await assert.rejects(saveCheckpoint(dir, model, stateAt(2)), {
        name: 'DiskFullError',
        message: `no space left on device writing ${path.join(dir, 'epoch-0002')}`,
      });
      assert.deepEqual((await readdir(dir)).sort(), ['epoch-0001', 'latest.json']);
      await rm(filler);
      const loaded = await loadAndDispose(dir);
      assert.deepEqual(loaded.state, stateAt(1));
      await saveCheckpoint(dir, model, stateAt(2));
      assert.deepEqual((await loadAndDispose(dir)).state, stateAt(2));
    } finally {
      await unmountTmpfs(mount);
    }
  });

  test('saving and loading sweep the temporaries of dead processes only', async () => {
    const dir = await run('sweep', 1);
    const dead = await deadPid();
    const staleFolder = `.epoch-0002.tmp-${dead}`;
    const staleFile = `.latest.json.tmp-${dead}-0123abcd`;
    const live = `.epoch-0005.tmp-${process.pid}`;
    await mkdir(path.join(dir, staleFolder));
    await writeFile(path.join(dir, staleFolder, 'optimizer.bin'), 'x');
    await writeFile(path.join(dir, staleFile), 'x');
    await mkdir(path.join(dir, live));
    await loadAndDispose(dir);
    assert.deepEqual((await readdir(dir)).sort(), [live, 'epoch-0001', 'latest.json'].sort());
    await writeFile(path.join(dir, staleFile), 'x');
    await saveCheckpoint(dir, model, stateAt(2));
    assert.deepEqual(
      (await readdir(dir)).sort(),
      [live, 'epoch-0001', 'epoch-0002', 'latest.json'].sort(),
    );
  });
});
