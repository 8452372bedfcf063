/**
 * The units of a study and which of them an invocation runs: order, selection, round-robin
 * shards, `--shard auto/N` from the environment, the action per unit folder, flag errors.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  listUnits,
  parseFoldList,
  parseShard,
  parseVariantList,
  selectUnits,
  unitAction,
  unitName,
  unitPathSegments,
  type UnitFacts,
} from '../../src/ablation/units.js';
import { ABLATION_VARIANTS, ABLATION_VARIANT_IDS } from '../../src/ablation/variants.js';

const names = (units: ReturnType<typeof listUnits>) => units.map(unitName);

describe('variants', () => {
  test("the paper's seven rows, in order, with their networks and losses", () => {
    assert.deepEqual(
      ABLATION_VARIANTS.map((v) => [v.id, v.label, v.model, v.loss]),
      [
        ['unet-dl', 'U-Net + DL', 'unet', 'dl'],
        ['unet-tl', 'U-Net + TL', 'unet', 'tl'],
        ['unet-ftl', 'U-Net + FTL', 'unet', 'ftl'],
        ['attn-dl', 'Attn U-Net + DL', 'attn_reg_ds', 'dl'],
        ['attn-mi-dl', 'Attn U-Net + Multi-Input + DL', 'attn_reg', 'dl'],
        ['attn-mi-tl', 'Attn U-Net + Multi-Input + TL', 'attn_reg', 'tl'],
        ['attn-mi-ftl', 'Attn U-Net + Multi-Input + FTL', 'attn_reg', 'ftl'],
      ],
    );
  });
});

describe('listUnits', () => {
  test('variant by variant in the paper order, fold by fold within a variant', () => {
    const units = listUnits(2);
    assert.equal(units.length, 14);
    assert.deepEqual(names(units).slice(0, 5), [
      'unet-dl/fold-0',
      'unet-dl/fold-1',
      'unet-tl/fold-0',
      'unet-tl/fold-1',
      'unet-ftl/fold-0',
    ]);
    assert.equal(unitName(units[13]), 'attn-mi-ftl/fold-1');
    assert.deepEqual(unitPathSegments(units[13]), ['units', 'attn-mi-ftl', 'fold-1']);
  });
});

describe('selectUnits', () => {
  test('--variant and --fold keep the study order whatever order they are given in', () => {
    const units = selectUnits(5, { variants: ['attn-mi-ftl', 'unet-dl'], folds: [3, 1] });
    assert.deepEqual(names(units), [
      'unet-dl/fold-1',
      'unet-dl/fold-3',
      'attn-mi-ftl/fold-1',
      'attn-mi-ftl/fold-3',
    ]);
  });

  test('shards deal the units round-robin: unit u goes to shard u % N', () => {
    const all = listUnits(5);
    const shard2of4 = selectUnits(5, { shard: { index: 2, count: 4 } });
    assert.deepEqual(names(shard2of4), names(all.filter((_, u) => u % 4 === 2)));
    assert.deepEqual(names(shard2of4).slice(0, 3), [
      'unet-dl/fold-2',
      'unet-tl/fold-1',
      'unet-ftl/fold-0',
    ]);
  });

  for (const [folds, counts] of [
    [5, [1, 2, 3, 4, 7, 34, 35, 36, 50]],
    [3, [1, 2, 5, 21, 22]],
  ] as const) {
    test(`the shards of ${folds} folds cover every unit exactly once (N = ${counts.join(', ')})`, () => {
      const all = names(listUnits(folds));
      for (const count of counts) {
        const seen = new Map<string, number>();
        const sizes: number[] = [];
        for (let index = 0; index < count; index++) {
          const shard = names(selectUnits(folds, { shard: { index, count } }));
          sizes.push(shard.length);
          for (const n of shard) seen.set(n, (seen.get(n) ?? 0) + 1);
        }
        assert.deepEqual([...seen.keys()].sort(), [...all].sort(), `N = ${count}`);
        assert.ok(
          [...seen.values()].every((c) => c === 1),
          `N = ${count}: a unit in two shards`,
        );
        assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `N = ${count}: sizes ${sizes}`);
      }
    });
  }

  test('35 shards of the paper study: one unit each', () => {
    const all = names(listUnits(5));
    for (let index = 0; index < 35; index++) {
      assert.deepEqual(names(selectUnits(5, { shard: { index, count: 35 } })), [all[index]]);
    }
  });

  test('a shard deals the units that --variant and --fold kept', () => {
    const kept = { variants: ['unet-dl', 'attn-mi-ftl'] as const, folds: [0, 1] };
    const s0 = selectUnits(2, {
      ...kept,
      variants: [...kept.variants],
      shard: { index: 0, count: 2 },
    });
    const s1 = selectUnits(2, {
      ...kept,
      variants: [...kept.variants],
      shard: { index: 1, count: 2 },
    });
    assert.deepEqual(names(s0), ['unet-dl/fold-0', 'attn-mi-ftl/fold-0']);
    assert.deepEqual(names(s1), ['unet-dl/fold-1', 'attn-mi-ftl/fold-1']);
  });

  test('a fold the study does not have is refused', () => {
    assert.throws(() => selectUnits(3, { folds: [3] }), {
      name: 'UserError',
      message: '--fold 3: the study has folds 0 to 2',
    });
  });

  test('a shard index out of range is refused', () => {
    assert.throws(() => selectUnits(3, { shard: { index: 4, count: 4 } }), {
      message: /^--shard: shard index 4 is out of range 0 to 3/,
    });
  });
});

describe('parseShard', () => {
  test('I/N', () => {
    assert.deepEqual(parseShard('3/35'), { index: 3, count: 35 });
    assert.deepEqual(parseShard(' 0 / 1 '), { index: 0, count: 1 });
  });

  test('auto/N takes the index from SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX', () => {
    assert.deepEqual(parseShard('auto/35', { SLURM_ARRAY_TASK_ID: '7' }), { index: 7, count: 35 });
    assert.deepEqual(parseShard('auto/35', { JOB_COMPLETION_INDEX: '34' }), {
      index: 34,
      count: 35,
    });
    assert.deepEqual(
      parseShard('auto/35', { SLURM_ARRAY_TASK_ID: '2', JOB_COMPLETION_INDEX: '9' }),
      { index: 2, count: 35 },
    );
    // An empty variable counts as unset.
    assert.deepEqual(parseShard('auto/4', { SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '1' }), {
      index: 1,
      count: 4,
    });
  });

  const errors: Array<[string, Record<string, string>, string | RegExp]> = [
    [
      'auto/35',
      {},
      '--shard auto/35: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set; run it as ' +
        'a SLURM array task or a Kubernetes Indexed Job, or give the index (I/N)',
    ],
    [
      'auto/35',
      { SLURM_ARRAY_TASK_ID: '35' },
      /^--shard auto\/35: SLURM_ARRAY_TASK_ID is 35, out of range 0 to 34 \(number the tasks from 0, e\.g\. #SBATCH --array=0-34\)$/,
    ],
    [
      'auto/4',
      { JOB_COMPLETION_INDEX: 'x' },
      "--shard auto/4: JOB_COMPLETION_INDEX is 'x', expected an integer",
    ],
    ['4/4', {}, /^--shard: shard index 4 is out of range 0 to 3/],
    ['0/0', {}, '--shard: the number of shards must be a positive integer, got 0'],
    ['1', {}, "--shard: expected I/N or auto/N (e.g. 0/4), got '1'"],
    ['-1/4', {}, "--shard: expected I/N or auto/N (e.g. 0/4), got '-1/4'"],
    ['a/4', {}, "--shard: expected I/N or auto/N (e.g. 0/4), got 'a/4'"],
  ];
  for (const [text, env, message] of errors) {
    test(`'${text}' with ${JSON.stringify(env)} is refused`, () => {
      assert.throws(() => parseShard(text, env), { name: 'UserError', message });
    });
  }
});

describe('parseVariantList and parseFoldList', () => {
  test('ids and folds, duplicates dropped', () => {
    assert.deepEqual(parseVariantList('unet-dl, attn-mi-ftl,unet-dl'), ['unet-dl', 'attn-mi-ftl']);
    assert.deepEqual(parseFoldList('2,0,2'), [2, 0]);
  });

  test('unknown ids and bad folds are refused with the allowed values', () => {
    assert.throws(() => parseVariantList('unet-dl,unet'), {
      message:
        `--variant: unknown variant 'unet'; expected one of ${ABLATION_VARIANT_IDS.join(', ')}, ` +
        'optionally followed by +aug-<none|light|default|heavy>, +<keras-decay|poly|cosine|plateau> and ' +
        '+<setting>=<value>',
    });
    assert.throws(() => selectUnits(3, { variants: ['attn-mi-ftl+poly'] }), {
      message:
        '--variant attn-mi-ftl+poly: the study has no such row (add rows when the study is ' +
        'made, with --extra-variant)',
    });
    assert.throws(() => parseVariantList('unet-dl,'), {
      message: /^--variant: expected variant ids/,
    });
    assert.throws(() => parseFoldList('0,x'), {
      message: "--fold: expected fold numbers separated by commas (e.g. 0,2), got '0,x'",
    });
  });
});

describe('unitAction', () => {
  const none: UnitFacts = {
    exists: false,
    evaluated: false,
    hasConfig: false,
    checkpointEpoch: null,
    epochs: null,
  };
  const cases: Array<[string, Partial<UnitFacts>, ReturnType<typeof unitAction>]> = [
    ['no folder', {}, 'train'],
    ['an evaluation summary', { exists: true, evaluated: true, hasConfig: true }, 'skip'],
    ['an empty folder', { exists: true }, 'restart'],
    ['a config and no checkpoint', { exists: true, hasConfig: true, epochs: 8 }, 'restart'],
    [
      'a checkpoint before the last epoch',
      { exists: true, hasConfig: true, epochs: 8, checkpointEpoch: 3 },
      'resume',
    ],
    [
      'the last epoch, no evaluation',
      { exists: true, hasConfig: true, epochs: 8, checkpointEpoch: 8 },
      'evaluate',
    ],
    [
      'a checkpoint and an unreadable epoch count',
      { exists: true, hasConfig: true, checkpointEpoch: 3 },
      'resume',
    ],
  ];
  for (const [what, facts, action] of cases) {
    test(`${what}: ${action}`, () => assert.equal(unitAction({ ...none, ...facts }), action));
  }
});
