/**
 * The built-in RD Gateway (issue 13, item 1) on the real product path: `drawbridge dev` (edge + connectors), xrdp
 * from Debian as the internal RDP host on a loopback port, and FreeRDP's client (`xfreerdp`, freerdp2-x11) on an
 * Xvfb display connecting through the edge's gateway (WebSocket transport) with the gateway access token from the
 * app's connection file. The session must reach xrdp's login screen (a screenshot is kept in
 * test-results/screenshots/), xrdp's log must show the connection coming from the connector, and the audit log
 * must have the session. Missing, expired, other-app (another user's) and revoked tokens are refused, through a
 * scripted client speaking the protocol over a real socket, and FreeRDP without a token gets no connection.
 *
 * Needs xrdp, xfreerdp, Xvfb and xwd (Debian: xrdp freerdp2-x11 xvfb x11-apps; .ci/run installs them); without them
 * the test is skipped with a message saying so.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadKeyRing } from '../../src/identity/keys.ts';
import { client, EXTENDED_AUTH, HRESULT, PacketReader, PKT, responseError } from '../../src/edge/rdg/codec.ts';
import { sealToken } from '../../src/edge/rdg/access.ts';
import { encodeClientFrame, OPCODE, readServerFrames } from '../../src/edge/rdg/websocket.ts';
import { startDevXrdp } from '../../src/cli/dev-xrdp.ts';
import { logsOf, startDevStack, type DevStack } from '../helpers/dev-stack.ts';
import { xwdToPng } from '../helpers/xwd-png.ts';
import { Client, signIn } from './identity-harness.ts';

const NEEDED = ['xrdp', 'xfreerdp', 'Xvfb', 'xwd'];
const missing = NEEDED.filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);
const skip =
  missing.length > 0 ? `needs ${missing.join(', ')} (Debian: apt-get install xrdp freerdp2-x11 xvfb x11-apps)` : false;
if (skip) process.stdout.write(`# rdg.test.ts skipped: ${skip}\n`);

const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));
const DEADLINE_MS = 45_000;

let stack: DevStack;
let tenantId: string;
const passwordOf = (who: string): string => stack.dev.users.find((u) => u.username === who)!.password;
let xrdp: { port: number; dir: string; log: () => string; stop(): Promise<void> };
let desk: { id: string; host: string };
let desk2: { id: string; host: string };
const children: ChildProcess[] = [];

function connectorLogs(): string {
  return ['connector-1.log', 'connector-2.log']
    .map((f) => path.join(stack.dir, 'logs', f))
    .filter(existsSync)
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
}

async function until<T>(
  what: string,
  probe: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  ms = DEADLINE_MS,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** xrdp and xrdp-sesman in the foreground with their own configuration in a temp dir (as `drawbridge dev` runs them). */
async function startXrdp(): Promise<typeof xrdp> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-xrdp-'));
  const started = await startDevXrdp(dir);
  assert.ok(started, 'xrdp is installed');
  return {
    port: started.port,
    dir,
    log: started.log,
    async stop() {
      await started.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An HTTP CONNECT proxy on loopback: FreeRDP's `/proxy:` reaches the dev hosts through it (they do not resolve). */
function startConnectProxy(edgePort: number): Promise<{ port: number; close(): void }> {
  return new Promise((resolve) => {
    const server = net.createServer((socket) => {
      socket.once('data', (head) => {
        const line = head.toString('latin1').split('\r\n')[0];
        const m = /^CONNECT ([^ :]+):(\d+) /.exec(line);
        if (!m || Number(m[2]) !== edgePort) return void socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
        const upstream = net.connect(edgePort, '127.0.0.1', () => {
          socket.write('HTTP/1.1 200 Connection established\r\n\r\n');
          socket.pipe(upstream).pipe(socket);
        });
        upstream.on('error', () => socket.destroy());
        socket.on('error', () => upstream.destroy());
      });
    });
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as net.AddressInfo).port, close: () => server.close() }),
    );
  });
}

