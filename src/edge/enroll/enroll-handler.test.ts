import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { openStore } from '../../store/open.ts';
import type { Store } from '../../store/types.ts';
import { ENROLL_PATH } from '../../tunnel/protocol.ts';
import { createCsr, generateKeyPair, normalizeSerial } from '../../pki/index.ts';
import { handleEnroll } from './enroll-handler.ts';
import { loadOrCreateTunnelCa, type TunnelCa } from './tunnel-ca.ts';

const TUNNEL_HOST = 'tunnel.apps.localhost';
let dir: string;
let store: Store;
let ca: TunnelCa;
let server: http.Server;
let base: string;
let tenantId: string;
let groupId: string;
/** The clock the handler sees; tests move it to expire tokens. */
let clock: () => Date = () => new Date();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'db-enroll-'));
  store = await openStore({ kind: 'sqlite', stateDir: dir });
  ca = await loadOrCreateTunnelCa(store, dir, TUNNEL_HOST);
  const tenant = await store.tenants.create({ name: 'contoso' });
  const group = await store.groups.create(tenant.id, { name: 'default' });
  tenantId = tenant.id;
  groupId = group.id;
  const logger = pino({ level: 'silent' });
  server = http.createServer((req, res) => {
    void handleEnroll(req, res, { store, ca, tunnelHost: TUNNEL_HOST, logger, now: () => clock() });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.close();
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function csr(): Promise<string> {
  const pair = await generateKeyPair();
  return createCsr(pair.keys, 'host-1');
}

async function enroll(
  body: unknown,
  init: { method?: string; contentType?: string } = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${base}${ENROLL_PATH}`, {
    method: init.method ?? 'POST',
    headers: { 'content-type': init.contentType ?? 'application/json', accept: 'application/json' },
    body: init.method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

test('a valid token and CSR enroll a connector: certificate, row, audit event', async () => {
  const { token } = await store.enrollmentTokens.create(tenantId, groupId, 600);
  const res = await enroll({
    token,
    csr: await csr(),
    name: 'dc1-connector',
    hostname: 'dc1.corp.local',
    version: '0.1.0',
  });
  assert.equal(res.status, 201, JSON.stringify(res.json));
  assert.equal(res.headers.get('cache-control'), 'no-store');
  const body = res.json;
  assert.match(body.connectorId, /^con_[0-9a-f]{16}$/);
  assert.equal(body.tenantId, tenantId);
  assert.equal(body.groupId, groupId);
  assert.equal(body.tunnelHost, TUNNEL_HOST);
  assert.equal(body.caCertificate, ca.caCertPem);

  const cert = new X509Certificate(body.certificate);
  assert.equal(cert.subject, `CN=${body.connectorId}`);
  assert.ok(cert.checkIssued(new X509Certificate(ca.caCertPem)));
  assert.deepEqual(ca.verifyPeer(body.certificate), {
    connectorId: body.connectorId,
    serial: normalizeSerial(cert.serialNumber),
  });

  const row = await store.connectors.get(tenantId, body.connectorId);
  assert.ok(row);
  assert.equal(row.name, 'dc1-connector');
  assert.equal(row.groupId, groupId);
  assert.equal(row.certSerial, normalizeSerial(cert.serialNumber));
  assert.equal(new Date(row.certNotAfter).getTime(), cert.validToDate.getTime());
  assert.equal(row.version, '0.1.0');
  assert.equal(row.hostname, 'dc1.corp.local');

  const tokens = await store.enrollmentTokens.list(tenantId);
  assert.equal(tokens.find((t) => t.connectorId === body.connectorId)?.usedAt !== null, true);

  const audit = await store.audit.list(tenantId, { action: 'connector.enrolled', target: body.connectorId });
  assert.equal(audit.items.length, 1);
  assert.equal(audit.items[0].actor, `connector:${body.connectorId}`);
  assert.equal(JSON.stringify(audit.items[0].detail).includes(token), false, 'the token never reaches the audit log');
});

test('a token used once is refused the second time: DB-ENROLL-TOKEN-INVALID', async () => {
  const { token } = await store.enrollmentTokens.create(tenantId, groupId, 600);
  assert.equal((await enroll({ token, csr: await csr(), version: '0.1.0' })).status, 201);
  const again = await enroll({ token, csr: await csr(), version: '0.1.0' });
  assert.equal(again.status, 401);
  assert.equal(again.json.error.code, 'DB-ENROLL-TOKEN-INVALID');
  assert.equal(typeof again.json.error.correlationId, 'string');
  assert.equal(typeof again.json.error.title, 'string');
  assert.equal(typeof again.json.error.message, 'string');
});

test('two racing enrollments with one token: exactly one wins', async () => {
  const { token } = await store.enrollmentTokens.create(tenantId, groupId, 600);
  const [a, b] = await Promise.all([enroll({ token, csr: await csr() }), enroll({ token, csr: await csr() })]);
  assert.deepEqual([a.status, b.status].sort(), [201, 401]);
});

test('an expired token is refused with the same code', async () => {
  const { token } = await store.enrollmentTokens.create(tenantId, groupId, 60);
  clock = () => new Date(Date.now() + 61_000);
  try {
    const res = await enroll({ token, csr: await csr() });
    assert.equal(res.status, 401);
    assert.equal(res.json.error.code, 'DB-ENROLL-TOKEN-INVALID');
  } finally {
    clock = () => new Date();
  }
});

test('an unknown or malformed token is refused with the same code', async () => {
  for (const token of ['nope', 'dbe_enr_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
    const res = await enroll({ token, csr: await csr() });
    assert.equal(res.json.error.code, 'DB-ENROLL-TOKEN-INVALID', token);
  }
});

test('a tampered CSR is refused with DB-ENROLL-CSR-INVALID and does not burn the token', async () => {
  const { token } = await store.enrollmentTokens.create(tenantId, groupId, 600);
  const good = await csr();
  const lines = good.split('\n');
  // Flip a character in the middle of the body: a changed byte in the signed part or the signature.
  const i = 3;
  lines[i] = lines[i].slice(0, 10) + (lines[i][10] === 'A' ? 'B' : 'A') + lines[i].slice(11);
  const res = await enroll({ token, csr: lines.join('\n') });
  assert.equal(res.status, 400);
  assert.equal(res.json.error.code, 'DB-ENROLL-CSR-INVALID');
  assert.equal((await enroll({ token, csr: good })).status, 201, 'the token still works');
});

test('wrong method → 405 with Allow: POST', async () => {
  const res = await enroll(undefined, { method: 'GET' });
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'POST');
  assert.equal(res.json.error.code, 'DB-ENROLL-METHOD-NOT-ALLOWED');
});

test('a body over 64 KiB → 413 DB-ENROLL-BODY-TOO-LARGE', async () => {
  const res = await enroll({ token: 'x', csr: 'A'.repeat(70 * 1024) });
  assert.equal(res.status, 413);
  assert.equal(res.json.error.code, 'DB-ENROLL-BODY-TOO-LARGE');
});

test('a body over 64 KiB without Content-Length (chunked) → 413', async () => {
  const { port } = server.address() as AddressInfo;
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: ENROLL_PATH, method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    const chunk = Buffer.alloc(16 * 1024, 0x41);
    for (let i = 0; i < 5; i++) req.write(chunk);
    req.end();
  });
  assert.equal(status, 413);
});

test('not JSON, missing fields, wrong content type → 400 DB-ENROLL-REQUEST-INVALID naming the field', async () => {
  const notJson = await enroll('{"token":');
  assert.equal(notJson.json.error.code, 'DB-ENROLL-REQUEST-INVALID');
  const missing = await enroll({ token: 'x' });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error.detail, /csr/);
  const form = await enroll('token=x', { contentType: 'application/x-www-form-urlencoded' });
  assert.equal(form.json.error.code, 'DB-ENROLL-REQUEST-INVALID');
  const longName = await enroll({ token: 'x', csr: 'y', name: 'n'.repeat(101) });
  assert.match(longName.json.error.detail, /name/);
});
