import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { newId } from '../../store/ids.ts';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/types.ts';
import { createAdminApi } from './admin-api.ts';
import type { ConnectorLiveStatus } from './types.ts';

const TOKEN = 'test-admin-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Harness {
  store: Store;
  app: FastifyInstance;
  disconnected: string[];
  live: ConnectorLiveStatus[];
  appsChanged: number;
}

async function harness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-admin-'));
  dirs.push(dir);
  const store = await openStore({ kind: 'sqlite', stateDir: dir });
  const h = { store, disconnected: [], live: [], appsChanged: 0 } as unknown as Harness;
  h.app = await createAdminApi({
    store,
    token: TOKEN,
    logger: pino({ level: 'silent' }),
    defaultExternalUrl: (tenant, app) => `https://${app}-${tenant}.apps.example.test:8443`,
    connectorStatus: () => h.live,
    disconnectConnector: (id) => h.disconnected.push(id),
    onAppsChanged: () => h.appsChanged++,
  });
  return h;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

describe('admin API', () => {
  let h: Harness;
  const call = async (method: Method, url: string, payload?: unknown, headers: Record<string, string> = auth) => {
    const res = await h.app.inject({
      method,
      url: `/api/v1${url}`,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, body: res.body ? res.json() : undefined, headers: res.headers };
  };
  const expectError = async (p: ReturnType<typeof call>, status: number, code: string) => {
    const res = await p;
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error.code, code);
    assert.equal(res.body.error.correlationId, res.headers['x-correlation-id']);
    assert.ok(res.body.error.title && res.body.error.message);
    return res.body.error as { detail?: string };
  };
  /** A tenant with one group, through the API. */
  const setup = async (name = 'contoso') => {
    const tenant = (await call('POST', '/tenants', { name, displayName: `${name} Ltd` })).body;
    const group = (await call('POST', `/tenants/${name}/connector-groups`, { name: 'default' })).body;
    return { tenant, group };
  };

  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.app.close();
    await h.store.close();
  });

  describe('authentication', () => {
    it('refuses requests without a token, with a wrong token or a wrong scheme', async () => {
      for (const headers of [
        {} as Record<string, string>,
        { authorization: 'Bearer wrong' },
        { authorization: `Basic ${TOKEN}` },
        { authorization: `Bearer ${TOKEN}x` },
      ]) {
        await expectError(call('GET', '/tenants', undefined, headers), 401, 'DB-ADMIN-UNAUTHORIZED');
        await expectError(call('GET', '/openapi.json', undefined, headers), 401, 'DB-ADMIN-UNAUTHORIZED');
        await expectError(call('POST', '/tenants', { name: 'x' }, headers), 401, 'DB-ADMIN-UNAUTHORIZED');
        await expectError(call('GET', '/no-such-route', undefined, headers), 401, 'DB-ADMIN-UNAUTHORIZED');
      }
      assert.deepEqual(await h.store.tenants.list(), []);
    });
    it('accepts the right token and answers unknown routes with a catalogue 404', async () => {
      const res = await call('GET', '/tenants');
      assert.equal(res.status, 200);
      assert.ok(res.headers['x-correlation-id']);
      await expectError(call('GET', '/no-such-route'), 404, 'DB-ADMIN-NOT-FOUND');
    });
  });

  describe('tenants and connector groups', () => {
    it('creates, reads by id or name, lists, refuses duplicates and deletes', async () => {
      const { tenant, group } = await setup();
      assert.match(tenant.id, /^tnt_/);
      assert.equal((await call('GET', `/tenants/${tenant.id}`)).body.name, 'contoso');
      assert.equal((await call('GET', '/tenants/contoso')).body.id, tenant.id);
      assert.deepEqual(
        (await call('GET', '/tenants')).body.items.map((t: { name: string }) => t.name),
        ['contoso'],
      );
      await expectError(call('POST', '/tenants', { name: 'contoso' }), 409, 'DB-ADMIN-CONFLICT');
      await expectError(call('GET', '/tenants/nobody'), 404, 'DB-ADMIN-NOT-FOUND');
      assert.equal((await call('GET', `/tenants/contoso/connector-groups/${group.id}`)).body.name, 'default');
      assert.equal((await call('GET', '/tenants/contoso/connector-groups/default')).body.id, group.id);
      await expectError(
        call('POST', '/tenants/contoso/connector-groups', { name: 'default' }),
        409,
        'DB-ADMIN-CONFLICT',
      );
      assert.equal((await call('DELETE', `/tenants/contoso/connector-groups/${group.id}`)).status, 204);
      await expectError(call('GET', `/tenants/contoso/connector-groups/${group.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      assert.equal((await call('DELETE', '/tenants/contoso')).status, 204);
      await expectError(call('GET', '/tenants/contoso'), 404, 'DB-ADMIN-NOT-FOUND');
    });
    it('refuses a tenant name that is not a slug, with the field named', async () => {
      const err = await expectError(call('POST', '/tenants', { name: 'Contoso Ltd' }), 400, 'DB-ADMIN-INVALID');
      assert.match(err.detail!, /body\.name/);
    });
  });

  describe('enrollment tokens', () => {
    it('returns the token once, lists rows without it, validates ttl and group', async () => {
      const { group } = await setup();
      const created = await call('POST', '/tenants/contoso/enrollment-tokens', { groupId: group.id });
      assert.equal(created.status, 201);
      assert.match(created.body.token, /^dbe_enr_[0-9a-f]{16}\./);
      assert.equal(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt), 3600_000);
      const byName = await call('POST', '/tenants/contoso/enrollment-tokens', {
        groupId: 'default',
        ttlSeconds: 7 * 24 * 3600,
      });
      assert.equal(byName.status, 201);
      const list = await call('GET', '/tenants/contoso/enrollment-tokens');
      assert.equal(list.body.items.length, 2);
      assert.ok(!JSON.stringify(list.body).includes(created.body.token.split('.')[1]));
      assert.ok(list.body.items.every((t: Record<string, unknown>) => !('token' in t)));
      await expectError(
        call('POST', '/tenants/contoso/enrollment-tokens', { groupId: group.id, ttlSeconds: 7 * 24 * 3600 + 1 }),
        400,
        'DB-ADMIN-INVALID',
      );
      const err = await expectError(
        call('POST', '/tenants/contoso/enrollment-tokens', { groupId: 'nope' }),
        400,
        'DB-ADMIN-INVALID',
      );
      assert.match(err.detail!, /groupId/);
      // and the token works once against the store
      await h.store.enrollmentTokens.consume(created.body.token, newId('con'), new Date());
      assert.ok(
        (await call('GET', '/tenants/contoso/enrollment-tokens')).body.items.some(
          (t: { usedAt: string | null }) => t.usedAt,
        ),
      );
    });
  });

  describe('apps', () => {
    it('publishes with defaults, reads by id or name, patches and deletes', async () => {
      const { group } = await setup();
      const created = await call('POST', '/tenants/contoso/apps', {
        name: 'hr',
        internalUrl: 'http://hr.corp.local:8080/',
        groupId: 'default',
        backendTimeout: 'long',
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const app = created.body;
      assert.equal(app.externalUrl, 'https://hr-contoso.apps.example.test:8443');
      assert.equal(app.externalHost, 'hr-contoso.apps.example.test');
      assert.equal(app.groupId, group.id);
      assert.equal(app.backendTimeout, 180);
      assert.equal(app.preAuth, 'idp');
      assert.equal((await call('GET', '/tenants/contoso/apps/hr')).body.id, app.id);
      assert.equal((await call('GET', `/tenants/contoso/apps/${app.id}`)).body.name, 'hr');
      const patched = await call('PATCH', `/tenants/contoso/apps/${app.id}`, {
        preAuth: 'passthrough',
        backendTimeout: 'default',
        enabled: false,
        externalUrl: 'https://HR.example.com',
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.preAuth, 'passthrough');
      assert.equal(patched.body.backendTimeout, 85);
      assert.equal(patched.body.enabled, false);
      assert.equal(patched.body.externalHost, 'hr.example.com');
      assert.deepEqual(
        (await call('GET', '/tenants/contoso/apps')).body.items.map((a: { id: string }) => a.id),
        [app.id],
      );
      assert.equal((await call('DELETE', `/tenants/contoso/apps/${app.id}`)).status, 204);
      await expectError(call('GET', `/tenants/contoso/apps/${app.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      assert.equal(h.appsChanged, 3);
    });
    it('refuses invalid fields with DB-ADMIN-INVALID naming the field', async () => {
      await setup();
      const base = { name: 'hr', internalUrl: 'http://hr.corp.local/', groupId: 'default' };
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ ...base, internalUrl: 'ftp://hr.corp.local/' }, /internalUrl/],
        [{ ...base, internalUrl: 'http://user:pw@hr.corp.local/' }, /internalUrl/],
        [{ ...base, externalUrl: 'http://hr.example.com' }, /externalUrl/],
        [{ ...base, externalUrl: 'https://hr.example.com/pay' }, /externalUrl/],
        [{ ...base, preAuth: 'saml' }, /preAuth/],
        [{ ...base, backendTimeout: 0 }, /backendTimeout/],
        [{ ...base, backendTimeout: 3601 }, /backendTimeout/],
        [{ ...base, backendTimeout: 'short' }, /backendTimeout/],
        [{ ...base, groupId: 'nope' }, /groupId/],
        [{ ...base, name: 'Not A Slug' }, /name/],
        [{ ...base, extra: true }, /extra/],
        [{ ...base, backendCa: 'not pem' }, /backendCa/],
        [{ name: 'hr', groupId: 'default' }, /internalUrl/],
      ];
      for (const [payload, field] of cases) {
        const err = await expectError(call('POST', '/tenants/contoso/apps', payload), 400, 'DB-ADMIN-INVALID');
        assert.match(err.detail ?? '', field, `${JSON.stringify(payload)} → ${err.detail}`);
      }
      await expectError(call('PATCH', '/tenants/contoso/apps/hr', { enabled: false }), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(call('PATCH', '/tenants/contoso/apps/hr', {}), 400, 'DB-ADMIN-INVALID');
      const res = await h.app.inject({
        method: 'POST',
        url: '/api/v1/tenants/contoso/apps',
        headers: { ...auth, 'content-type': 'application/json' },
        payload: '{not json',
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().error.code, 'DB-ADMIN-INVALID');
      assert.deepEqual(await h.store.apps.listAll(), []);
      assert.equal(h.appsChanged, 0);
    });
    it('refuses an external URL already published by any tenant', async () => {
      await setup('contoso');
      await setup('fabrikam');
      const body = { name: 'hr', internalUrl: 'http://hr/', groupId: 'default', externalUrl: 'https://hr.example.com' };
      assert.equal((await call('POST', '/tenants/contoso/apps', body)).status, 201);
      await expectError(
        call('POST', '/tenants/fabrikam/apps', { ...body, externalUrl: 'https://HR.example.com:444' }),
        409,
        'DB-ADMIN-CONFLICT',
      );
      await expectError(
        call('POST', '/tenants/contoso/apps', { ...body, externalUrl: 'https://hr2.example.com' }),
        409,
        'DB-ADMIN-CONFLICT',
      );
    });
  });

  describe('connectors', () => {
    it('lists rows merged with live status; disabling and deleting drop tunnels', async () => {
      const { tenant, group } = await setup();
      const con = await h.store.connectors.create({
        id: newId('con'),
        tenantId: tenant.id,
        groupId: group.id,
        name: 'host-1',
        certSerial: '01ab',
        certNotAfter: '2030-01-01T00:00:00.000Z',
      });
      const idle = await h.store.connectors.create({
        id: newId('con'),
        tenantId: tenant.id,
        groupId: group.id,
        name: 'host-2',
        certSerial: '01ac',
        certNotAfter: '2030-01-01T00:00:00.000Z',
      });
      h.live = [
        {
          connectorId: con.id,
          tunnels: 2,
          connectedSince: '2025-01-01T00:00:00.000Z',
          address: '203.0.113.7',
          version: '0.1.0',
          inFlight: 3,
        },
      ];
      const list = (await call('GET', '/tenants/contoso/connectors')).body.items;
      assert.deepEqual(
        list.map((c: { name: string; live: { status: string; tunnels: number } }) => [
          c.name,
          c.live.status,
          c.live.tunnels,
        ]),
        [
          ['host-1', 'connected', 2],
          ['host-2', 'disconnected', 0],
        ],
      );
      assert.equal(list[0].live.inFlight, 3);
      assert.equal(list[0].certSerial, '01ab');
      assert.equal((await call('GET', `/tenants/contoso/connectors/${con.id}`)).body.live.address, '203.0.113.7');
      assert.equal((await call('GET', '/tenants/contoso/connectors?groupId=default')).body.items.length, 2);

      const disabled = await call('PATCH', `/tenants/contoso/connectors/${con.id}`, {
        enabled: false,
        name: 'renamed',
      });
      assert.equal(disabled.status, 200);
      assert.equal(disabled.body.enabled, false);
      assert.equal(disabled.body.name, 'renamed');
      assert.equal(disabled.body.live.status, 'disabled');
      assert.deepEqual(h.disconnected, [con.id]);
      await expectError(
        call('PATCH', `/tenants/contoso/connectors/${con.id}`, { groupId: 'nope' }),
        400,
        'DB-ADMIN-INVALID',
      );
      await expectError(
        call('PATCH', `/tenants/contoso/connectors/${con.id}`, { certSerial: 'ff' }),
        400,
        'DB-ADMIN-INVALID',
      );
      assert.equal((await call('DELETE', `/tenants/contoso/connectors/${idle.id}`)).status, 204);
      assert.deepEqual(h.disconnected, [con.id, idle.id]);
      await expectError(call('GET', `/tenants/contoso/connectors/${idle.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      const actions = (await call('GET', '/tenants/contoso/audit-log?action=connector.')).body.items.map(
        (e: { action: string }) => e.action,
      );
      assert.deepEqual(actions, ['connector.deleted', 'connector.disabled']);
    });
  });

  describe('tenant scoping', () => {
    it("tenant B's URLs never reach tenant A's objects", async () => {
      const a = await setup('contoso');
      await setup('fabrikam');
      const app = (
        await call('POST', '/tenants/contoso/apps', { name: 'hr', internalUrl: 'http://hr/', groupId: 'default' })
      ).body;
      const con = await h.store.connectors.create({
        id: newId('con'),
        tenantId: a.tenant.id,
        groupId: a.group.id,
        name: 'c',
        certSerial: '02',
        certNotAfter: '2030-01-01T00:00:00.000Z',
      });
      await expectError(call('GET', `/tenants/fabrikam/apps/${app.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(
        call('PATCH', `/tenants/fabrikam/apps/${app.id}`, { enabled: false }),
        404,
        'DB-ADMIN-NOT-FOUND',
      );
      await expectError(call('DELETE', `/tenants/fabrikam/apps/${app.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(call('GET', `/tenants/fabrikam/connector-groups/${a.group.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(call('DELETE', `/tenants/fabrikam/connector-groups/${a.group.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(call('GET', `/tenants/fabrikam/connectors/${con.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(
        call('PATCH', `/tenants/fabrikam/connectors/${con.id}`, { enabled: false }),
        404,
        'DB-ADMIN-NOT-FOUND',
      );
      await expectError(call('DELETE', `/tenants/fabrikam/connectors/${con.id}`), 404, 'DB-ADMIN-NOT-FOUND');
      await expectError(
        call('POST', '/tenants/fabrikam/enrollment-tokens', { groupId: a.group.id }),
        400,
        'DB-ADMIN-INVALID',
      );
      await expectError(
        call('POST', '/tenants/fabrikam/apps', { name: 'x', internalUrl: 'http://x/', groupId: a.group.id }),
        400,
        'DB-ADMIN-INVALID',
      );
      assert.deepEqual((await call('GET', '/tenants/fabrikam/apps')).body.items, []);
      assert.deepEqual((await call('GET', '/tenants/fabrikam/connectors')).body.items, []);
      assert.ok(
        (await call('GET', '/tenants/fabrikam/audit-log')).body.items.every(
          (e: { tenantId: string }) => e.tenantId !== a.tenant.id,
        ),
      );
      assert.equal((await h.store.apps.get(a.tenant.id, app.id))?.enabled, true);
      assert.equal((await h.store.connectors.get(a.tenant.id, con.id))?.enabled, true);
      assert.deepEqual(h.disconnected, []);
    });
  });

  describe('audit log', () => {
    it('records every mutation with its actor (the bootstrap token here) and pages with a cursor', async () => {
      await setup();
      await call('POST', '/tenants/contoso/enrollment-tokens', { groupId: 'default' });
      const app = (
        await call('POST', '/tenants/contoso/apps', { name: 'hr', internalUrl: 'http://hr/', groupId: 'default' })
      ).body;
      await call('PATCH', `/tenants/contoso/apps/${app.id}`, { enabled: false });
      await call('DELETE', `/tenants/contoso/apps/${app.id}`);
      const all = (await call('GET', '/tenants/contoso/audit-log')).body;
      assert.deepEqual(
        all.items.map((e: { action: string }) => e.action),
        ['app.deleted', 'app.updated', 'app.created', 'enrollment-token.created', 'group.created', 'tenant.created'],
      );
      assert.ok(all.items.every((e: { actor: string }) => e.actor === 'bootstrap'));
      assert.equal(all.next, null);
      const first = (await call('GET', '/tenants/contoso/audit-log?limit=4')).body;
      assert.equal(first.items.length, 4);
      const second = (await call('GET', `/tenants/contoso/audit-log?limit=4&cursor=${first.next}`)).body;
      assert.deepEqual(
        second.items.map((e: { action: string }) => e.action),
        ['group.created', 'tenant.created'],
      );
      assert.equal(second.next, null);
      assert.equal(
        (await call('GET', '/tenants/contoso/audit-log?action=app.updated')).body.items[0].detail.enabled,
        false,
      );
      await expectError(call('GET', '/tenants/contoso/audit-log?limit=0'), 400, 'DB-ADMIN-INVALID');
      await expectError(call('GET', '/tenants/contoso/audit-log?cursor=zzz'), 400, 'DB-ADMIN-INVALID');
    });
  });

  describe('OpenAPI document', () => {
    it('lists every route with its schemas', async () => {
      const doc = (await call('GET', '/openapi.json')).body;
      assert.equal(doc.openapi, '3.0.3');
      const expected = [
        'get /api/v1/openapi.json',
        'post /api/v1/tenants',
        'get /api/v1/tenants',
        'get /api/v1/tenants/{tenantId}',
        'delete /api/v1/tenants/{tenantId}',
        'post /api/v1/tenants/{tenantId}/connector-groups',
        'get /api/v1/tenants/{tenantId}/connector-groups',
        'get /api/v1/tenants/{tenantId}/connector-groups/{groupId}',
        'delete /api/v1/tenants/{tenantId}/connector-groups/{groupId}',
        'get /api/v1/tenants/{tenantId}/connector-groups/{groupId}/health',
        'get /api/v1/tenants/{tenantId}/group-health',
        'post /api/v1/tenants/{tenantId}/enrollment-tokens',
        'get /api/v1/tenants/{tenantId}/enrollment-tokens',
        'post /api/v1/tenants/{tenantId}/apps',
        'get /api/v1/tenants/{tenantId}/apps',
        'post /api/v1/tenants/{tenantId}/apps/{appId}/test-connection',
        'get /api/v1/tenants/{tenantId}/apps/{appId}',
        'patch /api/v1/tenants/{tenantId}/apps/{appId}',
        'delete /api/v1/tenants/{tenantId}/apps/{appId}',
        'put /api/v1/tenants/{tenantId}/apps/{appId}/certificate',
        'get /api/v1/tenants/{tenantId}/apps/{appId}/certificate',
        'delete /api/v1/tenants/{tenantId}/apps/{appId}/certificate',
        'get /api/v1/tenants/{tenantId}/connectors',
        'get /api/v1/tenants/{tenantId}/connectors/{connectorId}',
        'patch /api/v1/tenants/{tenantId}/connectors/{connectorId}',
        'delete /api/v1/tenants/{tenantId}/connectors/{connectorId}',
        'post /api/v1/tenants/{tenantId}/connectors/{connectorId}/renew-certificate',
        'post /api/v1/tenants/{tenantId}/connectors/{connectorId}/restart',
        'get /api/v1/tenants/{tenantId}/audit-log',
        'post /api/v1/admin-tokens',
        'get /api/v1/admin-tokens',
        'delete /api/v1/admin-tokens/{tokenId}',
        'post /api/v1/tenants/{tenantId}/admin-tokens',
        'get /api/v1/tenants/{tenantId}/admin-tokens',
        'delete /api/v1/tenants/{tenantId}/admin-tokens/{tokenId}',
      ];
      const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m} ${path}`),
      );
      assert.deepEqual(documented.sort(), expected.sort());
      for (const name of ['App', 'Tenant', 'ConnectorGroup', 'Connector', 'EnrollmentToken', 'AuditEvent', 'Error'])
        assert.ok(doc.components.schemas[name], name);
      assert.ok(doc.paths['/api/v1/tenants/{tenantId}/apps'].post.requestBody);
      assert.deepEqual(doc.security, [{ bearer: [] }]);
    });
  });

  it('answers a body over the 1 MiB limit with 413 DB-ADMIN-BODY-TOO-LARGE, whether declared or chunked', async () => {
    const big = JSON.stringify({ name: 'contoso', displayName: 'x'.repeat(2 * 1024 * 1024) });
    const declared = await expectError(
      call('POST', '/tenants', big, { ...auth, 'content-type': 'application/json' }),
      413,
      'DB-ADMIN-BODY-TOO-LARGE',
    );
    assert.match(declared.detail ?? '', /1 MiB|1048576/);
    // Over a real socket, with no Content-Length (chunked): the limit is counted as the body arrives.
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const chunks = (async function* () {
      for (let i = 0; i < 32; i++)
        yield Buffer.from(big.slice(i * 65_536, (i + 1) * 65_536 + (i === 31 ? big.length : 0)));
    })();
    const res = await fetch(`${address}/api/v1/tenants`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: ReadableStream.from(chunks),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'DB-ADMIN-BODY-TOO-LARGE');
    assert.equal((await call('GET', '/tenants')).body.items.length, 0, 'nothing was created');
  });

  it('serves on a real listener', async () => {
    const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const refused = await fetch(`${address}/api/v1/tenants`);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'DB-ADMIN-UNAUTHORIZED');
    const created = await fetch(`${address}/api/v1/tenants`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'contoso' }),
    });
    assert.equal(created.status, 201);
    assert.ok(created.headers.get('x-correlation-id'));
    const list = (await (await fetch(`${address}/api/v1/tenants`, { headers: auth })).json()) as {
      items: { name: string }[];
    };
    assert.deepEqual(
      list.items.map((t) => t.name),
      ['contoso'],
    );
  });
});
