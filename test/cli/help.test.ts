/** Help texts that must agree with the code they describe. */
import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
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