async function startXvfb(): Promise<{ display: string; proc: ChildProcess }> {
  const proc = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1024x768x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const n = await until('Xvfb display', () => /^(\d+)\n/.exec(out)?.[1]);
  return { display: `:${n}`, proc };
}

async function api<T>(method: string, p: string, body?: unknown): Promise<T> {
  const res = await stack.admin<T>(method, `/tenants/${tenantId}${p}`, body);
  assert.ok(res.status < 300, `${method} ${p}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

async function publishRdp(name: string, assignee: string): Promise<{ id: string; host: string }> {
  const hr = (await api<{ items: { name: string; groupId: string }[] }>('GET', '/apps')).items.find(
    (a) => a.name === 'hr',
  )!;
  const users = (await api<{ items: { id: string; upn: string }[] }>('GET', '/users')).items;
  const user = users.find((u) => u.upn.startsWith(`${assignee}@`))!;
  const externalUrl = `https://${name}-contoso.apps.localhost:${stack.publicPort}`;
  const app = await api<{ id: string; internalUrl: string }>('POST', '/apps', {
    name,
    groupId: hr.groupId,
    internalUrl: `rdp://127.0.0.1:${xrdp.port}`,
    externalUrl,
    preAuth: 'idp',
  });
  assert.equal(app.internalUrl, `rdp://127.0.0.1:${xrdp.port}`);
  await api('POST', `/apps/${app.id}/assignments`, { type: 'user', id: user.id });
  return { id: app.id, host: new URL(externalUrl).hostname };
}

/** Signs `who` in at the app's host and downloads its connection file. */
async function connectionFile(app: { host: string }, who: string): Promise<{ file: string; token: string }> {
  const browser = new Client(stack.publicPort);
  const page = await signIn(browser, `https://${app.host}:${stack.publicPort}/`, who, passwordOf(who));
  assert.equal(page.status, 200, page.body.slice(0, 300));
  assert.match(page.body, /connect\.rdp/, 'the app host offers the connection file');
  // The portal's "Connect" for the app downloads the same file.
  const portal = await browser.request(`https://login.apps.localhost:${stack.publicPort}/`);
  assert.ok(
    portal.body.includes(`href="https://${app.host}:${stack.publicPort}/.drawbridge/rdp/connect.rdp" download`),
    portal.body.slice(0, 2000),
  );
  const res = await browser.request(`https://${app.host}:${stack.publicPort}/.drawbridge/rdp/connect.rdp`);
  assert.equal(res.status, 200, res.body.slice(0, 300));
  assert.equal(res.headers['content-type'], 'application/x-rdp');
  const token = /^gatewayaccesstoken:s:(.+)\r$/m.exec(res.body)?.[1];
  assert.ok(token, res.body);
  return { file: res.body, token };
}

/**
 * A scripted RD Gateway client over a real TLS socket to the edge: the WebSocket transport exactly as FreeRDP opens
 * it (RDG_OUT_DATA with Upgrade), then handshake and tunnel create with `token`. Returns the HRESULT of the tunnel
 * response, and when it is OK, of the tunnel authorisation and channel responses for `resource`.
 */
async function scriptedTunnel(
  host: string,
  token: string | null,
  resource = { host: '127.0.0.1', port: xrdp.port },
): Promise<{ tunnel: number; channel?: number; firstData?: Buffer }> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port: stack.publicPort,
    servername: host,
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(
    `RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nRDG-Connection-Id: {00000000-0000-0000-0000-000000000001}\r\nRDG-Auth-Scheme: PAA\r\nContent-Length: 0\r\n\r\n`,
  );
  let buf = Buffer.alloc(0);
  let headDone = false;
  const packets: Buffer[] = [];
  const reader = new PacketReader();
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!headDone) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      assert.match(buf.subarray(0, end).toString('latin1'), /^HTTP\/1\.1 101 /);
      headDone = true;
      buf = buf.subarray(end + 4);
    }
    const { frames, rest } = readServerFrames(buf);
    buf = Buffer.from(rest);
    for (const f of frames) if (f.opcode === OPCODE.BINARY) packets.push(...reader.push(Buffer.from(f.payload)));
  });
  const send = (p: Buffer) => socket.write(encodeClientFrame(OPCODE.BINARY, p));
  const next = async (type: number): Promise<Buffer> => {
    const p = await until(`packet ${type}`, () => packets.length > 0 && packets.shift(), 20_000);
    assert.equal(p.readUInt16LE(0), type, `packet type ${p.readUInt16LE(0)} where ${type} was expected`);
    return p;
  };
  try {
    send(client.handshake(EXTENDED_AUTH.PAA));
    assert.equal(responseError(await next(PKT.HANDSHAKE_RESPONSE)), HRESULT.OK);
    send(client.tunnelCreate(token));
    const tunnel = responseError(await next(PKT.TUNNEL_RESPONSE));
    if (tunnel !== HRESULT.OK) return { tunnel };
    send(client.tunnelAuth('scripted'));
    assert.equal(responseError(await next(PKT.TUNNEL_AUTH_RESPONSE)), HRESULT.OK);
    send(client.channelCreate(resource.host, resource.port));
    const channel = responseError(await next(PKT.CHANNEL_RESPONSE));
    if (channel !== HRESULT.OK) return { tunnel, channel };
    // An X.224 connection request: xrdp answers with a connection confirm inside a data packet.
    // TPKT (version 3, length 19), X.224 CR (LI 14, code 0xE0), RDP negotiation request (TLS).
    const x224 = Buffer.from('030000130ee000000000000100080001000000', 'hex');
    const data = Buffer.alloc(10 + x224.length);
    data.writeUInt16LE(PKT.DATA, 0);
    data.writeUInt32LE(data.length, 4);
    data.writeUInt16LE(x224.length, 8);
    x224.copy(data, 10);
    send(data);
    const firstData = await next(PKT.DATA);
    return { tunnel, channel, firstData: firstData.subarray(10) };
  } finally {
    socket.destroy();
  }
}

