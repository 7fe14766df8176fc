/**
 * Connectors over several edge nodes (issue 11, items 3 and 7): three `drawbridge edge` processes on one PostgreSQL
 * schema and one Redis prefix, with the same tunnel CA, and one connector registered against the first node only.
 *   - it learns the node list over its tunnels and spreads its three tunnels one per node (GET /api/v1/edges);
 *   - kill -9 a node: its tunnel is dialled to another node within 2 s; the node restarted gets a tunnel back;
 *   - SIGTERM a node under steady load sent straight to the two others: no request fails, and the connector's tunnel
 *     leaves the draining node (replacement first) before that node exits.
 * Needs PostgreSQL (DRAWBRIDGE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test) and Redis
 * (DRAWBRIDGE_TEST_REDIS_URL, default redis://127.0.0.1:6379); it never skips.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { type ClusterEnv, createClusterEnv, DOMAIN } from '../helpers/cluster-env.ts';
import { register } from '../../src/connector/enroll/register.ts';
import { CONNECTOR_VERSION } from '../../src/connector/connector.ts';
import { waitUntil } from '../helpers/load.ts';

const NAMES = ['node-a', 'node-b', 'node-c'];

type Ready = { publicPort: number; adminPort: number; adminToken: string };
type EdgeRow = { id: string; tunnels: { connectorId: string; tunnels: number }[] };

describe('edge nodes: a connector spreads its tunnels over the nodes and moves them when one dies or drains', {
  timeout: 300_000,
}, () => {
  let env: ClusterEnv;
  let work: string;
  let agent: Agent;
  let backend: http.Server;
  const configs = new Map<string, string>();
  const nodes = new Map<string, Child<Ready>>();
  let connector: Child<{ connectorId: string }> | null = null;
  let connectorId = '';
  let tenantId = '';
  let appUrl = '';

  const startNode = async (name: string): Promise<void> => {
    nodes.set(
      name,
      await startChild<Ready>(
        ['edge', '--config', configs.get(name)!, '--drain-seconds', '20', '--workers', '1'],
        path.join(work, `${name}.log`),
      ),
    );
  };

  before(async () => {
    env = await createClusterEnv('nodes');
    work = env.work;
    agent = env.agent;
    backend = http.createServer((req, res) => {
      req.resume();
      res.end('ok\n');
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    for (const name of NAMES) configs.set(name, await env.writeConfig(name, { tunnel: { pingIntervalMs: 500 } }));
    // One tunnel CA for every node: the first node makes it, the others start with a copy.
    await startNode('node-a');
    for (const name of NAMES.slice(1)) {
      await mkdir(path.join(work, name), { recursive: true, mode: 0o700 });
      await cp(path.join(work, 'node-a', 'tunnel-ca'), path.join(work, name, 'tunnel-ca'), { recursive: true });
      await startNode(name);
    }

    const a = nodes.get('node-a')!;
    const tenant = await api<{ id: string }>(a, 'POST', '/tenants', { name: 'contoso' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
    tenantId = tenant.body.id;
    const group = await api<{ id: string }>(a, 'POST', `/tenants/${tenantId}/connector-groups`, { name: 'default' });
    const app = await api<{ externalUrl: string }>(a, 'POST', `/tenants/${tenantId}/apps`, {
      name: 'web',
      groupId: group.body.id,
      internalUrl: `http://127.0.0.1:${(backend.address() as net.AddressInfo).port}`,
      preAuth: 'passthrough',
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    appUrl = app.body.externalUrl;
    const {
      body: { token },
    } = await api<{ token: string }>(a, 'POST', `/tenants/${tenantId}/enrollment-tokens`, {
      groupId: group.body.id,
      ttlSeconds: 600,
    });
    // Registered against node A only: the other nodes it learns from the edge.
    const dir = path.join(work, 'connector');
    await register({
      edgeUrl: `https://tunnel.${DOMAIN}:${a.ready.publicPort}`,
      token,
      stateDir: dir,
      caFile: env.caCertPath,
      name: 'spread',
      version: CONNECTOR_VERSION,
      connectAddress: `127.0.0.1:${a.ready.publicPort}`,
      force: true,
    });
    connector = await startChild(
      ['connector', 'run', '--state-dir', dir, '--tunnels', '3', '--drain-seconds', '10'],
      path.join(work, 'connector.log'),
    );
    connectorId = connector.ready.connectorId;
  });

  after(async () => {
    if (connector) await stopChild(connector.process, 10_000);
    await Promise.all([...nodes.values()].map((n) => stopChild(n.process, 10_000)));
    backend?.close();
    if (env && !process.env.DRAWBRIDGE_TEST_KEEP) await env.cleanup();
  });

  async function api<T>(
    node: Child<Ready>,
    method: 'GET' | 'POST',
    pathname: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const res = await request(`http://127.0.0.1:${node.ready.adminPort}/api/v1${pathname}`, {
      method,
      headers: { authorization: `Bearer ${env.adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.statusCode, body: (await res.body.json()) as T };
  }

  /** The connector's tunnels per node, as the node registry reports them (heartbeats: up to a second old). */
  async function spread(via: Child<Ready>): Promise<Record<string, number>> {
    const { body } = await api<{ items: EdgeRow[] }>(via, 'GET', '/edges');
    const out: Record<string, number> = {};
    for (const n of body.items) {
      const count = n.tunnels.find((t) => t.connectorId === connectorId)?.tunnels ?? 0;
      if (count > 0) out[n.id] = count;
    }
    return out;
  }

  /** Usable tunnels of the connector on each running node right now (each node's own tunnel registry). */
  async function liveTunnels(names: string[]): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const name of names) {
      const res = await api<{ items: { id: string; live?: { tunnels: number } }[] }>(
        nodes.get(name)!,
        'GET',
        `/tenants/${tenantId}/connectors`,
      );
      out[name] = res.body.items.find((c) => c.id === connectorId)?.live?.tunnels ?? 0;
    }
    return out;
  }
  const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

  /** One GET of the app through `name`'s own public port. */
  async function get(name: string): Promise<string | null> {
    const url = new URL(appUrl);
    url.port = String(nodes.get(name)!.ready.publicPort);
    try {
      const res = await request(url, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
      const text = await res.body.text();
      return res.statusCode === 200 && text === 'ok\n'
        ? null
        : `${res.statusCode} ${/DB-[A-Z-]+/.exec(text)?.[0] ?? text.slice(0, 80)}`;
    } catch (err) {
      return (err as Error).message;
    }
  }

  it('learns the nodes from the one it reached and spreads its three tunnels one per node', async () => {
    let seen: Record<string, number> = {};
    await waitUntil(
      async () => {
        seen = await spread(nodes.get('node-b')!);
        return Object.keys(seen).length === 3 && total(seen) === 3;
      },
      30_000,
      'three tunnels on three nodes',
    );
    assert.deepEqual(seen, { 'node-a': 1, 'node-b': 1, 'node-c': 1 });
    // A node counts a tunnel from the moment it registers it; it routes to it once the connector has acknowledged
    // the app: wait for that, then every node answers through its own tunnel.
    for (const name of NAMES)
      await waitUntil(async () => (await get(name)) === null, 10_000, `the app answers through ${name}`);
  });

  it('kill -9 a node: its tunnel is dialled to another node within 2 s; the node back gets a tunnel again', async () => {
    const c = nodes.get('node-c')!;
    const exited = new Promise((resolve) => c.process.once('exit', resolve));
    c.process.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    let counts: Record<string, number> = {};
    while (Date.now() - killedAt < 15_000) {
      counts = await liveTunnels(['node-a', 'node-b']);
      if (total(counts) === 3) break;
      await sleep(50);
    }
    const rehomedMs = Date.now() - killedAt;
    assert.equal(total(counts), 3, `three tunnels on the two live nodes: ${JSON.stringify(counts)}`);
    assert.ok(rehomedMs <= 2_000, `re-homed in ${rehomedMs} ms`);
    assert.ok(counts['node-a'] >= 1 && counts['node-b'] >= 1, JSON.stringify(counts));

    // Back up (same id, same CA): the spread 2 + 1 + 0 is evened out again by one move.
    await startNode('node-c');
    let seen: Record<string, number> = {};
    await waitUntil(
      async () => {
        seen = await spread(nodes.get('node-a')!);
        return Object.keys(seen).length === 3 && total(seen) === 3;
      },
      30_000,
      'one tunnel on the restarted node',
    );
    assert.deepEqual(seen, { 'node-a': 1, 'node-b': 1, 'node-c': 1 });
  });

  it('SIGTERM a node under load sent to the others: nothing fails, its tunnel moves before it exits', async () => {
    const a = nodes.get('node-a')!;
    await waitUntil(
      async () => {
        const live = await liveTunnels(NAMES);
        return NAMES.every((n) => live[n] === 1);
      },
      10_000,
      'one usable tunnel on each node',
    );
    for (const name of ['node-b', 'node-c'])
      await waitUntil(async () => (await get(name)) === null, 10_000, `the app answers through ${name}`);
    // Steady load straight at node B and node C (not through the draining node).
    let stop = false;
    const failures: string[] = [];
    let sent = 0;
    const worker = async (name: string): Promise<void> => {
      while (!stop) {
        sent++;
        const failure = await get(name);
        if (failure) failures.push(`${name}: ${failure}`);
        await sleep(10);
      }
    };
    const workers = ['node-b', 'node-c', 'node-b', 'node-c'].map(worker);
    await sleep(500);
    const exited = new Promise<number | null>((resolve) => a.process.once('exit', (code) => resolve(code)));
    a.process.kill('SIGTERM');
    const code = await exited;
    await sleep(500);
    stop = true;
    await Promise.all(workers);
    nodes.delete('node-a');
    assert.equal(code, 0, 'the drained node exits cleanly');
    assert.deepEqual(failures, [], `no request failed (of ${sent})`);
    assert.ok(sent > 20, `load was sent (${sent} requests)`);

    // The connector kept all three tunnels, now on B and C.
    let counts: Record<string, number> = {};
    await waitUntil(
      async () => total((counts = await liveTunnels(['node-b', 'node-c']))) === 3,
      10_000,
      'three tunnels on B and C',
    );
    assert.ok(counts['node-b'] >= 1 && counts['node-c'] >= 1, JSON.stringify(counts));

    // In order, on node A: it asked the connector to move, the tunnel was drained by the connector (its replacement
    // being up on another node), and only then did node A close its tunnels and exit.
    const log = (await readFile(path.join(work, 'node-a.log'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            msg: string;
            moved?: number;
            left?: number;
            drained?: boolean;
            connectorId?: string;
            signal?: string;
          },
      );
    const moved = log.findIndex((l) => l.msg === 'connectors moved to other edge nodes');
    assert.ok(moved >= 0, 'node A waited for its connectors to move');
    assert.deepEqual({ moved: log[moved].moved, left: log[moved].left }, { moved: 1, left: 0 });
    const drainedByConnector = log.findIndex(
      (l) => l.msg === 'tunnel draining' && l.connectorId === connectorId && /moved to node-/.test(l.signal ?? ''),
    );
    assert.ok(
      drainedByConnector >= 0 && drainedByConnector < moved,
      'the connector drained its tunnel on node A after moving it',
    );
    assert.ok(log.findIndex((l) => l.msg === 'edge drained') > moved);
    const connectorLog = await readFile(path.join(work, 'connector.log'), 'utf8');
    assert.match(connectorLog, /"from":"node-a","to":"node-[bc]".*"msg":"tunnel moved"/);
  });
});
