/**
 * npm's configuration of the project: onnxruntime-node's install script, which would fetch
 * the CUDA provider from outside the npm registry, is skipped without a key npm does not know
 * (npm 11 printed `Unknown project config "onnxruntime-node-install"` before every command).
 * package.json's `allowScripts` denies the script (npm with install-script approval); on npm
 * 10, which ignores that field, `ONNXRUNTIME_NODE_INSTALL=skip` does (README, .ci/run).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The repository (tests run from dist/test/). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe("npm's configuration", () => {
  test('.npmrc holds no key for onnxruntime-node; allowScripts denies its install script', () => {
    const npmrc = `${ROOT}.npmrc`;
    if (existsSync(npmrc)) {
      assert.doesNotMatch(readFileSync(npmrc, 'utf8'), /^\s*onnxruntime-node/m);
    }
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    assert.equal(pkg.allowScripts?.['onnxruntime-node'], false);
    assert.match(readFileSync(`${ROOT}.ci/run`, 'utf8'), /^export ONNXRUNTIME_NODE_INSTALL=skip$/m);
  });

  test('npm reads the project configuration without a warning', () => {
    const r = spawnSync('npm', ['config', 'list'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /Unknown project config/);
  });
});
