/**
 * `drawbridge admin reports …` and `users disable|enable|revoke-sessions` against a real admin API on a real SQLite
 * store: the CLI prints the API's report as a table, CSV (the API's columns and quoting) or JSON, and the users
 * commands reach the directory and end sessions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createAdminApi } from '../edge/admin/admin-api.ts';
import { directoryRoutes } from '../edge/admin/directory-routes.ts';
import { reportRoutes } from '../edge/admin/report-routes.ts';
import { openStore } from '../store/open.ts';
import type { Store, Tenant } from '../store/types.ts';
import { adminCli } from '../../test/helpers/admin-cli.ts';

const TOKEN = 'cli-reports-token-0123456789abcdef';
const SINCE = '2030-01-01T00:00:00Z';
const UNTIL = '2030-01-03T00:00:00Z';

describe('drawbridge admin reports and users', () => {
  let dir: string;
  let store: Store;
  let api: FastifyInstance;
  let url: string;
  let tenant: Tenant;
  const revoked: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-cli-reports-'));
    store = await openStore({ kind: 'sqlite', stateDir: join(dir, 'state') });
    const directory = store.directory;
    api = await createAdminApi({
      store,
      token: TOKEN,
      logger: pino({ level: 'silent' }),
      defaultExternalUrl: (t, a) => `https://${a}-${t}.apps.example.test`,
      connectorStatus: () => [],
      disconnectConnector: () => {},
      extraRoutes: [
        (a, ctx) => directoryRoutes(a, ctx, { directory, revokeUser: async (_t, userId) => (revoked.push(userId), 1) }),
        (a, ctx) =>
          reportRoutes(a, ctx, directory, {
            country: (ip) => (ip.startsWith('203.') ? 'NL' : null),
            namedLocations: (_t, ip) => (ip.startsWith('10.') ? ['Office'] : []),
          }),
      ],
    });
    url = await api.listen({ host: '127.0.0.1', port: 0 });
    tenant = await store.tenants.create({ name: 'contoso' });
    const group = await store.groups.create(tenant.id, { name: 'default' });
    const hr = await store.apps.create(tenant.id, {
      name: 'hr',
      groupId: group.id,
      internalUrl: 'http://hr.corp',
      externalUrl: 'https://hr.example.test',
      preAuth: 'idp',
    });
    await directory.users.create(tenant.id, { upn: 'alice@contoso.example' });
    const base = {
      tenantId: tenant.id,
      event: 'signin',
      userId: null,
      username: 'alice',
      appId: null,
      clientIp: '10.0.0.1',
      userAgent: 'test',
      result: 'success' as const,
      code: null,
      authMethod: 'password',
      mfaMethod: null,
      correlationId: null,
      detail: {},
    };
    await directory.signinLog.append({ ...base, time: '2030-01-01T08:00:00.000Z' });
    await directory.signinLog.append({ ...base, time: '2030-01-01T09:00:00.000Z', event: 'access', appId: hr.id });
    await directory.signinLog.append({
      ...base,
      time: '2030-01-02T01:00:00.000Z',
      username: '=cmd',
      clientIp: '203.0.113.9',
      result: 'failure',
      code: 'DB-SIGNIN-LOCKED-OUT',
    });
  });
  after(async () => {
    await api.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return adminCli(argv, url, TOKEN);
  }
  const window = ['--tenant', 'contoso', '--since', SINCE, '--until', UNTIL];

  it('prints a report as CSV, JSON and a table', async () => {
    const csv = await run('reports', 'signins-by-day', ...window, '--format', 'csv');
    assert.equal(csv.code, 0, csv.err);
    assert.equal(csv.out, 'day,result,count\r\n"2030-01-01","success","1"\r\n"2030-01-02","failure","1"\r\n');
    const json = await run('reports', 'failures-by-code', ...window, '--format', 'json');
    assert.deepEqual(JSON.parse(json.out), {
      report: 'failures-by-code',
      since: '2030-01-01T00:00:00.000Z',
      until: '2030-01-03T00:00:00.000Z',
      items: [{ code: 'DB-SIGNIN-LOCKED-OUT', count: 1 }],
    });
    const risky = await run('reports', 'risky-signins', ...window, '--format', 'csv');
    assert.match(risky.out, /"'=cmd"/, 'formula-like cells are neutralised');
    assert.match(risky.out, /"locked-out"/);
    const apps = await run('reports', 'top-apps', ...window);
    assert.match(apps.out, /APP ID\s+APP NAME\s+TOTAL\s+ALLOWED\s+DENIED\n\S+\s+hr\s+1\s+1\s+0/);
    const countries = await run('reports', 'countries', ...window, '--json');
    assert.deepEqual(JSON.parse(countries.out).items, [
      { country: 'NL', total: 1, failures: 1 },
      { country: null, total: 1, failures: 0 },
    ]);
    const named = await run('reports', 'named-locations', ...window, '--format', 'csv');
    assert.equal(named.out, 'namedLocation,total,failures\r\n"Office","1","0"\r\n"","1","1"\r\n');
    assert.match((await run('reports', 'list', '--tenant', 'contoso')).out, /mfa-methods\s+Second factors used/);
  });

  it('refuses bad windows and formats with their codes', async () => {
    const bad = await run('reports', 'top-users', '--tenant', 'contoso', '--since', 'yesterday-ish');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /DB-ADMIN-INVALID/);
    assert.equal((await run('reports', 'top-users', '--tenant', 'contoso', '--format', 'xml')).code, 2);
  });

  it('disables and enables a user by login name, and revokes sessions', async () => {
    const off = await run('users', 'disable', 'alice', '--tenant', 'contoso');
    assert.equal(off.code, 0, off.err);
    assert.match(off.out, /Disabled alice@contoso\.example/);
    const alice = await store.directory.users.findByLogin(tenant.id, 'alice');
    assert.equal(alice?.enabled, false);
    assert.deepEqual(revoked, [alice!.id], 'disabling ends the sessions');
    assert.match((await run('users', 'enable', 'alice', '--tenant', 'contoso')).out, /Enabled alice@contoso\.example/);
    assert.equal((await store.directory.users.get(tenant.id, alice!.id))?.enabled, true);
    assert.match(
      (await run('users', 'revoke-sessions', 'alice', '--tenant', 'contoso')).out,
      /Ended 1 session\(s\) of alice/,
    );
    assert.match(
      (await run('users', 'list', '--tenant', 'contoso')).out,
      /alice@contoso\.example\s+usr_\S+\s+\S+\s+true/,
    );
  });
});
