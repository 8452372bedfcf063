/**
 * The layering of src/, checked on the sources: a top-level folder imports only from the
 * folders above it in ARCHITECTURE.md's table (or beside it, in the same row), the folders
 * import one way (no cycle), and the core (losses, metrics, models, kernels), the browser entry (browser.ts,
 * browser/) and the web app (webapp/) reach no Node-only module through any chain of imports,
 * so they run in a browser.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

/** Every .ts file under src/, relative to it. */
function sourceFiles(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sourceFiles(path.join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [path.relative(SRC, path.join(dir, e.name))]
        : [],
  );
}

/** The module specifiers a file imports (static imports, re-exports and dynamic imports). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(SRC, file), 'utf8');
  const specs: string[] = [];
  const pattern =
    /(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm;
  for (const m of text.matchAll(pattern)) specs.push(m[1] ?? m[2] ?? m[3]);
  return specs;
}

/** The source file a relative specifier names, or undefined for a package. */
function resolveLocal(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  return path.normalize(path.join(path.dirname(from), spec)).replace(/\.js$/, '.ts');
}

/** The top-level folder of a file (a file directly in src/ is its own node). */
const folderOf = (file: string): string => file.split(path.sep)[0];

const files = sourceFiles();

/**
 * The rows of ARCHITECTURE.md's table, top to bottom: each row's folders and files as they are
 * named in its first cell (`util/` as 'util', `errors.ts` as itself).
 */
function architectureRows(): string[][] {
  const text = readFileSync(path.join(SRC, '..', 'ARCHITECTURE.md'), 'utf8');
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    const cell = /^\|\s*(`[^|]*`)\s*\|/.exec(line);
    if (cell === null) continue;
    rows.push([...cell[1].matchAll(/`([^`]+)`/g)].map((m) => m[1].replace(/\/$/, '')));
  }
  return rows;
}

describe('architecture', () => {
  test("a folder imports only from folders above it in ARCHITECTURE.md's table", () => {
    const rows = architectureRows();
    const rank = new Map<string, number>();
    rows.forEach((names, i) => names.forEach((n) => rank.set(n, i)));
    assert.ok(rows.length >= 15, `found ${rows.length} rows`);
    // Every top-level folder and file of src/ is in the table.
    const unlisted = [...new Set(files.map(folderOf))].filter((f) => !rank.has(f));
    assert.deepEqual(unlisted, [], 'folders missing from the table');
    const upward: string[] = [];
    for (const f of files) {
      for (const spec of importsOf(f)) {
        const target = resolveLocal(f, spec);
        if (target === undefined || folderOf(target) === folderOf(f)) continue;
        if (rank.get(folderOf(target))! > rank.get(folderOf(f))!) {
          upward.push(`${f} imports ${target}`);
        }
      }
    }
    assert.deepEqual(upward, []);
  });

  test('no cycle between the top-level folders of src/', () => {
    const edges = new Map<string, Set<string>>();
    for (const f of files) {
      for (const spec of importsOf(f)) {
        const target = resolveLocal(f, spec);
        if (target === undefined || folderOf(target) === folderOf(f)) continue;
        if (!edges.has(folderOf(f))) edges.set(folderOf(f), new Set());
        edges.get(folderOf(f))!.add(folderOf(target));
      }
    }
    const reaches = (from: string, to: string, seen = new Set<string>()): boolean => {
      for (const next of edges.get(from) ?? []) {
        if (next === to) return true;
        if (!seen.has(next)) {
          seen.add(next);
          if (reaches(next, to, seen)) return true;
        }
      }
      return false;
    };
    const cycles = [...edges].flatMap(([a, targets]) =>
      [...targets].filter((b) => reaches(b, a)).map((b) => `${a} -> ${b}`),
    );
    assert.deepEqual(cycles, []);
  });

  test('the core, the browser entry and the web app reach no Node-only module', () => {
    const core = files.filter((f) =>
      ['losses', 'metrics', 'models', 'kernels'].includes(folderOf(f)),
    );
    assert.ok(core.length > 10, `found ${core.length} core files`);
    const browser = files.filter(
      (f) => f === 'browser.ts' || folderOf(f) === 'browser' || folderOf(f) === 'webapp',
    );
    assert.ok(browser.length >= 8, `found ${browser.length} browser files`);
    const nodeOnly =
      /^(node:|fs$|path$|os$|worker_threads$|child_process$|sharp$|onnxruntime-node$)/;
    const problems: string[] = [];
    for (const start of [...core, ...browser]) {
      const seen = new Set([start]);
      const queue: Array<{ file: string; chain: string[] }> = [{ file: start, chain: [start] }];
      while (queue.length > 0) {
        const { file, chain } = queue.shift()!;
        for (const spec of importsOf(file)) {
          if (nodeOnly.test(spec)) problems.push(`${chain.join(' -> ')} imports ${spec}`);
          const target = resolveLocal(file, spec);
          if (target !== undefined && !seen.has(target)) {
            seen.add(target);
            queue.push({ file: target, chain: [...chain, target] });
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
