import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { request } from 'undici';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { createClusterEnv, DOMAIN, type ClusterEnv } from '../helpers/cluster-env.ts';
import { waitUntil } from '../helpers/load.ts';

/**
 * `drawbridge edge --workers 2` (issue 11, item 5): two edge nodes in one machine's processes, sharing the public
 * and admin ports; each registers as a node of its own with its own direct port; one that dies comes back; SIGTERM
 * stops them all. On PostgreSQL and Redis (several workers without them are refused with the reason).
 */
type Ready = {
  publicPort: number;
  adminPort: number;
  adminToken: string;
  workers: { index: number; pid: number; directPort: number; nodeId: string }[];
};
type EdgeRow = { id: string; advertise: string };

describe('edge workers: one machine, every core', { timeout: 180_000 }, () => {
  let env: ClusterEnv;
  let edge: Child<Ready>;

  before(async () => {
    env = await createClusterEnv('workers');
    const file = await env.writeConfig('machine');
    edge = await startChild<Ready>(['edge', '--config', file, '--workers', '2'], path.join(env.work, 'edge.log'));
  });
  after(async () => {
    if (edge) await stopChild(edge.process, 15_000);
    await env?.cleanup();
  });

  // A connection the primary handed to a worker that just died is reset: ask again.
  const nodes = async (): Promise<EdgeRow[]> => (await nodesOnce().catch(() => nodesOnce())) ?? [];
  const nodesOnce = async (): Promise<EdgeRow[]> => {
    // A connection handed to a worker as it dies can hang: bounded, and a fresh connection each time.
    const res = await request(`http://127.0.0.1:${edge.ready.adminPort}/api/v1/edges`, {
      headers: { authorization: `Bearer ${env.adminToken}`, connection: 'close' },
      headersTimeout: 3_000,
      bodyTimeout: 3_000,
    });
    return ((await res.body.json()) as { items: EdgeRow[] }).items;
  };

  it('each worker is a node of its own, reached directly on its own port', async () => {
    assert.equal(edge.ready.workers.length, 2);
    assert.deepEqual(
      edge.ready.workers.map((w) => w.nodeId),
      ['machine-w1', 'machine-w2'],
    );
    await waitUntil(async () => (await nodes()).length === 2, 10_000, 'both workers in /edges');
    const advertised = (await nodes()).map((n) => Number(new URL(n.advertise).port)).sort();
    assert.deepEqual(advertised, edge.ready.workers.map((w) => w.directPort).sort());
    assert.ok(!advertised.includes(edge.ready.publicPort), 'the direct ports are not the shared one');
  });

  it('the shared public port and every direct port serve TLS; the admin port answers on any worker', async () => {
    const ca = await readFile(env.caCertPath, 'utf8');
    const health = async (port: number): Promise<number> => {
      const res = await request(`https://login.${DOMAIN}:${port}/healthz`, { dispatcher: env.agent });
      await res.body.dump();
      return res.statusCode;
    };
    // A worker that joined another answers 503 "starting" for two heartbeats (edge.ts): wait until both are ready.
    for (const w of edge.ready.workers)
      await waitUntil(async () => (await health(w.directPort)) === 200, 15_000, `worker ${w.index} ready`);
    for (const port of [edge.ready.publicPort, ...edge.ready.workers.map((w) => w.directPort)]) {
      for (let i = 0; i < 4; i++) {
        const res = await request(`https://login.${DOMAIN}:${port}/healthz`, { dispatcher: env.agent });
        assert.equal(res.statusCode, 200, `port ${port}`);
        await res.body.dump();
      }
    }
    // A bare handshake on the shared port succeeds whichever worker takes it.
    await new Promise<void>((resolve, reject) => {
      const socket = tls.connect(
        { host: '127.0.0.1', port: edge.ready.publicPort, servername: `login.${DOMAIN}`, ca },
        () => {
          socket.end();
          resolve();
        },
      );
      socket.once('error', reject);
    });
  });

  it('a worker that dies is started again and registers again', async () => {
    const victim = edge.ready.workers[1];
    process.kill(victim.pid, 'SIGKILL');
    await waitUntil(
      async () => {
        const rows = await nodes().catch(() => []);
        return (
          rows.length === 2 &&
          rows.some((n) => n.id === victim.nodeId && Number(new URL(n.advertise).port) !== victim.directPort)
        );
      },
      30_000,
      'worker 2 back with a new direct port',
    );
  });

  it('several workers without PostgreSQL and Redis are refused with the reason', async () => {
    const file = await env.writeConfig('sqlite-machine', { store: { kind: 'sqlite' }, sessions: { kind: 'memory' } });
    await assert.rejects(startChild(['edge', '--config', file, '--workers', '2'], path.join(env.work, 'refused.log')));
    assert.match(
      await readFile(path.join(env.work, 'refused.log'), 'utf8'),
      /--workers 2: several edge workers share their state: set store: \{ kind: postgres/,
    );
  });
});
