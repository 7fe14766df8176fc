/**
 * Any edge node serves any app (issue 11, item 4): two edge processes on one PostgreSQL schema and one Redis, sharing
 * the tunnel CA (its files copied into each node's state directory), and one connector that dials node B only. Every
 * request to node A is relayed to B over mutual TLS between the nodes:
 *   - GET, POST with a body (known length and chunked), a WebSocket echo and a 64 MiB download answer through A;
 *   - a failure on B's side (the backend down) reaches A's client as the connector's catalogue code;
 *   - a pre-authenticated app: the user signs in on A, and the identity reaches the backend through B (header SSO and
 *     the edge-signed assertion);
 *   - only an edge node certificate opens the relay: a connector's certificate, or none, is refused;
 *   - the figure: p50/p99 of 500 sequential GETs through A (relayed) against through B (direct), printed, not asserted.
 * Needs PostgreSQL (DRAWBRIDGE_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/test) and Redis
 * (DRAWBRIDGE_TEST_REDIS_URL, default redis://127.0.0.1:6379); it never skips.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type net from 'node:net';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { register } from '../../src/connector/enroll/register.ts';
import { CONNECTOR_VERSION } from '../../src/connector/connector.ts';
import { RELAY_ALPN } from '../../src/edge/cluster/relay-credentials.ts';
import { createClusterEnv, DOMAIN, type ClusterEnv } from '../helpers/cluster-env.ts';
import { loopbackLookup } from '../helpers/dev-stack.ts';
import { percentile, runConnector } from '../helpers/load.ts';
import type { ChildProcess } from 'node:child_process';
import { Jar } from '../helpers/cookie-jar.ts';

const PASSWORD = 'correct horse battery staple';
const DOWNLOAD = randomBytes(64 * 1024 * 1024);
const DOWNLOAD_ETAG = '"relay-v1"';

type Ready = { publicPort: number; adminPort: number; adminToken: string };
type EdgeRow = { id: string; tunnels: { groupId: string; tunnels: number; usable?: number }[] };

/** The internal app: hello, echo, a large download (with ranges), who-am-I, and a WebSocket echo. */
function startBackend(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://backend');
    if (url.pathname === '/hello')
      return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello from the backend');
    if (url.pathname === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res
          .writeHead(200, {
            'content-type': 'application/octet-stream',
            'x-chunked': String(req.headers['transfer-encoding'] === 'chunked'),
          })
          .end(body);
      });
      return;
    }
    if (url.pathname === '/download') {
      const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      const from = range && req.headers['if-range'] === DOWNLOAD_ETAG ? Number(range[1]) : 0;
      res.writeHead(from > 0 ? 206 : 200, {
        'content-type': 'application/octet-stream',
        'accept-ranges': 'bytes',
        etag: DOWNLOAD_ETAG,
        'content-length': DOWNLOAD.length - from,
        ...(from > 0 ? { 'content-range': `bytes ${from}-${DOWNLOAD.length - 1}/${DOWNLOAD.length}` } : {}),
      });
      return void res.end(DOWNLOAD.subarray(from));
    }
    if (url.pathname === '/whoami') {
      const h = req.headers;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          user: h['x-remote-user'] ?? null,
          assertion: h['x-drawbridge-assertion'] ?? null,
          forwardedFor: h['x-forwarded-for'] ?? null,
          drawbridgeHeaders: Object.keys(h).filter(
            (k) => k.startsWith('x-drawbridge-') && k !== 'x-drawbridge-assertion',
          ),
        }),
      );
    }
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  wss.on('connection', (ws) => ws.on('message', (data, binary) => ws.send(data, { binary })));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe("edge relay: a node without the group's tunnels relays to one that has them", { timeout: 300_000 }, () => {
  let env: ClusterEnv;
  let work: string;
  let caPath: string;
  let agent: Agent;
  let ADMIN_TOKEN: string;
  let backend: http.Server;
  const connectors: { id: string; process: ChildProcess }[] = [];
  let connectorDir: string;
  let tenantPath = '';
  let groupId = '';
  const nodes: Child<Ready>[] = [];
  const urls: Record<string, string> = {};

  before(async () => {
    env = await createClusterEnv('relay');
    ({ work, agent, adminToken: ADMIN_TOKEN, caCertPath: caPath } = env);
    backend = await startBackend();
    // One tunnel CA for both nodes comes from the shared store.
    for (const name of ['node-a', 'node-b']) {
      const file = await env.writeConfig(name);
      nodes.push(await startChild<Ready>(['edge', '--config', file, '--workers', '1'], path.join(work, `${name}.log`)));
    }
  });
  after(async () => {
    for (const c of connectors) {
      if (c.process.exitCode !== null || c.process.signalCode !== null) continue;
      const exited = new Promise((r) => c.process.once('exit', r));
      c.process.kill('SIGKILL');
      await exited;
    }
    await Promise.all(nodes.map((n) => stopChild(n.process, 10_000)));
    backend?.closeAllConnections();
    await new Promise((r) => (backend ? backend.close(r) : r(null)));
    if (!process.env.KEEP_TEST_STATE) await env?.cleanup();
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
  const at = (node: Child<Ready>, target: string): string => {
    const u = new URL(target);
    u.port = String(node.ready.publicPort);
    return u.href;
  };
  /** A connector of the group, enrolled and dialling through node B's port only, started. Returns its state dir. */
  async function enrollOnB(name: string): Promise<string> {
    const token = await api<{ token: string }>(a(), 'POST', `${tenantPath}/enrollment-tokens`, {
      groupId,
      ttlSeconds: 600,
    });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    const dir = path.join(work, name);
    await register({
      edgeUrl: `https://tunnel.${DOMAIN}:${b().ready.publicPort}`,
      token: token.body.token,
      stateDir: dir,
      caFile: caPath,
      name,
      version: CONNECTOR_VERSION,
      connectAddress: `127.0.0.1:${b().ready.publicPort}`,
    });
    const started = await runConnector(dir, path.join(work, `${name}.log`), 10, ['--pinned']);
    connectors.push({ id: started.id, process: started.process });
    return dir;
  }
  /** The group's connectors as node B sees them (its own tunnels). */
  const groupHealth = async () =>
    (
      await api<{ connectors: { id: string; state: string; inFlight: number }[] }>(
        b(),
        'GET',
        `${tenantPath}/connector-groups/${groupId}/health`,
      )
    ).body.connectors;
  const a = (): Child<Ready> => nodes[0];
  const b = (): Child<Ready> => nodes[1];

  it('a connector on node B only; node A answers every app through the relay', async () => {
    const tenant = await api<{ id: string }>(a(), 'POST', '/tenants', { name: 'contoso' });
    assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
    const t = `/tenants/${tenant.body.id}`;
    const group = await api<{ id: string }>(a(), 'POST', `${t}/connector-groups`, { name: 'default' });
    tenantPath = t;
    groupId = group.body.id;
    const internal = `http://127.0.0.1:${(backend.address() as net.AddressInfo).port}`;
    const publish = async (name: string, fields: Record<string, unknown>): Promise<string> => {
      const app = await api<{ externalUrl: string }>(a(), 'POST', `${t}/apps`, {
        name,
        groupId: group.body.id,
        internalUrl: internal,
        ...fields,
      });
      assert.equal(app.status, 201, JSON.stringify(app.body));
      return app.body.externalUrl.replace(/\/?$/, '/');
    };
    urls.pass = await publish('pass', { preAuth: 'passthrough' });
    urls.down = await publish('down', { preAuth: 'passthrough', internalUrl: 'http://127.0.0.1:1' });
    urls.hr = await publish('hr', {
      preAuth: 'idp',
      sso: { mode: 'headers', headers: { user: 'x-remote-user' }, jwt: true },
    });
    const user = await api<{ id: string }>(a(), 'POST', `${t}/users`, {
      upn: 'alice@contoso.example',
      password: PASSWORD,
    });
    assert.equal(user.status, 201, JSON.stringify(user.body));
    assert.equal((await api(a(), 'PUT', `${t}/licences/basic`, { seats: 10 })).status, 200);
    await api(a(), 'POST', `${t}/licences/basic/assignments`, { type: 'user', id: user.body.id });
    await api(
      a(),
      'POST',
      `${t}/apps/${(await api<{ items: { id: string; name: string }[] }>(a(), 'GET', `${t}/apps`)).body.items.find((x) => x.name === 'hr')!.id}/assignments`,
      { type: 'user', id: user.body.id },
    );

    // The connector enrolls and dials through node B's port only.
    connectorDir = await enrollOnB('connector-1');
    // Through A as soon as A's view (refreshed by its heartbeat) shows B holding the group.
    const deadline = Date.now() + 30_000;
    let last = '';
    for (;;) {
      const res = await request(at(a(), `${urls.pass}hello`), { dispatcher: agent });
      last = `${res.statusCode} ${await res.body.text()}`;
      if (res.statusCode === 200) break;
      assert.ok(Date.now() < deadline, `node A never answered through the relay: ${last.slice(0, 300)}`);
      await sleep(200);
    }
    assert.equal(last, '200 hello from the backend');
    // The precondition of everything below: A holds no tunnel at all, B holds the connector's.
    const edges = (await api<{ items: EdgeRow[] }>(a(), 'GET', '/edges')).body.items;
    assert.deepEqual(
      edges.find((n) => n.id === 'node-a')?.tunnels,
      [],
      'node A holds no tunnel (the connector dials B only)',
    );
    assert.ok(
      (edges.find((n) => n.id === 'node-b')?.tunnels ?? []).some(
        (x) => x.groupId === group.body.id && (x.usable ?? 0) > 0,
      ),
      JSON.stringify(edges),
    );
  });

  it('POST bodies, of known length and chunked, reach the backend whole through the relay', async () => {
    const body = randomBytes(1024 * 1024 + 17);
    const known = await request(at(a(), `${urls.pass}echo`), { dispatcher: agent, method: 'POST', body });
    assert.equal(known.statusCode, 200);
    assert.ok(Buffer.from(await known.body.arrayBuffer()).equals(body), 'known-length body echoed');
    const chunked = await request(at(a(), `${urls.pass}echo`), {
      dispatcher: agent,
      method: 'POST',
      body: Readable.from([body.subarray(0, 1000), body.subarray(1000)]),
    });
    assert.equal(chunked.statusCode, 200);
    assert.equal(chunked.headers['x-chunked'], 'true');
    assert.ok(Buffer.from(await chunked.body.arrayBuffer()).equals(body), 'chunked body echoed');
  });

  it('a WebSocket echoes through the relay', async () => {
    const ws = new WebSocket(at(a(), `${urls.pass}ws`).replace('https:', 'wss:'), {
      ca: await readFile(caPath),
      lookup: loopbackLookup as never,
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const replies: string[] = [];
    ws.on('message', (data) => replies.push(data.toString()));
    for (const text of ['one', 'two', 'x'.repeat(200_000)]) ws.send(text);
    const deadline = Date.now() + 10_000;
    while (replies.length < 3 && Date.now() < deadline) await sleep(20);
    assert.deepEqual(
      replies.map((r) => r.length),
      [3, 3, 200_000],
    );
    assert.equal(replies[0], 'one');
    ws.close(1000);
    assert.equal(await new Promise<number>((resolve) => ws.once('close', resolve)), 1000);
  });

  it('a 64 MiB download arrives whole through the relay', async () => {
    const res = await request(at(a(), `${urls.pass}download`), { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(DOWNLOAD.length));
    const hash = createHash('sha256');
    let length = 0;
    for await (const chunk of res.body) {
      hash.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    assert.equal(length, DOWNLOAD.length);
    assert.equal(hash.digest('hex'), createHash('sha256').update(DOWNLOAD).digest('hex'));
  });

  it("a download through A whose connector dies mid-body is finished from B's other connector: every byte once", async () => {
    await enrollOnB('connector-2');
    const deadline = Date.now() + 20_000;
    while ((await groupHealth()).filter((c) => c.state === 'healthy').length < 2) {
      assert.ok(Date.now() < deadline, 'both connectors healthy on node B');
      await sleep(100);
    }
    const res = await request(at(a(), `${urls.pass}download`), { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    const got = createHash('sha256');
    let received = 0;
    let killed: string | null = null;
    for await (const chunk of res.body) {
      got.update(chunk as Buffer);
      received += (chunk as Buffer).length;
      if (killed === null && received >= 8 * 1024 * 1024) {
        // Reading pauses here, so the rest is still on its way through the connector when it dies.
        let busy: string | undefined;
        for (const until = Date.now() + 5_000; busy === undefined && Date.now() < until; )
          busy = (await groupHealth()).find((c) => c.inFlight > 0)?.id;
        const victim = connectors.find((c) => c.id === busy);
        assert.ok(victim, 'a connector carries the download');
        victim.process.kill('SIGKILL');
        killed = victim.id;
      }
    }
    assert.ok(killed, 'a connector was killed mid-download');
    assert.equal(received, DOWNLOAD.length, 'every byte arrived, none twice');
    assert.equal(got.digest('hex'), createHash('sha256').update(DOWNLOAD).digest('hex'));
    // Node B reset the relayed stream, and node A — where the client is — asked the relay again for the rest.
    assert.match(await readFile(path.join(work, 'node-a.log'), 'utf8'), /"msg":"download resumed"/);
  });

  it("a failure behind node B reaches node A's client with the connector's code", async () => {
    const res = await request(at(a(), `${urls.down}x`), { dispatcher: agent, headers: { accept: 'application/json' } });
    const text = await res.body.text();
    assert.equal(res.statusCode, 502, text);
    assert.equal(res.headers['x-drawbridge-error'], 'DB-BACKEND-UNREACHABLE', text);
  });

  it('a pre-authenticated app: signed in on node A, the identity reaches the backend through node B', async () => {
    const jar = new Jar();
    const browse = async (target: string, form?: Record<string, string>) => {
      const u = at(a(), target);
      const res = await request(u, {
        dispatcher: agent,
        method: form ? 'POST' : 'GET',
        headers: {
          cookie: jar.header(u),
          ...(form ? { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(u).origin } : {}),
        },
        body: form ? new URLSearchParams(form).toString() : undefined,
      });
      jar.take(u, res.headers['set-cookie']);
      return {
        status: res.statusCode,
        location: typeof res.headers.location === 'string' ? new URL(res.headers.location, u).href : null,
        body: await res.body.text(),
      };
    };
    const field = (html: string, name: string): string => {
      const v = new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1];
      assert.ok(v !== undefined, `the page has a ${name} field`);
      return v
        .replace(/&amp;/g, '&')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>');
    };
    const start = await browse(`${urls.hr}whoami`);
    assert.equal(start.status, 302, start.body);
    let page = await browse(start.location!);
    while (page.status === 302 || page.status === 303) page = await browse(page.location!);
    assert.equal(page.status, 200, page.body);
    let next = await browse(new URL('/login', start.location!).href, {
      csrf: field(page.body, 'csrf'),
      state: field(page.body, 'state'),
      username: 'alice',
      password: PASSWORD,
    });
    for (let hops = 0; next.location && hops < 10; hops++) next = await browse(next.location);
    assert.equal(next.status, 200, next.body);
    const seen = JSON.parse(next.body) as {
      user: string | null;
      assertion: string | null;
      forwardedFor: string | null;
      drawbridgeHeaders: string[];
    };
    assert.equal(seen.user, 'alice@contoso.example', 'header SSO: the user node A signed in, through node B');
    assert.match(seen.assertion ?? '', /^[\w-]+\.[\w-]+\.[\w-]+$/, 'the edge-signed assertion reaches the backend');
    assert.equal(seen.forwardedFor, '127.0.0.1', 'the client address as node A saw it');
    assert.deepEqual(seen.drawbridgeHeaders, [], "neither the relay marker nor the edge's metadata reach the backend");
  });

  it("only an edge node certificate opens the relay: a connector's, or none, is refused", async () => {
    const tunnelCa = await readFile(path.join(connectorDir, 'tunnel-ca.crt'), 'utf8'); // the shared CA, as the connector pinned it
    const attempt = (credentials: { cert?: string; key?: string }): Promise<string> =>
      new Promise((resolve) => {
        const socket = tls.connect({
          host: '127.0.0.1',
          port: a().ready.publicPort,
          ALPNProtocols: [RELAY_ALPN],
          ca: tunnelCa,
          checkServerIdentity: () => undefined,
          ...credentials,
        });
        socket.on('error', (err) => resolve(`socket error: ${err.message}`));
        socket.on('close', () => resolve('socket closed'));
        const session = http2.connect(`https://127.0.0.1:${a().ready.publicPort}`, { createConnection: () => socket });
        session.on('error', (err) => resolve(`error: ${err.message}`));
        session.on('close', () => resolve('closed'));
        const stream = session.request(
          {
            ':path': '/hello',
            ':authority': new URL(urls.pass).host,
            'x-drawbridge-app': 'x',
            'x-drawbridge-relayed-from': 'intruder',
          },
          { endStream: true },
        );
        stream.on('error', () => {});
        stream.on('response', (h) => {
          resolve(`answered ${String(h[':status'])}`);
          session.destroy();
        });
        setTimeout(() => {
          resolve('timeout');
          session.destroy();
        }, 10_000).unref();
      });
    const connectorCert = {
      cert: await readFile(path.join(connectorDir, 'connector.crt'), 'utf8'),
      key: await readFile(path.join(connectorDir, 'connector.key'), 'utf8'),
    };
    const withConnectorCert = await attempt(connectorCert);
    assert.ok(!withConnectorCert.startsWith('answered') && withConnectorCert !== 'timeout', withConnectorCert);
    const withoutCert = await attempt({});
    assert.ok(!withoutCert.startsWith('answered') && withoutCert !== 'timeout', withoutCert);
    const log = await readFile(path.join(work, 'node-a.log'), 'utf8');
    assert.match(log, /DB-TUNNEL-RELAY-REFUSED/);
  });

  it("figure: the relay's added latency, 500 sequential GETs through node A (relayed) and node B (direct)", async () => {
    const timed = async (node: Child<Ready>): Promise<number> => {
      const started = performance.now();
      const res = await request(at(node, `${urls.pass}hello`), { dispatcher: agent });
      await res.body.text();
      assert.equal(res.statusCode, 200);
      return performance.now() - started;
    };
    // Interleaved, so warm-up and machine load weigh on both alike.
    const direct: number[] = [];
    const relayed: number[] = [];
    for (const node of [b(), a()])
      for (let i = 0; i < 50; i++)
        await (await request(at(node, `${urls.pass}hello`), { dispatcher: agent })).body.text();
    for (let i = 0; i < 500; i++) {
      direct.push(await timed(b()));
      relayed.push(await timed(a()));
    }
    const ms = (v: number): string => v.toFixed(2);
    const line =
      `figure: relay latency, 500 sequential GETs — direct (node B): p50 ${ms(percentile(direct, 50))} ms, p99 ${ms(percentile(direct, 99))} ms; ` +
      `relayed (node A → B): p50 ${ms(percentile(relayed, 50))} ms, p99 ${ms(percentile(relayed, 99))} ms; added p50 ${ms(percentile(relayed, 50) - percentile(direct, 50))} ms, p99 ${ms(percentile(relayed, 99) - percentile(direct, 99))} ms`;
    process.stdout.write(`${line}\n`);
  });
});
