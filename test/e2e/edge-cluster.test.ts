/**
 * Two edge processes as one cluster (issue 11, items 1 and 2): one PostgreSQL schema (fresh, dropped at the end) and
 * one Redis (a random key prefix, its keys deleted at the end), each node with its own state directory and port.
 *   - a sign-in begun on node A (the app's redirect, its signed state and nonce cookie) finishes on node B (the
 *     password posted there), and the code B hands out is redeemed on A: keys from the store, codes in Redis;
 *   - the lockout count of a name that does not exist adds up across both nodes (Redis), as does a real account's;
 *   - `GET /api/v1/edges` on either node lists both, with version and advertised URL; kill -9 one and it leaves the
 *     list within 5 s; a node stopped with SIGTERM removes itself.
 * Needs PostgreSQL (DRAWBRIDGE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test) and Redis
 * (DRAWBRIDGE_TEST_REDIS_URL, default redis://127.0.0.1:6379); it never skips.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { createClusterEnv, DOMAIN, type ClusterEnv } from '../helpers/cluster-env.ts';
import { Jar } from '../helpers/cookie-jar.ts';
import { adminCli } from '../helpers/admin-cli.ts';

const PASSWORD = 'correct horse battery staple';

type Ready = { publicPort: number; adminPort: number; adminToken: string };
type EdgeRow = { id: string; advertise: string; version: string; self: boolean; inFlight: number; tunnels: unknown[] };

describe('edge cluster: two nodes on PostgreSQL and Redis', { timeout: 240_000 }, () => {
  let env: ClusterEnv;
  let work: string;
  let agent: Agent;
  let configs: string[] = [];
  let ADMIN_TOKEN: string;
  const nodes: Child<Ready>[] = [];

  before(async () => {
    env = await createClusterEnv('cluster');
    ({ work, agent, adminToken: ADMIN_TOKEN } = env);
    configs = [];
    for (const name of ['node-a', 'node-b']) {
      const file = await env.writeConfig(name);
      configs.push(file);
      nodes.push(await startChild<Ready>(['edge', '--config', file, '--workers', '1'], path.join(work, `${name}.log`)));
    }
  });
  after(async () => {
    await Promise.all(nodes.map((n) => stopChild(n.process, 10_000)));
    await env?.cleanup();
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

  /** A browser request through `node` (the URL's port is replaced by the node's: each node has its own). */
  async function browse(jar: Jar, node: Child<Ready>, target: string, form?: Record<string, string>) {
    const url = new URL(target);
    url.port = String(node.ready.publicPort);
    const res = await request(url, {
      dispatcher: agent,
      method: form ? 'POST' : 'GET',
      headers: {
        cookie: jar.header(url.href),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: url.origin } : {}),
      },
      body: form ? new URLSearchParams(form).toString() : undefined,
    });
    jar.take(url.href, res.headers['set-cookie']);
    const location = typeof res.headers.location === 'string' ? new URL(res.headers.location, url).href : null;
    return { status: res.statusCode, location, body: await res.body.text() };
  }
  const formValue = (html: string, name: string): string => {
    const v = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
    assert.ok(v !== undefined, `the page has a ${name} field`);
    return v
      .replace(/&amp;/g, '&')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  };

  let tenantId = '';
  let appUrl = '';

  it('a sign-in begun on node A finishes on node B, and the hand-off code B issued works on A', async () => {
    const [a, b] = nodes;
    const tenant = await api<{ id: string }>(a, 'POST', '/tenants', { name: 'contoso' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
    tenantId = tenant.body.id;
    const group = await api<{ id: string }>(a, 'POST', `/tenants/${tenantId}/connector-groups`, { name: 'default' });
    const app = await api<{ id: string; externalUrl: string }>(a, 'POST', `/tenants/${tenantId}/apps`, {
      name: 'hr',
      groupId: group.body.id,
      internalUrl: 'http://127.0.0.1:1',
      preAuth: 'idp',
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    appUrl = app.body.externalUrl;
    const user = await api<{ id: string }>(a, 'POST', `/tenants/${tenantId}/users`, {
      upn: 'alice@contoso.example',
      password: PASSWORD,
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    assert.equal((await api(a, 'PUT', `/tenants/${tenantId}/licences/basic`, { seats: 10 })).status, 200);
    assert.ok(
      [200, 201].includes(
        (await api(a, 'POST', `/tenants/${tenantId}/licences/basic/assignments`, { type: 'user', id: user.body.id }))
          .status,
      ),
    );
    assert.ok(
      [200, 201].includes(
        (
          await api(a, 'POST', `/tenants/${tenantId}/apps/${app.body.id}/assignments`, {
            type: 'user',
            id: user.body.id,
          })
        ).status,
      ),
    );

    const jar = new Jar();
    // Node A: the app sends the browser to sign in, with a state signed by A and a nonce cookie on the app host.
    const start = await browse(jar, a, `${appUrl}/pay`);
    assert.equal(start.status, 302, start.body);
    assert.match(start.location ?? '', /\/authorize\?state=/);
    // Node B: the sign-in page and the password. B must accept A's state, and A must later accept B's cookies.
    let page = await browse(jar, b, start.location!);
    while (page.status === 302 || page.status === 303) page = await browse(jar, b, page.location!);
    assert.equal(page.status, 200, page.body);
    const posted = await browse(jar, b, new URL('/login', start.location!).href, {
      csrf: formValue(page.body, 'csrf'),
      state: formValue(page.body, 'state'),
      username: 'alice',
      password: PASSWORD,
    });
    assert.equal(posted.status, 303, posted.body);
    let next = posted;
    while (next.location && !next.location.includes('/.drawbridge/auth/callback')) {
      assert.ok(new URL(next.location).hostname.startsWith('login.'), `still on the sign-in host: ${next.location}`);
      next = await browse(jar, b, next.location);
    }
    assert.match(next.location ?? '', /\/\.drawbridge\/auth\/callback\?/, next.body);
    // Node A redeems the code B stored, with the nonce cookie A set: the app session is made.
    const callback = await browse(jar, a, next.location!);
    assert.equal(callback.status, 302, callback.body);
    assert.equal(new URL(callback.location!).pathname, '/pay');
    // Signed in on both nodes: no redirect to sign-in any more; with no connector the request stops at the tunnel.
    for (const node of [a, b]) {
      const res = await browse(jar, node, `${appUrl}/pay`);
      assert.equal(res.status, 502, res.body);
      assert.match(res.body, /DB-TUNNEL-NO-CONNECTOR/);
    }
  });

  /** One password attempt on `node`, as a fresh browser does it. */
  async function attempt(node: Child<Ready>, username: string, password: string): Promise<string | null> {
    const jar = new Jar();
    const page = await browse(jar, node, `https://login.${DOMAIN}/?signin=1`);
    assert.equal(page.status, 200, page.body);
    const res = await browse(jar, node, `https://login.${DOMAIN}/login`, {
      csrf: formValue(page.body, 'csrf'),
      username,
      password,
    });
    return res.status === 303 ? 'signed-in' : (/DB-[A-Z]+(?:-[A-Z]+)+/.exec(res.body)?.[0] ?? String(res.status));
  }

  it('lockout counts across both nodes: an unknown name (Redis) and a real account (the directory)', async () => {
    const [a, b] = nodes;
    for (const name of ['nobody-here', 'alice']) {
      const seen: (string | null)[] = [];
      for (let i = 0; i < 5; i++) seen.push(await attempt(i % 2 === 0 ? a : b, name, `wrong-${i}`));
      assert.deepEqual(
        seen,
        [...Array(4).fill('DB-SIGNIN-BAD-CREDENTIALS'), 'DB-SIGNIN-LOCKED-OUT'],
        `${name}: the fifth failure, wherever it lands, locks`,
      );
      assert.equal(
        await attempt(b, name, name === 'alice' ? PASSWORD : 'x'),
        'DB-SIGNIN-LOCKED-OUT',
        `${name}: locked on the other node too`,
      );
    }
  });

  it('GET /api/v1/edges on either node lists both; a node killed with -9 leaves the list within 5 s', async () => {
    const [a, b] = nodes;
    for (const node of [a, b]) {
      const res = await api<{ items: EdgeRow[] }>(node, 'GET', '/edges');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.items.map((n) => n.id),
        ['node-a', 'node-b'],
      );
      assert.deepEqual(
        res.body.items.map((n) => n.self),
        [node === a, node === b],
      );
      assert.deepEqual(
        res.body.items.map((n) => n.advertise),
        [a, b].map((n) => `https://127.0.0.1:${n.ready.publicPort}`),
      );
      assert.ok(
        res.body.items.every((n) => /^\d+\.\d+\.\d+/.test(n.version) && n.inFlight >= 0 && Array.isArray(n.tunnels)),
      );
    }
    // The same list from the command line, as JSON and as a table.
    const cli = async (...args: string[]) => {
      const { code, out, err } = await adminCli(
        ['edges', 'list', ...args],
        `http://127.0.0.1:${b.ready.adminPort}`,
        ADMIN_TOKEN,
      );
      assert.equal(code, 0, err);
      return out;
    };
    assert.deepEqual(
      (JSON.parse(await cli('--json')) as { items: EdgeRow[] }).items.map((n) => [n.id, n.self]),
      [
        ['node-a', false],
        ['node-b', true],
      ],
    );
    const table = await cli();
    assert.match(table, /^ID\s+URL\s+VERSION/m);
    assert.match(table, /^node-b \*\s+https:\/\/127\.0\.0\.1:/m);

    const exited = new Promise((resolve) => b.process.once('exit', resolve));
    b.process.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    let ids: string[] = [];
    while (Date.now() - killedAt < 5_000) {
      ids = (await api<{ items: EdgeRow[] }>(a, 'GET', '/edges')).body.items.map((n) => n.id);
      if (!ids.includes('node-b')) break;
      await sleep(100);
    }
    assert.deepEqual(ids, ['node-a'], 'node B is gone from the list within 5 s of its death');

    // Back up, then a clean stop: it leaves the list as it shuts down, without waiting for its heartbeat to expire.
    nodes[1] = await startChild<Ready>(
      ['edge', '--config', configs[1], '--workers', '1'],
      path.join(work, 'node-b.log'),
    );
    const listed = async () => (await api<{ items: EdgeRow[] }>(a, 'GET', '/edges')).body.items.map((n) => n.id);
    assert.deepEqual(await listed(), ['node-a', 'node-b']);
    await stopChild(nodes[1].process, 10_000);
    assert.deepEqual(await listed(), ['node-a'], 'removed at shutdown, before its heartbeat ran out');
  });
});
