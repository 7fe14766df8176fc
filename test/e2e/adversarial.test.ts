import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { startLoggingBackend, type LoggingBackend } from '../fixtures/logging-backend.ts';

/**
 * The edge as an attacker meets it: raw bytes over real TLS to `drawbridge dev`, with a backend that logs exactly
 * what reached it. Each case asserts what the client got and what the backend saw (method, target, body, and whether
 * the body arrived whole), once.
 */
describe('adversarial: HTTP/1.1 framing at the edge', { timeout: 240_000 }, () => {
  let stack: DevStack;
  let backend: LoggingBackend;
  let ca: string;
  let host: string;

  before(async () => {
    stack = await startDevStack();
    ca = await readFile(stack.dev.caCertPath, 'utf8');
    backend = await startLoggingBackend();
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    const tenantId = tenants.body.items.find((t) => t.name === 'contoso')!.id;
    const groups = await stack.admin<{ items: { id: string }[] }>('GET', `/tenants/${tenantId}/connector-groups`);
    const app = await stack.admin<{ externalUrl: string }>('POST', `/tenants/${tenantId}/apps`, {
      name: 'logged',
      internalUrl: `http://127.0.0.1:${backend.port}`,
      groupId: groups.body.items[0].id,
      preAuth: 'passthrough',
    });
    assert.equal(app.status, 201);
    host = new URL(app.body.externalUrl).hostname;
    // Wait until both connectors serve the app (a probe that the backend logs, then forgets).
    for (let i = 0; i < 100; i++) {
      const answer = await exchange(`GET /probe HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      if (answer.startsWith('HTTP/1.1 200')) break;
      await sleep(100);
    }
    await sleep(500);
    backend.requests.length = 0;
  });
  after(async () => {
    await stack?.stop();
    await backend?.close();
  });

  /** Sends `parts` (one write each, `gapMs` apart) and returns everything the edge answered until it closed. */
  async function exchange(
    parts: string | (string | Buffer)[],
    options: { gapMs?: number; waitMs?: number; destroyAfterMs?: number; host?: string } = {},
  ): Promise<string> {
    const socket = tls.connect({ host: '127.0.0.1', port: stack.publicPort, servername: options.host ?? host, ca });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    let answer = '';
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
    });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    for (const part of Array.isArray(parts) ? parts : [parts]) {
      if (socket.destroyed) break;
      socket.write(part);
      if (options.gapMs) await sleep(options.gapMs);
    }
    if (options.destroyAfterMs !== undefined) {
      await sleep(options.destroyAfterMs);
      socket.destroy();
    }
    await Promise.race([closed, sleep(options.waitMs ?? 5_000)]);
    socket.destroy();
    return answer;
  }

  /** The answer's status lines and headers, without the (long) error pages, for assertion messages. */
  const heads = (answer: string): string =>
    answer
      .split(/\r\n\r\n/)
      .filter((part) => part.startsWith('HTTP/'))
      .join('\n---\n');
  const statuses = (answer: string): string[] => [...answer.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  const codes = (answer: string): string[] => [...answer.matchAll(/^x-drawbridge-error: (\S+)/gim)].map((m) => m[1]);
  /**
   * The first request is answered; the refused one either gets its code or, when Node closed the connection after
   * that answer (Connection: close), nothing: an unanswered pipelined request is the client's to retry (RFC 9112 §9.3.2).
   */
  const assertAnsweredThenRefused = (answer: string): void => {
    const [first, ...rest] = statuses(answer);
    assert.equal(first, '200', heads(answer));
    assert.deepEqual(rest, rest.length ? ['400'] : [], heads(answer));
    if (rest.length) assert.deepEqual(codes(answer), ['DB-HTTP-EXTENSION-METHOD-PIPELINED']);
    else assert.match(answer, /^connection: close/im, heads(answer));
  };
  const seen = (): string[] =>
    backend.requests.map(
      (r) => `${r.method} ${r.target} ${r.body.toString('latin1')}${r.complete ? '' : ' (aborted)'}`,
    );

  it('V1: an extension method behind a POST in one packet is refused; the POST reaches the backend once', async () => {
    backend.requests.length = 0;
    const answer = await exchange(
      `POST /t HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\n\r\nhelloFOO_BAR /x HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    );
    assertAnsweredThenRefused(answer);
    await backend.waitFor(1);
    await sleep(300);
    assert.deepEqual(seen(), ['POST /t hello']);
  });

  it('V1: bytes framed as a body are never executed as a request', async () => {
    backend.requests.length = 0;
    const smuggled = `DELETE /victim HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    const answer = await exchange(
      `POST /t HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}RDG_OUT_DATA /y HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
    );
    assertAnsweredThenRefused(answer);
    await backend.waitFor(1);
    await sleep(300);
    assert.deepEqual(seen(), [`POST /t ${smuggled}`]);
  });

  it('V1: repeated many times, the edge stays bounded and keeps serving everyone', async () => {
    backend.requests.length = 0;
    const packet = `POST /r HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\n\r\nhelloFOO_BAR /x HTTP/1.1\r\nHost: ${host}\r\n\r\n`;
    for (let round = 0; round < 5; round++) await Promise.all(Array.from({ length: 10 }, () => exchange(packet)));
    await backend.waitFor(50);
    await sleep(300);
    assert.equal(backend.requests.length, 50, seen().join('\n'));
    assert.ok(backend.requests.every((r) => r.method === 'POST' && r.body.toString() === 'hello' && r.complete));
    const ok = await exchange(`GET /after HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(ok), ['200']);
  });

  it('carries an extension method as the first request of a connection, and after earlier requests completed', async () => {
    backend.requests.length = 0;
    const answer = await exchange(
      [
        `RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\n\r\n`,
        `GET /plain HTTP/1.1\r\nHost: ${host}\r\n\r\n`,
        `FOO_BAR /second HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 3\r\n\r\nabc`,
        `BAZ_QUX /third HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`,
      ],
      { gapMs: 400 },
    );
    assert.deepEqual(statuses(answer), ['200', '200', '200', '200'], heads(answer));
    await backend.waitFor(4);
    assert.deepEqual(seen(), [
      'RDG_OUT_DATA /remoteDesktopGateway/ ',
      'GET /plain ',
      'FOO_BAR /second abc',
      'BAZ_QUX /third ',
    ]);
  });

  it('the demo sample app receives RD Gateway methods, so a user sees the method arrive', async () => {
    const sample = new URL(stack.dev.apps.find((a) => a.name === 'sample')!.externalUrl).hostname;
    const answer = await exchange(
      `RDG_OUT_DATA /echo HTTP/1.1\r\nHost: ${sample}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      { host: sample },
    );
    assert.deepEqual(statuses(answer), ['200'], heads(answer));
    assert.match(answer, /"method":"RDG_OUT_DATA"/);
  });

  it('a request at the header limits crosses the tunnel whole: the tunnel never refuses what the edge accepted', async () => {
    backend.requests.length = 0;
    // 200 fields in all (the default limits.maxHeaderCount) and close to 32 KiB (limits.maxHeaderBytes).
    const fields = Array.from(
      { length: 197 },
      (_, i) => `x-f${String(i).padStart(3, '0')}: ${'v'.repeat(140)}\r\n`,
    ).join('');
    const answer = await exchange(
      `GET /at-limit HTTP/1.1\r\nHost: ${host}\r\n${fields}User-Agent: t\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(statuses(answer), ['200'], heads(answer));
    const [logged] = await backend.waitFor(1);
    assert.equal(Object.keys(logged.headers).filter((h) => /^x-f\d{3}$/.test(h)).length, 197);
  });

  it('a header block over the size limit gets 431 at the edge', async () => {
    const answer = await exchange(
      `GET /big HTTP/1.1\r\nHost: ${host}\r\nx-big: ${'b'.repeat(40 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual([statuses(answer), codes(answer)], [['431'], ['DB-HTTP-HEADERS-TOO-LARGE']], heads(answer));
  });

  it("a declined upgrade relays the backend's own answer", async () => {
    backend.requests.length = 0;
    const answer = await exchange(
      `GET /ws HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    assert.deepEqual([statuses(answer), codes(answer)], [['200'], []], heads(answer));
    assert.match(answer, /"target":"\/ws"/, answer);
  });

  it('V2: a chunked body cut off by the client reaches the backend as aborted', async () => {
    backend.requests.length = 0;
    await exchange(
      [`POST /cut HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n`, Buffer.alloc(4096, 0x61)],
      { gapMs: 300, destroyAfterMs: 500 },
    );
    const [logged] = await backend.waitFor(1);
    assert.equal(logged.target, '/cut');
    assert.equal(logged.complete, false, 'the backend must see an aborted request');
  });

  it('V2: a malformed chunked body gets 400 and reaches the backend as aborted', async () => {
    backend.requests.length = 0;
    const answer = await exchange(
      [`POST /bad HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc`, 'def\r\n0\r\n\r\n'],
      { gapMs: 300 },
    );
    assert.deepEqual(statuses(answer), ['400'], heads(answer));
    assert.deepEqual(codes(answer), ['DB-HTTP-BAD-REQUEST']);
    const [logged] = await backend.waitFor(1);
    assert.equal(logged.complete, false, 'the backend must see an aborted request');
  });

  it('V2: a Content-Length body cut off by the client reaches the backend as aborted', async () => {
    backend.requests.length = 0;
    await exchange([`POST /short HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100\r\n\r\n`, 'only-part'], {
      gapMs: 300,
      destroyAfterMs: 300,
    });
    const [logged] = await backend.waitFor(1);
    assert.equal(logged.complete, false);
  });

  it('a Content-Length body whose Connection header names content-length still reaches the backend whole, once', async () => {
    backend.requests.length = 0;
    // The edge drops fields named in Connection (RFC 9110 §7.6.1), Content-Length among them: it must then frame the
    // body as one of unknown length for the connector, not leave the connector to refuse it as cut off.
    const answer = await exchange(
      `POST /named HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 5\r\nConnection: close, content-length\r\n\r\nhello`,
    );
    assert.deepEqual([statuses(answer), codes(answer)], [['200'], []], heads(answer));
    await backend.waitFor(1);
    await sleep(300);
    assert.deepEqual(seen(), ['POST /named hello']);
  });

  it('answers Expect: 100-continue itself, forwards the body without Expect, and refuses other expectations', async () => {
    backend.requests.length = 0;
    const body = 'x'.repeat(4096);
    const answer = await exchange(
      [
        `POST /expect HTTP/1.1\r\nHost: ${host}\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        body,
      ],
      { gapMs: 500 },
    );
    assert.deepEqual(statuses(answer), ['100', '200'], heads(answer));
    const [logged] = await backend.waitFor(1);
    assert.equal(logged.body.length, body.length);
    assert.equal(logged.headers.expect, undefined);
    const refused = await exchange(
      `POST /expect HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 3\r\nExpect: something-else\r\nConnection: close\r\n\r\nabc`,
    );
    assert.deepEqual(statuses(refused), ['417'], heads(refused));
    assert.deepEqual(codes(refused), ['DB-HTTP-EXPECTATION-FAILED']);
  });

  it('Host rules, CONNECT, and long targets get their own codes', async () => {
    backend.requests.length = 0;
    const noHost = await exchange('GET / HTTP/1.1\r\nConnection: close\r\n\r\n');
    assert.deepEqual([statuses(noHost), codes(noHost)], [['400'], ['DB-HTTP-HOST-INVALID']], heads(noHost));
    const twoHosts = await exchange(
      `GET / HTTP/1.1\r\nHost: ${host}\r\nHost: other.example\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual([statuses(twoHosts), codes(twoHosts)], [['400'], ['DB-HTTP-HOST-INVALID']], heads(twoHosts));
    const connect = await exchange(`CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: 127.0.0.1:22\r\n\r\n`);
    assert.deepEqual([statuses(connect), codes(connect)], [['405'], ['DB-HTTP-METHOD-NOT-SUPPORTED']], heads(connect));
    const longTarget = await exchange(`GET /${'a'.repeat(64 * 1024)} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.deepEqual([statuses(longTarget), codes(longTarget)], [['414'], ['DB-HTTP-URI-TOO-LONG']], heads(longTarget));
    assert.deepEqual(seen(), []);
  });

  it('clients that hang up or break their body before the answer never count against a tunnel', async () => {
    backend.requests.length = 0;
    const ejectedBefore = ejections(stack);
    // Another user's POST is waiting for its (slow) answer: an ejected tunnel would fail it with 502.
    const victim = exchange(
      `POST /slow-headers HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok`,
      { waitMs: 20_000 },
    );
    await backend.waitFor(1);
    await Promise.all([
      ...Array.from({ length: 12 }, () =>
        exchange(`GET /slow-headers HTTP/1.1\r\nHost: ${host}\r\n\r\n`, { destroyAfterMs: 300 }),
      ),
      ...Array.from({ length: 6 }, () =>
        exchange(
          [`POST /broken HTTP/1.1\r\nHost: ${host}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc`, 'def\r\n0\r\n\r\n'],
          { gapMs: 200 },
        ),
      ),
    ]);
    const answer = await victim;
    assert.deepEqual([statuses(answer), codes(answer)], [['200'], []], heads(answer));
    assert.equal(ejections(stack) - ejectedBefore, 0, 'no tunnel may be ejected by what clients do');
  });

  it('too many headers get 431 at the edge and never count against a tunnel', async () => {
    backend.requests.length = 0;
    const many = Array.from({ length: 600 }, (_, i) => `x-h${i}: ${i}\r\n`).join('');
    for (let i = 0; i < 10; i++) {
      const answer = await exchange(`GET /many HTTP/1.1\r\nHost: ${host}\r\n${many}Connection: close\r\n\r\n`);
      assert.deepEqual([statuses(answer), codes(answer)], [['431'], ['DB-HTTP-HEADERS-TOO-LARGE']], heads(answer));
    }
    // Every tunnel is still in rotation: the group health shows no ejected tunnel and requests flow.
    const ok = await exchange(`GET /fine HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(statuses(ok), ['200']);
    const connectors = await stack.admin<{ items: { name: string; live?: { tunnels: number } }[] }>(
      'GET',
      `/tenants/${await tenantIdOf(stack)}/connectors`,
    );
    assert.deepEqual(
      connectors.body.items.map((c) => [c.name, c.live?.tunnels]),
      [
        ['dev-connector-1', 2],
        ['dev-connector-2', 2],
      ],
    );
    assert.deepEqual(seen(), ['GET /fine ']);
  });
});

/** Tunnel ejections the edge has logged so far. */
function ejections(stack: DevStack): number {
  return (readFileSync(path.join(stack.dir, 'logs', 'edge.log'), 'utf8').match(/"msg":"tunnel ejected"/g) ?? []).length;
}

async function tenantIdOf(stack: DevStack): Promise<string> {
  const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
  return tenants.body.items.find((t) => t.name === 'contoso')!.id;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
