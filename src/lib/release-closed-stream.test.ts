import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Stream, type ServerHttp2Stream } from 'node:http2';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { releaseWhenClosed } from './release-closed-stream.ts';
import { Tunnel } from '../edge/tunnel/tunnel.ts';

/** A real HTTP/2 server on loopback whose streams answer 1 KiB; `onStream` sees each server stream first. */
async function server(onStream: (s: ServerHttp2Stream) => void = () => {}) {
  const h2 = http2.createServer();
  h2.on('stream', (stream) => {
    onStream(stream);
    stream.respond({ ':status': 200 });
    stream.end(Buffer.alloc(1024));
  });
  h2.listen(0, '127.0.0.1');
  await once(h2, 'listening');
  const session = http2.connect(`http://127.0.0.1:${(h2.address() as AddressInfo).port}`);
  await once(session, 'connect');
  return {
    session,
    close: async () => {
      session.close();
      await new Promise((r) => h2.close(r));
    },
  };
}

/** Reads the response to the end and waits for the stream's 'close' and the turn after it. */
async function finish(stream: ClientHttp2Stream): Promise<void> {
  stream.resume();
  await once(stream, 'close');
  await nextTurn();
}

/** Every listener a stream still holds, by event (the no-op error listener left on purpose aside). */
function held(stream: ClientHttp2Stream | ServerHttp2Stream): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of stream.eventNames()) {
    const n = stream.listenerCount(name) - (name === 'error' ? 1 : 0);
    if (n > 0) out[String(name)] = n;
  }
  return out;
}

describe('releaseWhenClosed', () => {
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of closers) await c();
  });

  it('drops the listeners of a closed client stream, and with them what they reach', async () => {
    const s = await server();
    closers.push(s.close);
    const stream = s.session.request({ ':path': '/' });
    const request = { body: Buffer.alloc(64 * 1024) }; // stands for the request a handler's closures keep
    stream.on('response', () => request.body.length);
    stream.on('end', () => request.body.length);
    releaseWhenClosed(stream);
    await finish(stream);
    assert.deepEqual(held(stream), {});
    assert.equal(stream.listenerCount('error'), 1, 'a late error still has a listener');
    stream.emit('error', new Error('late')); // does not throw
  });

  it('leaves an open stream alone', async () => {
    const s = await server();
    closers.push(s.close);
    const stream = s.session.request({ ':path': '/' });
    stream.on('response', () => {});
    releaseWhenClosed(stream);
    await once(stream, 'response');
    assert.equal(stream.listenerCount('response'), 1);
    await finish(stream);
  });

  it('drops the listeners of a closed server stream', async () => {
    let serverStream: ServerHttp2Stream | undefined;
    const s = await server((stream) => {
      serverStream = stream;
      stream.on('aborted', () => {});
      releaseWhenClosed(stream);
    });
    closers.push(s.close);
    const stream = s.session.request({ ':path': '/' });
    await finish(stream);
    assert.ok(serverStream);
    if (!serverStream.closed) await once(serverStream, 'close');
    await nextTurn();
    assert.deepEqual(held(serverStream), {});
  });

  it("is what a tunnel does with every stream it opens (the edge's side)", async () => {
    const s = await server();
    closers.push(s.close);
    const tunnel = new Tunnel({
      id: 'tun_1',
      connectorId: 'con_1',
      tenantId: 'ten_1',
      groupId: 'grp_1',
      certSerial: '01',
      session: s.session,
      address: '127.0.0.1',
      version: 'test',
      hostname: 'test',
    });
    const stream = tunnel.request({ ':path': '/' }, {});
    stream.on('response', () => {});
    await finish(stream);
    assert.equal(tunnel.inFlight, 0);
    assert.deepEqual(held(stream), {});
  });
});
