import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseRunConfig, readRunConfig, runPaths } from '../../src/run/config.js';
import { datasetLayout, parseDatasetSourceKind } from '../../src/data/presets.js';
import { makeTemp, removeTemp } from '../data/fixtures.js';
import { runConfig } from '../eval/fixtures.js';

describe('parseRunConfig', () => {
  test('a config as train writes it: typed fields, unknown fields kept', () => {
    const c = parseRunConfig(runConfig('/data/bus'));
    // Version 1 without bnMomentum: migrated with Keras's 0.99, what such runs trained with;
    // without bnGroup (version 3): the whole batch's statistics; without initFrom and freeze
    // (version 4): weights from the seed, nothing frozen.
    assert.deepEqual(c.model, {
      name: 'attn_reg',
      inputShape: [32, 32, 1],
      width: 0.125,
      bnMomentum: 0.99,
      bnGroup: 0,
      initFrom: null,
      freeze: 'none',
    });
    assert.deepEqual(c.dataset, {
      kind: 'synthetic-bus',
      data: '/data/bus',
      inputSize: [32, 32],
      channels: 1,
      interpolation: 'nearest',
      maskSuffix: '',
      cache: false,
    });
    assert.deepEqual(c.split, { file: 'split.json', fold: 0 });
    assert.deepEqual(
      [c.seed, c.backend, c.loss],
      [1, 'cpu', { name: 'ftl', alpha: 0.7, gamma: 4 / 3 }],
    );
  });

  test('interpolation and maskSuffix default to nearest and empty; cache may be absent', () => {
    const raw = runConfig('/d');
    const d = raw.dataset as Record<string, unknown>;
    delete d.interpolation;
    delete d.maskSuffix;
    delete d.cache;
    const c = parseRunConfig(raw);
    assert.deepEqual(
      [c.dataset.interpolation, c.dataset.maskSuffix, 'cache' in c.dataset],
      ['nearest', '', false],
    );
  });

  /** A config with one field replaced (path 'a.b') or removed (value undefined). */
  const edited = (field: string, value: unknown): unknown => {
    const raw = runConfig('/d') as Record<string, Record<string, unknown>>;
    const [a, b] = field.split('.');
    const target = b === undefined ? (raw as Record<string, unknown>) : raw[a];
    const key = b ?? a;
    if (value === undefined) delete target[key];
    else target[key] = value;
    return raw;
  };
  const bad: Array<[string, unknown, string]> = [
    ['format', 'other', 'expected "format": "ftunet-run", got "other"'],
    [
      'version',
      5,
      'unsupported version 5 (this program reads versions up to 4): it was written by a newer ' +
        'focal-tversky-unet; upgrade to read it',
    ],
    ['model', undefined, '"model" is missing'],
    [
      'model.name',
      'vnet',
      '"model.name" must be one of unet, attn_unet, attn_reg_ds, attn_reg, got "vnet"',
    ],
    [
      'model.inputShape',
      [32, 32],
      '"model.inputShape" must be three positive integers, got [32,32]',
    ],
    ['model.width', 0, '"model.width" must be a positive number, got 0'],
    [
      'dataset.kind',
      'busi',
      '"dataset.kind" must be one of bus, isic2018, folder, synthetic-bus, synthetic-isic, got "busi"',
    ],
    ['dataset.data', undefined, '"dataset.data" is missing'],
    [
      'dataset.inputSize',
      [32, 0],
      '"dataset.inputSize" must be two integers from 1 to 4096, got [32,0]',
    ],
    ['dataset.channels', 2, '"dataset.channels" must be 1 or 3, got 2'],
    [
      'dataset.interpolation',
      'cubic',
      '"dataset.interpolation" must be one of nearest, bilinear, got "cubic"',
    ],
    ['dataset.cache', true, '"dataset.cache" must be a folder or false, got true'],
    [
      'dataset.inputSize',
      [64, 64],
      '"model.inputShape" [32,32,1] does not match the data set\'s input size [64,64] and 1 channel(s)',
    ],
    ['split', undefined, '"split" is missing'],
    ['split.file', '', '"split.file" must be a file name, got ""'],
    ['split.fold', -1, '"split.fold" must be an integer >= 0, got -1'],
    ['seed', 'x', '"seed" must be a number, got "x"'],
  ];
  for (const [field, value, message] of bad) {
    test(`${field} = ${JSON.stringify(value) ?? '(missing)'}: "${message}"`, () => {
      assert.throws(() => parseRunConfig(edited(field, value), 'run/config.json'), {
        name: 'UserError',
        message: `run/config.json: ${message}`,
      });
    });
  }

  test('not an object', () => {
    assert.throws(() => parseRunConfig([1]), { message: 'config.json: expected a JSON object' });
  });
});

