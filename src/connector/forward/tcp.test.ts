/**
 * TCP channels at the connector (issue 13), over a real HTTP/2 server running the forwarder and a real TCP backend:
 * the connector dials only the app's own tcp://host:port, pipes bytes both ways and maps half-close both ways.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { once } from 'node:events';
import {
  APP_HEADER,
  ERROR_HEADER,
  REQUEST_ID_HEADER,
  TCP_HEADER,
  type ConnectorAppConfig,
} from '../../tunnel/protocol.ts';
import { createLogger } from '../../lib/log.ts';
import { AppConfigTable } from './app-config.ts';
import { BackendPools } from './backend-pool.ts';
import { createForwarder } from './forwarder.ts';

let echo: net.Server;
let other: net.Server;
let server: http2.Http2Server;
let client: http2.ClientHttp2Session;
let otherConnections = 0;

const app = (id: string, internalUrl: string): ConnectorAppConfig => ({
  id,
  name: id,
  internalUrl,
  backendTimeout: 5,
  tlsVerify: true,
  backendCa: null,
});
const portOf = (s: net.Server): number => (s.address() as net.AddressInfo).port;

before(async () => {
  // Echoes, and ends its side only after the client ended its own: a half-close must cross both ways.
  echo = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
  });
  other = net.createServer((socket) => {
    otherConnections++;
    socket.destroy();
  });
  await Promise.all([
    new Promise<void>((r) => echo.listen(0, '127.0.0.1', r)),
    new Promise<void>((r) => other.listen(0, '127.0.0.1', r)),
  ]);
  const apps = new AppConfigTable();
  apps.apply({
    version: 1,
    tenantId: 't',
    groupId: 'g',
    apps: [app('app_tcp', `tcp://127.0.0.1:${portOf(echo)}`), app('app_web', `http://127.0.0.1:${portOf(echo)}`)],
  });
  const forward = createForwarder({ apps, pools: new BackendPools(), logger: createLogger('test', 'silent') });
  server = http2.createServer();
  server.on('stream', forward);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  client = http2.connect(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
});

after(async () => {
  client.close();
  server.close();
  echo.close();
  other.close();
});

function open(appId: string, target: string): http2.ClientHttp2Stream {
  return client.request(
    { ':method': 'POST', ':path': '/', [APP_HEADER]: appId, [REQUEST_ID_HEADER]: 'test', [TCP_HEADER]: target },
    { endStream: false },
  );
}

test("a channel to the app's own target echoes, and a half-close crosses both ways", async () => {
  const stream = open('app_tcp', `127.0.0.1:${portOf(echo)}`);
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(headers[':status'], 200);
  const chunks: Buffer[] = [];
  stream.on('data', (d: Buffer) => chunks.push(d));
  stream.end('hello through the tunnel');
  await once(stream, 'end');
  assert.equal(Buffer.concat(chunks).toString(), 'hello through the tunnel');
});

test("a target that is not the app's own is refused, and nothing is dialled", async () => {
  const stream = open('app_tcp', `127.0.0.1:${portOf(other)}`);
  const [headers] = (await once(stream, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(headers[ERROR_HEADER], 'DB-CONNECTOR-TCP-TARGET-REFUSED');
  assert.equal(headers[':status'], 403);
  assert.equal(otherConnections, 0);
});

test('a TCP channel to an HTTP app is refused, as is an HTTP request to a TCP app', async () => {
  const channel = open('app_web', `127.0.0.1:${portOf(echo)}`);
  const [h1] = (await once(channel, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(h1[ERROR_HEADER], 'DB-CONNECTOR-TCP-TARGET-REFUSED');
  const plain = client.request({
    ':method': 'GET',
    ':path': '/',
    [APP_HEADER]: 'app_tcp',
    [REQUEST_ID_HEADER]: 'test',
  });
  const [h2] = (await once(plain, 'response')) as [http2.IncomingHttpHeaders];
  assert.equal(h2[ERROR_HEADER], 'DB-TCP-NOT-TCP-APP');
});
