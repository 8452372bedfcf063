import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { loadDataset } from '../../src/data/load.js';
import {
  generatePair,
  parseCount,
  parseSyntheticKind,
  synthesizeDataset,
  syntheticName,
} from '../../src/data/synthetic/generate.js';
import {
  SYNTH_MANIFEST,
  SYNTH_STAGING,
  writeSyntheticDataset,
} from '../../src/data/synthetic/write.js';
import { summaryStats } from '../../src/util/stats.js';
import { makeTemp, removeTemp } from './fixtures.js';

const digest = (a: Uint8Array): string => createHash('sha256').update(a).digest('hex');

/**
 * Mean intensity (first channel) inside the lesion, and outside it on the rows the lesion
 * spans (its surroundings at the same depth, without the shadow below it).
 */
function contrast(
  image: { data: Uint8Array; channels: number; width: number },
  mask: Uint8Array,
): [number, number] {
  let inS = 0;
  let inN = 0;
  let outS = 0;
  let outN = 0;
  const rows = mask.length / image.width;
  for (let y = 0; y < rows; y++) {
    const row = mask.subarray(y * image.width, (y + 1) * image.width);
    if (!row.includes(1)) continue;
    for (let x = 0; x < image.width; x++) {
      const i = y * image.width + x;
      const v = image.data[i * image.channels];
      if (mask[i]) {
        inS += v;
        inN++;
      } else {
        outS += v;
        outN++;
      }
    }
  }
  return [inS / inN, outS / outN];
}

describe('synthetic generators', () => {
  test('the same (kind, seed, index) gives the same pixels; another seed other pixels', () => {
    for (const kind of ['bus', 'isic'] as const) {
      const a = generatePair(kind, 3, { seed: 5 });
      const b = generatePair(kind, 3, { seed: 5 });
      assert.equal(digest(a.image.data), digest(b.image.data));
      assert.equal(digest(a.mask.data), digest(b.mask.data));
      assert.notEqual(digest(generatePair(kind, 3, { seed: 6 }).image.data), digest(a.image.data));
    }
  });

  test("the 'dim' look: the same lesions, darker and flatter; only for bus", () => {
    for (const index of [0, 1, 2]) {
      const standard = generatePair('bus', index, { seed: 4 });
      const dim = generatePair('bus', index, { seed: 4, look: 'dim' });
      // The same random draws: the same size, mask and lesion.
      assert.equal(digest(dim.mask.data), digest(standard.mask.data));
      assert.equal(dim.lesionArea, standard.lesionArea);
      // Gain 0.6 and contrast 0.55: lower mean and spread (the tone curve keeps the order).
      const [s, d] = [summaryStats(standard.image.data), summaryStats(dim.image.data)];
      assert.ok(d.mean < 0.75 * s.mean, `mean ${d.mean} vs ${s.mean}`);
      assert.ok(d.std < 0.75 * s.std, `std ${d.std} vs ${s.std}`);
    }
    // The default look is the standard one.
    assert.equal(
      digest(generatePair('bus', 0, { seed: 4, look: 'standard' }).image.data),
      digest(generatePair('bus', 0, { seed: 4 }).image.data),
    );
    assert.throws(
      () => generatePair('isic', 0, { look: 'dim' }),
      /^UserError: look 'dim': only the bus kind has looks other than standard$/,
    );
  });

  test('bus-like: grey, about 760x570, binary mask, dark lesion, areas near 4.84% ± 5.43%', () => {
    const areas: number[] = [];
    for (let i = 0; i < 30; i++) {
      const p = generatePair('bus', i, { seed: 0 });
      const { height, width, channels } = p.image;
      assert.equal(channels, 1);
      assert.ok(
        height >= 510 && height <= 630 && width >= 690 && width <= 830,
        `${height}x${width}`,
      );
      let sum = 0;
      for (const v of p.mask.data) {
        assert.ok(v === 0 || v === 1);
        sum += v;
      }
      assert.equal(p.lesionArea, sum / (height * width));
      assert.ok(p.lesionArea > 0.002 && p.lesionArea < 0.22, `area ${p.lesionArea}`);
      const [inside, outside] = contrast(p.image, p.mask.data);
      assert.ok(inside < 0.75 * outside, `hypoechoic: ${inside} vs ${outside}`);
      areas.push(p.lesionArea);
    }
    const s = summaryStats(areas);
    // Thirty draws: the mean's standard error is about 1 point.
    assert.ok(s.mean > 0.03 && s.mean < 0.07, `mean ${s.mean}`);
    assert.ok(s.std > 0.03 && s.std < 0.08, `std ${s.std}`);
    assert.ok(s.min < 0.01 && s.max > 0.12, `range ${s.min}-${s.max}`);
  });

  test('isic-like: RGB, larger than 192x256, pigmented lesion, areas near 21.4% ± 20.3%', () => {
    const areas: number[] = [];
    for (let i = 0; i < 16; i++) {
      const p = generatePair('isic', i, { seed: 0 });
      const { height, width, channels } = p.image;
      assert.equal(channels, 3);
      assert.ok(
        height >= 420 && height <= 680 && width > 256 && width <= 1000,
        `${height}x${width}`,
      );
      assert.ok(p.lesionArea > 0.015 && p.lesionArea < 0.72, `area ${p.lesionArea}`);
      const [inside, outside] = contrast(p.image, p.mask.data);
      assert.ok(inside < 0.85 * outside, `darker lesion: ${inside} vs ${outside}`);
      areas.push(p.lesionArea);
    }
    const s = summaryStats(areas);
    // Sixteen draws: the mean's standard error is about 5 points.
    assert.ok(s.mean > 0.1 && s.mean < 0.35, `mean ${s.mean}`);
    assert.ok(s.std > 0.1 && s.std < 0.3, `std ${s.std}`);
  });

  test('names follow the real data sets', () => {
    assert.equal(syntheticName('bus', 0), '000001.png');
    assert.equal(syntheticName('isic', 12), 'ISIC_0000012.jpg');
  });

  test('flag parsers name the flag', () => {
    assert.equal(parseSyntheticKind('ISIC'), 'isic');
    assert.throws(() => parseSyntheticKind('ct'), {
      message: "--kind: unknown kind 'ct'; expected one of bus, isic",
    });
    assert.equal(parseCount('163'), 163);
    for (const bad of ['0', '-3', '2.5', 'ten', '100001']) {
      assert.throws(() => parseCount(bad), {
        message: `--count: expected a whole number from 1 to 100000, got '${bad}'`,
      });
    }
  });
});

