import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createAdminApi } from '../edge/admin/admin-api.ts';
import { newId } from '../store/ids.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/types.ts';
import { parseDuration, runAdmin, table } from './admin.ts';
import { adminCli } from '../../test/helpers/admin-cli.ts';

const TOKEN = 'cli-test-token-0123456789abcdef';

describe('drawbridge admin', () => {
  let dir: string;
  let store: Store;
  let api: FastifyInstance;
  let url: string;
  const disconnected: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-cli-'));
    store = await openStore({ kind: 'sqlite', stateDir: join(dir, 'state') });
    api = await createAdminApi({
      store,
      token: TOKEN,
      logger: pino({ level: 'silent' }),
      defaultExternalUrl: (t, a) => `https://${a}-${t}.apps.example.test`,
      connectorStatus: () => [],
      disconnectConnector: (id) => disconnected.push(id),
    });
    url = await api.listen({ host: '127.0.0.1', port: 0 });
    writeFileSync(join(dir, 'dev.json'), JSON.stringify({ adminUrl: url, adminToken: TOKEN }));
  });
  after(async () => {
    await api.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
    return adminCli(argv, url, TOKEN);
  }

  it('prints help at every level', async () => {
    const top = await run('--help');
    assert.equal(top.code, 0);
    for (const c of ['tenants', 'groups', 'tokens', 'apps', 'connectors', 'audit'])
      assert.match(top.out, new RegExp(`\\n  ${c} `));
    const apps = await run('apps', '--help');
    assert.match(apps.out, /apps create NAME --tenant T --internal-url URL --group G/);
    assert.match(apps.out, /--backend-timeout S/);
    assert.match((await run('apps', 'create', '--help')).out, /--pre-auth idp\|passthrough/);
    assert.match((await run('audit', '--help')).out, /--cursor C/);
    assert.equal((await run()).code, 2);
    assert.equal((await run('bogus')).code, 2);
    assert.equal((await run('apps', 'bogus')).code, 2);
    assert.equal((await run('tenants', 'list', '--no-such-flag')).code, 2);
  });

  it('walks tenants, groups, tokens, apps, connectors and audit', async () => {
    assert.equal((await run('tenants', 'create', 'contoso', '--display-name', 'Contoso Ltd')).code, 0);
    const tenants = await run('tenants', 'list');
    assert.match(tenants.out, /^NAME\s+ID\s+DISPLAY NAME\s+CREATED\ncontoso\s+tnt_[0-9a-f]{16}\s+Contoso Ltd/);
    assert.equal((await run('groups', 'create', 'default', '--tenant', 'contoso')).code, 0);
    const token = await run('tokens', 'create', '--tenant', 'contoso', '--group', 'default', '--ttl', '2h', '--json');
    assert.equal(token.code, 0, token.err);
    const created = JSON.parse(token.out) as { token: string; expiresAt: string; createdAt: string };
    assert.match(created.token, /^dbe_/);
    assert.equal(Date.parse(created.expiresAt) - Date.parse(created.createdAt), 2 * 3600_000);
    assert.match((await run('enrollment-tokens', 'list', '-t', 'contoso')).out, /default\s+valid/);

    const app = await run(
      'apps',
      'create',
      'hr',
      '-t',
      'contoso',
      '--internal-url',
      'http://hr.corp.local/',
      '--group',
      'default',
      '--backend-timeout',
      'long',
    );
    assert.equal(app.code, 0, app.err);
    assert.match(app.out, /Published hr at https:\/\/hr-contoso\.apps\.example\.test/);
    const list = await run('apps', 'list', '-t', 'contoso');
    assert.match(
      list.out,
      /hr\s+https:\/\/hr-contoso\.apps\.example\.test\s+http:\/\/hr\.corp\.local\/\s+default\s+idp\s+yes/,
    );
    const upd = await run('apps', 'update', 'hr', '-t', 'contoso', '--enabled', 'false', '--json');
    assert.equal(JSON.parse(upd.out).enabled, false);
    assert.match((await run('apps', 'get', 'hr', '-t', 'contoso')).out, /backendTimeout\s+180/);
    // Web settings: HSTS, link translation, the session cookie; a partial object changes only what it names.
    const web = await run(
      'apps',
      'update',
      'hr',
      '-t',
      'contoso',
      '--hsts',
      '365d',
      '--hsts-include-subdomains',
      'true',
      '--translate-body',
      'true',
      '--cookie-persistent',
      'always',
      '--cookie-lifetime',
      '8h',
      '--cookie-samesite',
      'strict',
      '--json',
    );
    assert.equal(web.code, 0, web.err);
    const webApp = JSON.parse(web.out);
    assert.deepEqual(webApp.hsts, { maxAge: 31536000, includeSubDomains: true });
    assert.deepEqual(webApp.linkTranslation, { headers: true, body: true });
    assert.deepEqual(webApp.sessionCookie, { persistent: 'always', lifetimeSeconds: 28800, sameSite: 'Strict' });
    const partial = JSON.parse(
      (await run('apps', 'update', 'hr', '-t', 'contoso', '--hsts', 'off', '--cookie-samesite', 'none', '--json')).out,
    );
    assert.equal(partial.hsts, null);
    assert.deepEqual(partial.sessionCookie, { persistent: 'always', lifetimeSeconds: 28800, sameSite: 'None' });
    assert.equal((await run('apps', 'update', 'hr', '-t', 'contoso', '--cookie-persistent', 'sometimes')).code, 1);

    const t = (await store.tenants.getByName('contoso'))!;
    const g = (await store.groups.list(t.id))[0];
    const con = await store.connectors.create({
      id: newId('con'),
      tenantId: t.id,
      groupId: g.id,
      name: 'host-1',
      certSerial: 'aa',
      certNotAfter: '2030-01-01T00:00:00.000Z',
    });
    assert.match(
      (await run('connectors', 'list', '-t', 'contoso')).out,
      /host-1\s+con_\w+\s+default\s+disconnected\s+0/,
    );
    assert.match((await run('connectors', 'disable', con.id, '-t', 'contoso')).out, /Disabled connector host-1/);
    assert.deepEqual(disconnected, [con.id]);
    assert.match((await run('connectors', 'get', con.id, '-t', 'contoso')).out, /enabled\s+false/);
    assert.equal((await run('connectors', 'delete', con.id, '-t', 'contoso')).code, 0);
    assert.equal((await run('apps', 'delete', 'hr', '-t', 'contoso')).code, 0);

    const audit = await run('audit', '--tenant', 'contoso', '--limit', '3');
    assert.match(audit.out, /^TIME\s+ACTOR\s+ACTION/);
    assert.match(audit.out, /app\.deleted/);
    const more = /--cursor (\S+)/.exec(audit.out);
    assert.ok(more, audit.out);
    assert.match((await run('audit', '--tenant', 'contoso', '--cursor', more[1])).out, /tenant\.created/);
  });

  it('prints the code and message of refusals and exits non-zero', async () => {
    const dup = await run('tenants', 'create', 'contoso');
    assert.equal(dup.code, 1);
    assert.match(dup.err, /^error DB-ADMIN-CONFLICT: The object conflicts/);
    assert.match(dup.err, /correlation id: \S+/);
    const bad = await run('apps', 'create', 'x', '-t', 'contoso', '--internal-url', 'ftp://x', '--group', 'default');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /DB-ADMIN-INVALID[\s\S]*internalUrl/);
    const missing = await run('apps', 'create', 'x', '-t', 'contoso');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--internal-url is required/);
    let err = '';
    const code = await runAdmin(['tenants', 'list'], {
      out: () => {},
      err: (t) => (err += t),
      env: { DRAWBRIDGE_ADMIN_URL: url, DRAWBRIDGE_ADMIN_TOKEN: 'wrong' },
    });
    assert.equal(code, 1);
    assert.match(err, /DB-ADMIN-UNAUTHORIZED/);
    err = '';
    assert.equal(
      await runAdmin(['tenants', 'list'], {
        out: () => {},
        err: (t) => (err += t),
        env: { DRAWBRIDGE_ADMIN_URL: 'http://127.0.0.1:1', DRAWBRIDGE_ADMIN_TOKEN: TOKEN },
      }),
      1,
    );
    assert.match(err, /cannot reach the admin API/);
  });

  it('reads the admin URL and token from --state-dir dev.json', async () => {
    let out = '';
    const code = await runAdmin(['tenants', 'list', '--json', '--state-dir', dir], {
      out: (t) => (out += t),
      err: () => {},
      env: {},
    });
    assert.equal(code, 0);
    assert.ok(JSON.parse(out).items.some((t: { name: string }) => t.name === 'contoso'));
    assert.equal(await runAdmin(['tenants', 'list'], { out: () => {}, err: () => {}, env: {} }), 2);
  });

  it('formats tables and durations', () => {
    assert.equal(
      table(
        ['A', 'LONGER'],
        [
          ['xxx', null],
          ['y', 'z'],
        ],
      ),
      'A    LONGER\nxxx  -\ny    z\n',
    );
    assert.equal(parseDuration('90'), 90);
    assert.equal(parseDuration('30m'), 1800);
    assert.equal(parseDuration('1h'), 3600);
    assert.equal(parseDuration('7d'), 604800);
    assert.throws(() => parseDuration('soon'));
  });
});
