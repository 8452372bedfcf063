/**
 * config.json of every earlier version (the fixtures in test/fixtures/formats, written by the
 * code of their time) reads through its migrations into today's, with the values that
 * reproduce how those runs trained; today's config.json reads back as it was written.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DEFAULT_NUMERICS } from '../../src/kernels/numerics.js';
import { describe, test } from 'node:test';
import {
  parseRunConfig,
  parseTrainRunConfig,
  RUN_FILE_FORMAT,
  RUN_VERSION,
} from '../../src/run/config.js';
import { resolveTrainSettings } from '../../src/run/settings.js';
import { AUGMENT_LEVEL_TABLE } from '../../src/data/augment.js';

const FORMATS = fileURLToPath(new URL('../../../test/fixtures/formats/', import.meta.url));

async function fixture(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(`${FORMATS}${name}`, 'utf8')) as Record<string, unknown>;
}

/** Asserts that every field of `part` (at any depth) has the same value in `whole`. */
function assertContains(whole: unknown, part: unknown, at = ''): void {
  if (typeof part === 'object' && part !== null && !Array.isArray(part)) {
    for (const [key, value] of Object.entries(part)) {
      assertContains((whole as Record<string, unknown>)[key], value, `${at}.${key}`);
    }
    return;
  }
  assert.deepEqual(whole, part, at);
}

describe('config.json versions', () => {
  test('one migration step and one fixture per earlier version', async () => {
    const earlier = Array.from({ length: RUN_VERSION - 1 }, (_, i) => i + 1);
    assert.deepEqual(Object.keys(RUN_FILE_FORMAT.migrate).map(Number), earlier);
    const files = await readdir(FORMATS);
    for (const v of earlier) assert.ok(files.includes(`config-v${v}.json`), `config-v${v}.json`);
  });

  test('version 1 as train wrote it: every setting kept, no gradient clipping', async () => {
    const raw = await fixture('config-v1.json');
    const c = parseTrainRunConfig(parseRunConfig(raw, 'config-v1.json'), 'config-v1.json');
    assert.equal(c.version, RUN_VERSION);
    assert.equal(c.optimizer.gradClip, null);
    // Everything version 1 recorded reads unchanged.
    const { version: _v, ...recorded } = raw;
    assertContains(c, recorded);
  });

  test('version 2 as train wrote it: every setting kept, BatchNorm over the whole batch', async () => {
    const raw = await fixture('config-v2.json');
    const c = parseTrainRunConfig(parseRunConfig(raw, 'config-v2.json'), 'config-v2.json');
    assert.equal(c.version, RUN_VERSION);
    // Version 2 normalised each pass with its own statistics; a resumed run continues with the
    // whole batch's (the README says so).
    assert.equal(c.model.bnGroup, 0);
    const { version: _v, ...recorded } = raw;
    assertContains(c, recorded);
  });

  test('version 3 as train wrote it: every setting kept, weights from the seed, nothing frozen', async () => {
    const raw = await fixture('config-v3.json');
    const c = parseTrainRunConfig(parseRunConfig(raw, 'config-v3.json'), 'config-v3.json');
    assert.equal(c.version, RUN_VERSION);
    assert.deepEqual([c.model.initFrom, c.model.freeze, c.init], [null, 'none', undefined]);
    const { version: _v, ...recorded } = raw;
    assertContains(c, recorded);
  });

  test('version 1 of the first runs: the fields they lacked, as those runs trained', async () => {
    const raw = await fixture('config-v1-early.json');
    const c = parseTrainRunConfig(parseRunConfig(raw, 'early'), 'early');
    assert.deepEqual(
      [c.objectiveScope, c.workers, c.model.bnMomentum, c.patience, c.optimizer.gradClip],
      ['pass', 1, 0.99, null, null],
    );
    assert.deepEqual(c.schedule, {
      name: 'keras-decay',
      warmupEpochs: 0,
      plateauPatience: 10,
      plateauFactor: 10,
    });
    assert.deepEqual(c.augment, { level: 'none', transforms: AUGMENT_LEVEL_TABLE.none });
    assert.deepEqual(
      [c.dataset.interpolation, c.dataset.maskSuffix, 'cache' in c.dataset],
      ['nearest', '', false],
    );
  });

  test("today's config.json reads back as written", () => {
    const written = {
      ...resolveTrainSettings(
        {
          out: '/runs/a',
          dataset: 'synthetic-bus',
          patience: 3,
          optimizer: { gradClip: 2 },
          backend: 'cpu',
          packageInfo: { name: 'p', version: '1' },
        },
        '/runs/a',
      ),
      microBatch: 4,
      workers: 1,
      // As train records them (run/train.ts): the numerics the backend ran with.
      numerics: { ...DEFAULT_NUMERICS },
    };
    const json = JSON.parse(JSON.stringify(written)) as Record<string, unknown>;
    const c = parseTrainRunConfig(parseRunConfig(json), 'config.json');
    assert.deepEqual(c, written);
    assert.deepEqual([c.optimizer.gradClip, c.patience, c.version], [2, 3, RUN_VERSION]);
  });

  test('a bad recorded setting is named with its path', () => {
    const c = parseRunConfig({
      ...resolveTrainSettings(
        {
          out: '/r',
          dataset: 'synthetic-bus',
          backend: 'cpu',
          packageInfo: { name: 'p', version: '1' },
        },
        '/r',
      ),
      microBatch: 4,
      workers: 1,
    });
    (c.optimizer as Record<string, unknown>).gradClip = 0;
    assert.throws(() => parseTrainRunConfig(c, 'config.json'), {
      name: 'UserError',
      message: 'config.json: "optimizer.gradClip" must be a positive number or null, got 0',
    });
  });
});
