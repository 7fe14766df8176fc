/**
 * `drawbridge edge` on PostgreSQL runs sign-in (it used to refuse at start-up): two edge processes, each with its own
 * state directory, share one database (a fresh schema, dropped at the end). A user created through one node's admin
 * API signs in with their password on the other; both outcomes reach the sign-in log, read back through the first.
 * Needs the PostgreSQL of the store tests (DRAWBRIDGE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test);
 * it never skips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Agent, request } from 'undici';
import { stringify as toYaml } from 'yaml';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { loopbackLookup } from '../helpers/dev-stack.ts';

const BASE_URL = process.env.DRAWBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DOMAIN = 'apps.localhost';
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const PASSWORD = 'correct horse battery staple';

type Ready = { publicPort: number; adminPort: number; adminToken: string };

describe('edge on PostgreSQL: sign-in runs on every node of one database', { timeout: 180_000 }, () => {
  const schema = `drawbridge_edge_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: BASE_URL, max: 1, connectionTimeoutMillis: 5000 });
  let work: string;
  let agent: Agent;
  const nodes: Child<Ready>[] = [];

  before(async () => {
    await admin.query(`CREATE SCHEMA ${schema}`).catch((err: Error) => {
      throw new Error(
        `PostgreSQL is not reachable at ${BASE_URL} (${err.message}); start it or set DRAWBRIDGE_TEST_POSTGRES_URL`,
        { cause: err },
      );
    });
    work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-edge-pg-'));
    const certs = await createDevCertificates(path.join(work, 'certs'), DOMAIN);
    agent = new Agent({ connect: { ca: await readFile(certs.caCertPath, 'utf8'), lookup: loopbackLookup } as never });
    const url = new URL(BASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    for (const name of ['node-a', 'node-b']) {
      const file = path.join(work, `${name}.yaml`);
      await writeFile(
        file,
        toYaml({
          stateDir: path.join(work, name),
          domain: DOMAIN,
          listen: { host: '127.0.0.1', port: 0 },
          tls: [{ certFile: certs.certPath, keyFile: certs.keyPath }],
          admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
          store: { kind: 'postgres', url: url.href },
        }),
      );
      nodes.push(await startChild<Ready>(['edge', '--config', file], path.join(work, `${name}.log`)));
    }
  });
  after(async () => {
    await Promise.all(nodes.map((n) => stopChild(n.process, 10_000)));
    await agent?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function api<T>(
    node: Child<Ready>,
    method: 'GET' | 'POST' | 'PUT',
    pathname: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await request(`http://127.0.0.1:${node.ready.adminPort}/api/v1${pathname}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, body: (await res.body.json()) as T };
  }

  /** One password attempt on the node's sign-in host, as a browser does it: the form (CSRF token, cookie), then the post. */
  async function signIn(node: Child<Ready>, username: string, password: string): Promise<number> {
    const login = `https://login.${DOMAIN}:${node.ready.publicPort}`;
    const page = await request(`${login}/?signin=1`, { dispatcher: agent });
    assert.equal(page.statusCode, 200);
    const html = await page.body.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(csrf, 'the sign-in form carries a CSRF token');
    const setCookie = page.headers['set-cookie'];
    const cookie = (Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [])
      .map((c) => c.split(';')[0])
      .join('; ');
    const res = await request(`${login}/login`, {
      dispatcher: agent,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie, origin: login },
      body: new URLSearchParams({ csrf, username, password }).toString(),
    });
    await res.body.dump();
    return res.statusCode;
  }

  it('starts sign-in on both nodes, and a user made through one signs in on the other', async () => {
    const [a, b] = nodes;
    const tenant = await api<{ id: string }>(a, 'POST', '/tenants', { name: 'contoso' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
    const user = await api<{ id: string }>(a, 'POST', `/tenants/${tenant.body.id}/users`, {
      upn: 'alice@contoso.example',
      password: PASSWORD,
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    const seen = await api<{ items: { upn: string }[] }>(b, 'GET', `/tenants/${tenant.body.id}/users`);
    assert.deepEqual(
      seen.body.items.map((u) => u.upn),
      ['alice@contoso.example'],
    );

    assert.notEqual(await signIn(b, 'alice', 'wrong password'), 303);
    assert.equal(await signIn(b, 'alice', PASSWORD), 303, 'the right password, hashed by node A, signs in on node B');

    const log = await api<{
      items: { userId: string | null; result: string; code: string | null; authMethod: string }[];
    }>(a, 'GET', `/tenants/${tenant.body.id}/signin-log`);
    assert.equal(log.status, 200, JSON.stringify(log.body));
    const attempts = log.body.items
      .filter((e) => e.userId === user.body.id && e.authMethod === 'password')
      .map((e) => [e.result, e.code]);
    assert.deepEqual(
      attempts,
      [
        ['success', null],
        ['failure', 'DB-SIGNIN-BAD-CREDENTIALS'],
      ],
      'newest first, written by node B, read through node A',
    );
    const facts = await api<{ lastSignInAt: string | null }>(
      a,
      'GET',
      `/tenants/${tenant.body.id}/users/${user.body.id}`,
    );
    assert.ok(facts.body.lastSignInAt, JSON.stringify(facts.body));
  });
});
