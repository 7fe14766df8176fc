import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
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
    const res = spawnSync('npx', ['--no-install', 'drawbridge', 'connector', '--help'], { cwd: root, encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /register/);
  });
});
