/** Help texts that must agree with the code they describe. */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { defaultCacheDir } from '../../src/data/cache.js';
import { DEFAULT_CACHE_HELP } from '../../src/cli/help.js';
import { buildProgram } from '../../src/cli/program.js';

describe('--cache help', () => {
  test('names the folders defaultCacheDir picks', () => {
    // "$XDG_CACHE_HOME/NAME, else ~/.cache/NAME", each side filled in as defaultCacheDir does.
    const [xdg, home] = DEFAULT_CACHE_HELP.split(', else ');
    assert.equal(
      defaultCacheDir({ XDG_CACHE_HOME: '/xdg' }),
      xdg.replace('$XDG_CACHE_HOME', '/xdg'),
    );
    assert.equal(defaultCacheDir({}), home.replace('~', os.homedir()));
    assert.equal(path.basename(home), path.basename(defaultCacheDir({})));
  });

  test('every command with --cache gives that default', () => {
    const withCache = buildProgram()
      .commands.map((c) => [c.name(), c.options.find((o) => o.long === '--cache')] as const)
      .filter(([, o]) => o !== undefined);
    assert.deepEqual(withCache.map(([name]) => name).sort(), [
      'ablation',
      'evaluate',
      'inspect',
      'report',
      'train',
    ]);
    for (const [name, option] of withCache) {
      assert.ok(
        option!.description.endsWith(`${DEFAULT_CACHE_HELP})`),
        `${name}: ${option!.description}`,
      );
    }
  });
});

describe('help into a reader that stops early', () => {
  test('ends quietly with exit 0, no stack trace (as `ftunet ablation --help | head`)', async () => {
    const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    const child = spawn(process.execPath, [main, 'ablation', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Close the reading end before the command writes: its first write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});
