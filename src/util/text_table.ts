/**
XX
 */

/**
 * One line per row (header first), two spaces between columns. `align` has one letter per
 * column, `l` (text, padded on the right) or `r` (numbers, padded on the left); columns past
 * its end are `r`. Default `'l'`: the first column text, the others numbers.
 */
export function formatTable(header: string[], rows: string[][], align = 'l'): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    widths
      .map((w, i) => (align[i] === 'l' ? (cells[i] ?? '').padEnd(w) : (cells[i] ?? '').padStart(w)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
