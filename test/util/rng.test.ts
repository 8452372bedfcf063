import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveSeed, parseSeed, Rng } from '../../src/util/rng.js';

describe('Rng (mulberry32)', () => {
  // First three 32-bit outputs of the canonical mulberry32 (bryc/code, PRNGs.md) for seeds
  // 0, 1 and 42, produced by that reference function.
  const reference: Array<[number, number[]]> = [
    [0, [1144304738, 1416247, 958946056]],
    [1, [2693262067, 11749833, 2265367787]],
    [42, [2581720956, 1925393290, 3661312704]],
  ];
  for (const [seed, expected] of reference) {
    test(`seed ${seed} gives the reference sequence`, () => {
      const rng = new Rng(seed);
      assert.deepEqual([rng.nextUint32(), rng.nextUint32(), rng.nextUint32()], expected);
    });
  }

  test('next() is nextUint32 / 2^32 and lies in [0, 1)', () => {
    const a = new Rng(7);
    const b = new Rng(7);
    for (let i = 0; i < 1000; i++) {
      const v = a.next();
      assert.equal(v, b.nextUint32() / 4294967296);
      assert.ok(v >= 0 && v < 1);
    }
  });

  test('state resumes the stream', () => {
    const a = new Rng(3);
    a.next();
    const b = Rng.fromState(a.state);
    assert.deepEqual([a.next(), a.next()], [b.next(), b.next()]);
  });

  test('int(n) covers 0..n-1 about evenly (fixed seed, chi-square below the 0.1% critical value)', () => {
    const rng = new Rng(11);
    const counts = new Array<number>(10).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) counts[rng.int(10)]++;
    const expected = n / 10;
    const chi2 = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    assert.ok(chi2 < 27.88, `chi-square ${chi2}`); // 9 degrees of freedom, p = 0.001
  });

  test('normal() has mean about 0 and variance about 1 (fixed seed)', () => {
    const rng = new Rng(5);
    const n = 20000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const v = rng.normal();
      s += v;
      s2 += v * v;
    }
    // Standard errors: 1/sqrt(n) = 0.007 for the mean, sqrt(2/n) = 0.01 for the variance.
    assert.ok(Math.abs(s / n) < 0.03);
    assert.ok(Math.abs(s2 / n - 1) < 0.04);
  });

  test('shuffle is a seeded permutation', () => {
    const items = Array.from({ length: 50 }, (_, i) => i);
    const a = new Rng(9).shuffle([...items]);
    const b = new Rng(9).shuffle([...items]);
    const c = new Rng(10).shuffle([...items]);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.deepEqual(
      [...a].sort((x, y) => x - y),
      items,
    );
    assert.notDeepEqual(a, items);
  });

  test('bad seeds are refused', () => {
    assert.throws(() => new Rng(-1), {
      message: 'seed must be an integer from 0 to 4294967295, got -1',
    });
    assert.throws(() => new Rng(1.5), /got 1.5$/);
    assert.throws(() => new Rng(2 ** 32), /got 4294967296$/);
  });
});

describe('deriveSeed and parseSeed', () => {
  test('deriveSeed is deterministic and separates its inputs', () => {
    assert.equal(deriveSeed(1, 2, 3), deriveSeed(1, 2, 3));
    const seen = new Set<number>();
    for (let s = 0; s < 20; s++) for (let i = 0; i < 50; i++) seen.add(deriveSeed(s, i));
    assert.equal(seen.size, 1000);
    assert.notEqual(deriveSeed(1, 2), deriveSeed(2, 1));
    for (const v of seen) assert.ok(Number.isInteger(v) && v >= 0 && v < 2 ** 32);
  });

  test('parseSeed accepts 0..2^32-1 and names the flag otherwise', () => {
    assert.equal(parseSeed('0'), 0);
    assert.equal(parseSeed(' 4294967295 '), 4294967295);
    for (const bad of ['-1', '1.5', 'abc', '', '4294967296', '1e3']) {
      assert.throws(() => parseSeed(bad, '--seed'), {
        name: 'UserError',
        message: `--seed: expected an integer from 0 to 4294967295, got '${bad}'`,
      });
    }
  });
});
