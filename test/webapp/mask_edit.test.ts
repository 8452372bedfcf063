/**
 * Corrections of a mask (src/webapp/mask_edit.ts), against hand-worked masks: the brush's disc
 * and its path (a capsule), clipped at the border; the fill of an enclosed region (also one
 * closed only diagonally, as an 8-connected outline is) and its refusal where the region
 * reaches the border; undo and redo of random steps back to every earlier mask, with the
 * lesion area kept; a reset to the model's mask as one step; the history's memory bound on a
 * 3000x2000 mask.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  binarize,
  diffRuns,
  fillEnclosed,
  lesionArea,
  MaskEditor,
  paintSegment,
} from '../../src/webapp/mask_edit.js';
import { Rng } from '../../src/util/rng.js';

function mask(rows: string[]) {
  const height = rows.length;
  const width = rows[0].length;
  const data = Uint8Array.from(rows.join('').split(''), (c) => (c === '#' ? 1 : 0));
  return { data, width, height };
}

function rows(m: { data: Uint8Array; width: number; height: number }): string[] {
  const out: string[] = [];
  for (let y = 0; y < m.height; y++) {
    out.push(
      [...m.data.subarray(y * m.width, (y + 1) * m.width)].map((v) => (v ? '#' : '.')).join(''),
    );
  }
  return out;
}

const blank = (w: number, h: number) => mask(Array.from({ length: h }, () => '.'.repeat(w)));

describe('paintSegment', () => {
  test('discs of sizes 1, 2, 3 and 5 at a pixel centre or a corner', () => {
    const cases: Array<[string, { x: number; y: number }, number, string[]]> = [
      [
        'size 1 at a centre: the pixel',
        { x: 2.5, y: 2.5 },
        1,
        ['.....', '.....', '..#..', '.....', '.....'],
      ],
      // Size 2 (radius 1) at a centre: the four neighbours at distance 1 too.
      [
        'size 2 at a centre: a plus',
        { x: 2.5, y: 2.5 },
        2,
        ['.....', '..#..', '.###.', '..#..', '.....'],
      ],
      // Size 2 at the corner (2, 2): the four pixels at distance 0.71.
      ['size 2 at a corner: 2x2', { x: 2, y: 2 }, 2, ['.....', '.##..', '.##..', '.....', '.....']],
      // Size 3 (radius 1.5): the diagonal neighbours at 1.41 too.
      [
        'size 3 at a centre: 3x3',
        { x: 2.5, y: 2.5 },
        3,
        ['.....', '.###.', '.###.', '.###.', '.....'],
      ],
      // Size 5 (radius 2.5): 5x5 but the corners at 2.83.
      ['size 5 at a centre', { x: 2.5, y: 2.5 }, 5, ['.###.', '#####', '#####', '#####', '.###.']],
    ];
    for (const [what, at, size, expected] of cases) {
      const m = blank(5, 5);
      const done = paintSegment(m, at, at, size, 1);
      assert.deepEqual(rows(m), expected, what);
      assert.equal(done?.changed, lesionArea(m.data), what);
    }
  });

  test('a path is a capsule; the eraser clears; the border clips', () => {
    const m = blank(8, 4);
    paintSegment(m, { x: 1.5, y: 1.5 }, { x: 5.5, y: 1.5 }, 3, 1);
    // Radius 1.5: the row of the path from x = 0 to 6 (ends at distance 1), and the rows above
    // and below (dy = 1, dx <= 1.12) over the same columns.
    assert.deepEqual(rows(m), ['#######.', '#######.', '#######.', '........']);
    const e = paintSegment(m, { x: 3.5, y: 0.5 }, { x: 3.5, y: 3.5 }, 1, 0);
    assert.deepEqual(rows(m), ['###.###.', '###.###.', '###.###.', '........']);
    assert.deepEqual(e, { rect: { x0: 3, y0: 0, x1: 4, y1: 4 }, changed: 3 });
    // A disc at the corner pixel is clipped to the image.
    const c = blank(4, 4);
    assert.deepEqual(paintSegment(c, { x: 0.5, y: 0.5 }, { x: 0.5, y: 0.5 }, 3, 1)?.rect, {
      x0: 0,
      y0: 0,
      x1: 2,
      y1: 2,
    });
    assert.equal(paintSegment(c, { x: -9, y: -9 }, { x: -9, y: -9 }, 3, 1), undefined);
  });
});

describe('fillEnclosed', () => {
  const ring = ['.......', '.#####.', '.#...#.', '.#...#.', '.#...#.', '.#####.', '.......'];
  test('fills the inside of an outline', () => {
    const m = mask(ring);
    const r = fillEnclosed(m, 3, 3);
    assert.equal(r.kind, 'filled');
    assert.deepEqual(rows(m), [
      '.......',
      '.#####.',
      '.#####.',
      '.#####.',
      '.#####.',
      '.#####.',
      '.......',
    ]);
    if (r.kind === 'filled') {
      assert.equal(r.pixels, 9);
      assert.deepEqual(r.rect, { x0: 2, y0: 2, x1: 5, y1: 5 });
      const pairs = [];
      for (let k = 0; k < r.runs.length; k += 2) pairs.push([r.runs[k], r.runs[k + 1]]);
      // Rows 2, 3 and 4 from column 2: indices 16, 23 and 30, three pixels each.
      assert.deepEqual(
        pairs.sort((a, b) => a[0] - b[0]),
        [
          [16, 3],
          [23, 3],
          [30, 3],
        ],
      );
    }
  });

  test('an outline closed only diagonally (8-connected) still encloses', () => {
    const m = mask(['.......', '..####.', '.#...#.', '.#...#.', '.#...#.', '.#####.', '.......']);
    assert.equal(fillEnclosed(m, 3, 3).kind, 'filled');
    // 15 outline pixels and the 9 inside.
    assert.equal(lesionArea(m.data), 15 + 9);
  });

  test('a region that reaches the border is refused and nothing changes', () => {
    const open = ['.......', '.##.##.', '.#...#.', '.#...#.', '.#...#.', '.#####.', '.......'];
    const m = mask(open);
    const scratch = new Uint8Array(49);
    assert.deepEqual(fillEnclosed(m, 3, 3, scratch), { kind: 'open' });
    assert.deepEqual(rows(m), open);
    assert.ok(
      scratch.every((v) => v === 0),
      'the scratch buffer is left zeroed',
    );
    assert.deepEqual(fillEnclosed(m, 0, 0), { kind: 'open' });
    assert.deepEqual(fillEnclosed(m, 1, 1), { kind: 'lesion' });
    assert.deepEqual(fillEnclosed(m, 7, 1), { kind: 'outside' });
  });
});

describe('MaskEditor', () => {
  test('copies the mask it is given', () => {
    const m = mask(['..', '.#']);
    const ed = new MaskEditor(m);
    ed.paint({ x: 0.5, y: 0.5 }, { x: 0.5, y: 0.5 }, 1, 1);
    ed.endStroke();
    assert.deepEqual(rows(m), ['..', '.#']);
    assert.deepEqual(rows(ed.mask), ['#.', '.#']);
  });

  test('undo and redo of random steps return every earlier mask; the area follows', () => {
    const rng = new Rng(11);
    const w = 37;
    const h = 29;
    const model = blank(w, h);
    paintSegment(model, { x: 10, y: 10 }, { x: 25, y: 18 }, 9, 1);
    const ed = new MaskEditor(model);
    const history: string[][] = [rows(ed.mask)];
    for (let k = 0; k < 30; k++) {
      const op = rng.next();
      const p = () => ({ x: rng.uniform(-3, w + 3), y: rng.uniform(-3, h + 3) });
      let changed = false;
      if (op < 0.6) {
        const value = rng.next() < 0.5 ? 1 : 0;
        const size = 1 + Math.floor(rng.next() * 7);
        let a = p();
        for (let s = 0; s < 4; s++) {
          const b = p();
          ed.paint(a, b, size, value);
          a = b;
        }
        changed = ed.endStroke() !== undefined;
      } else if (op < 0.85) {
        const q = p();
        changed = ed.fill(q.x, q.y).kind === 'filled';
      } else {
        changed = ed.reset(model) !== undefined;
      }
      assert.equal(ed.area, lesionArea(ed.mask.data), `area after step ${k}`);
      if (changed) history.push(rows(ed.mask));
      else assert.deepEqual(rows(ed.mask), history.at(-1), `step ${k} changed nothing`);
    }
    assert.ok(history.length > 15, `${history.length - 1} steps changed the mask`);
    for (let k = history.length - 2; k >= 0; k--) {
      assert.ok(ed.undo());
      assert.deepEqual(rows(ed.mask), history[k], `undo to ${k}`);
      assert.equal(ed.area, lesionArea(ed.mask.data));
    }
    assert.equal(ed.undo(), undefined);
    for (let k = 1; k < history.length; k++) {
      assert.ok(ed.redo());
      assert.deepEqual(rows(ed.mask), history[k], `redo to ${k}`);
    }
    assert.equal(ed.redo(), undefined);
    // A new step after undos drops the redos.
    ed.undo();
    ed.paint({ x: 1.5, y: 1.5 }, { x: 1.5, y: 1.5 }, 1, ed.mask.data[w + 1] ? 0 : 1);
    ed.endStroke();
    assert.equal(ed.canRedo, false);
  });

  test('a stroke in progress can be taken back out: no step, the mask as before', () => {
    const model = mask(['....', '.##.', '.##.', '....']);
    const ed = new MaskEditor(model);
    ed.paint({ x: 0.5, y: 0.5 }, { x: 3.5, y: 0.5 }, 1, 1);
    ed.paint({ x: 0.5, y: 2.5 }, { x: 0.5, y: 3.5 }, 1, 1);
    assert.deepEqual(rows(ed.mask), ['####', '.##.', '###.', '#...']);
    assert.deepEqual(ed.cancelStroke(), { x0: 0, y0: 0, x1: 4, y1: 4 });
    assert.deepEqual(rows(ed.mask), rows(model));
    assert.equal(ed.area, 4);
    assert.equal(ed.endStroke(), undefined);
    assert.deepEqual(ed.depth, { undo: 0, redo: 0 });
  });

  test('a stroke paints one value: the other value starts a new step', () => {
    const ed = new MaskEditor(blank(3, 1));
    ed.paint({ x: 0.5, y: 0.5 }, { x: 2.5, y: 0.5 }, 1, 1);
    ed.paint({ x: 1.5, y: 0.5 }, { x: 1.5, y: 0.5 }, 1, 0);
    ed.endStroke();
    assert.deepEqual(rows(ed.mask), ['#.#']);
    assert.deepEqual(ed.depth, { undo: 2, redo: 0 });
    ed.undo();
    assert.deepEqual(rows(ed.mask), ['###']);
    assert.equal(ed.area, 3);
  });

  test('a reset to the model is one step, undone as one', () => {
    const model = mask(['....', '.##.', '.##.', '....']);
    const ed = new MaskEditor(model);
    ed.paint({ x: 0.5, y: 0.5 }, { x: 3.5, y: 0.5 }, 1, 1);
    ed.endStroke();
    ed.paint({ x: 1.5, y: 1.5 }, { x: 1.5, y: 2.5 }, 1, 0);
    ed.endStroke();
    const corrected = rows(ed.mask);
    assert.deepEqual(corrected, ['####', '..#.', '..#.', '....']);
    const edit = ed.reset(model);
    assert.equal(edit?.kind, 'reset');
    assert.equal(edit?.gained, -4 + 2);
    assert.deepEqual(rows(ed.mask), rows(model));
    assert.equal(ed.reset(model), undefined, 'nothing to reset');
    ed.undo();
    assert.deepEqual(rows(ed.mask), corrected);
    assert.deepEqual(ed.depth, { undo: 2, redo: 1 });
  });

  test('diffRuns: runs of differing pixels within a rectangle', () => {
    const a = mask(['#...#', '.....']);
    const b = mask(['.##.#', '#...#']);
    const { runs, gained } = diffRuns(a.data, b.data, 5, { x0: 0, y0: 0, x1: 5, y1: 2 });
    assert.deepEqual([...runs], [0, 3, 5, 1, 9, 1]);
    // -1 at (0, 0), +1 at (1, 0), (2, 0), (0, 1) and (4, 1).
    assert.equal(gained, 3);
  });

  test("the history's memory stays within its bound on a 3000x2000 mask", () => {
    const w = 3000;
    const h = 2000;
    const bound = 2 ** 20;
    const ed = new MaskEditor(
      { data: new Uint8Array(w * h), width: w, height: h },
      { historyBytes: bound },
    );
    // Each stroke: a line of size 3 down a column, rows 1 to 1996 (the ends' discs reach one
    // row further), one run of 3 pixels a row.
    let steps = 0;
    for (let k = 0; k < 200; k++) {
      const x = 5 + k * 10 + 0.5;
      ed.paint({ x, y: 2.5 }, { x, y: 1995.5 }, 3, 1);
      if (ed.endStroke()) steps++;
      assert.ok(ed.historyUsed <= bound, `after ${k + 1} strokes: ${ed.historyUsed} bytes`);
    }
    // Each stroke flips 1996 runs of 8 bytes: 65 steps fit in 1 MiB.
    const perStep = 1996 * 8;
    assert.equal(ed.depth.undo, Math.floor(bound / perStep));
    assert.ok(steps > ed.depth.undo, 'the oldest steps were forgotten');
    // A step larger than the bound (a checkerboard reset: 3 million runs) is not kept.
    const board = new Uint8Array(w * h);
    for (let i = 0; i < board.length; i++) board[i] = ((i % w) + Math.floor(i / w)) % 2;
    assert.ok(ed.reset({ data: board, width: w, height: h }));
    assert.equal(ed.forgotten, true);
    assert.deepEqual(ed.depth, { undo: 0, redo: 0 });
    assert.equal(ed.historyUsed, 0);
    assert.equal(ed.area, lesionArea(ed.mask.data));
  });
});

describe('binarize', () => {
  test('makes non-zero bytes 1 and counts them, at any length and offset', () => {
    const values = [0, 1, 255, 0, 1, 1, 1, 1, 0, 0, 0, 0, 7, 0, 1, 2, 3];
    for (const offset of [0, 1, 4]) {
      const buffer = new Uint8Array(values.length + offset);
      buffer.set(values, offset);
      const data = buffer.subarray(offset);
      assert.equal(binarize(data), values.filter((v) => v).length, `offset ${offset}`);
      assert.deepEqual(
        [...data],
        values.map((v) => (v ? 1 : 0)),
        `offset ${offset}`,
      );
    }
  });
});
