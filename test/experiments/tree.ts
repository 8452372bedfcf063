/** A folder's contents as a map from relative path to a SHA-256 of the file ('dir' for folders). */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

export async function hashTree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true });
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(rel, e.name);
      if (e.isDirectory()) {
        out.set(p, 'dir');
        await walk(p);
      } else {
        const bytes = await readFile(path.join(root, p));
        out.set(p, createHash('sha256').update(bytes).digest('hex'));
      }
    }
  };
  await walk('');
  return out;
}
