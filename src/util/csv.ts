/**
 * CSV as the project writes and reads it (RFC 4180): fields quoted only when they hold a
 * comma, a quote or a line break; one header line, then one line per record, LF line ends and
 * a final LF. Reading accepts CRLF too. Pure.
 */
import { UserError } from '../errors.js';

/** Quotes a CSV field when it holds a comma, a quote or a line break. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/**
 * A CSV document: the header, then one line per row. Strings are quoted as needed; numbers
 * are written with every digit (JavaScript's shortest round-trip form), so a file re-reads
 * exactly; null and undefined are empty cells.
 */
export function csvDocument(
  header: readonly string[],
  rows: ReadonlyArray<ReadonlyArray<string | number | null | undefined>>,
): string {
  const line = (cells: ReadonlyArray<string | number | null | undefined>): string =>
    cells.map((c) => (c === null || c === undefined ? '' : csvField(String(c)))).join(',');
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
