import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../store/sqlite/index.ts';
import { hostLookupKeys } from './host-match.ts';
import { RouteTable } from './routes.ts';

test('host lookup keys: the host, then wildcards over ever shorter parents, never over one label', () => {
  assert.deepEqual(hostLookupKeys('a.b.corp.example.com'), [
    'a.b.corp.example.com',
    '*.b.corp.example.com',
    '*.corp.example.com',
    '*.example.com',
  ]);
  assert.deepEqual(hostLookupKeys('localhost'), ['localhost']);
});

test('routing: an exact app first, then the wildcard app with the longest suffix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-routes-'));
  const store = await openSqliteStore(dir);
  try {
    const tenant = await store.tenants.create({ name: 'contoso' });
    const group = await store.groups.create(tenant.id, { name: 'default' });
    const app = (name: string, externalUrl: string) =>
      store.apps.create(tenant.id, { name, externalUrl, internalUrl: 'http://10.0.0.1', groupId: group.id });
    const corp = await app('corp', 'https://*.corp.example.com');
    const eu = await app('eu', 'https://*.eu.corp.example.com');
    const payroll = await app('payroll', 'https://payroll.corp.example.com');
    const routes = new RouteTable(store);
    await routes.reload();
    assert.equal(routes.lookupHost('a.corp.example.com')?.id, corp.id);
    assert.equal(routes.lookupHost('x.y.corp.example.com')?.id, corp.id);
    assert.equal(routes.lookupHost('payroll.corp.example.com')?.id, payroll.id);
    assert.equal(routes.lookupHost('shop.eu.corp.example.com')?.id, eu.id);
    assert.equal(routes.lookupHost('corp.example.com'), undefined, 'the wildcard does not cover its own suffix');
    assert.equal(routes.lookupHost('a.example.com'), undefined);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
