/**
 * The rule for error messages: a user error (`UserError` and its kinds) names what the caller
 * gave — the option as the library and the flag spell it (`threshold`, `--tta`), the file, the
 * folder, or the command — and never a function or class of the code, since the command line
 * prints it as it is after "ftunet: " (issue 20: "exportModel: quantize ...", "ensemble: ...").
 * The core's tensor functions (src/losses, src/metrics) keep naming themselves, as STYLE.md
 * shows ("tverskyLoss: yTrue shape ..."): the command line calls them only with data it has
 * checked, so no user reaches those messages.
 *
 * This reads the sources: each user error's message must not begin with a camelCase or
 * dotted identifier, nor with the name of a function or class that src exports, and no
 * message takes its head from a `fn` variable.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository's src/ (tests run from dist/test/). */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** Folders whose messages may name their function (see the module doc). */
const CORE = ['losses', 'metrics'];

const USER_ERRORS =
  'UserError|DataError|BackendError|DamagedFileError|DiskFullError|UnsupportedLayerError';

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await sources(p)));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** Each user error's message head (its text up to 60 characters), with file and line. */
function messageHeads(file: string, text: string): Array<{ where: string; head: string }> {
  const re = new RegExp(`new (?:${USER_ERRORS})\\(\\s*[\`'"]([^\`'"]{0,60})`, 'g');
  const heads = [];
  for (const m of text.matchAll(re)) {
    const line = text.slice(0, m.index).split('\n').length;
    heads.push({ where: `${file}:${line}`, head: m[1] });
  }
  return heads;
}

/** Why a head names a function, or undefined when it does not. */
function namesFunction(head: string, exported: ReadonlySet<string>): string | undefined {
  if (/^\$\{fn\}:/.test(head)) return 'a head taken from a variable fn';
  const m = /^([A-Za-z_][A-Za-z0-9_.]*):/.exec(head);
  if (m === null) return undefined;
  const name = m[1];
  if (/\./.test(name)) return `a method, ${name}`;
  if (/^[a-z]+[A-Z]/.test(name) || /^[A-Z][a-z]+[A-Z]/.test(name)) return `an identifier, ${name}`;
  if (exported.has(name)) return `a function of src, ${name}`;
  return undefined;
}

describe('error messages for users', () => {
  test('the check finds the heads it must', () => {
    const exported = new Set(['percentile']);
    assert.equal(namesFunction('exportModel: quantize', exported), 'an identifier, exportModel');
    assert.equal(namesFunction('MemoryLimiter.run: x', exported), 'a method, MemoryLimiter.run');
    assert.equal(namesFunction('AveragingEngine: x', exported), 'an identifier, AveragingEngine');
    assert.equal(namesFunction('percentile: no values', exported), 'a function of src, percentile');
    assert.equal(namesFunction('${fn}: no images', exported), 'a head taken from a variable fn');
    for (const ok of [
      '--tta flips: x',
      'threshold must be',
      'export: cannot',
      '${flag}: x',
      'tta: x',
    ]) {
      assert.equal(namesFunction(ok, exported), undefined, ok);
    }
  });

  test('no user error outside the core names a function or class', async () => {
    const files = await sources(SRC);
    const exported = new Set<string>();
    const texts = new Map<string, string>();
    for (const f of files) {
      const text = await readFile(f, 'utf8');
      texts.set(f, text);
      for (const m of text.matchAll(/export (?:async )?(?:function|class) ([A-Za-z0-9_]+)/g)) {
        exported.add(m[1]);
      }
    }
    const found: string[] = [];
    for (const [f, text] of texts) {
      const rel = path.relative(SRC, f);
      if (CORE.includes(rel.split(path.sep)[0])) continue;
      for (const { where, head } of messageHeads(rel, text)) {
        const why = namesFunction(head, exported);
        if (why !== undefined) found.push(`${where}: ${why}: ${head}`);
      }
    }
    assert.deepEqual(found, []);
  });
});
