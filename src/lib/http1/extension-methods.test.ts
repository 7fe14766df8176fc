import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net from 'node:net';
import { serveHttp1, originalMethod } from './extension-methods.ts';

/**
 * The extension-method carrier over a plain HTTP server and raw sockets: what a client sees on one connection, and
 * what the server holds for it. Each response's body is `<method> <target>`; `/slow` is answered after 300 ms.
 */
describe('lib/http1 extension methods', { timeout: 120_000 }, () => {
  const raws: net.Socket[] = [];
  let server: http.Server;
  let sibling: http.Server;
  let port: number;
  const received: string[] = [];
  /** The socket each request arrived on, as the server saw it. */
  const carriers = new Set<unknown>();
  /** What the handler was given as the request's method and raw header list. */
  const seenBy: { method?: string; rawHeaders: string[] }[] = [];

  before(async () => {
    const serverOptions: http.ServerOptions = { keepAliveTimeout: 500, headersTimeout: 5_000, requestTimeout: 0 };
    server = http.createServer(serverOptions);
    server.on('connection', (socket: net.Socket) => raws.push(socket));
    ({ sibling } = serveHttp1(server, 'connection', {
      handler(req: IncomingMessage, res: ServerResponse) {
        const line = `${originalMethod(req)} ${req.url}`;
        received.push(line);
        carriers.add(req.socket);
        seenBy.push({ method: req.method, rawHeaders: req.rawHeaders });
        req.resume();
        req.on('end', () => setTimeout(() => res.end(line), req.url === '/slow' ? 300 : 0));
      },
      serverOptions,
      refuse(socket, reason) {
        socket.end(`HTTP/1.1 400 Bad Request\r\nx-reason: ${reason}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`);
      },
      maxHeadBytes: 16_384,
    }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** A client connection that reads whole responses (Content-Length framed, as this server sends them). */
  async function connect(): Promise<{ socket: net.Socket; next(): Promise<string>; closed: Promise<void> }> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    let buffered = '';
    let wake: (() => void) | null = null;
    socket.on('data', (d: Buffer) => {
      buffered += d.toString('latin1');
      wake?.();
    });
    socket.on('close', () => wake?.());
    socket.on('error', () => {});
    return {
      socket,
      closed,
      async next() {
        for (;;) {
          const end = buffered.indexOf('\r\n\r\n');
          if (end >= 0) {
            const length = Number(/content-length: (\d+)/i.exec(buffered.slice(0, end))?.[1] ?? 0);
            if (buffered.length >= end + 4 + length) {
              const response = buffered.slice(0, end + 4 + length);
              buffered = buffered.slice(end + 4 + length);
              return response;
            }
          }
          if (socket.destroyed) return '';
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
      },
    };
  }

  it('carries extension methods one after another on one connection without nesting a layer per request', async () => {
    carriers.clear();
    const client = await connect();
    for (let i = 0; i < 200; i++) {
      client.socket.write(`FOO_BAR /n${i} HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n`);
      const response = await client.next();
      assert.match(response, new RegExp(`^HTTP/1\\.1 200 [\\s\\S]*FOO_BAR /n${i}$`), response);
    }
    // Each move lets the previous carrier go: a chain of one live carrier per request would grow without bound
    // (memory and a stack frame per layer for every byte, until the stack overflows).
    const live = [...carriers].filter((s) => !(s as net.Socket).destroyed);
    assert.equal(live.length, 1, `${live.length} carriers of ${carriers.size} are still alive`);
    client.socket.destroy();
  });

  it('never answers an extension method before the responses already owed on the connection', async () => {
    received.length = 0;
    const client = await connect();
    client.socket.write('GET /slow HTTP/1.1\r\nHost: h\r\n\r\n');
    for (let i = 0; i < 100 && received.length === 0; i++) await sleep(20);
    assert.deepEqual(received, ['GET /slow']);
    client.socket.write('FOO_BAR /fast HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n');
    const first = await client.next();
    assert.match(first, /GET \/slow$/, `the first answer on the connection belongs to the first request: ${first}`);
    const second = await client.next();
    assert.ok(
      second === '' || /FOO_BAR \/fast$/.test(second) || /x-reason: extension-method-not-at-boundary/.test(second),
      second,
    );
    client.socket.destroy();
  });

  it('carries an extension method whose request line arrives in several pieces', async () => {
    const client = await connect();
    for (const piece of ['RDG_OUT', '_DATA /split HT', 'TP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n']) {
      client.socket.write(piece);
      await sleep(100);
    }
    const response = await client.next();
    assert.match(response, /^HTTP\/1\.1 200 [\s\S]*RDG_OUT_DATA \/split$/, response);
    client.socket.destroy();
  });

  it('answers 414 to an extension method whose request line outgrows the head limit', async () => {
    const client = await connect();
    client.socket.write('FOO_BAR /');
    for (let i = 0; i < 5 && !client.socket.destroyed; i++) {
      await sleep(50);
      client.socket.write('a'.repeat(8_192));
    }
    const response = await client.next();
    assert.match(response, /^HTTP\/1\.1 400 [\s\S]*x-reason: uri-too-long/, response);
    client.socket.destroy();
  });

  it('refuses a method that is no token as malformed, not as pipelined', async () => {
    for (const line of [`${'A'.repeat(65)} /long HTTP/1.1`, 'FOO_BAR\t/tab HTTP/1.1', 'FOO\x01BAR /ctl HTTP/1.1']) {
      const client = await connect();
      client.socket.write(`${line}\r\nHost: h\r\n\r\n`);
      const response = await client.next();
      assert.match(response, /^HTTP\/1\.1 400 [\s\S]*x-reason: malformed/, `${JSON.stringify(line)}: ${response}`);
      client.socket.destroy();
    }
  });

  it("hands the handler the client's own method and header list, under the same limits as any request", async () => {
    for (const method of ['GET', 'FOO_BAR']) {
      seenBy.length = 0;
      const client = await connect();
      const fields = Array.from({ length: 11 }, (_, i) => `x-f${i}: ${i}\r\n`).join('');
      client.socket.write(`${method} /own HTTP/1.1\r\nHost: h\r\n${fields}\r\n`);
      assert.match(await client.next(), /^HTTP\/1\.1 200 /);
      client.socket.destroy();
      assert.equal(seenBy[0].method, method);
      assert.deepEqual(
        seenBy[0].rawHeaders.filter((_, i) => i % 2 === 0),
        ['Host', ...Array.from({ length: 11 }, (_, i) => `x-f${i}`)],
        method,
      );
    }
  });

  it('lets both servers forget every connection that carried an extension method once it closes', async () => {
    for (let i = 0; i < 10; i++) {
      const client = await connect();
      // Carried at once, carried after its line arrived in pieces, carried twice, refused as too long.
      const pieces = [
        ['FOO_BAR /a HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'],
        ['RDG_', 'OUT_DATA /b HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n'],
        [
          'FOO_BAR /c HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n',
          'BAZ /d HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n',
        ],
        ['FOO_BAR /', 'e'.repeat(20_000)],
      ][i % 4];
      for (const piece of pieces) {
        client.socket.write(piece);
        await sleep(50);
      }
      for (let answers = i % 4 === 2 ? 2 : 1; answers > 0; answers--)
        assert.match(await client.next(), /^HTTP\/1\.1 (200|400) /);
      client.socket.destroy();
      await client.closed;
    }
    // Node frees a connection's parser from the server's list on the socket's 'close': the carrier must leave that.
    const tracked = (): number => [server, sibling].reduce((n, s) => n + connectionsOf(s), 0);
    for (let i = 0; i < 200 && tracked() > 0; i++) await sleep(25);
    assert.equal(tracked(), 0, 'connections still tracked after every client closed');
  });

  it('closes a connection that carried an extension method once it idles past keepAliveTimeout', async () => {
    const client = await connect();
    client.socket.write('FOO_BAR /idle HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n');
    assert.match(await client.next(), /^HTTP\/1\.1 200 /);
    let timer: NodeJS.Timeout | undefined;
    const closedInTime = await Promise.race([
      client.closed.then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), 20_000);
      }),
    ]);
    clearTimeout(timer);
    client.socket.destroy();
    assert.ok(closedInTime, 'an idle connection on the sibling server must be closed by keepAliveTimeout (500 ms)');
  });
});

/** Connections an HTTP server still tracks (Node's list behind closeAllConnections and the header timeout). */
function connectionsOf(server: http.Server): number {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections');
  const list = key && (server as unknown as Record<symbol, { all(): unknown[] } | undefined>)[key];
  return list ? list.all().length : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
