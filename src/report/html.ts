/**
 * The HTML of the reports: escaping (a tagged template that escapes every value unless it is
 * already `SafeHtml`), the page shell with its style sheet and its one small script (sortable
 * tables), and the tables the pages share.
 *
 * A page opens offline: its Content-Security-Policy allows no source but the page itself and
 * `data:` images, so a stray reference to anything outside would be blocked (and reported in
 * the browser's console) rather than fetched. Pure.
 */

/** HTML that is safe to insert as it is (built by `html` or trusted, like Vega's SVG). */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Escapes text for HTML content and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Marks trusted markup as safe (SVG rendered by Vega, a data URI). */
export function trusted(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === undefined || value === null || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * A template tag: `html\`<p>${text}</p>\`` escapes `text`; `SafeHtml` values and arrays of
 * them are inserted as they are; undefined, null and false insert nothing.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

/** The Content-Security-Policy of every report page: nothing from outside the file. */
export const REPORT_CSP =
  "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; " +
  "base-uri 'none'; form-action 'none'";

const STYLE = `
:root { --ink: #1d2733; --muted: #5b6773; --line: #dde3ea; --panel: #f6f8fa; --accent: #1f4e79; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 Helvetica, Arial, sans-serif; color: var(--ink); background: #fff; }
header.page { padding: 20px 32px 14px; border-bottom: 1px solid var(--line); background: var(--panel); }
header.page h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header.page p { margin: 0; color: var(--muted); }
nav.toc { position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 4px 18px;
  padding: 8px 32px; background: #fff; border-bottom: 1px solid var(--line); font-size: 13px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
main { padding: 8px 32px 32px; max-width: 1280px; }
section { padding: 14px 0 18px; border-bottom: 1px solid var(--line); }
section:last-child { border-bottom: none; }
h2 { margin: 4px 0 8px; font-size: 18px; font-weight: 600; }
h3 { margin: 14px 0 6px; font-size: 14px; font-weight: 600; color: var(--muted); }
p.note, figcaption { color: var(--muted); font-size: 13px; max-width: 900px; }
figure { margin: 8px 0; }
figure.plot svg { max-width: 100%; height: auto; display: block; }
.row { display: flex; flex-wrap: wrap; gap: 12px 40px; align-items: flex-start; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 6px 0 10px; }
.card { min-width: 120px; padding: 8px 14px; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
.card .label { font-size: 12px; color: var(--muted); }
.card .value { font-size: 20px; font-weight: 600; }
.card .std { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; font-size: 13px; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.scroll-x { max-width: 100%; overflow-x: auto; }
.kv-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 0 32px; }
.kv-grid div { display: flex; justify-content: space-between; gap: 12px; padding: 2px 0;
  border-bottom: 1px solid var(--line); font-size: 13px; }
.kv-grid .k { color: var(--muted); }
.kv-grid .v { text-align: right; word-break: break-all; font-variant-numeric: tabular-nums; }
table.sortable th button { all: unset; cursor: pointer; }
table.sortable th button::after { content: ' \\2195'; color: #aab4be; }
table.sortable th[data-sort='asc'] button::after { content: ' \\2191'; color: var(--accent); }
table.sortable th[data-sort='desc'] button::after { content: ' \\2193'; color: var(--accent); }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); display: inline-block; }
.scroll thead th { position: sticky; top: 0; }
tr.case td:first-child { font-weight: 600; }
.tag { display: inline-block; padding: 0 6px; border-radius: 8px; font-size: 11px; font-weight: 600; color: #fff; }
.tag.best { background: #2e7d32; } .tag.median { background: #6d7780; } .tag.worst { background: #c62828; }
table.cases { border-collapse: separate; border-spacing: 6px 4px; }
table.cases td, table.cases th { border: none; padding: 0; text-align: center; font-weight: normal; background: none; }
table.cases thead th { font-size: 12px; color: var(--muted); }
table.cases td.who { text-align: left; font-size: 12px; padding-right: 8px; white-space: nowrap; }
table.cases td.who .name { font-weight: 600; }
table.cases img { display: block; image-rendering: auto; border-radius: 2px; }
table.cases tr.group th { text-align: left; padding-top: 8px; font-size: 13px; color: var(--ink); }
.legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin: 0 4px 0 10px; }
footer { padding: 12px 32px 24px; color: var(--muted); font-size: 12px; }
`;

/**
 * Sorting of `table.sortable`: a click on a column's button sorts the rows by that column,
 * ascending, then descending; numeric cells sort by their `data-value`, and a cell without a
 * value (`data-value=""`: an undefined metric) sorts last either way.
 */
const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
  heads.forEach(function (th, col) {
    var button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', function () {
      var dir = th.getAttribute('data-sort') === 'asc' ? 'desc' : 'asc';
      heads.forEach(function (h) { h.removeAttribute('data-sort'); });
      th.setAttribute('data-sort', dir);
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var cell = row.cells[col];
        var v = cell.getAttribute('data-value');
        return v === null ? cell.textContent : v === '' ? null : Number(v);
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
        var d = typeof x === 'number' ? x - y : String(x).localeCompare(String(y));
        return dir === 'asc' ? d : -d;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
`;

/** One section of a page. */
export interface PageSection {
  /** The element id and `data-section` value. */
  id: string;
  /** The heading (and the navigation's link text). */
  title: string;
  body: SafeHtml;
}

/** What a page holds. */
export interface PageContent {
  /** The document's title and the heading. */
  title: string;
  /** One line under the heading. */
  subtitle: SafeHtml | string;
  sections: readonly PageSection[];
  /** The footer line. */
  footer: SafeHtml | string;
  /** `data-report` on the body ('run', 'ablation'). */
  kind: string;
}

/** A whole HTML document: head with style and policy, heading, navigation, sections, script. */
export function renderPage(content: PageContent): string {
  const page = html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}" />
        <link rel="icon" href="data:," />
        <title>${content.title}</title>
        <style>
          ${trusted(STYLE)}
        </style>
      </head>
      <body data-report="${content.kind}">
        <header class="page">
          <h1>${content.title}</h1>
          <p>${content.subtitle}</p>
        </header>
        <nav class="toc">
          ${content.sections.map((s) => html`<a href="#${s.id}">${s.title}</a>`)}
        </nav>
        <main>
          ${content.sections.map(
            (s) =>
              html`<section id="${s.id}" data-section="${s.id}">
                <h2>${s.title}</h2>
                ${s.body}
              </section> `,
          )}
        </main>
        <footer>${content.footer}</footer>
        <script>
          ${trusted(SORT_SCRIPT)};
        </script>
      </body>
    </html> `;
  return page.value;
}

/** A plot (an SVG string from `renderVegaLite`) in a figure with `data-plot` and a caption. */
export function plotFigure(id: string, svg: string, caption?: SafeHtml | string): SafeHtml {
  return html`<figure class="plot" data-plot="${id}">
    ${trusted(svg)}${caption !== undefined ? html`<figcaption>${caption}</figcaption>` : ''}
  </figure>`;
}

/** Headline numbers as cards: label, value, and an optional small line under it. */
export function cards(
  items: ReadonlyArray<{ label: string; value: string; note?: string }>,
): SafeHtml {
  return html`<div class="cards">
    ${items.map(
      (c) =>
        html`<div class="card">
          <div class="label">${c.label}</div>
          <div class="value">${c.value}</div>
          ${c.note !== undefined ? html`<div class="std">${c.note}</div>` : ''}
        </div>`,
    )}
  </div>`;
}

/** Key-value pairs in a grid of two or more columns. */
export function keyValueGrid(entries: ReadonlyArray<readonly [string, string]>): SafeHtml {
  return html`<div class="kv-grid">
    ${entries.map(
      ([k, v]) => html`<div><span class="k">${k}</span><span class="v">${v}</span></div>`,
    )}
  </div>`;
}

/** A column of `dataTable`. */
export interface TableColumn {
  label: string;
  /** Right-aligned, sorted by number. Default false. */
  numeric?: boolean;
  /** A sort button in the header (with `sortable`). Default true. */
  sortable?: boolean;
}

/** A cell: text, or a number with its displayed text (sorted by the number). */
export type TableCell = string | SafeHtml | { value: number; text: string };

/** A table; `sortable` makes its columns sort on click (by the page's script). */
export function dataTable(
  columns: readonly TableColumn[],
  rows: ReadonlyArray<{
    cells: readonly TableCell[];
    className?: string;
    attrs?: Record<string, string>;
  }>,
  options: { sortable?: boolean; id?: string } = {},
): SafeHtml {
  const sortable = options.sortable ?? false;
  const head = columns.map((c) => {
    const cls = c.numeric ? 'num' : undefined;
    const label =
      sortable && c.sortable !== false ? html`<button type="button">${c.label}</button>` : c.label;
    return html`<th${cls ? html` class="${cls}"` : ''}>${label}</th>`;
  });
  const body = rows.map((r) => {
    const attrs = Object.entries(r.attrs ?? {}).map(([k, v]) => html` ${k}="${v}"`);
    return html`<tr${r.className ? html` class="${r.className}"` : ''}${attrs}>${r.cells.map(
      (cell, i) => {
        const numeric = columns[i]?.numeric ?? false;
        if (typeof cell === 'object' && !(cell instanceof SafeHtml)) {
          const value = Number.isFinite(cell.value) ? String(cell.value) : '';
          return html`<td class="num" data-value="${value}">${cell.text}</td>`;
        }
        return html`<td${numeric ? html` class="num"` : ''}>${cell}</td>`;
      },
    )}</tr>`;
  });
  return html`<table${options.id ? html` id="${options.id}"` : ''}${
    sortable ? html` class="sortable"` : ''
  }><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}
