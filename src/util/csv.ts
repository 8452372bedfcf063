/**
 * CSV as the project writes and reads it (RFC 4180): fields quoted only when they hold a
 * comma, a quote or a line break; one header line, then one line per record, LF line ends and
 * a final LF. Reading accepts CRLF too. Every CSV the project writes (metrics.csv, log.csv,
 * ablation.csv, the web app's areas.csv) goes through `csvDocument`, which keeps a spreadsheet
 * from running a text cell as a formula (`csvCell`). Pure, with no Node API: the web app uses it.
 */
import { UserError } from '../errors.js';

/**
 * How a text cell that a spreadsheet would read as a formula begins: `=`, `+`, `-`, `@`, a tab
 * or a carriage return (OWASP's list for CSV injection), after any single quotes (so that a
 * text which already begins with a quote reads back unchanged, see `csvText`).
 */
const FORMULA_START = /^'*[=+\-@\t\r]/;

/**
 * Quotes a CSV field when it holds a comma, a quote or a line break. RFC 4180 alone: it does
 * not neutralise formulas (`csvCell` does; write documents with `csvDocument`).
 */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * One cell. A number is written with every digit (JavaScript's shortest round-trip form, so a
 * file re-reads exactly), negative ones as they are: only text is neutralised. Text is quoted
 * where needed (`csvField`); text that a spreadsheet would run as a formula (it begins with
 * `=`, `+`, `-`, `@`, a tab or a carriage return, as a file name may: `=HYPERLINK(...).png`,
 * `-1.png`) is neutralised as OWASP advises: a single quote put before it and the cell quoted,
 * so `=1+1` is written `"'=1+1"` and shows as text. `csvText` removes that quote again when
 * the project reads its own files back. null and undefined are empty cells.
 */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  return FORMULA_START.test(value) ? `"'${value.replace(/"/g, '""')}"` : csvField(value);
}

/**
 * A text field as `csvCell` was given it: the single quote it put before a formula-like text
 * is removed (`'=1+1` reads `=1+1`, `''=x` reads `'=x`); any other field is returned as it is
 * (`'plain` stays `'plain`). For text columns of files the project wrote, after
 * `parseCsvRecords`; numeric columns never carry the quote.
 */
export function csvText(field: string): string {
  return field.startsWith("'") && FORMULA_START.test(field) ? field.slice(1) : field;
}

/**
 * A CSV document: the header, then one line per row, each cell written by `csvCell` (numbers
 * with every digit, text quoted where needed and neutralised where a spreadsheet would run
 * it), null and undefined as empty cells.
 */
export function csvDocument(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>,
): string {
  const line = (cells: ReadonlyArray<string | number | null | undefined>): string =>
    cells.map(csvCell).join(',');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** Splits CSV text into records of fields (RFC 4180: quotes, doubled quotes, CRLF or LF). */
export function parseCsvRecords(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  const endField = (): void => {
    record.push(field);
    field = '';
  };
  const endRecord = (): void => {
    endField();
    records.push(record);
    record = [];
  };
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += ch;
      }
      i += 1;
      continue;
    }
    if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') endField();
    else if (ch === '\n' || ch === '\r') {
      endRecord();
      if (ch === '\r' && text[i + 1] === '\n') i += 1;
    } else field += ch;
    i += 1;
  }
  if (quoted) throw new UserError('a quoted field is not closed');
  if (field !== '' || record.length > 0) endRecord();
  return records;
}