/** xfreerdp on the Xvfb display through the edge's gateway; resolves once `done()` says so or the client exits. */
function runFreeRdp(
  display: string,
  proxyPort: number | null,
  args: string[],
): { proc: ChildProcess; output: () => string; exited: Promise<number | null> } {
  // Without a proxy port, straight to xrdp (the baseline of the setup-time figure).
  const gateway =
    proxyPort === null ? [] : [`/g:${desk.host}:${stack.publicPort}`, `/proxy:http://127.0.0.1:${proxyPort}`];
  const proc = spawn(
    'xfreerdp',
    [`/v:127.0.0.1:${xrdp.port}`, ...gateway, '/cert:ignore', '/w:1024', '/h:768', ...args],
    {
      env: { ...process.env, DISPLAY: display },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

describe('RD Gateway built in (apps of kind rdp)', { skip, timeout: 240_000 }, () => {
  let proxy: { port: number; close(): void };
  let display: string;

  before(async () => {
    xrdp = await startXrdp();
    stack = await startDevStack();
    const tenants = await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants');
    tenantId = tenants.body.items.find((t) => t.name === stack.dev.tenant)!.id;
    desk = await publishRdp('desk', 'alice');
    desk2 = await publishRdp('desk2', 'carol');
    proxy = await startConnectProxy(stack.publicPort);
    display = (await startXvfb()).display;
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    proxy?.close();
    await stack?.stop();
    await xrdp?.stop();
  });

  /** FreeRDP through the gateway with alice's token until xrdp draws its login window; the screen is kept. */
  async function loginScreenThrough(transport: 'websocket' | 'legacy'): Promise<void> {
    const { file, token } = await connectionFile(desk, 'alice');
    assert.match(file, new RegExp(`^full address:s:127\\.0\\.0\\.1:${xrdp.port}\\r$`, 'm'));
    assert.match(file, new RegExp(`^gatewayhostname:s:${desk.host}:${stack.publicPort}\\r$`, 'm'));
    const count = (text: string, what: RegExp) => (text.match(what) ?? []).length;
    const windowsBefore = count(xrdp.log(), /draw login window/g);
    const channelsBefore = count(connectorLogs(), /RDP channel connected/g);
    const sessionsBefore = (await auditOfDesk()).length;
    const rdp = runFreeRdp(display, proxy.port, [
      transport === 'legacy' ? '/gt:http,no-websockets' : '/gt:http',
      `/gat:${token}`,
    ]);
    try {
      await until('xrdp drawing its login window', () => {
        if (rdp.proc.exitCode !== null)
          throw new Error(`xfreerdp exited ${rdp.proc.exitCode}:\n${rdp.output().slice(-3000)}\n${logsOf(stack.dir)}`);
        return (
          count(xrdp.log(), /draw login window/g) > windowsBefore &&
          count(connectorLogs(), /RDP channel connected/g) > channelsBefore
        );
      });
      // The login window is drawn on xrdp's side; give the client a moment to paint it, then keep the screen.
      await new Promise((r) => setTimeout(r, 2_000));
      mkdirSync(SCREENSHOTS, { recursive: true });
      const xwd = spawnSync('xwd', ['-root', '-silent', '-display', display], { maxBuffer: 64 << 20 });
      assert.equal(xwd.status, 0, String(xwd.stderr));
      writeFileSync(path.join(SCREENSHOTS, `rdg-xrdp-login-${transport}.xwd`), xwd.stdout);
      writeFileSync(path.join(SCREENSHOTS, `rdg-xrdp-login-${transport}.png`), xwdToPng(xwd.stdout));
      // The connection xrdp saw came from the connector's socket (its log names the local port it dialled from).
      const lines = connectorLogs()
        .split('\n')
        .filter((l) => l.includes('RDP channel connected'));
      const port = /"local":"127\.0\.0\.1:(\d+)"/.exec(lines[lines.length - 1])?.[1];
      assert.ok(port, lines[lines.length - 1]);
      assert.match(
        xrdp.log(),
        new RegExp(`connection received from 127\\.0\\.0\\.1 port ${port}\\b`),
        `xrdp saw the connector's connection (port ${port})`,
      );
    } finally {
      rdp.proc.kill('SIGTERM');
      await rdp.exited;
    }
    // One audit event for the session: user, app, target, bytes each way, duration.
    const events = await until('the audit event of the session', async () => {
      const list = await auditOfDesk();
      return list.length > sessionsBefore && list;
    });
    const event = events[0];
    assert.equal(event.actor.startsWith('user:'), true);
    assert.equal(event.detail.user, 'alice@contoso.example');
    assert.equal(event.detail.target, `rdp://127.0.0.1:${xrdp.port}`);
    assert.ok(
      Number(event.detail.bytesToTarget) > 0 && Number(event.detail.bytesFromTarget) > 1000,
      JSON.stringify(event.detail),
    );
    assert.equal(typeof event.detail.durationMs, 'number');
    assert.equal(
      event.detail.transport,
      transport === 'legacy' ? 'http' : 'websocket',
      'the transport FreeRDP was asked to use',
    );
  }

  async function auditOfDesk(): Promise<
    { action: string; actor: string; target: string; detail: Record<string, unknown> }[]
  > {
    const log = await api<{
      items: { action: string; actor: string; target: string; detail: Record<string, unknown> }[];
    }>('GET', '/audit-log?action=rdp.session');
    return log.items.filter((e) => e.target === desk.id);
  }

  it("FreeRDP reaches xrdp's login screen through the gateway (WebSocket transport) with the token from the connection file", async () => {
    await loginScreenThrough('websocket');
  });

  it("FreeRDP reaches xrdp's login screen through the gateway over the legacy RDG_OUT_DATA / RDG_IN_DATA transport", async () => {
    await loginScreenThrough('legacy');
  });

  it("figure: RDP setup time to xrdp's login screen, through the gateway and straight to xrdp (median of 3)", async () => {
    const loginWindows = () => (xrdp.log().match(/draw login window/g) ?? []).length;
    const setupMs = async (through: boolean): Promise<number> => {
      const args = through ? ['/gt:http', `/gat:${(await connectionFile(desk, 'alice')).token}`] : [];
      const before = loginWindows();
      const started = performance.now();
      const rdp = runFreeRdp(display, through ? proxy.port : null, args);
      try {
        await until(
          "xrdp's login window",
          () => {
            if (rdp.proc.exitCode !== null)
              throw new Error(`xfreerdp exited ${rdp.proc.exitCode}:\n${rdp.output().slice(-3000)}`);
            return loginWindows() > before;
          },
          60_000,
        );
        return performance.now() - started;
      } finally {
        rdp.proc.kill('SIGTERM');
        await rdp.exited;
      }
    };
    const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[1];
    const gateway: number[] = [];
    const direct: number[] = [];
    for (let i = 0; i < 3; i++) {
      gateway.push(await setupMs(true));
      direct.push(await setupMs(false));
    }
    const ms = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    // A figure to read, never an assertion: the machine may be loaded.
    process.stdout.write(
      `# figure: RDP setup to xrdp's login screen (xfreerdp start → xrdp draws the login window), median of 3: ` +
        `through the gateway ${median(gateway).toFixed(0)} ms (${ms(gateway)}), straight to xrdp ${median(direct).toFixed(0)} ms (${ms(direct)})\n`,
    );
  });

  it("drawbridge dev publishes its own xrdp as the app rdp, assigned as the HR app: alice's connection file reaches it", async () => {
    const rdp = stack.dev.rdp;
    assert.ok(rdp, 'dev.json has the rdp app (xrdp is installed)');
    assert.ok(
      stack.dev.apps.some((a) => a.name === 'rdp' && a.externalUrl === rdp.externalUrl),
      'dev.json lists it among the apps',
    );
    const port = Number(/^rdp:\/\/127\.0\.0\.1:(\d+)$/.exec(rdp.internalUrl)?.[1]);
    assert.ok(port > 0 && port !== xrdp.port, rdp.internalUrl);
    const { file, token } = await connectionFile({ host: rdp.host }, 'alice');
    assert.match(file, new RegExp(`^full address:s:127\\.0\\.0\\.1:${port}\\r$`, 'm'));
    const ok = await scriptedTunnel(rdp.host, token, { host: '127.0.0.1', port });
    assert.equal(ok.channel, HRESULT.OK);
    assert.equal(ok.firstData?.[5], 0xd0, "an X.224 connection confirm from dev's xrdp");
  });

  it("FreeRDP without a token, or with another user's (for another app), is refused at the gateway and no channel opens", async () => {
    const carol = await connectionFile(desk2, 'carol');
    // xrdp's own log also counts the connectors' reachability probes, so the channels are counted where they open.
    const channels = () => (connectorLogs().match(/RDP channel connected/g) ?? []).length;
    const refusals = () =>
      (readFileSync(path.join(stack.dir, 'logs', 'edge.log'), 'utf8').match(/RD Gateway refused the tunnel/g) ?? [])
        .length;
    for (const [what, args] of [
      ['no token (Windows authentication offered)', ['/gt:http', '/gu:alice', '/gp:wrong']],
      ["carol's token", ['/gt:http', `/gat:${carol.token}`]],
      ["carol's token, legacy transport", ['/gt:http,no-websockets', `/gat:${carol.token}`]],
    ] as const) {
      const [channelsBefore, refusalsBefore] = [channels(), refusals()];
      const rdp = runFreeRdp(display, proxy.port, [...args]);
      const code = await Promise.race([
        rdp.exited,
        new Promise<'running'>((r) => setTimeout(() => r('running'), 30_000)),
      ]);
      if (code === 'running') rdp.proc.kill('SIGKILL');
      assert.notEqual(code, 0, `xfreerdp must fail with ${what}:\n${rdp.output().slice(-2000)}`);
      await until(`the edge to log the refusal of ${what}`, () => refusals() > refusalsBefore);
      assert.equal(channels(), channelsBefore, `no channel was opened for ${what}:\n${rdp.output().slice(-3000)}`);
    }
  });

  it("the scripted client gets the RDP host's answer with a valid token, and only for the app's own host:port", async () => {
    const { token } = await connectionFile(desk, 'alice');
    const ok = await scriptedTunnel(desk.host, token);
    assert.equal(ok.channel, HRESULT.OK);
    assert.equal(ok.firstData?.[0], 3, 'a TPKT from xrdp');
    assert.equal(ok.firstData?.[5], 0xd0, 'an X.224 connection confirm');
    const other = await scriptedTunnel(desk.host, token, { host: '127.0.0.1', port: stack.publicPort });
    assert.equal(other.channel, HRESULT.E_PROXY_RAP_ACCESSDENIED, 'another port of the same host is refused');
  });

  it("a missing, altered, expired or other user's (other app's) token is refused; signing out ends a token", async () => {
    assert.equal(
      (await scriptedTunnel(desk.host, null)).tunnel,
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
      'missing',
    );
    const { token } = await connectionFile(desk, 'alice');
    assert.equal(
      (await scriptedTunnel(desk.host, `${token.slice(0, -4)}AAAA`)).tunnel,
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
      'altered',
    );
    // Expired: sealed with the edge's own key ring, exactly as minted but an hour old.
    assert.ok(existsSync(path.join(stack.dir, 'edge', 'identity.key')), "the edge's key ring");
    const keys = loadKeyRing(path.join(stack.dir, 'edge'));
    const expired = sealToken(keys, { s: 'x', t: tenantId, u: 'usr_x', a: desk.id, e: Date.now() - 3_600_000 });
    assert.equal(
      (await scriptedTunnel(desk.host, expired)).tunnel,
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
      'expired',
    );
    // carol's token is for desk2, the app she is assigned; at alice's desk it is refused.
    const carol = await connectionFile(desk2, 'carol');
    assert.equal(
      (await scriptedTunnel(desk.host, carol.token)).tunnel,
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
      "other user's",
    );
    assert.equal(
      (await scriptedTunnel(desk2.host, carol.token)).channel,
      HRESULT.OK,
      "carol's token works at her own app",
    );
    const edgeLog = readFileSync(path.join(stack.dir, 'logs', 'edge.log'), 'utf8');
    for (const code of ['DB-RDG-TOKEN-INVALID', 'DB-RDG-TOKEN-EXPIRED'])
      assert.ok(edgeLog.includes(code), `the edge logs ${code}`);
    // Revoking alice's sessions ends every token minted from them.
    const users = (await api<{ items: { id: string; upn: string }[] }>('GET', '/users')).items;
    const alice = users.find((u) => u.upn.startsWith('alice@'))!;
    await api('POST', `/users/${alice.id}/revoke-sessions`);
    assert.equal(
      (await scriptedTunnel(desk.host, token)).tunnel,
      HRESULT.E_PROXY_COOKIE_AUTHENTICATION_ACCESS_DENIED,
      'revoked',
    );
  });

  it('revoking the user closes an open channel (continuous access evaluation)', async () => {
    const { token } = await connectionFile(desk, 'alice');
    const socket = tls.connect({
      host: '127.0.0.1',
      port: stack.publicPort,
      servername: desk.host,
      rejectUnauthorized: false,
    });
    await new Promise<void>((resolve) => socket.once('secureConnect', () => resolve()));
    socket.write(
      `RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1\r\nHost: ${desk.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
    );
    let received = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d]);
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    for (const p of [
      client.handshake(EXTENDED_AUTH.PAA),
      client.tunnelCreate(token),
      client.tunnelAuth('cae'),
      client.channelCreate('127.0.0.1', xrdp.port),
    ]) {
      socket.write(encodeClientFrame(OPCODE.BINARY, p));
    }
    // The channel response (type 9) arrives once the connector dialled xrdp.
    await until('the channel to open', () => received.includes(Buffer.from([PKT.CHANNEL_RESPONSE, 0, 0, 0])));
    const users = (await api<{ items: { id: string; upn: string }[] }>('GET', '/users')).items;
    const alice = users.find((u) => u.upn.startsWith('alice@'))!;
    await api('POST', `/users/${alice.id}/revoke-sessions`);
    await Promise.race([
      closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the channel stayed open')), 10_000).unref()),
    ]);
    assert.ok(received.includes(Buffer.from([PKT.CLOSE_CHANNEL, 0, 0, 0])), 'the client was told the channel closes');
  });
});
