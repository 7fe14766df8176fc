// Connector SSO without a network KDC: the forwarder with KerberosSso over the library's in-memory FakeKdc and an
// in-process Negotiate backend (retry once on 401, mutual authentication, NTLM-only), failure explanations, and
// header SSO (client copies stripped). The real-AD version of all this is test/kcd/sso.test.ts.
import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { KerberosClient, Keytab, getEnctype, parsePrincipal } from '../../kerberos/index.ts';
import { FakeKdc } from '../../kerberos/test-support/fake-kdc.ts';
import {
  APP_HEADER,
  ASSERTION_HEADER,
  ERROR_HEADER,
  IDENTITY_HEADER,
  encodeIdentity,
  type ConnectorAppConfig,
  type Identity,
} from '../../tunnel/protocol.ts';
import { AppConfigTable } from '../forward/app-config.ts';
import { BackendPools } from '../forward/backend-pool.ts';
import { createForwarder } from '../forward/forwarder.ts';
import { headersSso } from './headers.ts';
import { createSsoProvider } from './index.ts';
import { KerberosSso, loginName } from './kerberos.ts';
import { SsoError } from './sso-error.ts';

const REALM = 'CORP.TEST';
const key = () => ({ keytype: 18, keyvalue: getEnctype(18).randomKey() });
const logger = pino({ level: 'silent' });
const identity = (upn: string): Identity => ({
  userId: `usr_${upn}`,
  tenantId: 'tnt_1',
  upn,
  displayName: upn,
  email: upn,
  onPremName: upn.split('@')[0].toUpperCase(),
  groups: ['HR', 'Staff'],
  authMethods: ['password'],
});

function kdcWith(options: { protocolTransition?: boolean } = {}) {
  const kdc = new FakeKdc(REALM);
  const connectorKey = key();
  kdc.addAccount('connector', {
    key: connectorKey,
    allowedToDelegateTo: ['HTTP/app.corp.test'],
    protocolTransition: options.protocolTransition ?? true,
  });
  kdc.addAccount('HTTP/app.corp.test', { key: key() });
  kdc.addAccount('HTTP/other.corp.test', { key: key() });
  kdc.addAccount('alice', { key: key() });
  kdc.addAccount('bob', { key: key(), notDelegated: true });
  kdc.addAccount('dave', { key: key(), disabled: true });
  const keytab = new Keytab([
    {
      principal: parsePrincipal(`connector@${REALM}`),
      timestamp: new Date(0),
      kvno: 2,
      enctype: 18,
      key: connectorKey.keyvalue,
    },
  ]);
  const krb = new KerberosClient({ realm: REALM, principal: 'connector', keytab, kdcs: [], send: kdc.send });
  return { kdc, krb };
}

