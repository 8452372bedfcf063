import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { csvDocument, csvField, parseCsvRecords } from '../../src/util/csv.js';

describe('csv', () => {
  test('csvField quotes only when needed', () => {
    assert.deepEqual(['plain.png', 'a,b', 'say "hi"', 'two\nlines'].map(csvField), [
      'plain.png',
      '"a,b"',
      '"say ""hi"""',
      '"two\nlines"',
    ]);
  });

  test('csvDocument: header, rows, every digit, empty cells, a final newline', () => {
    assert.equal(
      csvDocument(
        ['name', 'x', 'y'],
        [
          ['a,b', 0.1 + 0.2, null],
          ['c', 1e-7, undefined],
        ],
      ),
      'name,x,y\n"a,b",0.30000000000000004,\nc,1e-7,\n',
    );
    assert.equal(csvDocument(['h'], []), 'h\n');
  });

  test('parseCsvRecords: quotes, doubled quotes, line breaks inside quotes, CRLF, no final newline', () => {
    assert.deepEqual(parseCsvRecords('a,"b,c"\r\n"d ""e""","f\ng"\nh,'), [
      ['a', 'b,c'],
      ['d "e"', 'f\ng'],
      ['h', ''],
    ]);
    assert.throws(() => parseCsvRecords('"open'), /a quoted field is not closed/);
  });

  test('what csvDocument writes, parseCsvRecords reads back', () => {
    const rows = [
      ['x', 'with "quotes", commas', 'line\nbreak'],
      ['', '0.5', '-3'],
    ];
    assert.deepEqual(parseCsvRecords(csvDocument(['a', 'b', 'c'], rows)), [
      ['a', 'b', 'c'],
      ...rows,
    ]);
  });
});
