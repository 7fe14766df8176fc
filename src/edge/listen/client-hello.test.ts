import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { peekClientHello } from './client-hello.ts';

/** Captures the first bytes a real Node TLS client sends. */
async function captureHello(options: tls.ConnectionOptions): Promise<Buffer> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const got = new Promise<Buffer>((resolve) =>
    server.once('connection', (s) =>
      s.once('data', (d: Buffer) => {
        resolve(d);
        s.destroy();
      }),
    ),
  );
  const client = tls.connect({ host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, ...options });
  client.on('error', () => {});
  const hello = await got;
  client.destroy();
  server.close();
  return hello;
}

test('reads SNI and ALPN from a real ClientHello', async () => {
  const hello = await captureHello({
    servername: 'tunnel.apps.example.com',
    ALPNProtocols: ['drawbridge-tunnel/1', 'h2'],
  });
  const result = peekClientHello(hello);
  assert.equal(result.kind, 'hello');
  if (result.kind !== 'hello') return;
  assert.equal(result.info.serverName, 'tunnel.apps.example.com');
  assert.deepEqual(result.info.alpn, ['drawbridge-tunnel/1', 'h2']);
});

test('a ClientHello without SNI or ALPN still parses', async () => {
  const hello = await captureHello({ servername: '' });
  const result = peekClientHello(hello);
  assert.equal(result.kind, 'hello');
  if (result.kind === 'hello') assert.deepEqual(result.info, { serverName: null, alpn: [] });
});

test('asks for more bytes until the record is complete, whatever the split', async () => {
  const hello = await captureHello({ servername: 'hr.apps.example.com' });
  for (const cut of [1, 4, 5, 40, hello.length - 1])
    assert.equal(peekClientHello(hello.subarray(0, cut)).kind, 'need-more', `cut at ${cut}`);
  assert.equal(peekClientHello(hello).kind, 'hello');
});

test('plain HTTP and garbage are not TLS', () => {
  assert.equal(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n\r\n')).kind, 'not-tls');
  assert.equal(peekClientHello(Buffer.from([0x16, 3, 1, 0, 4, 2, 0, 0, 0])).kind, 'not-tls');
  // A truncated extension block must not throw.
  const bogus = Buffer.from([0x16, 3, 1, 0, 8, 1, 0, 0, 4, 3, 3, 0xff, 0xff]);
  assert.notEqual(peekClientHello(bogus).kind, 'hello');
});
