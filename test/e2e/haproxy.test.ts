import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { haproxyAvailable, startHaproxy, type RunningHaproxy } from '../../src/cli/haproxy.ts';
import { startDevStack, logsOf, url, type DevStack } from '../helpers/dev-stack.ts';
import { Client, formValue } from './identity-harness.ts';

/**
 * The deployment docs/architecture.md documents ("Behind a load balancer"): Debian's haproxy in TCP mode in front of
 * the edge, health-checking it over TLS and sending PROXY protocol v2. haproxy reaches the edge from 127.0.0.2, the
 * only trusted address; clients come from 127.0.0.5 (through haproxy) or 127.0.0.9 (straight to the edge).
 */
const HAPROXY = haproxyAvailable();
const PROXY_SOURCE = '127.0.0.2';
const CLIENT = '127.0.0.5';
const STRANGER = '127.0.0.9';

describe('haproxy in front of the edge (PROXY protocol v2)', {
  timeout: 300_000,
  skip: HAPROXY ? false : 'haproxy is not on PATH (apt-get install haproxy; .ci/run installs it)',
}, () => {
  let stack: DevStack;
  let haproxy: RunningHaproxy | null = null;
  const serverState = async (): Promise<{ status: string; check: string } | null> =>
    (await haproxy!.serverStates()).get('edge1') ?? null;
  let dir: string;
  let frontendPort: number;
  let edgePort: number;

  before(async () => {
    stack = await startDevStack(['--trusted-proxy', `${PROXY_SOURCE}/32`]);
    edgePort = stack.publicPort;
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-haproxy-'));
    frontendPort = await freePort();
    haproxy = await startHaproxy(dir, {
      bind: { host: '127.0.0.1', port: frontendPort },
      servers: [{ name: 'edge1', host: '127.0.0.1', port: edgePort }],
      source: PROXY_SOURCE,
      healthHost: 'login.apps.localhost',
      statsSocket: path.join(dir, 'stats.sock'),
    });
    // Up once its first health check (a LOCAL PROXY header, then TLS and GET /healthz) passed.
    await waitFor(async () => (await serverState())?.check === 'L7OK', 30_000, 'haproxy to see the edge healthy');
  });

  after(async () => {
    await haproxy?.stop();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the health check passes over TLS with the PROXY header haproxy sends (LOCAL)', async () => {
    const state = await serverState();
    assert.equal(state?.status, 'UP', haproxy?.output());
    assert.equal(state?.check, 'L7OK');
  });

  it("the backend sees the client's address in X-Forwarded-For, not haproxy's nor what the client claims", async () => {
    const client = new Client(frontendPort, { localAddress: CLIENT });
    const res = await client.request(url(stack, 'sample', '/echo'), {
      headers: { 'x-forwarded-for': '6.6.6.6', forwarded: 'for=6.6.6.6', accept: 'application/json' },
    });
    assert.equal(res.status, 200, res.body);
    const echo = JSON.parse(res.body) as { headers: Record<string, string> };
    assert.equal(echo.headers['x-forwarded-for'], CLIENT);
    assert.equal(echo.headers.forwarded, undefined);
    // Straight to the edge from an untrusted address: that address, and no PROXY header was needed.
    const direct = await new Client(edgePort, { localAddress: STRANGER }).request(url(stack, 'sample', '/echo'));
    assert.equal((JSON.parse(direct.body) as { headers: Record<string, string> }).headers['x-forwarded-for'], STRANGER);
  });

  it("a sign-in through haproxy is logged with the client's address", async () => {
    const alice = (stack.dev as unknown as { users: { username: string; password: string }[] }).users.find(
      (u) => u.username === 'alice',
    )!;
    const client = new Client(frontendPort, { localAddress: CLIENT });
    const login = await client.follow(url(stack, 'hr', '/'));
    assert.ok(login.body.includes('name="password"'), `expected the sign-in page, got ${login.status} at ${login.url}`);
    const done = await client.follow(new URL('/login', login.url).href, {
      form: {
        csrf: formValue(login.body, 'csrf'),
        state: formValue(login.body, 'state'),
        username: 'alice',
        password: alice.password,
      },
    });
    assert.equal(done.status, 200, `${done.url}\n${done.body.slice(0, 300)}`);
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    const tenant = tenants.body.items.find((t) => t.name === stack.dev.tenant)!;
    const log = await stack.admin<{ items: { username: string | null; result: string; clientIp: string | null }[] }>(
      'GET',
      `/tenants/${tenant.id}/signin-log`,
    );
    const success = log.body.items.find((e) => e.result === 'success' && e.username?.startsWith('alice'));
    assert.ok(success, JSON.stringify(log.body));
    assert.equal(success.clientIp, CLIENT);
  });

  it('conditional access reads the client address from the PROXY header: from the Blocked range through haproxy, DB-CA-BLOCKED', async () => {
    // haproxy itself connects from 127.0.0.2, inside the demo's Office: only the header's address can block this.
    const alice = (stack.dev as unknown as { users: { username: string; password: string }[] }).users.find(
      (u) => u.username === 'alice',
    )!;
    const client = new Client(frontendPort, { localAddress: '127.0.0.70' });
    const login = await client.follow(url(stack, 'hr', '/'));
    assert.ok(login.body.includes('name="password"'), `expected the sign-in page, got ${login.status} at ${login.url}`);
    const done = await client.follow(new URL('/login', login.url).href, {
      form: {
        csrf: formValue(login.body, 'csrf'),
        state: formValue(login.body, 'state'),
        username: 'alice',
        password: alice.password,
      },
    });
    assert.equal(done.status, 403, `${done.url}\n${done.body.slice(0, 300)}`);
    assert.match(done.body, /DB-CA-BLOCKED/);
  });

  it('a PROXY header from an address not trusted is refused, and so is a trusted address without one', async () => {
    const forged = proxyV2Header('6.6.6.6', 40000, '127.0.0.1', edgePort);
    assert.equal(await tlsOutcome(edgePort, STRANGER, forged), 'closed');
    assert.equal(await tlsOutcome(edgePort, PROXY_SOURCE, null), 'closed');
    // The same TLS client gets through from the untrusted address without a header, and from the proxy with one.
    assert.equal(await tlsOutcome(edgePort, STRANGER, null), 'secure');
    assert.equal(await tlsOutcome(edgePort, PROXY_SOURCE, forged), 'secure');
    await waitFor(
      async () => {
        const log = await readFile(path.join(stack.dir, 'logs', 'edge.log'), 'utf8');
        return log.includes('DB-PROXY-HEADER-REFUSED') && log.includes('DB-PROXY-HEADER-MISSING');
      },
      10_000,
      'the refusals in the edge log',
    );
  });

  it('a draining edge fails its health check: haproxy takes it out', async () => {
    process.kill(stack.dev.edgePid, 'SIGTERM');
    await waitFor(
      async () => (await serverState())?.status.startsWith('DOWN') ?? false,
      30_000,
      'haproxy to mark the edge down',
    );
  });

  async function waitFor(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!(await check().catch(() => false))) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what}\n--- haproxy\n${haproxy?.output()}\n${logsOf(stack.dir)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** A PROXY protocol v2 header for a TCP/IPv4 connection, built by hand. */
function proxyV2Header(source: string, sourcePort: number, destination: string, destinationPort: number): Buffer {
  const header = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(header);
  header[12] = 0x21; // version 2, PROXY
  header[13] = 0x11; // TCP over IPv4
  header.writeUInt16BE(12, 14);
  Buffer.from(source.split('.').map(Number)).copy(header, 16);
  Buffer.from(destination.split('.').map(Number)).copy(header, 20);
  header.writeUInt16BE(sourcePort, 24);
  header.writeUInt16BE(destinationPort, 26);
  return header;
}

/** Opens TCP from `localAddress`, sends `prefix` if any, then a TLS handshake: did it complete or was it closed? */
function tlsOutcome(port: number, localAddress: string, prefix: Buffer | null): Promise<'secure' | 'closed'> {
  return new Promise((resolve) => {
    const raw = net.connect({ host: '127.0.0.1', port, localAddress }, () => {
      if (prefix) raw.write(prefix);
      const secure = tls.connect({ socket: raw, servername: 'login.apps.localhost', rejectUnauthorized: false });
      secure.once('secureConnect', () => {
        secure.destroy();
        resolve('secure');
      });
      secure.once('error', () => resolve('closed'));
      secure.once('close', () => resolve('closed'));
    });
    raw.once('error', () => resolve('closed'));
  });
}
