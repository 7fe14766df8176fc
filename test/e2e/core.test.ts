import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import WebSocket from 'ws';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import net from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { register } from '../../src/connector/enroll/register.ts';
import { startDevStack, url, rssOf, logsOf, loopbackLookup, type DevStack } from '../helpers/dev-stack.ts';
import { startRdgBackend } from '../fixtures/rdg-backend.ts';

/** The core issue's end-to-end checks, against `drawbridge dev` as `npm start` runs it: real processes, real sockets. */
describe('core: edge, tunnel, connector, passthrough publishing', { timeout: 240_000 }, () => {
  let stack: DevStack;
  let tenantId: string;
  let groupId: string;

  before(async () => {
    stack = await startDevStack();
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    tenantId = tenants.body.items.find((t) => t.name === 'contoso')!.id;
    const groups = await stack.admin<{ items: { id: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`);
    groupId = groups.body.items[0].id;
  });
  after(async () => {
    await stack?.stop();
  });

  const get = (href: string, init: Parameters<typeof request>[1] = {}) =>
    request(href, { dispatcher: stack.agent, ...init });

  async function publish(
    name: string,
    internalUrl: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ id: string; externalUrl: string }> {
    const res = await stack.admin<{ id: string; externalUrl: string }>('POST', `/tenants/${tenantId}/apps`, {
      name,
      internalUrl,
      groupId,
      preAuth: 'passthrough',
      ...extra,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    // The edge pushes the new config to connectors asynchronously; wait until the app answers through a tunnel.
    for (let i = 0; i < 50; i++) {
      const probe = await get(`${res.body.externalUrl}/`, { method: 'HEAD' });
      await probe.body.dump();
      if (probe.headers['x-drawbridge-error'] === undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return res.body;
  }

  it('serves GET through the tunnel', async () => {
    const res = await get(url(stack, 'sample', '/'));
    assert.equal(res.statusCode, 200);
    assert.match(await res.body.text(), /Contoso Intranet/);
  });

  it('streams a POST body up and reports its exact hash', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 17);
    const chunks = Array.from({ length: 13 }, (_, i) =>
      body.subarray(Math.floor((i * body.length) / 13), Math.floor(((i + 1) * body.length) / 13)),
    );
    const res = await get(url(stack, 'sample', '/echo?x=1'), { method: 'POST', body: Readable.from(chunks) });
    const echo = (await res.body.json()) as { method: string; path: string; bodyLength: number; bodySha256: string };
    assert.equal(res.statusCode, 200);
    assert.equal(echo.method, 'POST');
    assert.equal(echo.path, '/echo?x=1');
    assert.equal(echo.bodyLength, body.length);
    assert.equal(echo.bodySha256, createHash('sha256').update(body).digest('hex'));
  });

  it('moves 100 MiB down and 100 MiB up with the edge and connectors staying flat in memory', async (t) => {
    const pids = [stack.dev.edgePid, ...stack.dev.connectors.map((c) => c.pid)];
    const download = async (size: number): Promise<void> => {
      const res = await get(url(stack, 'sample', `/bytes/${size}`));
      let received = 0;
      for await (const chunk of res.body) received += (chunk as Buffer).length;
      assert.equal(received, size);
    };
    const upload = async (mib: number): Promise<void> => {
      const block = Buffer.alloc(1024 * 1024, 7);
      const res = await get(url(stack, 'sample', '/echo'), {
        method: 'PUT',
        headers: { 'content-length': String(mib * block.length) },
        body: Readable.from(
          (function* () {
            for (let i = 0; i < mib; i++) yield block;
          })(),
        ),
      });
      assert.equal(((await res.body.json()) as { bodyLength: number }).bodyLength, mib * block.length);
    };
    const peakDuring = async (work: () => Promise<void>): Promise<number[]> => {
      const peak = pids.map(rssOf);
      const sampler = setInterval(
        () =>
          pids.forEach((pid, i) => {
            peak[i] = Math.max(peak[i], rssOf(pid));
          }),
        20,
      );
      try {
        await work();
      } finally {
        clearInterval(sampler);
      }
      return peak;
    };
    // The first megabytes grow the heap and the allocator's pools once; then memory must stay put however much
    // flows: a proxy that buffered bodies would grow by ~100 MiB per 100 MiB moved.
    // Requests alternate between the two connectors: warm both, in both directions.
    const warm = await peakDuring(async () => {
      for (let i = 0; i < 4; i++) {
        await download(32 * 1024 * 1024);
        await upload(32);
      }
    });
    let downMs = 0;
    let upMs = 0;
    const loaded = await peakDuring(async () => {
      let started = performance.now();
      await download(100 * 1024 * 1024);
      downMs = performance.now() - started;
      started = performance.now();
      await upload(100);
      upMs = performance.now() - started;
    });
    const names = ['edge', ...stack.dev.connectors.map((_, i) => `connector-${i + 1}`)];
    t.diagnostic(
      `100 MiB down ${(100 / (downMs / 1000)).toFixed(0)} MiB/s, up ${(100 / (upMs / 1000)).toFixed(0)} MiB/s; RSS warm peak → loaded peak: ${names.map((n, i) => `${n} ${(warm[i] / 1048576).toFixed(0)} → ${(loaded[i] / 1048576).toFixed(0)} MiB`).join(', ')}`,
    );
    for (const [i, pid] of pids.entries()) {
      const growth = loaded[i] - warm[i];
      assert.ok(
        growth < 32 * 1024 * 1024,
        `process ${pid} grew by ${(growth / 1048576).toFixed(1)} MiB beyond its warm peak of ${(warm[i] / 1048576).toFixed(0)} MiB`,
      );
    }
  });

  it('echoes over a WebSocket through the tunnel', async () => {
    const wsUrl = url(stack, 'sample', '/ws').replace('https:', 'wss:');
    const ws = new WebSocket(wsUrl, { ca: await readFile(stack.dev.caCertPath), lookup: loopbackLookup as never });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const replies: string[] = [];
    ws.on('message', (data) => replies.push(data.toString()));
    for (const text of ['one', 'two', 'x'.repeat(200_000)]) ws.send(text);
    await waitUntil(() => replies.length === 3);
    assert.deepEqual(
      replies.map((r) => r.length),
      [3, 3, 200_000],
    );
    assert.equal(replies[0], 'one');
    ws.close(1000);
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    assert.equal(code, 1000);
  });

  it('carries RD Gateway RDG_OUT_DATA and RDG_IN_DATA as long-lived streams', async () => {
    const rdg = await startRdgBackend({ chunks: 5, intervalMs: 150 });
    try {
      const app = await publish('rdg', `http://127.0.0.1:${rdg.port}`);
      const started = Date.now();
      const out = await get(`${app.externalUrl}/remoteDesktopGateway/`, { method: 'RDG_OUT_DATA' });
      assert.equal(out.statusCode, 200);
      const ticks: number[] = [];
      for await (const chunk of out.body)
        ticks.push(
          Date.now() - started,
          ...(String(chunk).match(/tick/g) ?? []).slice(1).map(() => Date.now() - started),
        );
      assert.equal(ticks.length, 5, 'five chunks arrive one by one');
      assert.ok(ticks[4] - ticks[0] >= 400, 'chunks were streamed, not buffered');
      const body = randomBytes(256 * 1024);
      const inData = await get(`${app.externalUrl}/remoteDesktopGateway/`, {
        method: 'RDG_IN_DATA',
        headers: { 'content-length': String(body.length) },
        body,
      });
      assert.equal(await inData.body.text(), `RDG_IN_DATA received ${body.length} bytes\n`);
      assert.deepEqual(
        rdg.methods.filter((m) => m.startsWith('RDG')),
        ['RDG_OUT_DATA', 'RDG_IN_DATA'],
      );
    } finally {
      await rdg.close();
    }
  });

  it('answers 504 with DB-BACKEND-TIMEOUT when the backend is slower than backendTimeout', async () => {
    const sampleInternal = (
      await stack.admin<{ items: { name: string; internalUrl: string }[] }>('GET', `/tenants/${tenantId}/apps`)
    ).body.items.find((a) => a.name === 'sample')!.internalUrl;
    const app = await publish('slowpoke', sampleInternal, { backendTimeout: 1 });
    const res = await get(`${app.externalUrl}/slow/3`, { headers: { accept: 'application/json' } });
    const body = (await res.body.json()) as { error: { code: string; correlationId: string } };
    assert.equal(res.statusCode, 504);
    assert.equal(body.error.code, 'DB-BACKEND-TIMEOUT');
    assert.ok(body.error.correlationId.length > 6);
    const html = await get(`${app.externalUrl}/slow/3`);
    assert.equal(html.statusCode, 504);
    assert.match(await html.body.text(), /DB-BACKEND-TIMEOUT/);
  });

  it('passes a compressed response through byte for byte', async () => {
    const res = await get(url(stack, 'sample', '/gzip'), { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers['content-encoding'], 'gzip');
    const body = Buffer.from(await res.body.arrayBuffer());
    assert.equal(body[0], 0x1f);
    assert.equal(body[1], 0x8b);
    assert.equal(gunzipSync(body).toString().split('\n').length, 1001);
    assert.equal(Number(res.headers['content-length']), body.length);
  });

  it('validates backend TLS certificates by default, with a per-app custom CA or opt-out', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-tls-'));
    const certs = await createDevCertificates(dir, 'backend.localhost');
    const backend = https.createServer(
      { cert: await readFile(certs.certPath), key: await readFile(certs.keyPath) },
      (_req, res) => res.end('secure backend\n'),
    );
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const internalUrl = `https://127.0.0.1:${(backend.address() as { port: number }).port}`;
    try {
      const strict = await publish('tls-strict', internalUrl);
      const refused = await get(`${strict.externalUrl}/`, { headers: { accept: 'application/json' } });
      assert.equal(refused.statusCode, 502);
      assert.equal(((await refused.body.json()) as { error: { code: string } }).error.code, 'DB-BACKEND-TLS');

      const withCa = await publish('tls-ca', internalUrl, { backendCa: await readFile(certs.caCertPath, 'utf8') });
      const trusted = await get(`${withCa.externalUrl}/`);
      assert.equal(trusted.statusCode, 200);
      assert.equal(await trusted.body.text(), 'secure backend\n');

      const optOut = await publish('tls-off', internalUrl, { tlsVerify: false });
      const unchecked = await get(`${optOut.externalUrl}/`);
      assert.equal(unchecked.statusCode, 200);
      await unchecked.body.dump();
    } finally {
      backend.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses malformed and hostile HTTP with a code and keeps serving', async () => {
    const raw = async (payload: string | Buffer): Promise<string> => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: stack.publicPort,
        servername: `sample-contoso.apps.localhost`,
        ca: await readFile(stack.dev.caCertPath),
        ALPNProtocols: ['http/1.1'],
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      socket.write(payload);
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
      });
      await new Promise((resolve) => {
        socket.once('close', resolve);
        socket.once('end', resolve);
        setTimeout(resolve, 3000);
      });
      socket.destroy();
      return answer;
    };
    const host = `sample-contoso.apps.localhost:${stack.publicPort}`;
    // Request smuggling: Content-Length and Transfer-Encoding together.
    const smuggle = await raw(
      `POST /echo HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    );
    assert.match(smuggle, /^HTTP\/1\.1 400/);
    assert.match(smuggle, /DB-HTTP-BAD-REQUEST/);
    assert.doesNotMatch(smuggle, /\/admin/);
    // Headers past the limit.
    const huge = await raw(`GET / HTTP/1.1\r\nHost: ${host}\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431/);
    assert.match(huge, /DB-HTTP-HEADERS-TOO-LARGE/);
    // A request line that is not HTTP.
    assert.match(await raw('\x00\x01 not http at all\r\n\r\n'), /^HTTP\/1\.1 400/);
    // Request targets that are not plain paths never reach a connector (and cannot make the edge drop its tunnels).
    for (const line of [
      'OPTIONS * HTTP/1.1',
      'GET http://evil.example/ HTTP/1.1',
      'GET /../etc/passwd HTTP/1.1',
      'GET /%2e%2e/secret HTTP/1.1',
    ]) {
      for (let i = 0; i < 3; i++) {
        const answer = await raw(`${line}\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
        assert.match(answer, /^HTTP\/1\.1 400/, line);
        assert.match(answer, /DB-HTTP-BAD-TARGET/, line);
      }
    }
    // Not TLS at all on the public port: closed without an answer.
    const plain = net.connect(stack.publicPort, '127.0.0.1');
    plain.write('GET / HTTP/1.1\r\n\r\n');
    await new Promise((resolve) => plain.once('close', resolve));
    // And the edge still serves.
    const ok = await get(url(stack, 'sample', '/echo'));
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
  });

  it('a backend cannot speak for Drawbridge: its x-drawbridge-* headers are dropped and cannot crash the edge', async () => {
    const backend = http.createServer((_req, res) => {
      res.writeHead(200, {
        'x-drawbridge-error': 'DB-CONNECTOR-TARGET-REFUSED',
        'x-drawbridge-error-detail': '%E0%A4%A',
        'content-type': 'text/plain',
      });
      res.end("the backend's own answer\n");
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    try {
      const app = await publish('spoofer', `http://127.0.0.1:${(backend.address() as { port: number }).port}`);
      for (let i = 0; i < 5; i++) {
        const res = await get(`${app.externalUrl}/`);
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers['x-drawbridge-error'], undefined);
        assert.equal(await res.body.text(), "the backend's own answer\n");
      }
      const ok = await get(url(stack, 'sample', '/echo'));
      assert.equal(ok.statusCode, 200, 'the edge is still up');
      await ok.body.dump();
    } finally {
      backend.close();
    }
  });

  it('answers an unknown host with a 404 page carrying its code', async () => {
    const res = await get(`https://nosuchapp-contoso.apps.localhost:${stack.publicPort}/`);
    assert.equal(res.statusCode, 404);
    const page = await res.body.text();
    assert.match(page, /DB-ROUTE-UNKNOWN-HOST/);
    assert.match(page, /Correlation id/);
  });

  it('replaces a client-supplied X-Forwarded-For and strips forged x-drawbridge-* headers', async () => {
    const res = await get(url(stack, 'sample', '/echo'), {
      headers: {
        'x-forwarded-for': '6.6.6.6',
        'x-forwarded-host': 'evil.example',
        'x-drawbridge-identity': 'forged',
        forwarded: 'for=6.6.6.6',
      },
    });
    const { headers } = (await res.body.json()) as { headers: Record<string, string> };
    assert.equal(headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(headers['x-forwarded-proto'], 'https');
    assert.match(headers['x-forwarded-host'], /^sample-contoso\.apps\.localhost/);
    assert.equal(headers['x-drawbridge-identity'], undefined);
    assert.equal(headers.forwarded, undefined);
    assert.equal(Object.keys(headers).filter((h) => h.startsWith('x-drawbridge')).length, 0);
  });

  it('refuses a reused enrollment token and an expired one', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-conn-'));
    const opts = {
      edgeUrl: `https://tunnel.apps.localhost:${stack.publicPort}`,
      caFile: stack.dev.caCertPath,
      version: 'test',
      connectAddress: `127.0.0.1:${stack.publicPort}`,
    };
    const isInvalidToken = (err: { code?: string }) => err.code === 'DB-ENROLL-TOKEN-INVALID';
    try {
      const once = await stack.admin<{ token: string }>('POST', `/tenants/${tenantId}/enrollment-tokens`, {
        groupId,
        ttlSeconds: 600,
      });
      await register({ ...opts, token: once.body.token, stateDir: path.join(dir, 'a') });
      await assert.rejects(
        register({ ...opts, token: once.body.token, stateDir: path.join(dir, 'b') }),
        isInvalidToken,
      );

      // Expiry: move the token's expiry into the past in the edge's own database (the edge re-reads it per use).
      const late = await stack.admin<{ token: string; id: string }>('POST', `/tenants/${tenantId}/enrollment-tokens`, {
        groupId,
        ttlSeconds: 600,
      });
      const db = new DatabaseSync(path.join(stack.dir, 'edge', 'drawbridge.db'));
      db.prepare('UPDATE enrollment_tokens SET expires_at = ? WHERE id = ?').run(
        new Date(Date.now() - 1000).toISOString(),
        late.body.id,
      );
      db.close();
      await assert.rejects(
        register({ ...opts, token: late.body.token, stateDir: path.join(dir, 'c') }),
        isInvalidToken,
      );
      await assert.rejects(
        register({ ...opts, token: 'dbe_enr_0000000000000000.forged', stateDir: path.join(dir, 'd') }),
        isInvalidToken,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a disabled connector's certificate and keeps serving through the other one", async () => {
    const [first, second] = stack.dev.connectors;
    const patched = await stack.admin('PATCH', `/tenants/${tenantId}/connectors/${first.id}`, { enabled: false });
    assert.equal(patched.status, 200);
    await waitUntil(async () => (await connectorLive(first.id)).tunnels === 0);
    // It keeps redialling and the edge keeps refusing it.
    await waitUntil(async () => {
      const audit = await stack.admin<{ items: { action: string; target: string }[] }>(
        'GET',
        `/tenants/${tenantId}/audit-log?action=connector.refused`,
      );
      return audit.body.items.some((e) => e.target === first.id);
    }, 30_000);
    assert.equal((await connectorLive(first.id)).tunnels, 0);
    for (let i = 0; i < 20; i++) {
      const res = await get(url(stack, 'sample', '/echo'));
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    }
    assert.ok((await connectorLive(second.id)).tunnels > 0);
    await stack.admin('PATCH', `/tenants/${tenantId}/connectors/${first.id}`, { enabled: true });
  });

  async function connectorLive(id: string): Promise<{ tunnels: number }> {
    const res = await stack.admin<{ live: { tunnels: number } }>('GET', `/tenants/${tenantId}/connectors/${id}`);
    return res.body.live;
  }

  process.on('exit', (code) => {
    if (code !== 0 && stack) process.stderr.write(logsOf(stack.dir));
  });
});

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
