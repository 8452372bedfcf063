import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { csvDocument, csvField, csvText, parseCsvRecords } from '../../src/util/csv.js';

describe('csv', () => {
  test('csvField quotes only when needed', () => {
    assert.deepEqual(
      ['plain.png', 'a,b', 'say "hi"', 'two\nlines', 'carriage\rreturn'].map(csvField),
      ['plain.png', '"a,b"', '"say ""hi"""', '"two\nlines"', '"carriage\rreturn"'],
    );
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

  test('what csvDocument writes, parseCsvRecords and csvText read back', () => {
    const rows = [
      ['x', 'with "quotes", commas', 'line\nbreak'],
      ['', '0.5', '-3'],
      ['=1+1', "'=quoted", "'plain"],
      ['\tab', '\rreturn', '@here'],
    ];
    const read = parseCsvRecords(csvDocument(['a', 'b', 'c'], rows));
    assert.deepEqual(
      read.map((r) => r.map(csvText)),
      [['a', 'b', 'c'], ...rows],
    );
  });

  test('string cells that a spreadsheet would run as a formula are neutralised (OWASP)', () => {
    const text = csvDocument(
      ['file', 'value'],
      [
        ['=HYPERLINK("http://x.example","y")', 1],
        ['+1', 2],
        ['-2+3', -3],
        ['@SUM(A1)', -0.5],
        ['\tcmd', -1e-7],
        ['\rcmd', 0],
        ["'=already", 3],
        ["'plain", 4],
        ['a=b', 5],
      ],
    );
    assert.equal(
      text,
      'file,value\n' +
        '"\'=HYPERLINK(""http://x.example"",""y"")",1\n' +
        '"\'+1",2\n' +
        '"\'-2+3",-3\n' +
        '"\'@SUM(A1)",-0.5\n' +
        '"\'\tcmd",-1e-7\n' +
        '"\'\rcmd",0\n' +
        '"\'\'=already",3\n' +
        "'plain,4\n" +
        'a=b,5\n',
    );
    // Numbers the project writes stay numbers, negative ones included.
    const values = parseCsvRecords(text)
      .slice(1)
      .map((r) => Number(r[1]));
    assert.deepEqual(values, [1, 2, -3, -0.5, -1e-7, 0, 3, 4, 5]);
  });

  test('csvText removes only the quote that csvDocument added', () => {
    assert.deepEqual(["'=x", "''=x", "'plain", "'", '-3', '=x'].map(csvText), [
      '=x',
      "'=x",
      "'plain",
      "'",
      '-3',
      '=x',
    ]);
  });
});
