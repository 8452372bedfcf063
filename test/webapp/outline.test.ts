/**
 * A mask's outline as vector segments (src/webapp/outline.ts): small masks worked by hand
 * (a pixel, a block at the border, an L, two pixels touching at a corner), the edges of a
 * partition into regions equal the whole's, and the tiled outline stays equal to the whole
 * mask's after edits and invalidation.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { outlineSegments, TiledOutline } from '../../src/webapp/outline.js';
import { Rng } from '../../src/util/rng.js';

/** A mask from rows of '#' (lesion) and '.'. */
function mask(rows: string[]) {
  const height = rows.length;
  const width = rows[0].length;
  const data = Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
  return { data, width, height };
}

/** Segments as 'x0,y0-x1,y1' strings. */
function named(segs: Int32Array | number[]): string[] {
  const out: string[] = [];
  for (let k = 0; k < segs.length; k += 4) {
    out.push(`${segs[k]},${segs[k + 1]}-${segs[k + 2]},${segs[k + 3]}`);
  }
  return out;
}

/** The unit edges a list of segments covers, sorted (to compare outlines however merged). */
function unitEdges(lists: Int32Array[]): string[] {
  const out: string[] = [];
  for (const segs of lists) {
    for (let k = 0; k < segs.length; k += 4) {
      const [x0, y0, x1, y1] = [segs[k], segs[k + 1], segs[k + 2], segs[k + 3]];
      if (y0 === y1) for (let x = x0; x < x1; x++) out.push(`h${x},${y0}`);
      else for (let y = y0; y < y1; y++) out.push(`v${x0},${y}`);
    }
  }
  return out.sort();
}

describe('outlineSegments', () => {
  test('hand-worked masks', () => {
    const cases: Array<[string, string[], string[]]> = [
      ['one pixel', ['...', '.#.', '...'], ['1,1-2,1', '1,2-2,2', '1,1-1,2', '2,1-2,2']],
      ['a block at the border', ['##.', '##.'], ['0,0-2,0', '0,2-2,2', '0,0-0,2', '2,0-2,2']],
      [
        'an L (runs merged along a line)',
        ['##.', '#..', '...'],
        ['0,0-2,0', '1,1-2,1', '0,2-1,2', '0,0-0,2', '1,1-1,2', '2,0-2,1'],
      ],
      [
        'two pixels touching at a corner',
        ['#.', '.#'],
        ['0,0-1,0', '0,1-2,1', '1,2-2,2', '0,0-0,1', '1,0-1,2', '2,1-2,2'],
      ],
      ['no lesion', ['...', '...'], []],
      ['all lesion', ['##', '##'], ['0,0-2,0', '0,2-2,2', '0,0-0,2', '2,0-2,2']],
    ];
    for (const [what, rows, expected] of cases) {
      assert.deepEqual(named(outlineSegments(mask(rows))), expected, what);
    }
  });

  test('the regions of a partition give every edge of the whole once', () => {
    const r = new Rng(3);
    const rng = () => r.next();
    const m = { data: new Uint8Array(11 * 7), width: 11, height: 7 };
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng() < 0.45 ? 1 : 0;
    const whole = unitEdges([outlineSegments(m)]);
    const parts: Int32Array[] = [];
    for (const [y0, y1] of [
      [0, 3],
      [3, 7],
    ]) {
      for (const [x0, x1] of [
        [0, 4],
        [4, 9],
        [9, 11],
      ]) {
        parts.push(outlineSegments(m, { x0, y0, x1, y1 }));
      }
    }
    assert.deepEqual(unitEdges(parts), whole);
    assert.equal(new Set(whole).size, whole.length);
  });
});

describe('TiledOutline', () => {
  test('stays equal to the whole outline through edits, recomputing only invalidated tiles', () => {
    const r = new Rng(7);
    const rng = () => r.next();
    const m = { data: new Uint8Array(23 * 17), width: 23, height: 17 };
    for (let i = 0; i < m.data.length; i++) m.data[i] = rng() < 0.3 ? 1 : 0;
    const tiled = new TiledOutline(m, 5);
    assert.equal(tiled.cols * tiled.rows, 5 * 4);
    let calls = 0;
    // Asked to stop after each tile: one tile per call.
    assert.equal(
      tiled.refresh(() => ++calls > 0),
      false,
    );
    assert.equal(calls, 1);
    while (!tiled.refresh(() => false));
    const all = { x0: 0, y0: 0, x1: 23, y1: 17 };
    assert.deepEqual(unitEdges(tiled.segments(all)), unitEdges([outlineSegments(m)]));
    for (let k = 0; k < 40; k++) {
      const x = Math.floor(rng() * 23);
      const y = Math.floor(rng() * 17);
      m.data[y * 23 + x] ^= 1;
      tiled.invalidate({ x0: x, y0: y, x1: x + 1, y1: y + 1 });
      assert.ok(!tiled.fresh);
      tiled.refresh(() => false);
      assert.ok(tiled.fresh);
      assert.deepEqual(
        unitEdges(tiled.segments(all)),
        unitEdges([outlineSegments(m)]),
        `edit ${k}`,
      );
    }
    // A view of part of the mask lists only the tiles that meet it.
    assert.ok(tiled.segments({ x0: 0, y0: 0, x1: 3, y1: 3 }).length <= 1);
  });
});
