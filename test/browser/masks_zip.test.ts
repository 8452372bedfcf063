/**
 * The web app's zip: entry names made from picked file names extract as plain files in one
 * folder (no path separators, control or bidirectional characters, no hidden names, no two
 * entries that a case-insensitive file system would merge), and areas.csv neutralises names a
 * spreadsheet would run as formulas while its numbers stay numbers. Pure (no browser).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { unzipSync, zipSync } from 'fflate';
import { masksZipFiles, safeStem, type ZipMask } from '../../src/browser/masks_zip.js';
import { csvText, parseCsvRecords } from '../../src/util/csv.js';

const mask = (name: string, stem: string, pixels = 3): ZipMask => ({
  name,
  stem,
  width: 4,
  height: 2,
  threshold: 0.5,
  pixels,
  png: new Uint8Array([stem.length]),
});

describe('the web app zip', () => {
  test('safeStem: separators, controls, bidi overrides and leading dots', () => {
    const cases: Array<[string, string]> = [
      ['plain', 'plain'],
      ['../../etc/passwd', '_.._etc_passwd'],
      ['a\\b', 'a_b'],
      ['line\nbreak\ttab\u0000nul\u007fdel\u0085nel', 'line_break_tab_nul_del_nel'],
      ['scan\u202egnp.exe', 'scangnp.exe'],
      ['\u2066x\u2069\u202a\u202b\u202c\u202d\u200e\u200f', 'x'],
      ['.hidden', 'hidden'],
      ['...', 'image'],
      ['', 'image'],
      ['con:1?*<>|"', 'con_1______'],
      ['é'.repeat(150), 'é'.repeat(100)],
    ];
    for (const [stem, want] of cases) assert.equal(safeStem(stem), want, JSON.stringify(stem));
  });

  test('entries: safe names, collisions (case too) get a suffix; areas.csv neutralised', () => {
    const masks = [
      mask('=HYPERLINK("http://x.example").png', '=HYPERLINK("http://x.example")'),
      mask('a/b.png', 'a/b'),
      mask('a_b.png', 'a_b'),
      mask('A_B.png', 'A_B'),
      mask('.bashrc.png', '.bashrc'),
      mask('-2.png', '-2', 0),
    ];
    const zip = unzipSync(zipSync(masksZipFiles(masks)));
    assert.deepEqual(Object.keys(zip), [
      '=HYPERLINK(_http___x.example_)_mask.png',
      'a_b_mask.png',
      'a_b_2_mask.png',
      'A_B_3_mask.png',
      'bashrc_mask.png',
      '-2_mask.png',
      'areas.csv',
    ]);
    for (const name of Object.keys(zip)) {
      // eslint-disable-next-line no-control-regex -- control characters are what it looks for
      assert.doesNotMatch(name, /[/\\\u0000-\u001f\u202a-\u202e\u2066-\u2069]|^\./u, name);
    }
    const text = new TextDecoder().decode(zip['areas.csv']);
    const lines = text.split('\n');
    assert.equal(lines[0], 'file,mask,width,height,threshold,lesion_pixels,lesion_percent');
    assert.equal(
      lines[1],
      '"\'=HYPERLINK(""http://x.example"").png","\'=HYPERLINK(_http___x.example_)_mask.png",4,2,0.5,3,37.5000',
    );
    assert.equal(lines[6], '"\'-2.png","\'-2_mask.png",4,2,0.5,0,0.0000');
    const records = parseCsvRecords(text).slice(1);
    assert.deepEqual(
      records.map((r) => csvText(r[0])),
      masks.map((m) => m.name),
    );
    assert.deepEqual(
      records.map((r) => csvText(r[1])),
      Object.keys(zip).slice(0, -1),
    );
  });
});