describe('synthesizeDataset (in memory)', () => {
  test('arrays at the preset size, names as written, original masks regenerated', async () => {
    const ds = synthesizeDataset({ kind: 'bus', count: 3, seed: 2 });
    assert.deepEqual(
      [ds.count, ds.inputSize, ds.channels, ds.source],
      [3, [128, 128], 1, { kind: 'synthetic-bus', seed: 2 }],
    );
    assert.deepEqual(ds.names, ['000001.png', '000002.png', '000003.png']);
    assert.equal(ds.images[0].length, 128 * 128);
    const full = generatePair('bus', 1, { seed: 2 });
    assert.deepEqual(ds.originalSizes[1], [full.image.height, full.image.width]);
    assert.equal(ds.lesionArea[1], full.lesionArea);
    assert.deepEqual((await ds.loadOriginalMask(1)).data, full.mask.data);
    await assert.rejects(async () => ds.loadOriginalMask(3), {
      message: 'item index 3 is outside the data set (0 to 2)',
    });
    const isic = synthesizeDataset({ kind: 'isic', count: 1, inputSize: [24, 32], channels: 1 });
    assert.equal(isic.images[0].length, 24 * 32);
  });
});

describe('writeSyntheticDataset', () => {
  let out: string;
  beforeEach(async () => {
    out = await makeTemp('ftunet-synth-');
  });
  afterEach(async () => {
    await removeTemp(out);
  });

  test('bus layout, manifest, read back by the bus reader with the same lesion areas', async () => {
    const r = await writeSyntheticDataset({ kind: 'bus', out, count: 4, concurrency: 1, seed: 1 });
    assert.deepEqual((await readdir(out)).sort(), ['ftunet-synth.json', 'gt', 'original']);
    assert.deepEqual((await readdir(path.join(out, 'gt'))).sort(), [
      '000001.png',
      '000002.png',
      '000003.png',
      '000004.png',
    ]);
    const ds = await loadDataset({ dataset: 'bus', data: out, cache: false });
    assert.deepEqual(ds.lesionArea, r.lesionAreas);
    assert.deepEqual(
      r.lesionAreas,
      [0, 1, 2, 3].map((i) => generatePair('bus', i, { seed: 1 }).lesionArea),
    );
    const manifest = JSON.parse(await readFile(path.join(out, SYNTH_MANIFEST), 'utf8')) as Record<
      string,
      unknown
    >;
    assert.deepEqual(
      [manifest.format, manifest.kind, manifest.dataset, manifest.count, manifest.seed],
      ['ftunet-synth', 'bus', 'bus', 4, 1],
    );
    // The standard look is not written: manifests from before looks read the same.
    assert.equal(manifest.look, undefined);
    const dim = await writeSyntheticDataset({
      ...{ kind: 'bus', out, count: 1, concurrency: 1, seed: 1 },
      look: 'dim',
    });
    assert.equal(dim.look, 'dim');
    const written = JSON.parse(await readFile(path.join(out, SYNTH_MANIFEST), 'utf8'));
    assert.equal(written.look, 'dim');
  });

  test('isic layout read back by the isic2018 reader', async () => {
    const r = await writeSyntheticDataset({ kind: 'isic', out, count: 2, concurrency: 1, seed: 3 });
    const ds = await loadDataset({ dataset: 'isic2018', data: out, cache: false });
    assert.deepEqual(ds.names, ['ISIC_0000000.jpg', 'ISIC_0000001.jpg']);
    assert.deepEqual(ds.lesionArea, r.lesionAreas);
    assert.deepEqual(ds.layouts, ['rgb', 'rgb']);
  });

  test('the same seed writes the same files', async () => {
    const other = await makeTemp('ftunet-synth-');
    try {
      await writeSyntheticDataset({ kind: 'bus', out, count: 2, concurrency: 1, seed: 9 });
      await writeSyntheticDataset({ kind: 'bus', out: other, count: 2, concurrency: 1, seed: 9 });
      for (const f of ['original/000002.png', 'gt/000002.png']) {
        assert.equal(
          digest(await readFile(path.join(out, f))),
          digest(await readFile(path.join(other, f))),
        );
      }
    } finally {
      await removeTemp(other);
    }
  });

  test('refuses a non-empty folder that is not a synth output; --force writes beside its files', async () => {
    await writeFile(path.join(out, 'thesis.tex'), 'x');
    await assert.rejects(writeSyntheticDataset({ kind: 'bus', out, count: 1, concurrency: 1 }), {
      name: 'UserError',
      message: `synth: ${out} is not empty and is not a synth output (it holds thesis.tex); choose an empty or new folder, or use --force to write there anyway`,
    });
    assert.deepEqual(await readdir(out), ['thesis.tex']);
    await writeSyntheticDataset({ kind: 'bus', out, count: 1, concurrency: 1, force: true });
    assert.deepEqual((await readdir(out)).sort(), [
      'ftunet-synth.json',
      'gt',
      'original',
      'thesis.tex',
    ]);
  });

  test('rewriting a synth output replaces it (another kind and count included)', async () => {
    await writeSyntheticDataset({ kind: 'bus', out, count: 3, concurrency: 1 });
    await writeSyntheticDataset({ kind: 'isic', out, count: 1, concurrency: 1 });
    assert.deepEqual((await readdir(out)).sort(), [
      'ISIC2018_Task1-2_Training_Input',
      'ISIC2018_Task1_Training_GroundTruth',
      'ftunet-synth.json',
    ]);
  });

  test('an interrupted run (staging folder only) counts as a synth output and is cleaned up', async () => {
    await mkdir(path.join(out, SYNTH_STAGING, 'original'), { recursive: true });
    await writeFile(path.join(out, SYNTH_STAGING, 'original', '000001.png'), 'partial');
    // A staging folder alone is not a data set the readers accept.
    await assert.rejects(loadDataset({ dataset: 'bus', data: out, cache: false }), {
      name: 'DataError',
    });
    await writeSyntheticDataset({ kind: 'bus', out, count: 1, concurrency: 1 });
    assert.deepEqual((await readdir(out)).sort(), ['ftunet-synth.json', 'gt', 'original']);
  });

  test('interrupted while moving folders (gt/ moved, original/ not): rejected, then rewritable', async () => {
    await mkdir(path.join(out, SYNTH_STAGING, 'original'), { recursive: true });
    await mkdir(path.join(out, 'gt'));
    await writeFile(path.join(out, 'gt', '000001.png'), 'x');
    await assert.rejects(loadDataset({ dataset: 'bus', data: out, cache: false }), {
      name: 'DataError',
      message: /^bus: expected folders original\/ and gt\/ \(or GT\/\) in /,
    });
    await writeSyntheticDataset({ kind: 'bus', out, count: 1, concurrency: 1 });
    assert.deepEqual((await readdir(path.join(out, 'gt'))).length, 1);
  });

  test('an output path that is a file is refused', async () => {
    const f = path.join(out, 'file');
    await writeFile(f, 'x');
    await assert.rejects(writeSyntheticDataset({ kind: 'bus', out: f, count: 1, concurrency: 1 }), {
      message: `synth: ${f} is a file, expected a folder`,
    });
  });
});
