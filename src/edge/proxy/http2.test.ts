import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createDevCertificates } from '../../pki/dev-certs.ts';
import { serveEdgeHttp2, type EdgeHttp2 } from './http2.ts';

/** The HTTP/2 front on its own, over real sockets: idle sessions end, busy ones do not; drain sends GOAWAY. */
describe('edge HTTP/2 front', () => {
  let dir: string;
  let front: EdgeHttp2;
  let port: number;
  let ca: string;
  const held: http2.Http2ServerResponse[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-h2-'));
    const certs = await createDevCertificates(path.join(dir, 'certs'), 'apps.localhost');
    ca = await readFile(certs.caCertPath, 'utf8');
    front = serveEdgeHttp2({
      tls: { cert: await readFile(certs.certPath), key: await readFile(certs.keyPath) },
      // /hold keeps its response open (a long poll); anything else is answered at once.
      handler: (req, res) => {
        if (req.url === '/hold') { res.writeHead(200); res.write('started'); held.push(res as unknown as http2.Http2ServerResponse); return; }
        res.end(`host=${req.headers.host}`);
      },
      maxHeaderBytes: 8192, maxHeaderCount: 50, idleTimeoutMs: 1000, logger: pino({ level: 'silent' }),
    });
    await new Promise<void>((resolve) => front.server.listen(0, '127.0.0.1', resolve));
    port = (front.server.address() as AddressInfo).port;
  });
  after(async () => {
    for (const r of held) r.end();
    front.closeAllSessions();
    await new Promise((r) => front.server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const connect = (): http2.ClientHttp2Session => {
    const s = http2.connect(`https://sample-contoso.apps.localhost:${port}`, { ca, host: '127.0.0.1', servername: 'sample-contoso.apps.localhost' } as http2.SecureClientSessionOptions);
    s.on('error', () => {});
    return s;
  };
  const goaway = (s: http2.ClientHttp2Session): Promise<number> => new Promise((resolve) => s.once('goaway', (code: number) => resolve(code)));

  it('answers with Host taken from :authority', async () => {
    const s = connect();
    const stream = s.request({ ':path': '/' });
    let body = '';
    stream.setEncoding('utf8').on('data', (c: string) => { body += c; });
    await new Promise((r) => stream.once('end', r));
    assert.equal(body, `host=sample-contoso.apps.localhost:${port}`);
    s.destroy();
  });

  it('closes a session with nothing in flight after the idle timeout (GOAWAY NO_ERROR), but not one holding a stream', async () => {
    const idle = connect();
    const busy = connect();
    const stream = busy.request({ ':path': '/hold' });
    await new Promise((r) => stream.once('response', r));
    let busyGone = false;
    busy.once('goaway', () => { busyGone = true; });
    const code = await goaway(idle);
    assert.equal(code, http2.constants.NGHTTP2_NO_ERROR);
    // Twice the idle timeout later the held stream's session is still there.
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(busyGone, false);
    assert.equal(busy.destroyed, false);
    busy.destroy();
  });

  it('drain: closeIdleSessions sends GOAWAY, and a stream in flight still finishes', async () => {
    const s = connect();
    const stream = s.request({ ':path': '/hold' });
    await new Promise((r) => stream.once('response', r));
    const away = goaway(s);
    front.closeIdleSessions();
    assert.equal(await away, http2.constants.NGHTTP2_NO_ERROR);
    let body = '';
    stream.setEncoding('utf8').on('data', (c: string) => { body += c; });
    held.at(-1)!.end(' finished');
    await new Promise((r) => stream.once('end', r));
    assert.equal(body, 'started finished');
    s.destroy();
  });
});
