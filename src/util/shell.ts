/**
 * Command lines printed for a user to copy: words quoted for a POSIX shell only where needed.
 * Pure.
 */

/** `text` as one word for a POSIX shell (quoted only when needed). */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The words of a command as one line, each quoted where a shell would split or expand it. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}
