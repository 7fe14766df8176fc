import { test } from 'node:test';
import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session, type Http2Server, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { once } from 'node:events';
import pino from 'pino';
import { TunnelRegistry } from '../tunnel/registry.ts';
import { Tunnel } from '../tunnel/tunnel.ts';
import { ERROR_HEADER } from '../../tunnel/protocol.ts';
import { streamToGroup, type FailReason } from './stream-to-group.ts';
import { REPLAY_BUDGET, REPLAY_LIMIT, ReplayableBody, replayBytesKept } from './replayable-body.ts';

/**
 * A POST whose first stream is turned away after its body went out (the connector applied a config without the app,
 * as it does mid-move) is sent again, whole, to another connector — over real HTTP/2 sessions, through the one request
 * path. A body over the limit is not, and says so.
 */

const logger = pino({ level: 'silent' });

interface Connector {
  server: Http2Server;
  session: ClientHttp2Session;
  tunnel: Tunnel;
  /** Bytes of each request body this connector read, in arrival order. */
  bodies: Buffer[];
}

/** An h2c server standing in for a connector: `refuse` reads the whole body, then answers as a connector without the app. */
async function connector(
  id: string,
  refuse: (stream: ServerHttp2Stream, sofar: number) => boolean,
): Promise<Connector> {
  const bodies: Buffer[] = [];
  const server = http2.createServer();
  server.on('stream', (stream) => {
    const chunks: Buffer[] = [];
    let answered = false;
    const answer = (refused: boolean): void => {
      if (answered) return;
      answered = true;
      if (refused)
        stream.respond({ ':status': 502, [ERROR_HEADER]: 'DB-CONNECTOR-TARGET-REFUSED' }, { endStream: true });
      else {
        stream.respond({ ':status': 200 });
        stream.end(Buffer.concat(chunks));
      }
    };
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (refuse(stream, Buffer.concat(chunks).length)) answer(true);
    });
    stream.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      answer(refuse(stream, Number.POSITIVE_INFINITY));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const session = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await once(session, 'connect');
  const tunnel = new Tunnel({
    id: `tun_${id}`,
    connectorId: id,
    tenantId: 'tnt',
    certSerial: 'ab',
    groupId: 'g',
    session,
    address: '127.0.0.1',
    version: 'test',
    hostname: 'test',
  });
  tunnel.acknowledge(1, ['app']);
  return { server, session, tunnel, bodies };
}

interface Result {
  status: 'answered' | 'failed';
  body: Buffer;
  retried: FailReason | null;
  code?: string;
}

/** POSTs `source` to the group: the refusing connector first (the other one counts as tried), the other after it. */
function post(registry: TunnelRegistry, source: PassThrough, first: Connector, other: Connector): Promise<Result> {
  const body = new ReplayableBody(source);
  return new Promise((resolve) => {
    streamToGroup(
      registry,
      {
        groupId: 'g',
        appId: 'app',
        headers: { ':method': 'POST', ':path': '/upload' },
        options: { endStream: false },
        idempotent: false,
        resendable: () => body.resendable,
        wanted: () => true,
        tried: new Set([other.tunnel.connectorId, other.tunnel.processKey]),
        correlationId: 'c',
        logger,
      },
      {
        onOpen: (stream) => body.attach(stream),
        onAbandon: (stream) => body.detach(stream),
        onResponse: async (stream, _headers, _tunnel, retried) => {
          body.release();
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          resolve({ status: 'answered', body: Buffer.concat(chunks), retried });
        },
        onFail: (code) => resolve({ status: 'failed', body: Buffer.alloc(0), retried: null, code }),
      },
    );
  });
}

async function pair(refuseFirst: (stream: ServerHttp2Stream, sofar: number) => boolean) {
  const a = await connector('a', refuseFirst);
  const b = await connector('b', () => false);
  const registry = new TunnelRegistry();
  registry.add(a.tunnel);
  registry.add(b.tunnel);
  return {
    a,
    b,
    registry,
    async close() {
      for (const c of [a, b]) {
        c.session.destroy();
        c.server.close();
      }
    },
  };
}

const bytes = (n: number, seed: number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) % 251));

test('a body the first connector read and turned away reaches the second whole', async () => {
  const lab = await pair(() => true);
  try {
    const content = bytes(20_000, 1);
    const source = new PassThrough();
    source.end(content);
    const result = await post(lab.registry, source, lab.a, lab.b);
    assert.equal(result.status, 'answered', result.code);
    assert.equal(result.retried, 'refused');
    assert.deepEqual(lab.a.bodies, [content], 'the first connector read the whole body before it refused');
    assert.ok(result.body.equals(content), 'the second connector got every byte, once, in order');
  } finally {
    await lab.close();
  }
});

