/**
 * A progress line on a terminal, rewritten in place: `\r`, the text, then "erase to the end of
 * the line" (`ESC [ K`), so that a shorter line leaves none of a longer one behind (`decode
 * 48/48` over `decode 148/148` would read `decode 48/48/148`). The last one ends the line.
 */
export function writeProgressLine(
  stream: NodeJS.WritableStream,
  text: string,
  last: boolean,
): void {
  stream.write(`\r${text}\x1b[K${last ? '\n' : ''}`);
}
