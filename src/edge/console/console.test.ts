import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { test } from 'node:test';
import { keyRingFrom } from '../../identity/keys.ts';
import { stackedBarChart } from './chart.ts';
import { BOOTSTRAP_SESSION_SECONDS, bootstrapCookie, csrfFor, csrfOk, hasBootstrapSession } from './session.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openStore } from '../../store/open.ts';
import { consoleRoleOf } from '../signin/console-access.ts';
import { scopedPath } from './admin-client.ts';
import { sectionsFor } from './console-host.ts';
import { CONSOLE_TOKEN_TTL_MS, consoleCredentials } from './credentials.ts';

const keys = keyRingFrom(randomBytes(32));
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
const cookieOf = (setCookie: string) => setCookie.split(';')[0];

test('a bootstrap session is signed, expires, and ends when the token changes', () => {
  const now = Date.now();
  const cookie = cookieOf(bootstrapCookie(keys, 'token-one-0123456789abcdef', now));
  assert.equal(hasBootstrapSession(keys, 'token-one-0123456789abcdef', request({ cookie }), now + 1000), true);
  assert.equal(
    hasBootstrapSession(keys, 'token-two-0123456789abcdef', request({ cookie }), now + 1000),
    false,
    'another token',
  );
  assert.equal(
    hasBootstrapSession(
      keys,
      'token-one-0123456789abcdef',
      request({ cookie }),
      now + BOOTSTRAP_SESSION_SECONDS * 1000 + 1,
    ),
    false,
    'expired',
  );
  const forged = cookie.replace(/=([^.]+)/, '=eyJrIjoiYm9vdHN0cmFwIiwiZSI6OTk5OTk5OTk5OTk5OX0');
  assert.equal(
    hasBootstrapSession(keys, 'token-one-0123456789abcdef', request({ cookie: forged }), now),
    false,
    'unsigned',
  );
  const otherKeys = keyRingFrom(randomBytes(32));
  assert.equal(
    hasBootstrapSession(otherKeys, 'token-one-0123456789abcdef', request({ cookie }), now),
    false,
    'another key ring',
  );
});

test('the CSRF token is bound to the session cookie and refused from another origin', () => {
  const a = request({ cookie: '__Host-drawbridge-session=aaa' });
  const b = request({ cookie: '__Host-drawbridge-session=bbb' });
  const token = csrfFor(keys, a);
  assert.notEqual(token, csrfFor(keys, b));
  assert.equal(csrfOk(keys, a, 'https://admin.x', token), true);
  assert.equal(csrfOk(keys, b, 'https://admin.x', token), false, 'another session');
  assert.equal(
    csrfOk(
      keys,
      request({ cookie: '__Host-drawbridge-session=aaa', origin: 'https://evil.example' }),
      'https://admin.x',
      token,
    ),
    false,
  );
  assert.equal(csrfOk(keys, a, 'https://admin.x', null), false);
});

test('a directory administrator names only their own tenant in API paths', () => {
  const admin = {
    kind: 'directory' as const,
    name: 'ada@contoso',
    tenantId: 'tnt_a',
    userId: 'usr_1',
    role: 'tenant-admin' as const,
    appIds: [],
  };
  assert.equal(scopedPath(admin, 'tnt_a', '/apps'), '/tenants/tnt_a/apps');
  assert.throws(() => scopedPath(admin, 'tnt_b', '/apps'), /DB-CONSOLE-NOT-ADMIN|another tenant/);
  assert.equal(
    scopedPath({ ...admin, kind: 'bootstrap', tenantId: null, role: 'global-admin' }, 'tnt_b', '/apps'),
    '/tenants/tnt_b/apps',
  );
});

test('directory groups give a console role, the most powerful first; an app admin needs an app', () => {
  assert.deepEqual(consoleRoleOf(['HR'], ['app_1']), null);
  assert.deepEqual(consoleRoleOf(['Drawbridge Security Readers', 'Drawbridge Admins'], []), {
    role: 'tenant-admin',
    appIds: [],
  });
  assert.deepEqual(consoleRoleOf(['Drawbridge Security Readers'], ['app_1']), { role: 'security-reader', appIds: [] });
  assert.deepEqual(consoleRoleOf(['Drawbridge Connector Operators'], []), { role: 'connector-operator', appIds: [] });
  assert.deepEqual(consoleRoleOf(['Drawbridge App Admins'], ['app_2', 'app_1']), {
    role: 'app-admin',
    appIds: ['app_1', 'app_2'],
  });
  assert.equal(consoleRoleOf(['Drawbridge App Admins'], []), null, 'no app to administer');
  assert.deepEqual(consoleRoleOf(['Drawbridge App Admins', 'Drawbridge Security Readers'], []), {
    role: 'security-reader',
    appIds: [],
  });
});

