import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import pino from 'pino';
import { createDevCertificates } from '../../pki/dev-certs.ts';
import { serveEdgeHttp2, type EdgeHttp2 } from './http2.ts';
import { ClientLimits } from '../listen/client-limits.ts';

/** The HTTP/2 front on its own, over real sockets: idle sessions end, busy ones do not; drain sends GOAWAY. */
describe('edge HTTP/2 front', { timeout: 60_000 }, () => {
  let dir: string;
  let tlsOptions: { cert: Buffer; key: Buffer };
  let ca: string;
  let front: EdgeHttp2;
  let port: number;
  const fronts: EdgeHttp2[] = [];
  const held: http2.Http2ServerResponse[] = [];

  /** A front behind per-client limits; /hold keeps its response open (a long poll), anything else is answered. */
  async function startFront(
    idleTimeoutMs: number,
    maxConnectionsPerClient: number,
  ): Promise<{ front: EdgeHttp2; port: number }> {
    const limits = new ClientLimits({
      maxConnectionsPerClient,
      maxRequestsPerClient: 100,
      logger: pino({ level: 'silent' }),
    });
    const started = serveEdgeHttp2({
      tls: tlsOptions,
      handler: (req, res) => {
        if (!limits.admit(req, res)) return;
        if (req.url === '/hold') {
          res.writeHead(200);
          res.write('started');
          held.push(res as unknown as http2.Http2ServerResponse);
          return;
        }
        res.end(`host=${req.headers.host}`);
      },
      maxHeaderBytes: 8192,
      maxHeaderCount: 50,
      idleTimeoutMs,
      logger: pino({ level: 'silent' }),
    });
    limits.countConnections(started.server);
    fronts.push(started);
    await new Promise<void>((resolve) => started.server.listen(0, '127.0.0.1', resolve));
    return { front: started, port: (started.server.address() as AddressInfo).port };
  }

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-h2-'));
    const certs = await createDevCertificates(path.join(dir, 'certs'), 'apps.localhost');
    ca = await readFile(certs.caCertPath, 'utf8');
    tlsOptions = { cert: await readFile(certs.certPath), key: await readFile(certs.keyPath) };
    ({ front, port } = await startFront(1000, 100));
  });
  after(async () => {
    for (const r of held) r.end();
    for (const f of fronts) {
      f.closeAllSessions();
      await new Promise((r) => f.server.close(r));
    }
    await rm(dir, { recursive: true, force: true });
  });

  /** A session from `from` to the front on `to` (default: the one with a 1 s idle timeout). */
  const connect = (from = '127.0.0.1', to = port): http2.ClientHttp2Session => {
    const s = http2.connect(`https://sample-contoso.apps.localhost:${to}`, {
      createConnection: () =>
        tls.connect({
          socket: net.connect({ host: '127.0.0.1', port: to, localAddress: from }),
          ca,
          servername: 'sample-contoso.apps.localhost',
          ALPNProtocols: ['h2'],
        }),
    });
    s.on('error', () => {});
    return s;
  };
  const goaway = (s: http2.ClientHttp2Session): Promise<number> =>
    new Promise((resolve) => s.once('goaway', (code: number) => resolve(code)));

  it('answers with Host taken from :authority', async () => {
    const s = connect();
    const stream = s.request({ ':path': '/' });
    let body = '';
    stream.setEncoding('utf8').on('data', (c: string) => {
      body += c;
    });
    await new Promise((r) => stream.once('end', r));
    assert.equal(body, `host=sample-contoso.apps.localhost:${port}`);
    s.destroy();
  });

  it('closes a session with nothing in flight after the idle timeout (GOAWAY NO_ERROR), but not one holding a stream', async () => {
    const idle = connect('127.0.0.2');
    const busy = connect('127.0.0.2');
    const stream = busy.request({ ':path': '/hold' });
    await new Promise((r) => stream.once('response', r));
    let busyGone = false;
    busy.once('goaway', () => {
      busyGone = true;
    });
    const code = await goaway(idle);
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    // Twice the idle timeout later the held stream's session is still there.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(busyGone, false);
    assert.equal(busy.destroyed, false);
    busy.destroy();
  });

  it("a session over the client's connection limit gets 503 DB-HTTP-TOO-MANY-CONNECTIONS, then GOAWAY", async () => {
    // A front without idle timeout: the GOAWAY can only come from the limit.
    const limited = await startFront(0, 3);
    const sessions = [1, 2, 3].map(() => connect('127.0.0.3', limited.port));
    const statusOf = (s: http2.ClientHttp2Session): Promise<{ status: number; code: unknown }> =>
      new Promise((resolve, reject) => {
        const stream = s.request({ ':path': '/' });
        stream.once('response', (h) => {
          resolve({ status: Number(h[':status']), code: h['x-drawbridge-error'] });
          stream.resume();
        });
        stream.once('error', reject);
      });
    for (const s of sessions) assert.equal((await statusOf(s)).status, 200);
    const extra = connect('127.0.0.3', limited.port);
    const away = goaway(extra);
    assert.deepEqual(await statusOf(extra), { status: 503, code: 'DB-HTTP-TOO-MANY-CONNECTIONS' });
    assert.equal(await away, http2.constants.NGHTTP2_NO_ERROR);
    for (const s of [...sessions, extra]) s.destroy();
  });

  it('drain: closeIdleSessions sends GOAWAY, and a stream in flight still finishes', async () => {
    const s = connect('127.0.0.4');
    const stream = s.request({ ':path': '/hold' });
    await new Promise((r) => stream.once('response', r));
    const away = goaway(s);
    front.closeIdleSessions();
    assert.equal(await away, http2.constants.NGHTTP2_NO_ERROR);
    let body = '';
    stream.setEncoding('utf8').on('data', (c: string) => {
      body += c;
    });
    held.at(-1)!.end(' finished');
    await new Promise((r) => stream.once('end', r));
    assert.equal(body, 'started finished');
    s.destroy();
  });
});
