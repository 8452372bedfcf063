/**
 * Command lines printed for a user to copy: words quoted for a POSIX shell only where needed,
 * and the words that start an `ftunet` command (`ftunetCommand`). Pure.
 */

/** `text` as one word for a POSIX shell (quoted only when needed). */
export function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The words of a command as one line, each quoted where a shell would split or expand it. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/** How printed commands start when nothing says that `ftunet` is on the user's PATH. */
export const NPX_FTUNET: readonly string[] = ['npx', 'ftunet'];

let ftunetWords: readonly string[] = NPX_FTUNET;

/**
 * Sets the words that start every printed `ftunet` command: `['ftunet']` or `['npx',
 * 'ftunet']`. The CLI sets them once at start from how it was started (`ftunetProgram` in
 * util/invocation.ts, where the rule is); a library caller keeps the default, `npx ftunet`,
 * which works wherever the package is installed, or sets its own.
 */
export function setFtunetProgram(words: readonly string[]): void {
  ftunetWords = [...words];
}

/**
 * An `ftunet` command for the user to type, e.g. `npx ftunet train --resume 'my runs/a'`:
 * the program's words (see `setFtunetProgram`), then `args`, each quoted where needed.
 */
export function ftunetCommand(args: readonly string[]): string {
  return commandLine([...ftunetWords, ...args]);
}
