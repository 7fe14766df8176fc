/**
 * The demo stack (`drawbridge dev`) against a hostile client and a crashing backend: a malformed WebSocket frame does
 * not take the sample app down, a killed sample app comes back, the passthrough app believes no client-sent identity,
 * the HR app shows the user the edge vouches for, and the connector's metrics count its tunnels.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { logsOf, startDevStack, url, type DevJson, type DevStack } from '../helpers/dev-stack.ts';
import { Client, signIn } from './identity-harness.ts';
import { alive } from '../helpers/alive.ts';

type DevJsonWithApps = DevJson & {
  sampleApps: { name: string; pid: number; internalUrl: string }[];
  users: { username: string; password: string }[];
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs / 1000} s waiting for: ${what}`);
}

describe('the demo stack under a hostile client and a crashing backend', { timeout: 180_000 }, () => {
  let stack: DevStack;
  const devJson = (): DevJsonWithApps =>
    JSON.parse(readFileSync(path.join(stack.dir, 'dev.json'), 'utf8')) as DevJsonWithApps;
  const samplePid = (): number => devJson().sampleApps?.find((a) => a.name === 'sample')?.pid ?? 0;
  const get = async (app: string, pathname: string, headers: Record<string, string> = {}) => {
    const res = await request(url(stack, app, pathname), { dispatcher: stack.agent, headers });
    return { status: res.statusCode, body: await res.body.text() };
  };

  before(async () => {
    stack = await startDevStack(['--connectors', '1']);
  });
  after(async () => {
    await stack?.stop();
  });

  it('the passthrough app shows no signed-in user for a client-sent X-Remote-User', async () => {
    const home = await get('sample', '/', {
      'x-remote-user': 'mallory@contoso.example',
      'x-remote-groups': 'Domain Admins',
    });
    assert.equal(home.status, 200);
    assert.doesNotMatch(home.body, /Signed in as/);
    assert.doesNotMatch(home.body, /class="notice"/);
  });

  it('the edge drops underscore spellings of the headers it strips (X_Forwarded_For is X-Forwarded-For to CGI-style backends)', async () => {
    const echo = JSON.parse(
      (await get('sample', '/echo', { x_forwarded_for: '203.0.113.9', x_drawbridge_identity: 'forged' })).body,
    ) as { headers: Record<string, string> };
    assert.equal(
      echo.headers.x_forwarded_for,
      undefined,
      'X_Forwarded_For reads as X-Forwarded-For to CGI-style backends',
    );
    assert.equal(echo.headers.x_drawbridge_identity, undefined);
    assert.equal(echo.headers['x-forwarded-for'], '127.0.0.1');
  });

  it('the HR app shows the user the edge vouches for (its signed assertion, verified against the JWKS), not a forged header', async () => {
    const client = new Client(stack.publicPort);
    const alice = devJson().users.find((u) => u.username === 'alice')!;
    const page = await signIn(client, `${url(stack, 'hr', '/')}`, 'alice', alice.password);
    assert.equal(page.status, 200, page.body.slice(0, 500));
    assert.match(page.body, /Signed in as <strong>alice@contoso\.example<\/strong>/);
    const forged = await client.request(url(stack, 'hr', '/'), {
      headers: { 'x-remote-user': 'mallory@contoso.example' },
    });
    assert.match(forged.body, /Signed in as <strong>alice@contoso\.example<\/strong>/);
    assert.doesNotMatch(forged.body, /mallory/);
  });

  it("the connector's drawbridge_connector_tunnels counts its tunnels while they are up", async () => {
    const metricsUrl = stack.dev.connectors[0].metricsUrl;
    let last = '';
    await waitUntil(
      async () => {
        last = await (await request(metricsUrl)).body.text();
        return /^drawbridge_connector_tunnels 2$/m.test(last);
      },
      20_000,
      'two tunnels in the metrics',
    );
    assert.match(last, /^drawbridge_connector_tunnels 2$/m);
  });

  it('a WebSocket frame with RSV1 set gets a 1002 close, and the sample app stays up and answers the next request', async () => {
    const pid = samplePid();
    const host = new URL(url(stack, 'sample', '/')).hostname;
    const socket = tls.connect({
      host: '127.0.0.1',
      port: stack.publicPort,
      servername: host,
      ca: readFileSync(stack.dev.caCertPath),
      ALPNProtocols: ['http/1.1'],
    });
    socket.on('error', () => {});
    try {
      await new Promise((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      socket.write(
        `GET /ws HTTP/1.1\r\nHost: ${host}:${stack.publicPort}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      );
      let received = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        received = Buffer.concat([received, d]);
      });
      await waitUntil(() => received.includes('\r\n\r\n'), 10_000, 'the upgrade answer');
      assert.match(received.toString('latin1'), /^HTTP\/1\.1 101 /);
      const head = received.indexOf('\r\n\r\n') + 4;
      // FIN + RSV1 + text, masked, 2 bytes: no extension was negotiated, so RSV1 is a protocol error.
      socket.write(Buffer.from([0xc1, 0x82, 0, 0, 0, 0, 0x68, 0x69]));
      await waitUntil(() => received.length >= head + 4, 10_000, 'a close frame from the app');
      const frame = received.subarray(head);
      assert.equal(frame[0], 0x88, `a close frame: ${frame.toString('hex')}`);
      assert.equal(frame.readUInt16BE(2), 1002, 'close code 1002 (protocol error)');
    } finally {
      socket.destroy();
    }
    const echo = await get('sample', '/echo');
    assert.equal(echo.status, 200, echo.body);
    assert.ok(pid > 0 && alive(pid), `the same sample app process (${pid})`);
    assert.equal(samplePid(), pid);
  });

  it('a sample app killed with SIGKILL is restarted by drawbridge dev on the same port, and dev.json names its new pid', async () => {
    const pid = samplePid();
    assert.ok(pid > 0, "dev.json names the sample app's pid");
    const internalUrl = devJson().sampleApps.find((a) => a.name === 'sample')!.internalUrl;
    process.kill(pid, 'SIGKILL');
    await waitUntil(() => !alive(pid), 10_000, 'the sample app dies');
    await waitUntil(() => samplePid() !== pid && alive(samplePid()), 30_000, 'dev.json names a new, live sample app');
    await waitUntil(
      async () => (await get('sample', '/echo')).status === 200,
      30_000,
      `the sample app answers again\n${logsOf(stack.dir)}`,
    );
    assert.equal(
      devJson().sampleApps.find((a) => a.name === 'sample')!.internalUrl,
      internalUrl,
      'back on the same port',
    );
  });
});
