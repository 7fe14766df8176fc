import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { renderConfigDoc } from './config-doc.ts';
import { parseEdgeConfig } from './edge-config.ts';

test('docs/configuration.md is generated from the schema (regenerate: node scripts/config-doc.ts)', async () => {
  assert.equal(await readFile(new URL('../../docs/configuration.md', import.meta.url), 'utf8'), renderConfigDoc());
});

test('a wrong configuration names every bad field', () => {
  assert.throws(
    () => parseEdgeConfig({ stateDir: '', domain: 'localhost', tls: [], listen: { port: 'x' } }),
    (err: Error & { code: string }) => {
      assert.equal(err.code, 'DB-CONFIG-INVALID');
      for (const field of ['/stateDir', '/domain', '/tls', '/listen/port'])
        assert.ok(err.message.includes(field), field);
      return true;
    },
  );
});

test('defaults fill what is left out', () => {
  const config = parseEdgeConfig({ stateDir: 's', domain: 'apps.example.com', tls: [{ certFile: 'c', keyFile: 'k' }] });
  assert.equal(config.listen.port, 443);
  assert.equal(config.admin.host, '127.0.0.1');
  assert.equal(config.limits.keepAliveTimeoutMs, 65_000);
});
