/**
 * The edge's own secrets are the cluster's (issue 11, item 1): two edge processes started together on one empty
 * PostgreSQL schema (fresh, dropped at the end), each with its own state directory, end up with one tunnel CA and one
 * assertion signing key. A connector enrolled through node A (`register`, as `drawbridge connector register` does)
 * opens its tunnel to node B, which accepts its certificate and serves an app through it; both nodes publish the
 * same JWKS. Needs the PostgreSQL of the store tests (DRAWBRIDGE_TEST_POSTGRES_URL, default
 * postgres://postgres@127.0.0.1:5432/test); it never skips.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { Agent, request } from 'undici';
import { stringify as toYaml } from 'yaml';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { register } from '../../src/connector/enroll/register.ts';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { loopbackLookup } from '../helpers/dev-stack.ts';

const BASE_URL = process.env.DRAWBRIDGE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const DOMAIN = 'apps.localhost';
const ADMIN_TOKEN = randomBytes(24).toString('base64url');

type Ready = { publicPort: number; adminPort: number; adminToken: string };

describe('edge on PostgreSQL: one tunnel CA and one JWKS for every node', { timeout: 180_000 }, () => {
  const schema = `drawbridge_keys_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Pool({ connectionString: BASE_URL, max: 1, connectionTimeoutMillis: 5000 });
  let work: string;
  let devCa: string;
  let agent: Agent;
  let backend: http.Server;
  let nodes: Child<Ready>[] = [];
  let connector: Child<unknown> | undefined;

  before(async () => {
    await admin.query(`CREATE SCHEMA ${schema}`).catch((err: Error) => {
      throw new Error(
        `PostgreSQL is not reachable at ${BASE_URL} (${err.message}); start it or set DRAWBRIDGE_TEST_POSTGRES_URL`,
        { cause: err },
      );
    });
    work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-edge-keys-'));
    const certs = await createDevCertificates(path.join(work, 'certs'), DOMAIN);
    devCa = certs.caCertPath;
    agent = new Agent({ connect: { ca: await readFile(certs.caCertPath, 'utf8'), lookup: loopbackLookup } as never });
    backend = http.createServer((req, res) => res.end(`backend saw ${req.url}`));
    backend.listen(0, '127.0.0.1');
    await once(backend, 'listening');
    const url = new URL(BASE_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    const configs: string[] = [];
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
      configs.push(file);
    }
    // Together, on the empty schema: both race to create the CA and the signing key.
    nodes = await Promise.all(
      configs.map((file, i) => startChild<Ready>(['edge', '--config', file], path.join(work, `node-${i}.log`))),
    );
  });
  after(async () => {
    if (connector) await stopChild(connector.process, 10_000);
    await Promise.all(nodes.map((n) => stopChild(n.process, 10_000)));
    await agent?.close();
    backend?.close();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => admin.end());
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function api<T>(
    node: Child<Ready>,
    method: 'GET' | 'POST',
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

  it('both nodes publish the same JWKS, with one key', async () => {
    const docs = await Promise.all(
      nodes.map(async (node) => {
        const res = await request(`https://login.${DOMAIN}:${node.ready.publicPort}/.well-known/jwks.json`, {
          dispatcher: agent,
        });
        assert.equal(res.statusCode, 200);
        return res.body.text();
      }),
    );
    assert.equal(docs[0], docs[1]);
    assert.equal((JSON.parse(docs[0]) as { keys: unknown[] }).keys.length, 1);
  });

  it('a connector enrolled through node A opens its tunnel to node B, which serves an app through it', async () => {
    const [a, b] = nodes;
    const tenant = await api<{ id: string }>(a, 'POST', '/tenants', { name: 'contoso' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
    const group = await api<{ id: string }>(a, 'POST', `/tenants/${tenant.body.id}/connector-groups`, {
      name: 'default',
    });
    const internalUrl = `http://127.0.0.1:${(backend.address() as AddressInfo).port}/`;
    const app = await api<{ externalUrl: string }>(a, 'POST', `/tenants/${tenant.body.id}/apps`, {
      name: 'hr',
      groupId: group.body.id,
      internalUrl,
      preAuth: 'passthrough',
    });
    assert.equal(app.status, 201, JSON.stringify(app.body));
    const token = await api<{ token: string }>(a, 'POST', `/tenants/${tenant.body.id}/enrollment-tokens`, {
      groupId: group.body.id,
    });

    const stateDir = path.join(work, 'connector');
    const enrolled = await register({
      edgeUrl: `https://tunnel.${DOMAIN}:${a.ready.publicPort}`,
      token: token.body.token,
      stateDir,
      caFile: devCa,
      version: 'test',
      connectAddress: `127.0.0.1:${a.ready.publicPort}`,
      name: 'lab-1',
    });
    // Its tunnels go to node B only.
    const registration = path.join(stateDir, 'connector.json');
    const json = JSON.parse(await readFile(registration, 'utf8'));
    json.connectAddress = `127.0.0.1:${b.ready.publicPort}`;
    await writeFile(registration, JSON.stringify(json), { mode: 0o600 });
    connector = await startChild(
      ['connector', 'run', '--state-dir', stateDir, '--tunnels', '1', '--metrics-port', '0'],
      path.join(work, 'connector.log'),
    );

    type Health = { connectors: { id: string; state: string }[] };
    let state = '';
    for (const deadline = Date.now() + 30_000; state !== 'healthy' && Date.now() < deadline; await sleep(100)) {
      const health = await api<Health>(b, 'GET', `/tenants/${tenant.body.id}/connector-groups/${group.body.id}/health`);
      state = health.body.connectors?.find((c) => c.id === enrolled.connectorId)?.state ?? '';
    }
    assert.equal(state, 'healthy', 'node B holds a healthy tunnel of the connector node A enrolled');

    const target = new URL('/pay', app.body.externalUrl);
    target.port = String(b.ready.publicPort);
    const res = await request(target, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'backend saw /pay');
  });
});