describe('connector SSO: Kerberos through the forwarder (fake KDC, in-process backend)', () => {
  const { kdc, krb } = kdcWith();
  let mode: 'ok' | 'reject-once' | 'reject' | 'ntlm' | 'forged' = 'ok';
  let hits = 0;
  let rejected = 0;
  let backend: http.Server;
  let server: http2.Http2Server;
  let client: http2.ClientHttp2Session;
  const apps = new AppConfigTable();
  const pools = new BackendPools();

  before(async () => {
    backend = http.createServer((req, res) => {
      hits++;
      req.resume();
      if (mode === 'ntlm') return void res.writeHead(401, { 'www-authenticate': 'NTLM' }).end('no');
      if (mode === 'reject' || (mode === 'reject-once' && rejected === 0)) {
        rejected++;
        return void res.writeHead(401, { 'www-authenticate': 'Negotiate' }).end('again');
      }
      const { user, wwwAuthenticate } = kdc.acceptNegotiate('HTTP/app.corp.test', String(req.headers.authorization));
      const reply =
        mode === 'forged'
          ? `Negotiate ${Buffer.from('oRQwEqADCgEAoQsGCSqGSIb3EgECAg==', 'base64').toString('base64')}`
          : wwwAuthenticate;
      res.writeHead(200, { 'www-authenticate': reply, 'content-type': 'text/plain' }).end(`hello ${user}`);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const app: ConnectorAppConfig = {
      id: 'app_iwa',
      name: 'iwa',
      internalUrl: `http://127.0.0.1:${(backend.address() as AddressInfo).port}`,
      backendTimeout: 5,
      tlsVerify: true,
      backendCa: null,
      sso: { mode: 'kerberos', spn: 'HTTP/app.corp.test', loginIdentity: 'upnUserPart' },
    };
    apps.apply({
      version: 1,
      tenantId: 'tnt_1',
      groupId: 'grp_1',
      apps: [
        app,
        {
          ...app,
          id: 'app_other',
          sso: { mode: 'kerberos', spn: 'HTTP/other.corp.test', loginIdentity: 'upnUserPart' },
        },
      ],
    });
    const sso = createSsoProvider({ kerberos: new KerberosSso(krb, logger), logger });
    server = http2.createServer();
    server.on('stream', createForwarder({ apps, pools, logger, sso }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });
  after(async () => {
    client.close();
    server.close();
    backend.close();
    await pools.close();
  });

  function ask(
    user: string,
    options: { app?: string; body?: string } = {},
  ): Promise<{ status: number; error?: string; body: string }> {
    return new Promise((resolve, reject) => {
      const s = client.request(
        {
          ':method': options.body ? 'POST' : 'GET',
          ':path': '/',
          [APP_HEADER]: options.app ?? 'app_iwa',
          [IDENTITY_HEADER]: encodeIdentity(identity(user)),
          ...(options.body ? { 'content-length': String(Buffer.byteLength(options.body)) } : {}),
        },
        { endStream: !options.body },
      );
      if (options.body) s.end(options.body);
      let status = 0;
      let error: string | undefined;
      let body = '';
      s.on('response', (h) => {
        status = Number(h[':status']);
        error = h[ERROR_HEADER] as string | undefined;
      });
      s.setEncoding('utf8').on('data', (d: string) => (body += d));
      s.on('end', () => resolve({ status, error, body }));
      s.on('error', reject);
    });
  }

  it('sends Negotiate for the user and verifies the AP-REP; the ticket is cached', async () => {
    mode = 'ok';
    const before = kdc.requests.length;
    assert.deepEqual(await ask('alice@corp.test'), { status: 200, error: undefined, body: `hello alice@${REALM}` });
    const kdcCalls = kdc.requests.length - before;
    assert.equal((await ask('alice@corp.test')).status, 200);
    assert.equal(kdc.requests.length - before, kdcCalls, 'no KDC round trip for the second request');
  });

  it('retries once with a fresh ticket when the backend answers 401, then passes', async () => {
    mode = 'reject-once';
    rejected = 0;
    hits = 0;
    const res = await ask('alice@corp.test');
    assert.equal(res.status, 200);
    assert.equal(hits, 2);
  });

  it('a second 401 is DB-KCD-BACKEND-REJECTED, and requests with a body are not retried', async () => {
    mode = 'reject';
    hits = 0;
    assert.equal((await ask('alice@corp.test')).error, 'DB-KCD-BACKEND-REJECTED');
    assert.equal(hits, 2);
    hits = 0;
    assert.equal((await ask('alice@corp.test', { body: 'x'.repeat(1000) })).error, 'DB-KCD-BACKEND-REJECTED');
    assert.equal(hits, 1);
  });

  it('an NTLM-only backend is DB-KCD-BACKEND-NTLM without a retry', async () => {
    mode = 'ntlm';
    hits = 0;
    assert.equal((await ask('alice@corp.test')).error, 'DB-KCD-BACKEND-NTLM');
    assert.equal(hits, 1);
  });

  it('a Negotiate reply that does not prove the backend opened the ticket is DB-KCD-MUTUAL-AUTH-FAILED', async () => {
    mode = 'forged';
    assert.equal((await ask('alice@corp.test')).error, 'DB-KCD-MUTUAL-AUTH-FAILED');
  });

  it('KDC refusals become their codes', async () => {
    mode = 'ok';
    assert.equal((await ask('bob@corp.test')).error, 'DB-KCD-USER-SENSITIVE');
    assert.equal((await ask('dave@corp.test')).error, 'DB-KCD-USER-DISABLED');
    assert.equal((await ask('nosuchuser@corp.test')).error, 'DB-KCD-USER-UNKNOWN');
    assert.equal((await ask('alice@corp.test', { app: 'app_other' })).error, 'DB-KCD-DELEGATION-NOT-ALLOWED');
  });
});

describe('connector SSO: explanations and login identities', () => {
  it('protocol transition off is told apart from a sensitive user', async () => {
    const { krb } = kdcWith({ protocolTransition: false });
    const sso = new KerberosSso(krb, logger);
    await assert.rejects(
      sso.ticket('alice', 'HTTP/app.corp.test'),
      (err: SsoError) => err.code === 'DB-KCD-PROTOCOL-TRANSITION-OFF',
    );
  });

  it('maps the login identity', () => {
    const id = identity('alice@corp.example');
    assert.equal(loginName(id, 'upn'), 'alice@corp.example');
    assert.equal(loginName(id, 'upnUserPart'), 'alice');
    assert.equal(loginName(id, 'onPremName'), 'ALICE');
    assert.equal(loginName({ ...id, email: null }, 'email'), null);
  });

  it('no connector Kerberos config: DB-KCD-NOT-CONFIGURED', async () => {
    const provider = createSsoProvider({ kerberos: null, logger });
    const app = {
      id: 'a',
      name: 'a',
      internalUrl: 'http://x',
      backendTimeout: 5,
      tlsVerify: true,
      backendCa: null,
      sso: { mode: 'kerberos', spn: 'HTTP/x', loginIdentity: 'upn' },
    } as const;
    await assert.rejects(
      provider(app, identity('a@b'), 'correlation-id', { retry: false, requestHeaders: {} }),
      (err: SsoError) => err.code === 'DB-KCD-NOT-CONFIGURED',
    );
  });
});

describe('connector SSO: identity headers', () => {
  const sso = {
    mode: 'headers',
    headers: { user: 'X-Remote-User', email: 'x-remote-email', groups: 'X-Remote-Groups' },
    jwt: true,
  } as const;

  it('sets the configured headers and the edge assertion, and strips the client copies', () => {
    const result = headersSso(sso, identity('alice@corp.example'), { [ASSERTION_HEADER]: 'a.b.c' });
    assert.deepEqual(result.headers, {
      'x-remote-user': 'alice@corp.example',
      'x-remote-email': 'alice@corp.example',
      'x-remote-groups': 'HR,Staff',
      [ASSERTION_HEADER]: 'a.b.c',
    });
    assert.deepEqual(result.strip, ['x-remote-user', 'x-remote-email', 'x-remote-groups', ASSERTION_HEADER]);
  });

  it('percent-encodes non-ASCII values; refuses without identity or assertion', () => {
    const result = headersSso(
      { mode: 'headers', headers: { groups: 'g' } },
      { ...identity('a@b'), groups: ['Équipe'] },
      {},
    );
    assert.equal(result.headers.g, '%C3%89quipe');
    assert.throws(
      () => headersSso(sso, null, {}),
      (err: SsoError) => err.code === 'DB-SSO-NO-IDENTITY',
    );
    assert.throws(
      () => headersSso(sso, identity('a@b'), {}),
      (err: SsoError) => err.code === 'DB-SSO-NO-IDENTITY',
    );
  });
});