describe('readRunConfig', () => {
  let root: string;
  before(async () => {
    root = await makeTemp('ftunet-runcfg-');
  });
  after(() => removeTemp(root));

  test('reads and checks a run folder', async () => {
    const dir = path.join(root, 'ok');
    await mkdir(dir);
    await writeFile(path.join(dir, 'config.json'), JSON.stringify(runConfig('/d')));
    const c = await readRunConfig(dir);
    assert.equal(c.model.name, 'attn_reg');
    assert.deepEqual(runPaths(dir, c), {
      config: path.join(dir, 'config.json'),
      split: path.join(dir, 'split.json'),
      best: path.join(dir, 'best'),
      eval: path.join(dir, 'eval'),
      checkpoint: path.join(dir, 'checkpoint'),
      lock: path.join(dir, 'train.lock'),
    });
    // A split file elsewhere is resolved against the run folder.
    const other = { split: { file: '../splits/s.json', fold: 0 } };
    assert.equal(runPaths(dir, other).split, path.join(path.dirname(dir), 'splits', 's.json'));
    assert.equal(runPaths(dir).split, path.join(dir, 'split.json'));
  });

  test('a missing folder, a file, no config.json, damaged JSON, a bad field', async () => {
    const missing = path.join(root, 'nope');
    await assert.rejects(readRunConfig(missing), {
      name: 'UserError',
      message: `run folder '${missing}' does not exist`,
    });
    const file = path.join(root, 'file.txt');
    await writeFile(file, 'x');
    await assert.rejects(readRunConfig(file), {
      message: `'${file}' is a file, expected a run folder`,
    });
    const empty = path.join(root, 'empty');
    await mkdir(empty);
    await assert.rejects(readRunConfig(empty), {
      message: `no run in '${empty}': config.json not found`,
    });
    const damaged = path.join(root, 'damaged');
    await mkdir(damaged);
    await writeFile(path.join(damaged, 'config.json'), '{"format": "ftunet-run", "vers');
    await assert.rejects(readRunConfig(damaged), {
      message: `'${path.join(damaged, 'config.json')}' is not valid JSON: the run's config is damaged`,
    });
    await writeFile(
      path.join(damaged, 'config.json'),
      JSON.stringify({ ...runConfig('/d'), version: 9 }),
    );
    await assert.rejects(readRunConfig(damaged), {
      message:
        `'${path.join(damaged, 'config.json')}': unsupported version 9 (this program reads ` +
        'versions up to 4): it was written by a newer focal-tversky-unet; upgrade to read it',
    });
  });
});

describe('data set kinds', () => {
  test('synthetic kinds are read in their layout', () => {
    assert.deepEqual(
      ['bus', 'isic2018', 'folder', 'synthetic-bus', 'synthetic-isic'].map((k) =>
        datasetLayout(parseDatasetSourceKind(k)),
      ),
      ['bus', 'isic2018', 'folder', 'bus', 'isic2018'],
    );
    assert.throws(() => parseDatasetSourceKind('busi'), {
      name: 'UserError',
      message:
        "--dataset: unknown data set 'busi'; expected one of bus, isic2018, folder, synthetic-bus, synthetic-isic",
    });
  });
});