test('the navigation shows the sections a role may read', () => {
  const admin = (role: 'security-reader' | 'connector-operator' | 'app-admin' | 'tenant-admin') => ({
    kind: 'directory' as const,
    name: 'x',
    tenantId: 'tnt_a',
    userId: 'usr_1',
    role,
    appIds: role === 'app-admin' ? ['app_1'] : [],
  });
  assert.deepEqual(sectionsFor(admin('security-reader'), 'tnt_a'), ['', 'policies', 'signin-log', 'reports', 'audit']);
  assert.deepEqual(sectionsFor(admin('connector-operator'), 'tnt_a'), ['', 'connectors']);
  assert.deepEqual(sectionsFor(admin('app-admin'), 'tnt_a'), ['', 'apps', 'assignments', 'signin-log']);
  assert.equal(sectionsFor(admin('tenant-admin'), 'tnt_a').length, 11);
});

test('a directory administrator reaches the API with a short-lived token of their role, minted once per role', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'console-cred-'));
  const store = await openStore({ kind: 'sqlite', stateDir: dir });
  try {
    const tenant = await store.tenants.create({ name: 'contoso' });
    let now = Date.parse('2030-01-01T00:00:00Z');
    const credentialFor = consoleCredentials(store, 'the-bootstrap-token', () => now);
    const reader = {
      kind: 'directory' as const,
      name: 'sam@contoso.example',
      tenantId: tenant.id,
      userId: 'usr_1',
      role: 'security-reader' as const,
      appIds: [],
    };
    assert.equal(
      await credentialFor({ ...reader, kind: 'bootstrap', tenantId: null, role: 'global-admin' }),
      'Bearer the-bootstrap-token',
    );
    const first = await credentialFor(reader);
    assert.match(first, /^Bearer dba_atk_/);
    const row = await store.adminTokens.verify(first.slice('Bearer '.length));
    assert.equal(row?.role, 'security-reader');
    assert.equal(row?.tenantId, tenant.id);
    assert.equal(row?.administrator, 'sam@contoso.example');
    assert.equal(row?.createdBy, 'console');
    assert.equal(Date.parse(row!.expiresAt), now + CONSOLE_TOKEN_TTL_MS);
    assert.equal(await credentialFor(reader), first, 'reused within its lifetime');
    // Another role (a group changed): another token at once.
    const asAdmin = await credentialFor({ ...reader, role: 'tenant-admin' });
    assert.notEqual(asAdmin, first);
    // Close to its expiry: replaced.
    now += CONSOLE_TOKEN_TTL_MS - 30_000;
    assert.notEqual(await credentialFor(reader), first);
    assert.equal((await store.adminTokens.list(tenant.id)).length, 3);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('the chart is an image with a name and a description, a bar per value, and escapes labels', () => {
  const svg = stackedBarChart({
    id: 'c',
    title: 'Sign-ins <by day>',
    categories: ['2030-01-01', '2030-01-02'],
    series: [
      { name: 'success', colour: '#0a0' },
      { name: 'failure', colour: '#a00' },
    ],
    values: [
      [3, 1],
      [0, 2],
    ],
  });
  assert.match(svg, /role="img" aria-labelledby="c-t c-d"/);
  assert.match(svg, /<title id="c-t">Sign-ins &lt;by day&gt;<\/title>/);
  assert.match(svg, /in total 3 success, 3 failure/);
  assert.equal((svg.match(/<rect /g) ?? []).length, 3, 'no bar for a zero');
  assert.match(svg, /<title>2030-01-01: 3 success<\/title>/);
  assert.match(
    stackedBarChart({ id: 'e', title: 'Empty', categories: [], series: [], values: [] }),
    /No data in this period/,
  );
});
