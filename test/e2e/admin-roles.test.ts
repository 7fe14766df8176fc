/**
 * Administrators and roles over the real admin API on a socket (every layer's routes mounted as the edge mounts
 * them): for each role, a representative set of reads and writes is allowed or refused with its code; a security
 * reader is refused every write; an app admin sees only its apps; another tenant's objects are 404; expired and
 * revoked tokens are refused; the audit log names the actor; `drawbridge admin tokens` creates, lists and revokes.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { createAdminApi } from '../../src/edge/admin/admin-api.ts';
import { ROUTE_ACTIONS } from '../../src/edge/admin/authorization.ts';
import { directoryRoutes } from '../../src/edge/admin/directory-routes.ts';
import { policyRoutes } from '../../src/edge/admin/policy-routes.ts';
import { reportRoutes } from '../../src/edge/admin/report-routes.ts';
import { edgeRoutes } from '../../src/edge/admin/routes/edges.ts';
import { signinLogRoutes } from '../../src/edge/admin/signin-log-routes.ts';
import { serviceTokenRoutes } from '../../src/edge/admin/service-token-routes.ts';
import { reportLocator } from '../../src/edge/signin/extension.ts';
import type { App } from '../../src/store/types.ts';
import { startHarness, type Harness } from './identity-harness.ts';
import { adminCli } from '../helpers/admin-cli.ts';

const BOOTSTRAP = 'bootstrap-token-for-the-roles-test-0123456789';

type Verdict = 'ok' | 403 | 404;
interface Call {
  name: string;
  method: string;
  path: string;
  body?: () => unknown;
}

describe('admin roles and tokens', () => {
  let h: Harness;
  let api: FastifyInstance;
  let url: string;
  let fabrikamApp: App;
  let carolId: string;
  let seq = 0;
  const unique = (prefix: string): string => `${prefix}-${++seq}`;

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const boot = (method: string, path: string, body?: unknown) => call(BOOTSTRAP, method, path, body);
  const tokenFor = async (
    role: string,
    extra: Record<string, unknown> = {},
    tenant: string | null = 'contoso',
  ): Promise<{ token: string; id: string }> => {
    const res = await boot('POST', tenant ? `/tenants/${tenant}/admin-tokens` : '/admin-tokens', {
      administrator: `${role}@contoso`,
      role,
      ...extra,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return { token: res.body.token, id: res.body.id };
  };
  const cli = (token: string, ...argv: string[]) => adminCli(argv, url, token);

  before(async () => {
    h = await startHarness();
    carolId = (await h.directory.users.findByLogin(h.tenant.id, 'carol'))!.id;
    const fabrikam = await h.store.tenants.create({ name: 'fabrikam' });
    const fg = await h.store.groups.create(fabrikam.id, { name: 'default' });
    fabrikamApp = await h.store.apps.create(fabrikam.id, {
      name: 'crm',
      groupId: fg.id,
      internalUrl: 'http://127.0.0.1:1/',
      externalUrl: 'https://crm-fabrikam.apps.example.test',
    });
    api = await createAdminApi({
      store: h.store,
      token: BOOTSTRAP,
      logger: pino({ level: 'silent' }),
      defaultExternalUrl: (tenant, app) => `https://${app}-${tenant}.apps.example.test`,
      connectorStatus: () => [],
      disconnectConnector: () => {},
      extraRoutes: [
        (r, ctx) => directoryRoutes(r, ctx, { directory: h.directory, revokeUser: h.signin.revokeUser }),
        (r, ctx) => signinLogRoutes(r, ctx, h.directory),
        (r, ctx) => reportRoutes(r, ctx, h.directory, reportLocator(h.store)),
        (r, ctx) => policyRoutes(r, ctx, h.directory),
        (r, ctx) => serviceTokenRoutes(r, ctx, h.directory),
        edgeRoutes({ id: 'node-1', list: async () => [] }),
      ],
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await api?.close();
    await h?.close();
  });

  // The representative calls, each allowed ('ok': any 2xx) or refused (403 DB-ADMIN-FORBIDDEN) per role.
  const reads: Call[] = [
    { name: 'list apps', method: 'GET', path: '/tenants/contoso/apps' },
    { name: 'get its app', method: 'GET', path: '/tenants/contoso/apps/hr' },
    { name: 'app assignments', method: 'GET', path: '/tenants/contoso/apps/hr/assignments' },
    { name: 'connector groups', method: 'GET', path: '/tenants/contoso/connector-groups' },
    { name: 'connectors', method: 'GET', path: '/tenants/contoso/connectors' },
    { name: 'group health', method: 'GET', path: '/tenants/contoso/group-health' },
    { name: 'enrollment tokens', method: 'GET', path: '/tenants/contoso/enrollment-tokens' },
    { name: 'users', method: 'GET', path: '/tenants/contoso/users' },
    { name: 'licences', method: 'GET', path: '/tenants/contoso/licences' },
    { name: 'policies', method: 'GET', path: '/tenants/contoso/policies' },
    { name: 'sign-in log', method: 'GET', path: '/tenants/contoso/signin-log' },
    { name: 'sign-in log of its app', method: 'GET', path: '/tenants/contoso/signin-log?appId=HR_ID' },
    { name: 'reports', method: 'GET', path: '/tenants/contoso/reports' },
    { name: 'audit log', method: 'GET', path: '/tenants/contoso/audit-log' },
    { name: 'admin tokens', method: 'GET', path: '/tenants/contoso/admin-tokens' },
    { name: 'edge nodes', method: 'GET', path: '/edges' },
  ];
  const writes: Call[] = [
    { name: 'edit its app', method: 'PATCH', path: '/tenants/contoso/apps/hr', body: () => ({ enabled: true }) },
    {
      name: 'assign its app',
      method: 'POST',
      path: '/tenants/contoso/apps/hr/assignments',
      body: () => ({ type: 'user', id: carolId }),
    },
    {
      name: 'publish an app',
      method: 'POST',
      path: '/tenants/contoso/apps',
      body: () => ({ name: unique('app'), internalUrl: 'http://127.0.0.1:1/', groupId: 'default' }),
    },
    {
      name: 'create a connector group',
      method: 'POST',
      path: '/tenants/contoso/connector-groups',
      body: () => ({ name: unique('grp') }),
    },
    {
      name: 'create an enrollment token',
      method: 'POST',
      path: '/tenants/contoso/enrollment-tokens',
      body: () => ({ groupId: 'default' }),
    },
    {
      name: 'create a user group',
      method: 'POST',
      path: '/tenants/contoso/user-groups',
      body: () => ({ name: unique('ugrp') }),
    },
    {
      name: 'create a named location',
      method: 'POST',
      path: '/tenants/contoso/locations',
      body: () => ({ name: unique('loc'), cidrs: ['10.0.0.0/8'] }),
    },
    {
      name: 'create an admin token',
      method: 'POST',
      path: '/tenants/contoso/admin-tokens',
      body: () => ({ administrator: 'x', role: 'security-reader' }),
    },
    { name: 'create a tenant', method: 'POST', path: '/tenants', body: () => ({ name: unique('tenant') }) },
  ];
  const all = [...reads, ...writes].map((c) => c.name);
  const only = (allowed: string[], refused: Verdict = 403): Record<string, Verdict> =>
    Object.fromEntries(all.map((n) => [n, allowed.includes(n) ? 'ok' : refused]));
  const expectations: {
    role: string;
    extra?: Record<string, unknown>;
    tenant?: string | null;
    verdicts: Record<string, Verdict>;
  }[] = [
    { role: 'global-admin', tenant: null, verdicts: only(all) },
    { role: 'tenant-admin', verdicts: only(all.filter((n) => n !== 'edge nodes' && n !== 'create a tenant')) },
    {
      role: 'app-admin',
      extra: { apps: ['hr'] },
      verdicts: only([
        'list apps',
        'get its app',
        'app assignments',
        'sign-in log of its app',
        'edit its app',
        'assign its app',
      ]),
    },
    {
      role: 'security-reader',
      verdicts: only(['policies', 'sign-in log', 'sign-in log of its app', 'reports', 'audit log']),
    },
    {
      role: 'connector-operator',
      verdicts: only([
        'connector groups',
        'connectors',
        'group health',
        'enrollment tokens',
        'create a connector group',
        'create an enrollment token',
      ]),
    },
  ];

  for (const { role, extra, tenant, verdicts } of expectations) {
    it(`${role}: allowed and refused as its role says`, async () => {
      const { token } = await tokenFor(role, extra, tenant === undefined ? 'contoso' : tenant);
      const hrId = h.hr.id;
      for (const c of [...reads, ...writes]) {
        if (c.name === 'assign its app')
          await h.directory.assignments.unassign(h.tenant.id, hrId, { type: 'user', id: carolId }).catch(() => {});
        const res = await call(token, c.method, c.path.replace('HR_ID', hrId), c.body?.());
        const want = verdicts[c.name];
        const what = `${role} ${c.name} (${c.method} ${c.path}): ${res.status} ${JSON.stringify(res.body?.error ?? '')}`;
        if (want === 'ok') assert.ok(res.status >= 200 && res.status < 300, what);
        else {
          assert.equal(res.status, want, what);
          assert.equal(res.body.error.code, want === 403 ? 'DB-ADMIN-FORBIDDEN' : 'DB-ADMIN-NOT-FOUND', what);
          if (want === 403)
            assert.match(
              res.body.error.detail,
              new RegExp(`role ${role} (scoped to one tenant )?may (not|.* only for its apps)`),
              what,
            );
        }
      }
    });
  }

  it('a security reader gets 403 with a code on every write route of the API', async () => {
    const { token } = await tokenFor('security-reader');
    const writesOfApi = Object.keys(ROUTE_ACTIONS).filter(
      (k) => !k.startsWith('GET ') && k !== 'POST /tenants/:tenantId/policies/what-if',
    );
    assert.ok(writesOfApi.length > 30, 'the table lists every route');
    for (const key of writesOfApi) {
      const [method, path] = key.split(' ');
      const concrete = path
        .replace(':tenantId', 'contoso')
        .replace(':appId', 'hr')
        .replace(/:[a-zA-Z]+/g, 'x');
      const res = await call(token, method, concrete, {});
      assert.equal(res.status, 403, `${key}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'DB-ADMIN-FORBIDDEN', key);
      assert.match(res.body.error.detail, /role security-reader may not/);
    }
    // Its reads, and what-if (which changes nothing), still answer.
    assert.equal(
      (await call(token, 'POST', '/tenants/contoso/policies/what-if', { user: 'alice', app: 'hr', ip: '127.0.0.1' }))
        .status,
      200,
    );
  });

  it('an app admin sees only its apps: the list, other apps and their sign-in log are out of sight', async () => {
    const { token } = await tokenFor('app-admin', { apps: ['hr'] });
    const listed = await call(token, 'GET', '/tenants/contoso/apps');
    assert.deepEqual(
      listed.body.items.map((a: App) => a.name),
      ['hr'],
    );
    for (const [method, path, body] of [
      ['GET', '/tenants/contoso/apps/wiki'],
      ['GET', `/tenants/contoso/apps/${h.wiki.id}`],
      ['PATCH', '/tenants/contoso/apps/wiki', { enabled: false }],
      ['GET', '/tenants/contoso/apps/wiki/assignments'],
      ['GET', `/tenants/contoso/signin-log?appId=${h.wiki.id}`],
    ] as [string, string, unknown?][]) {
      const res = await call(token, method, path, body);
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'DB-ADMIN-NOT-FOUND');
    }
    // Out of scope reads exactly like missing.
    const missing = await boot('GET', '/tenants/contoso/apps/nope');
    const hidden = await call(token, 'GET', '/tenants/contoso/apps/wiki');
    assert.equal(hidden.body.error.title, missing.body.error.title);
    assert.equal(
      (await boot('GET', '/tenants/contoso/apps/wiki')).body.enabled,
      true,
      'the refused edit changed nothing',
    );
  });

  it("another tenant's objects are 404 for tenant-scoped tokens, exactly like missing ones", async () => {
    for (const role of ['tenant-admin', 'security-reader', 'connector-operator']) {
      const { token } = await tokenFor(role);
      const tenants = await call(token, 'GET', '/tenants');
      assert.deepEqual(
        tenants.body.items.map((t: { name: string }) => t.name),
        ['contoso'],
        role,
      );
      for (const path of [
        '/tenants/fabrikam',
        '/tenants/fabrikam/apps',
        `/tenants/fabrikam/apps/${fabrikamApp.id}`,
        '/tenants/fabrikam/connector-groups',
        '/tenants/fabrikam/audit-log',
        '/tenants/nosuch/apps',
      ]) {
        const res = await call(token, 'GET', path);
        assert.equal(res.status, 404, `${role} ${path}`);
        assert.equal(res.body.error.code, 'DB-ADMIN-NOT-FOUND');
      }
      assert.equal(
        (await call(token, 'DELETE', `/tenants/${(await h.store.tenants.getByName('fabrikam'))!.id}`)).status,
        404,
      );
    }
    const admin = await tokenFor('tenant-admin');
    // No way out of its tenant: no token for every tenant, nor one for another tenant.
    assert.equal(
      (await call(admin.token, 'POST', '/admin-tokens', { administrator: 'me', role: 'global-admin' })).status,
      403,
    );
    assert.equal(
      (await call(admin.token, 'POST', '/tenants/fabrikam/admin-tokens', { administrator: 'me', role: 'tenant-admin' }))
        .status,
      404,
    );
    // A global admin's token sees both.
    const global = await tokenFor('global-admin', {}, null);
    const names = (await call(global.token, 'GET', '/tenants')).body.items.map((t: { name: string }) => t.name);
    assert.ok(names.includes('contoso') && names.includes('fabrikam'), names.join());
    assert.equal((await call(global.token, 'GET', `/tenants/fabrikam/apps/${fabrikamApp.id}`)).status, 200);
  });

  it('refuses expired and revoked tokens, and unknown ones', async () => {
    const expired = await h.store.adminTokens.create({
      administrator: 'old',
      role: 'tenant-admin',
      tenantId: h.tenant.id,
      expiresAt: new Date(Date.now() - 1000).toISOString(),
      createdBy: 'bootstrap',
    });
    const res = await call(expired.token, 'GET', '/tenants/contoso/apps');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'DB-ADMIN-TOKEN-EXPIRED');
    assert.match(res.body.error.detail, /expired at/);

    const live = await tokenFor('tenant-admin');
    assert.equal((await call(live.token, 'GET', '/tenants/contoso/apps')).status, 200);
    const revoked = await boot('DELETE', `/tenants/contoso/admin-tokens/${live.id}`);
    assert.equal(revoked.status, 200);
    assert.ok(revoked.body.revokedAt);
    const after = await call(live.token, 'GET', '/tenants/contoso/apps');
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'DB-ADMIN-TOKEN-EXPIRED');
    assert.match(after.body.error.detail, /revoked/);

    const forged = `${live.token.slice(0, -2)}xx`;
    assert.equal((await call(forged, 'GET', '/tenants/contoso/apps')).body.error.code, 'DB-ADMIN-UNAUTHORIZED');
    // Another tenant's token cannot be revoked through this tenant's path.
    const other = await tokenFor('tenant-admin', {}, 'fabrikam');
    assert.equal((await boot('DELETE', `/tenants/contoso/admin-tokens/${other.id}`)).status, 404);
  });

  it("the audit log names the actor: the token's administrator and id, or bootstrap", async () => {
    const { token, id } = await tokenFor('tenant-admin', { administrator: 'dana@contoso' });
    const name = unique('audited');
    assert.equal((await call(token, 'POST', '/tenants/contoso/connector-groups', { name })).status, 201);
    assert.equal((await call(token, 'POST', '/tenants/contoso/user-groups', { name })).status, 201);
    const log = (await boot('GET', '/tenants/contoso/audit-log?limit=20')).body.items as {
      actor: string;
      action: string;
      target: string;
      detail: Record<string, unknown>;
    }[];
    const group = log.find((e) => e.action === 'group.created' && e.detail.name === name);
    assert.equal(group?.actor, `dana@contoso (${id})`);
    assert.equal(
      log.find((e) => e.action === 'user-group.created' && e.detail.name === name)?.actor,
      `dana@contoso (${id})`,
    );
    const created = log.find((e) => e.action === 'admin-token.created' && e.target === id);
    assert.equal(created?.actor, 'bootstrap');
    assert.equal(created?.detail.administrator, 'dana@contoso');
  });
  it('drawbridge admin tokens: create with a role, tenant and expiry; the token works and is refused on writes; list; revoke', async () => {
    const made = await cli(
      BOOTSTRAP,
      'tokens',
      'create',
      '--role',
      'security-reader',
      '--tenant',
      'contoso',
      '--expires',
      '30d',
      '--administrator',
      'erin@contoso',
      '--json',
    );
    assert.equal(made.code, 0, made.err);
    const created = JSON.parse(made.out) as {
      token: string;
      id: string;
      expiresAt: string;
      createdAt: string;
      role: string;
    };
    assert.equal(created.role, 'security-reader');
    assert.ok(Math.abs(Date.parse(created.expiresAt) - Date.parse(created.createdAt) - 30 * 86_400_000) < 60_000);
    const human = await cli(
      BOOTSTRAP,
      'tokens',
      'create',
      '--role',
      'app-admin',
      '--tenant',
      'contoso',
      '--apps',
      'hr',
    );
    assert.match(
      human.out,
      /^dba_atk_[0-9a-f]{16}\.\S+\n\nThis token is shown once\. Role app-admin in tenant contoso/,
    );

    const read = await cli(created.token, 'audit', '--tenant', 'contoso');
    assert.equal(read.code, 0, read.err);
    const write = await cli(created.token, 'groups', 'create', 'nope', '--tenant', 'contoso');
    assert.equal(write.code, 1);
    assert.match(
      write.err,
      /error DB-ADMIN-FORBIDDEN: Your admin role does not allow this\n  role security-reader may not groups\.write/,
    );
    assert.match(
      (await cli(created.token, 'tokens', 'create', '--role', 'tenant-admin', '--tenant', 'contoso')).err,
      /DB-ADMIN-FORBIDDEN/,
    );

    const listed = await cli(BOOTSTRAP, 'tokens', 'list', '--tenant', 'contoso');
    assert.match(
      listed.out,
      new RegExp(`${created.id}\\s+erin@contoso\\s+security-reader\\s+${h.tenant.id}\\s+-\\s+valid`),
    );
    assert.match((await cli(BOOTSTRAP, 'tokens', 'list')).out, /ADMINISTRATOR/);
    const revoked = await cli(BOOTSTRAP, 'tokens', 'revoke', created.id, '--tenant', 'contoso');
    assert.equal(revoked.code, 0, revoked.err);
    assert.match(
      (await cli(BOOTSTRAP, 'tokens', 'list', '--tenant', 'contoso')).out,
      new RegExp(`${created.id}.*revoked`),
    );
    const refused = await cli(created.token, 'audit', '--tenant', 'contoso');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /DB-ADMIN-TOKEN-EXPIRED[\s\S]*revoked/);
  });

  it('the CLI covers the directory: users, user groups, licences, assignments, sign-in log, identity settings', async () => {
    const ok = async (...argv: string[]) => {
      const res = await cli(BOOTSTRAP, ...argv, '--tenant', 'contoso');
      assert.equal(res.code, 0, `${argv.join(' ')}: ${res.err}`);
      return res.out;
    };
    assert.match(
      await ok(
        'users',
        'create',
        'frank@contoso.example',
        '--display-name',
        'Frank',
        '--password',
        'correct horse battery',
      ),
      /Created frank@contoso\.example \(usr_/,
    );
    assert.match(
      await ok('users', 'update', 'frank@contoso.example', '--email', 'frank@example.com'),
      /Updated frank@contoso\.example/,
    );
    assert.match(
      await ok('users', 'reset-password', 'frank@contoso.example'),
      /New password of frank@contoso\.example: \S{8,}/,
    );
    assert.match(await ok('users', 'unlock', 'frank@contoso.example'), /Unlocked/);
    assert.match(await ok('users', 'reset-mfa', 'frank@contoso.example'), /Reset the MFA methods/);
    assert.match(
      await ok('user-groups', 'create', 'Finance', '--description', 'money'),
      /Created user group Finance \(ugr_/,
    );
    await ok('user-groups', 'add-member', 'Finance', 'frank@contoso.example');
    assert.match(await ok('user-groups', 'members', 'Finance'), /frank@contoso\.example/);
    assert.match(await ok('user-groups', 'list'), /Finance\s+ugr_\S+\s+money/);
    assert.match(await ok('licences', 'set-seats', 'premium', '--seats', '5'), /premium: 5 seat/);
    await ok('licences', 'assign', 'premium', 'group', 'Finance');
    assert.match(await ok('licences', 'list'), /premium\s+5\s+\d+[\s\S]*premium\s+group\s+ugr_/);
    await ok('assignments', 'add', 'wiki', 'group', 'Finance');
    await ok('assignments', 'add', 'wiki', 'user', 'frank@contoso.example');
    assert.match(await ok('assignments', 'list', 'wiki'), /group\s+ugr_[\s\S]*user\s+usr_/);
    await ok('assignments', 'remove', 'wiki', 'user', 'frank@contoso.example');
    assert.doesNotMatch(await ok('assignments', 'list', 'wiki'), /user\s+usr_/);
    await ok('licences', 'unassign', 'premium', 'group', 'Finance');
    await ok('user-groups', 'remove-member', 'Finance', 'frank@contoso.example');
    assert.match(await ok('signin-log'), /^TIME\s+USER\s+APP\s+RESULT/);
    assert.match(await ok('signin-log', 'list', '--app', 'hr', '--result', 'failure'), /^TIME/);
    assert.match(await ok('signin-log', 'export'), /^time,event,result,code/);
    assert.ok(Array.isArray(JSON.parse(await ok('signin-log', 'export', '--format', 'json')).items));
    assert.match(await ok('identity-settings', 'show'), /requireMfa/);
    // Several OpenID Connect providers: set from a file, listed with their domains, secrets never shown; the settings'
    // single provider is the list's `default`; a domain has one owner.
    const providerFile = join(h.stateDir, 'provider.json');
    writeFileSync(
      providerFile,
      JSON.stringify({
        issuer: 'https://id.fabrikam.example',
        clientId: 'db',
        clientSecret: 'fab-secret',
        displayName: 'Fabrikam ID',
        domains: ['fabrikam.example'],
      }),
    );
    assert.match(await ok('identity-providers', 'set', 'fabrikam', '--file', providerFile), /clientSecret\s+\*{8}\n/);
    writeFileSync(
      providerFile,
      JSON.stringify({
        issuer: 'https://id.fabrikam.example',
        clientId: 'db',
        clientSecret: '********',
        displayName: 'Fabrikam ID',
        domains: ['fabrikam.example', 'fabrikam.test'],
        buttonLabel: 'Fabrikam staff',
      }),
    );
    await ok('identity-providers', 'set', 'fabrikam', '--file', providerFile);
    assert.equal(
      (await h.directory.settings.providers(h.tenant.id)).find((p) => p.id === 'fabrikam')?.clientSecret,
      'fab-secret',
      'the mask keeps the stored secret',
    );
    const conflict = await cli(
      BOOTSTRAP,
      'identity-providers',
      'set',
      'other',
      '--file',
      providerFile,
      '--tenant',
      'contoso',
    );
    assert.equal(conflict.code, 1);
    assert.match(conflict.err, /DB-ADMIN-INVALID[\s\S]*fabrikam\.example already belongs to provider fabrikam/);
    writeFileSync(
      providerFile,
      JSON.stringify({
        oidc: {
          issuer: 'https://id.contoso.example',
          clientId: 'db',
          clientSecret: 'c-secret',
          displayName: 'Contoso ID',
        },
      }),
    );
    await ok('identity-settings', 'set', '--file', providerFile);
    assert.match(
      await ok('identity-providers', 'list'),
      /ID\s+ISSUER\s+DOMAINS\s+BUTTON\nfabrikam\s+https:\/\/id\.fabrikam\.example\s+fabrikam\.example, fabrikam\.test\s+Fabrikam staff\ndefault\s+https:\/\/id\.contoso\.example\s+-\s+Sign in with Contoso ID/,
    );
    assert.doesNotMatch(await ok('identity-providers', 'list', '--json'), /fab-secret|c-secret/);
    assert.match(await ok('identity-providers', 'delete', 'fabrikam'), /Deleted identity provider fabrikam/);
    assert.match(
      (await cli(BOOTSTRAP, 'identity-providers', 'delete', 'fabrikam', '--tenant', 'contoso')).err,
      /DB-ADMIN-NOT-FOUND/,
    );
    assert.match(await ok('audit', '--action', 'identity-provider.'), /identity-provider\.deleted/);
    await ok('users', 'delete', 'frank@contoso.example');
    await ok('user-groups', 'delete', 'Finance');
    const audit = await ok('audit', '--action', 'user.');
    assert.match(audit, /bootstrap\s+user\.deleted/);
  });
});
