/**
 * End to end: the connector's register() against the edge's real enroll handler on an HTTPS server (dev
 * certificates), backed by the real SQLite store. This test is the one place the two sides meet; the code under test
 * on either side never imports the other.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { DrawbridgeError } from '../../errors/drawbridge-error.ts';
import { handleEnroll } from '../../edge/enroll/enroll-handler.ts';
import { loadOrCreateTunnelCa, type TunnelCa } from '../../edge/enroll/tunnel-ca.ts';
import { createDevCertificates, generateKeyPair } from '../../pki/index.ts';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/types.ts';
import { ENROLL_PATH, TUNNEL_ALPN } from '../../tunnel/protocol.ts';
import { parseConnectAddress } from './enroll-client.ts';
import { register } from './register.ts';
import { loadConnectorState } from './state.ts';

const TUNNEL_HOST = 'tunnel.apps.localhost';
let root: string;
let store: Store;
let ca: TunnelCa;
let server: https.Server;
let edgeUrl: string;
let caFile: string;
let tenantId: string;
let groupId: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'db-register-'));
  const edgeState = join(root, 'edge');
  store = await openStore({ kind: 'sqlite', stateDir: edgeState });
  ca = await loadOrCreateTunnelCa(store, edgeState, TUNNEL_HOST);
  const dev = await createDevCertificates(join(edgeState, 'dev-certs'), 'apps.localhost');
  caFile = dev.caCertPath;
  const tenant = await store.tenants.create({ name: 'contoso' });
  tenantId = tenant.id;
  groupId = (await store.groups.create(tenant.id, { name: 'default' })).id;
  const logger = pino({ level: 'silent' });
  server = https.createServer({ cert: await readFile(dev.certPath), key: await readFile(dev.keyPath) }, (req, res) => {
    if (req.url === ENROLL_PATH) void handleEnroll(req, res, { store, ca, tunnelHost: TUNNEL_HOST, logger });
    else res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  edgeUrl = `https://${TUNNEL_HOST}:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.close();
  await store.close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
const stateDir = (): string => join(root, `connector-${++n}`);
const newToken = async (): Promise<string> => (await store.enrollmentTokens.create(tenantId, groupId, 600)).token;

test('register() end to end: enrolls, writes 0600 files in a 0700 dir, and the result passes a real mutual-TLS handshake', async () => {
  const dir = stateDir();
  const messages: string[] = [];
  const state = await register({
    edgeUrl,
    token: await newToken(),
    stateDir: dir,
    caFile,
    name: 'lab-1',
    version: '0.1.0',
    connectAddress: '127.0.0.1',
    onProgress: (m) => messages.push(m),
  });

  assert.match(state.connectorId, /^con_[0-9a-f]{16}$/);
  assert.equal(state.tenantId, tenantId);
  assert.equal(state.groupId, groupId);
  assert.equal(state.tunnelHost, TUNNEL_HOST);
  assert.equal(state.tunnelCaPem, ca.caCertPem);
  assert.ok(messages.length >= 3);

  assert.deepEqual((await readdir(dir)).sort(), ['connector.crt', 'connector.json', 'connector.key', 'tunnel-ca.crt']);
  if (process.platform !== 'win32') {
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
    for (const f of await readdir(dir)) assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
  }
  const json = JSON.parse(await readFile(join(dir, 'connector.json'), 'utf8'));
  assert.deepEqual(Object.keys(json).sort(), [
    'connectAddress',
    'connectorId',
    'edgeUrl',
    'groupId',
    'registeredAt',
    'tenantId',
    'tunnelHost',
  ]);
  assert.equal(json.edgeUrl, edgeUrl);
  assert.equal(json.connectAddress, '127.0.0.1');
  assert.equal(JSON.stringify(json).includes('dbe_'), false, 'the token is not stored');

  const row = await store.connectors.get(tenantId, state.connectorId);
  assert.equal(row?.certSerial, state.certSerial);
  assert.equal(row?.name, 'lab-1');
  assert.equal(row?.version, '0.1.0');

  const loaded = await loadConnectorState(dir);
  assert.equal(loaded.certPem, state.certPem);

  // The tunnel endpoint as the edge runs it; the connector pins only the tunnel CA.
  const tunnel = tls.createServer(
    {
      cert: ca.serverCertPem,
      key: ca.serverKeyPem,
      ca: ca.caCertPem,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [TUNNEL_ALPN],
    },
    (socket) => socket.end(JSON.stringify(ca.verifyPeer(socket.getPeerX509Certificate()!))),
  );
  tunnel.listen(0, '127.0.0.1');
  await once(tunnel, 'listening');
  try {
    const peer = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: (tunnel.address() as AddressInfo).port,
        servername: loaded.tunnelHost,
        ca: loaded.tunnelCaPem,
        key: loaded.keyPem,
        cert: loaded.certPem,
        ALPNProtocols: [TUNNEL_ALPN],
      });
      let data = '';
      socket
        .setEncoding('utf8')
        .on('data', (c) => (data += c))
        .on('end', () => resolve(data))
        .on('error', reject);
    });
    assert.deepEqual(JSON.parse(peer), { connectorId: state.connectorId, serial: state.certSerial });
  } finally {
    tunnel.close();
  }
});

test('register() refuses to overwrite a registration unless force', async () => {
  const dir = stateDir();
  const first = await register({
    edgeUrl,
    token: await newToken(),
    stateDir: dir,
    caFile,
    version: '0.1.0',
    connectAddress: '127.0.0.1',
  });
  await assert.rejects(
    register({
      edgeUrl,
      token: await newToken(),
      stateDir: dir,
      caFile,
      version: '0.1.0',
      connectAddress: '127.0.0.1',
    }),
    (err) =>
      err instanceof DrawbridgeError &&
      err.code === 'DB-ENROLL-ALREADY-REGISTERED' &&
      err.message.includes('connector.json'),
  );
  assert.equal((await loadConnectorState(dir)).connectorId, first.connectorId, 'untouched');
  const second = await register({
    edgeUrl,
    token: await newToken(),
    stateDir: dir,
    caFile,
    version: '0.1.0',
    connectAddress: '127.0.0.1',
    force: true,
  });
  assert.notEqual(second.connectorId, first.connectorId);
  assert.equal((await loadConnectorState(dir)).connectorId, second.connectorId);
});

test('register() surfaces the edge code for a spent token and leaves no state behind', async () => {
  const token = await newToken();
  await register({ edgeUrl, token, stateDir: stateDir(), caFile, version: '0.1.0', connectAddress: '127.0.0.1' });
  const dir = stateDir();
  await assert.rejects(
    register({ edgeUrl, token, stateDir: dir, caFile, version: '0.1.0', connectAddress: '127.0.0.1' }),
    (err) =>
      err instanceof DrawbridgeError && err.code === 'DB-ENROLL-TOKEN-INVALID' && /correlation id/.test(err.message),
  );
  assert.deepEqual(await readdir(dir), []);
});

test('register() without the dev CA does not trust the edge: DB-ENROLL-EDGE-UNREACHABLE with a hint, token not spent', async () => {
  const token = await newToken();
  await assert.rejects(
    register({ edgeUrl, token, stateDir: stateDir(), version: '0.1.0', connectAddress: '127.0.0.1' }),
    (err) =>
      err instanceof DrawbridgeError && err.code === 'DB-ENROLL-EDGE-UNREACHABLE' && /--ca-file/.test(err.message),
  );
  const used = (await store.enrollmentTokens.list(tenantId)).filter((t) => t.usedAt === null);
  assert.ok(used.length >= 1);
  await register({ edgeUrl, token, stateDir: stateDir(), caFile, version: '0.1.0', connectAddress: '127.0.0.1' });
});

test('register() refuses a plain-http edge URL before sending the token', async () => {
  await assert.rejects(
    register({ edgeUrl: 'http://127.0.0.1:1', token: 'x', stateDir: stateDir(), version: '0' }),
    /https/,
  );
});

test('loadConnectorState() names the missing file and the command to run', async () => {
  const dir = stateDir();
  await assert.rejects(loadConnectorState(dir), (err) => {
    assert.ok(err instanceof DrawbridgeError);
    assert.equal(err.code, 'DB-CONNECTOR-STATE-INVALID');
    assert.match(err.message, /connector\.json not found/);
    assert.match(err.message, /drawbridge connector register/);
    return true;
  });
});

test('loadConnectorState() refuses a replaced key and a key readable by others', async () => {
  const dir = stateDir();
  await register({
    edgeUrl,
    token: await newToken(),
    stateDir: dir,
    caFile,
    version: '0.1.0',
    connectAddress: '127.0.0.1',
  });
  const keyPath = join(dir, 'connector.key');
  const original = await readFile(keyPath, 'utf8');
  if (process.platform !== 'win32') {
    await chmod(keyPath, 0o644);
    await assert.rejects(loadConnectorState(dir), /chmod 600/);
    await chmod(keyPath, 0o600);
  }
  await writeFile(keyPath, (await generateKeyPair()).privateKeyPem, { mode: 0o600 });
  await assert.rejects(loadConnectorState(dir), /does not match .*connector\.key/);
  await writeFile(keyPath, original, { mode: 0o600 });
  await loadConnectorState(dir);
});

test('parseConnectAddress accepts host, IP, host:port and [v6]:port', () => {
  assert.deepEqual(parseConnectAddress('127.0.0.1', 443), { host: '127.0.0.1', port: 443 });
  assert.deepEqual(parseConnectAddress('127.0.0.1:8443', 443), { host: '127.0.0.1', port: 8443 });
  assert.deepEqual(parseConnectAddress('::1', 443), { host: '::1', port: 443 });
  assert.deepEqual(parseConnectAddress('[::1]:9443', 443), { host: '::1', port: 9443 });
  assert.deepEqual(parseConnectAddress('edge.internal', 8443), { host: 'edge.internal', port: 8443 });
});
