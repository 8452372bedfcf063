/** The HTML helpers of the reports: escaping, tables, the page shell. Pure. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  dataTable,
  escapeHtml,
  html,
  REPORT_CSP,
  renderPage,
  trusted,
} from '../../src/report/html.js';
import { squash } from './fixtures.js';

/** The tag under another name, so that the formatter leaves this test's markup as it is. */
const tag = html;

describe('escaping', () => {
  test('escapeHtml escapes the five special characters', () => {
    assert.equal(
      escapeHtml(`<a href="x">&'</a>`),
      '&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;',
    );
  });

  test('html escapes values, keeps SafeHtml and arrays of it, drops null/undefined/false', () => {
    const name = '<script>alert(1)</script>';
    const out = tag`<p title="${name}">${name}${trusted('<b>ok</b>')}${[tag`<i>${'&'}</i>`, 'x<']}${null}${undefined}${false}${0}</p>`;
    assert.equal(
      out.value,
      '<p title="&lt;script&gt;alert(1)&lt;/script&gt;">&lt;script&gt;alert(1)&lt;/script&gt;' +
        '<b>ok</b><i>&amp;</i>x&lt;0</p>',
    );
  });
});

describe('dataTable', () => {
  test('numeric cells carry their value for sorting; sortable headers get buttons', () => {
    const t = dataTable(
      [{ label: 'image' }, { label: 'DSC', numeric: true }],
      [
        { cells: ['a&b.png', { value: 0.5, text: '0.500' }], attrs: { 'data-name': 'a&b.png' } },
        { cells: ['c.png', { value: Number.NaN, text: '—' }], className: 'case' },
      ],
      { sortable: true, id: 't1' },
    ).value;
    assert.equal(
      t,
      '<table id="t1" class="sortable"><thead><tr><th><button type="button">image</button></th>' +
        '<th class="num"><button type="button">DSC</button></th></tr></thead><tbody>' +
        '<tr data-name="a&amp;b.png"><td>a&amp;b.png</td><td class="num" data-value="0.5">0.500</td></tr>' +
        '<tr class="case"><td>c.png</td><td class="num" data-value="">—</td></tr></tbody></table>',
    );
  });
});

describe('renderPage', () => {
  const page = renderPage({
    title: 'T <1>',
    subtitle: 'sub',
    sections: [
      { id: 'one', title: 'One', body: tag`<p>first</p>` },
      { id: 'two', title: 'Two', body: tag`<p>second</p>` },
    ],
    footer: 'foot',
    kind: 'run',
  });
  const flat = squash(page);

  test('a whole document: policy, title, navigation, sections with ids, script', () => {
    assert.match(flat, /^<!doctype html><html lang="en"><head><meta charset="utf-8"\/>/);
    assert.ok(
      flat.includes(
        `<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP.replace(/'/g, '&#39;')}"/>`,
      ),
    );
    assert.ok(flat.includes('<title>T &lt;1&gt;</title>'));
    assert.ok(flat.includes('<nav class="toc"><a href="#one">One</a><a href="#two">Two</a></nav>'));
    assert.ok(
      flat.includes(
        '<main><section id="one" data-section="one"><h2>One</h2><p>first</p></section>' +
          '<section id="two" data-section="two"><h2>Two</h2><p>second</p></section></main>',
      ),
    );
    assert.ok(flat.includes('<body data-report="run">'));
    assert.match(flat, /<script>[^<]*table\.sortable[^<]*<\/script><\/body><\/html>$/);
  });

  test('the policy allows nothing from outside the file', () => {
    assert.match(REPORT_CSP, /^default-src 'none'; img-src data:;/);
    // Every link or source in the shell is in-page or a data URI.
    for (const m of page.matchAll(/\b(?:href|src)="([^"]*)"/g)) {
      assert.match(m[1], /^(#|data:)/, m[1]);
    }
  });
});
