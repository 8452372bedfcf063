/** Helpers that keep error messages short: the first few names and a count. Pure. */

/** How many names an error message lists before "and N more". */
export const MAX_LISTED = 5;

/** "a, b, c" or "a, b, c, d, e and 12 more". */
export function listFew(names: readonly string[], max = MAX_LISTED): string {
  if (names.length <= max) return names.join(', ');
  return `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** "1 image" / "3 images". */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${count} ${count === 1 ? singular : pluralForm}`;
}

/** "a", "a and b", "a, b and c". */
export function listWords(words: readonly string[]): string {
  return words.length <= 1
    ? (words[0] ?? '')
    : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
