import assert from 'node:assert/strict';
import { readdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { makeBus, makeFolder, makeTemp, removeTemp } from '../data/fixtures.js';
import { runCli } from './run.js';

let root: string;
let xdg: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  root = await makeTemp('ftunet-inspect-');
  xdg = await makeTemp('ftunet-xdg-');
  // The default cache goes under XDG_CACHE_HOME: a temporary folder, never the user's.
  env = { XDG_CACHE_HOME: xdg };
  await makeBus(path.join(root, 'bus'), { count: 3 });
  await makeFolder(path.join(root, 'own'), { count: 2, maskSuffix: '_seg' });
});
after(async () => {
  await removeTemp(root);
  await removeTemp(xdg);
});

describe('ftunet inspect', () => {
  test('prints pairs, sizes, layouts, lesion area; writes, then hits the default cache', async () => {
    const data = path.join(root, 'bus');
    const r = runCli(['inspect', '--dataset', 'bus', '--data', data], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 5), [
      `data set: bus at ${data}`,
      'pairs: 3',
      'original sizes (rows x cols): 20 x 30',
      'channel layouts: grey 3',
      // Lesions of 10, 15 and 20 pixels of 600: mean 2.50%, std 0.68%.
      'lesion area: 2.50% ± 0.68% (min 1.67%, max 3.33%)',
    ]);
    assert.match(lines[5], /^arrays: 128x128x1 \(nearest\); cache written: .+\.ftds$/);
    assert.ok(lines[5].includes(path.join(xdg, 'focal-tversky-unet')));
    assert.equal(r.stderr, '');
    // Second run: a cache hit, and a non-image file skipped with one warning line.
    await writeFile(path.join(data, 'original', '.DS_Store'), 'x');
    const again = runCli(['inspect', '--dataset', 'bus', '--data', data], env);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /cache hit: /);
    assert.equal(
      again.stderr,
      'ftunet inspect: warning: bus: skipped 1 entry that is not an image: original/.DS_Store\n',
    );
  });

  test('--json prints count, sizes, lesionArea (mean, std, min, max) and more', () => {
    const r = runCli(
      [
        'inspect',
        '--dataset',
        'folder',
        '--data',
        path.join(root, 'own'),
        '--mask-suffix',
        '_seg',
        '--input-size',
        '16x24',
        '--channels',
        '1',
        '--no-cache',
        '--json',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(j.count, 2);
    assert.deepEqual(j.sizes, { height: { min: 20, max: 20 }, width: { min: 30, max: 30 } });
    assert.deepEqual(Object.keys(j.lesionArea as object).sort(), ['max', 'mean', 'min', 'std']);
    assert.deepEqual([j.inputSize, j.channels, j.layouts], [[16, 24], 1, { rgb: 2 }]);
    assert.deepEqual(j.cache, { file: null, hit: false });
  });

  test('a broken data set: one line on stderr, exit code 2, nothing written there', async () => {
    const data = path.join(root, 'bus');
    await rename(path.join(data, 'gt', '000002.png'), path.join(data, 'gt', '000022.png'));
    const before = await readdir(data, { recursive: true });
    const r = runCli(['inspect', '--dataset', 'bus', '--data', data], env);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      'ftunet: bus: 1 image in original/ has no mask in gt/: 000002.png; ' +
        '1 mask in gt/ has no image in original/: 000022.png\n',
    );
    assert.deepEqual(await readdir(data, { recursive: true }), before);
    await rename(path.join(data, 'gt', '000022.png'), path.join(data, 'gt', '000002.png'));
  });

  const bad: Array<[string[], string]> = [
    [
      ['--dataset', 'busi'],
      "ftunet inspect: option '--dataset <layout>' argument 'busi' is invalid. Allowed choices " +
        'are bus, isic2018, folder. (Did you mean bus?) (see --help)\n',
    ],
    [
      ['--dataset', 'bus', '--input-size', '128'],
      "ftunet inspect: option '--input-size <h,w>' argument '128' is invalid. Expected " +
        'rows,cols such as 128,128 or 192x256 (each 1 to 4096). (see --help)\n',
    ],
    [
      ['--dataset', 'bus', '--mask-suffix', '_s'],
      'ftunet: --mask-suffix: applies to --dataset folder only, not bus\n',
    ],
  ];
  for (const [args, message] of bad) {
    test(`${args.join(' ')}: exit 2 with "${message.trim()}"`, () => {
      const r = runCli(['inspect', '--data', path.join(root, 'bus'), ...args], env);
      assert.deepEqual([r.code, r.stderr, r.stdout], [2, message, '']);
    });
  }
});
