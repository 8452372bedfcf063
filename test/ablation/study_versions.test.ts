/**
 * study.json of every earlier version (test/fixtures/formats, written by the code of their
 * time) reads through its migrations, each training setting it did not record set to what its
 * units trained with; an extra row may set any row setting with `+<flag>=<value>`.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { parseStudyFile, STUDY_FILE_FORMAT, STUDY_VERSION } from '../../src/ablation/study.js';
import { resolveAblationSettings } from '../../src/ablation/settings.js';
import { ablationVariant } from '../../src/ablation/variants.js';

const FORMATS = fileURLToPath(new URL('../../../test/fixtures/formats/', import.meta.url));

async function fixture(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(`${FORMATS}${name}`, 'utf8')) as Record<string, unknown>;
}

/** What version 1 studies trained with for the settings they did not record. */
const V1_DEFAULTS = {
  beta: 0.3,
  weights: 'equal',
  objectiveScope: 'batch',
  beta1: 0.9,
  beta2: 0.999,
  gradClip: null,
  schedule: 'keras-decay',
  warmupEpochs: 0,
  plateauPatience: 10,
  plateauFactor: 10,
  patience: null,
  augment: 'none',
};

describe('study.json versions', () => {
  test('one migration step and one fixture per earlier version', async () => {
    const earlier = Array.from({ length: STUDY_VERSION - 1 }, (_, i) => i + 1);
    assert.deepEqual(Object.keys(STUDY_FILE_FORMAT.migrate).map(Number), earlier);
    const files = await readdir(FORMATS);
    for (const v of earlier) assert.ok(files.includes(`study-v${v}.json`), `study-v${v}.json`);
  });

  for (const name of ['study-v1.json', 'study-v1-early.json']) {
    test(`${name}: recorded settings kept, the others as its units trained`, async () => {
      const raw = await fixture(name);
      const study = parseStudyFile(raw, name);
      const recorded = raw.settings as Record<string, unknown>;
      assert.equal(study.version, STUDY_VERSION);
      assert.deepEqual(study.variants, raw.variants);
      // Every setting recorded, and the ones version 1 left to train's defaults then.
      const expected = { ...recorded, ...V1_DEFAULTS, extraVariants: recorded.extraVariants ?? [] };
      for (const [key, value] of Object.entries(expected)) {
        assert.deepEqual(study.settings[key as keyof typeof study.settings], value, key);
      }
    });
  }

  test('study-v2.json: recorded settings kept, BatchNorm over the whole batch', async () => {
    const raw = await fixture('study-v2.json');
    const study = parseStudyFile(raw, 'study-v2.json');
    assert.equal(study.version, STUDY_VERSION);
    assert.deepEqual(study.variants, raw.variants);
    for (const [key, value] of Object.entries(raw.settings as Record<string, unknown>)) {
      assert.deepEqual(study.settings[key as keyof typeof study.settings], value, key);
    }
    assert.equal(study.settings.bnGroup, 0);
  });

  test("today's study.json reads back as written", () => {
    const settings = resolveAblationSettings({
      dataset: 'synthetic-bus',
      data: '/d',
      patience: 4,
      extraVariants: ['attn-mi-ftl+grad-clip=1'],
    });
    const file = {
      format: 'ftunet-ablation',
      version: STUDY_VERSION,
      createdAt: 'x',
      package: { name: 'p', version: '1' },
      variants: [],
      split: 'split.json',
      settings,
    };
    const read = parseStudyFile(JSON.parse(JSON.stringify(file)));
    assert.deepEqual(read.settings, settings);
    assert.equal(read.variants.at(-1), 'attn-mi-ftl+grad-clip=1');
  });
});

describe('extra rows set any row setting', () => {
  test('+<flag>=<value>: parsed by the setting, with the others', () => {
    const v = ablationVariant('attn-mi-ftl+poly+grad-clip=0.5+patience=3');
    assert.deepEqual(v.settings, { gradClip: 0.5, patience: 3, schedule: 'poly' });
    assert.equal(
      v.label,
      'Attn U-Net + Multi-Input + FTL, poly schedule, grad-clip 0.5, patience 3',
    );
    assert.equal(v.paper, false);
  });

  test('an unknown setting, a bad value, the network or loss, a setting twice', () => {
    const cases: Array<[string, string]> = [
      ['unet-dl+speed=2', "--variant: unknown setting '+speed=' in 'unet-dl+speed=2'"],
      [
        'unet-dl+grad-clip=0',
        "--variant: '+grad-clip=0' in 'unet-dl+grad-clip=0': Expected a positive number.",
      ],
      ['unet-dl+model=unet', "--variant: unknown setting '+model=' in 'unet-dl+model=unet'"],
      ['unet-dl+lr=1+lr=2', "--variant: 'unet-dl+lr=1+lr=2' sets --lr twice"],
    ];
    for (const [id, start] of cases) {
      assert.throws(
        () => ablationVariant(id),
        (err: Error) => err.name === 'UserError' && err.message.startsWith(start),
        id,
      );
    }
  });
});
