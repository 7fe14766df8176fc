import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import path from 'node:path';
import { Duplex } from 'node:stream';
import { readFile, writeFile } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { request } from 'undici';
import { startChild, stopChild } from '../../src/cli/child.ts';
import { CLIENT_QUEUE, CONTENDED } from '../../src/connector/forward/backend-pool.ts';
import { startLoggingBackend, type LoggingBackend } from '../fixtures/logging-backend.ts';
import { startDevStack, url, logsOf, type DevStack } from '../helpers/dev-stack.ts';
import { waitUntil } from '../helpers/load.ts';

/** waitUntil, with a failure message that describes the state at the deadline. */
async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  try {
    await waitUntil(check, timeoutMs, '');
  } catch {
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`);
  }
}

/** Small limits so that every timeout below fires within seconds. */
const LIMITS = {
  headersTimeoutMs: 2_000,
  keepAliveTimeoutMs: 1_000,
  handshakeTimeoutMs: 3_000,
  bodyIdleTimeoutMs: 5_000,
  maxConnectionsPerClient: 650,
  maxRequestsPerClient: 600,
};

/**
 * Slow and idle clients (issue 9, V3 and V4), against `drawbridge dev` whose edge runs with the small limits above:
 * slowloris, idle and stalled-handshake connections are closed; slow uploads from one client address (127.0.0.2)
 * cannot take the sample app from another (127.0.0.1); a stalled body reaches the backend as an aborted request.
 */
describe('slow clients: header, idle and body timeouts, per-client limits', { timeout: 300_000 }, () => {
  let stack: DevStack;
  let edge: ChildProcess | null = null;
  let ca: Buffer;
  let sampleHost: string;
  let tenantId: string;
  let groupId: string;
  let backend: LoggingBackend;

  before(async () => {
    stack = await startDevStack();
    backend = await startLoggingBackend();
    ca = await readFile(stack.dev.caCertPath);
    sampleHost = new URL(url(stack, 'sample', '/')).host;
    tenantId = (await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants')).body.items.find(
      (t) => t.name === 'contoso',
    )!.id;
    groupId = (await stack.admin<{ items: { id: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`)).body
      .items[0].id;
    // The same edge, restarted with the small limits (connectors redial it by themselves).
    const file = path.join(stack.dir, 'edge.yaml');
    const config = parseYaml(await readFile(file, 'utf8')) as Record<string, Record<string, unknown>>;
    config.listen.port = stack.publicPort;
    config.admin.port = Number(new URL(stack.dev.adminUrl).port);
    config.limits = LIMITS;
    await writeFile(file, toYaml(config));
    const oldPid = stack.dev.edgePid;
    process.kill(oldPid, 'SIGTERM');
    await waitUntil(
      () => {
        try {
          process.kill(oldPid, 0);
          return false;
        } catch {
          return true;
        }
      },
      30_000,
      'the first edge exits',
    );
    edge = (await startChild(['edge', '--config', file], path.join(stack.dir, 'logs', 'edge-limits.log'))).process;
    await waitUntil(
      async () => (await get(url(stack, 'sample', '/')).catch(() => '')) === '200',
      30_000,
      'the sample app answers through the restarted edge',
    );
  });
  after(async () => {
    if (edge) await stopChild(edge, 5_000);
    await stack?.stop();
    await backend?.close();
  });

  /** A GET through the stack's agent (client address 127.0.0.1): its status, and the edge's code if any. */
  async function get(href: string): Promise<string> {
    const res = await request(href, { dispatcher: stack.agent, headersTimeout: 15_000, bodyTimeout: 15_000 });
    await res.body.dump();
    const code = res.headers['x-drawbridge-error'];
    return code === undefined ? String(res.statusCode) : `${res.statusCode} ${String(code)}`;
  }

  function open(localAddress: string): Promise<Client> {
    return Client.open({
      host: '127.0.0.1',
      port: stack.publicPort,
      servername: sampleHost.split(':')[0],
      ca,
      localAddress,
    });
  }

  /** Opens `count` connections, 50 at a time; `first` is written on each as soon as it is open. */
  async function openMany(count: number, localAddress: string, first?: string): Promise<Client[]> {
    const clients: Client[] = [];
    const openOne = async (): Promise<Client> => {
      const client = await open(localAddress);
      if (first !== undefined) client.write(first);
      return client;
    };
    for (let i = 0; i < count; i += 50)
      clients.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, openOne))));
    return clients;
  }

  async function publish(name: string, internalUrl: string): Promise<string> {
    const res = await stack.admin<{ externalUrl: string }>('POST', `/tenants/${tenantId}/apps`, {
      name,
      internalUrl,
      groupId,
      preAuth: 'passthrough',
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    await waitUntil(
      async () => {
        const probe = await request(`${res.body.externalUrl}/`, { dispatcher: stack.agent, method: 'HEAD' }).catch(
          () => null,
        );
        await probe?.body.dump();
        return probe !== null && probe.headers['x-drawbridge-error'] === undefined;
      },
      20_000,
      `app ${name} reachable`,
    );
    return new URL(res.body.externalUrl).host;
  }

  it('closes 300 slowloris connections with 408 DB-HTTP-TIMEOUT while another client is served', async () => {
    const loris = await openMany(300, '127.0.0.3');
    for (const c of loris) c.write(`GET / HTTP/1.1\r\nhost: ${sampleHost}\r\nx-slow: `);
    const drip = setInterval(() => {
      for (const c of loris) if (!c.closed) c.write('a');
    }, 500);
    const served: string[] = [];
    try {
      await waitFor(
        async () => {
          served.push(await get(url(stack, 'sample', '/')));
          return loris.every((c) => c.closed);
        },
        60_000,
        () => `slowloris connections closed (${loris.filter((c) => !c.closed).length} of 300 still open)`,
      );
    } finally {
      clearInterval(drip);
      for (const c of loris) c.destroy();
    }
    assert.deepEqual(
      loris
        .filter((c) => !/^HTTP\/1\.1 408 /.test(c.text) || !/x-drawbridge-error: DB-HTTP-TIMEOUT/i.test(c.text))
        .map((c) => c.text.slice(0, 80)),
      [],
    );
    assert.ok(
      served.length > 0 && served.every((s) => s === '200'),
      `the other client was served throughout: ${served.join(' ')}`,
    );
  });

  it('closes a TLS connection that never sends a request, and a keep-alive connection left idle', async () => {
    const silent = await open('127.0.0.4');
    const idle = await open('127.0.0.4');
    idle.write(`GET / HTTP/1.1\r\nhost: ${sampleHost}\r\n\r\n`);
    try {
      await waitFor(
        () => silent.closed && idle.closed,
        20_000,
        () => `idle connections closed (silent ${silent.closed}, keep-alive ${idle.closed})`,
      );
    } finally {
      silent.destroy();
      idle.destroy();
    }
    assert.match(silent.text, /^HTTP\/1\.1 408 [^]*x-drawbridge-error: DB-HTTP-TIMEOUT/i);
    assert.match(idle.text, /^HTTP\/1\.1 200 /, 'the keep-alive connection was answered before it idled');
  });

  it('closes a connection that sends nothing, and one that stalls its TLS handshake after the ClientHello', async () => {
    const mute = net.connect({ host: '127.0.0.1', port: stack.publicPort, localAddress: '127.0.0.4' });
    const stalled = net.connect({ host: '127.0.0.1', port: stack.publicPort, localAddress: '127.0.0.4' });
    // A real ClientHello from Node's TLS client, whose answers are never fed back: it never sends its Finished.
    const pipe = new Duplex({
      read() {},
      write(chunk, _encoding, done) {
        if (!stalled.destroyed) stalled.write(chunk);
        done();
      },
    });
    const client = tls.connect({ socket: pipe, servername: sampleHost.split(':')[0], ca });
    client.on('error', () => {});
    let muteClosed = false;
    let stalledClosed = false;
    let stalledReplied = false;
    for (const s of [mute, stalled]) s.on('error', () => {});
    mute.once('close', () => {
      muteClosed = true;
    });
    stalled.once('close', () => {
      stalledClosed = true;
    });
    stalled.on('data', () => {
      stalledReplied = true;
    });
    try {
      await waitFor(
        () => muteClosed && stalledClosed,
        20_000,
        () => `connections closed (mute ${muteClosed}, stalled handshake ${stalledClosed})`,
      );
    } finally {
      mute.destroy();
      stalled.destroy();
      client.destroy();
    }
    assert.ok(stalledReplied, 'the edge answered the ClientHello (the handshake had started)');
  });

  it('aborts a stalled request body: 408 DB-HTTP-TIMEOUT, and the backend sees an aborted request', async () => {
    const host = await publish('slowbody', `http://127.0.0.1:${backend.port}`);
    const c = await open('127.0.0.5');
    c.write(`POST /upload HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 100\r\n\r\n0123456789`);
    try {
      await waitFor(
        () => c.closed && backend.requests.some((r) => r.target === '/upload' && r.outcome !== 'open'),
        30_000,
        () =>
          `client answered and closed (${c.closed}: ${JSON.stringify(c.text.slice(0, 60))}) and the backend saw the request end (${JSON.stringify(backend.requests)})`,
      );
    } finally {
      c.destroy();
    }
    assert.match(c.text, /^HTTP\/1\.1 408 [^]*x-drawbridge-error: DB-HTTP-TIMEOUT/i);
    const seen = backend.requests.filter((r) => r.target === '/upload');
    assert.deepEqual(
      seen.map((r) => r.outcome),
      ['aborted'],
      'the backend saw the request aborted, never complete',
    );
    assert.ok(seen[0].body.length <= 10);
  });

  it('does not time out the body of an RD Gateway channel (RDG_IN_DATA) that pauses', async () => {
    const host = await publish('gateway', `http://127.0.0.1:${backend.port}`);
    const c = await open('127.0.0.5');
    c.write(`RDG_IN_DATA /remoteDesktopGateway/ HTTP/1.1\r\nhost: ${host}\r\ncontent-length: 20\r\n\r\n01234`);
    await waitUntil(
      () => backend.requests.some((r) => r.target === '/remoteDesktopGateway/' && r.body.length === 5),
      20_000,
      'the first bytes reach the backend',
    );
    // Silent for longer than the body idle timeout: the channel stays open.
    await new Promise((r) => setTimeout(r, LIMITS.bodyIdleTimeoutMs + 2_000));
    c.write('56789abcdefghij');
    try {
      await waitFor(
        () => /"bodyLength":20/.test(c.text),
        20_000,
        () => `the channel completed (${JSON.stringify(c.text)})`,
      );
    } finally {
      c.destroy();
    }
    assert.deepEqual(
      backend.requests.filter((r) => r.target === '/remoteDesktopGateway/').map((r) => `${r.method} ${r.outcome}`),
      ['RDG_IN_DATA complete'],
    );
  });

  it('slow uploads from one client address cannot starve another: the edge and the connectors bound each client', async () => {
    // 700 POSTs trickling one byte a second from 127.0.0.2: past the edge's limits (650 connections, 600 requests) and
    // past what both connectors let one client hold and queue (2 × (CONTENDED + CLIENT_QUEUE) = 512).
    // Each request is written as its connection opens: on a loaded machine 700 handshakes outlast the header timeout.
    const slow = await openMany(
      700,
      '127.0.0.2',
      `POST /echo HTTP/1.1\r\nhost: ${sampleHost}\r\ncontent-length: 1000000\r\n\r\nx`,
    );
    const drip = setInterval(() => {
      for (const c of slow) if (!c.closed && c.text === '') c.write('x');
    }, 1_000);
    const pending = (): number => slow.filter((c) => c.text === '' && !c.closed).length;
    try {
      // Each connector lets one client hold at most CONTENDED backend connections and queue CLIENT_QUEUE more; everything beyond is answered.
      await waitFor(
        () => pending() <= 2 * (CONTENDED + CLIENT_QUEUE),
        60_000,
        () => `client 127.0.0.2 held to its share (${pending()} requests still in progress)`,
      );
      for (let i = 0; i < 10; i++)
        assert.equal(await get(url(stack, 'sample', '/')), '200', 'the other client is served');
      const echo = await request(url(stack, 'sample', '/echo'), {
        dispatcher: stack.agent,
        method: 'POST',
        body: 'hello',
        headersTimeout: 15_000,
      });
      assert.equal(echo.statusCode, 200, `a POST from the other client: ${String(echo.headers['x-drawbridge-error'])}`);
      assert.equal(((await echo.body.json()) as { bodyLength: number }).bodyLength, 5);
    } finally {
      clearInterval(drip);
      for (const c of slow) c.destroy();
    }
    const answers = new Map<string, number>();
    for (const c of slow.filter((s) => s.text !== '')) {
      const key = `${/^HTTP\/1\.1 (\d+)/.exec(c.text)?.[1]} ${/x-drawbridge-error: ([A-Z-]+)/i.exec(c.text)?.[1]}`;
      answers.set(key, (answers.get(key) ?? 0) + 1);
    }
    const seen = [...answers.keys()].sort();
    // Every answer is one of the bounds (which ones fire first depends on how fast 700 connections open on this
    // machine: a connection whose request is written late meets the header timeout), and a per-client limit fired.
    const bounds = [
      '408 DB-HTTP-TIMEOUT',
      '429 DB-BACKEND-CLIENT-SHARE',
      '429 DB-HTTP-TOO-MANY-REQUESTS',
      '503 DB-HTTP-TOO-MANY-CONNECTIONS',
    ];
    const detail = `answers to 127.0.0.2: ${JSON.stringify([...answers])}\n${logsOf(stack.dir)}`;
    assert.deepEqual(
      seen.filter((k) => !bounds.includes(k)),
      [],
      detail,
    );
    assert.ok(
      seen.some((k) => k !== '408 DB-HTTP-TIMEOUT'),
      detail,
    );
  });
});

/** A raw TLS client that keeps everything it reads. */
class Client {
  text = '';
  closed = false;
  readonly socket: tls.TLSSocket;

  private constructor(socket: tls.TLSSocket) {
    this.socket = socket;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.text += d;
    });
    socket.on('error', () => {});
    socket.once('close', () => {
      this.closed = true;
    });
  }

  static open(options: tls.ConnectionOptions & { localAddress: string }): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ ...options, ALPNProtocols: ['http/1.1'] }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    if (!this.socket.destroyed) this.socket.write(text);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