test('turned away mid-body: the second connector gets what was sent, then the rest as the client sends it', async () => {
  // Refuses once the first part has arrived; the client sends the second part only after that.
  let refusedAt = 0;
  const lab = await pair((_stream, sofar) => {
    if (sofar >= 8_000 && refusedAt === 0) refusedAt = sofar;
    return sofar >= 8_000;
  });
  try {
    const first = bytes(8_000, 2);
    const second = bytes(12_000, 3);
    const source = new PassThrough();
    source.write(first);
    const answered = post(lab.registry, source, lab.a, lab.b);
    while (refusedAt === 0) await new Promise((r) => setTimeout(r, 5));
    source.end(second);
    const result = await answered;
    assert.equal(result.status, 'answered', result.code);
    assert.equal(result.retried, 'refused');
    assert.ok(result.body.equals(Buffer.concat([first, second])), 'both parts, in order, nothing twice');
  } finally {
    await lab.close();
  }
});

test(`a body over ${REPLAY_LIMIT} bytes is not kept: turned away after it went, the request fails, never half-sent`, async () => {
  const lab = await pair(() => true);
  try {
    const source = new PassThrough();
    source.end(bytes(REPLAY_LIMIT + 1_000, 4));
    const result = await post(lab.registry, source, lab.a, lab.b);
    assert.deepEqual([result.status, result.code], ['failed', 'DB-TUNNEL-STREAM-FAILED']);
    assert.deepEqual(lab.b.bodies, [], 'the second connector never saw a part of it');
  } finally {
    await lab.close();
  }
});

test('nothing is kept once the response has started', () => {
  const source = new PassThrough();
  const body = new ReplayableBody(source);
  const sink = new PassThrough();
  body.attach(sink);
  source.write(Buffer.from('abc'));
  assert.equal(body.resendable, true);
  body.release();
  assert.equal(body.resendable, false);
  assert.equal(source.listenerCount('data'), 1, 'only the pipe still listens');
});

test('all bodies together keep at most the budget; a released body gives its share back', async () => {
  const chunk = Buffer.alloc(REPLAY_LIMIT - 1);
  const bodies: { body: ReplayableBody; source: PassThrough }[] = [];
  const fits = Math.floor(REPLAY_BUDGET / chunk.length);
  for (let i = 0; i <= fits; i++) {
    const source = new PassThrough();
    const body = new ReplayableBody(source);
    body.attach(new PassThrough().resume());
    source.write(chunk);
    bodies.push({ body, source });
  }
  await new Promise((r) => setImmediate(r));
  assert.equal(replayBytesKept(), fits * chunk.length, 'the budget is full');
  assert.equal(bodies.filter((b) => b.body.resendable).length, fits, 'the body past the budget is not kept');
  bodies[0].body.release();
  bodies[0].body.release();
  assert.equal(replayBytesKept(), (fits - 1) * chunk.length, 'released once, counted once');
  for (const { body } of bodies) body.release();
  assert.equal(replayBytesKept(), 0);
});

/** A stream standing in for a tunnel stream: `stalled` takes writes and never finishes one (its window is full). */
function sink(stalled: boolean): { stream: Writable; got: Buffer[] } {
  const got: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, done) {
      got.push(chunk);
      if (!stalled) done();
    },
  });
  stream.on('error', () => {});
  return { stream, got };
}

test('abandoned while its stream pushed back, with another listener on the body: nothing flows until the next stream', async () => {
  for (const path of ['closed first (REFUSED_STREAM)', 'detached first (target refused)']) {
    const source = new PassThrough();
    source.once('resume', () => source.on('data', () => {})); // the body idle timer's listener (listen/body-idle.ts)
    const body = new ReplayableBody(source);
    const first = sink(true);
    body.attach(first.stream);
    const sent: Buffer[] = [];
    const send = (i: number): void => {
      sent.push(Buffer.from(`chunk${i};`));
      source.write(sent[sent.length - 1]);
    };
    for (let i = 0; i < 8; i++) send(i);
    await new Promise((r) => setTimeout(r, 10));
    if (path.startsWith('closed')) {
      first.stream.once('close', () => body.detach(first.stream));
      first.stream.destroy();
      await new Promise((r) => setImmediate(r));
    } else {
      body.detach(first.stream);
      first.stream.destroy();
    }
    // Waiting for another tunnel; the client goes on sending and finishes.
    for (let i = 8; i < 12; i++) send(i);
    source.end();
    await new Promise((r) => setTimeout(r, 10));
    const second = sink(false);
    body.attach(second.stream);
    await once(second.stream, 'finish');
    body.release();
    assert.equal(Buffer.concat(second.got).toString(), Buffer.concat(sent).toString(), path);
  }
});

test('a body sent a byte per chunk is kept as one buffer, not a Buffer per byte', async () => {
  const source = new PassThrough();
  const body = new ReplayableBody(source);
  const first = sink(false);
  body.attach(first.stream);
  for (let i = 0; i < 1_000; i++) source.write(Buffer.from([i % 256]));
  await new Promise((r) => setImmediate(r));
  assert.equal(replayBytesKept(), 2 * 1024, 'one 2 KiB copy holds the 1,000 bytes');
  body.detach(first.stream);
  source.end();
  const second = sink(false);
  body.attach(second.stream);
  await once(second.stream, 'finish');
  assert.deepEqual(
    [...Buffer.concat(second.got)],
    Array.from({ length: 1_000 }, (_, i) => i % 256),
  );
  body.release();
  assert.equal(replayBytesKept(), 0);
});
