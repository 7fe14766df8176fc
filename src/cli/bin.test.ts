import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('the package bin', () => {
  it('package.json names an executable bin that runs the CLI', () => {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { bin: Record<string, string> };
    const bin = `${root}${pkg.bin.drawbridge}`;
    assert.ok(statSync(bin).mode & 0o111, `${bin} is executable`);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /Usage: drawbridge <command>/);
    assert.match(help.stdout, /connector register/);
    const bad = spawnSync(process.execPath, [bin, 'no-such-command'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown command "no-such-command"/);
  });

  it('npx drawbridge resolves to it', () => {
    const res = spawnSync('npx', ['--no-install', 'drawbridge', 'connector', '--help'], {
      cwd: root,
      encoding: 'utf8',
    });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /register/);
  });

  it("npx drawbridge on the machine's own Node (not the pinned one) runs without npm warnings", () => {
    // npx installs a package whose bin matches the command into its cache, checking `engines` against the Node that
    // runs npm: the machine's, which may be older than the Node 24 the project pins (Node 20 printed two EBADENGINE
    // warnings). Run it as a user would: the project's node_modules/.bin off PATH, and a fresh npm cache.
    const machinePath = (process.env.PATH ?? '')
      .split(path.delimiter)
      .filter((dir) => !dir.includes(`${path.sep}node_modules${path.sep}`))
      .join(path.delimiter);
    const cache = mkdtempSync(path.join(tmpdir(), 'drawbridge-npx-'));
    try {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PATH: machinePath,
        npm_config_cache: cache,
        npm_config_update_notifier: 'false',
      };
      for (const key of Object.keys(env))
        if (/^npm_(lifecycle|package|node_execpath|execpath)/.test(key)) delete env[key];
      const res = spawnSync('npx', ['drawbridge', '--help'], { cwd: root, encoding: 'utf8', env, timeout: 120_000 });
      assert.equal(res.status, 0, res.stderr);
      assert.match(res.stdout, /Usage: drawbridge <command>/);
      assert.doesNotMatch(res.stderr, /EBADENGINE|npm warn/i);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });
});
