// KerberosClient end to end against the in-memory FakeKdc (no network).
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { parsePrincipal } from './asn1/principal.ts';
import { KerberosClient } from './client.ts';
import { getEnctype } from './crypto/registry.ts';
import { isKerberosError } from './errors.ts';
import { Keytab } from './keytab.ts';
import { TicketFlags } from './messages/constants.ts';
import { FakeKdc } from './test-support/fake-kdc.ts';

const REALM = 'CORP.TEST';
const key = (t = 18) => ({ keytype: t, keyvalue: getEnctype(t).randomKey() });

function setup() {
  let now = Date.parse('2025-06-01T08:00:00Z');
  const clock = () => now;
  const kdc = new FakeKdc(REALM);
  kdc.now = clock;
  const connectorKey = key();
  kdc.addAccount('connector', { key: connectorKey, allowedToDelegateTo: ['HTTP/app.corp.test'] });
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
    {
      principal: parsePrincipal(`connector@${REALM}`),
      timestamp: new Date(0),
      kvno: 2,
      enctype: 23,
      key: new Uint8Array(16),
    },
  ]);
  const client = new KerberosClient({ realm: REALM, principal: 'connector', keytab, kdcs: [], send: kdc.send, clock });
  return { kdc, client, keytab, advance: (ms: number) => (now += ms), clock };
}

describe('KerberosClient with a fake KDC', () => {
  let s: ReturnType<typeof setup>;
  beforeEach(() => {
    s = setup();
  });

  it('gets a TGT with PA-ENC-TIMESTAMP after PREAUTH_REQUIRED, then caches it', async () => {
    const tgt = await s.client.getTgt();
    assert.deepEqual(tgt.server.name.components, ['krbtgt', REALM]);
    assert.equal(s.kdc.requests.length, 2);
    await s.client.getTgt();
    assert.equal(s.kdc.requests.length, 2);
    assert.deepEqual(s.client.enctypes, [18]);
  });

  it('runs S4U2Self + S4U2Proxy and caches per user and service', async () => {
    const cred = await s.client.serviceTicketFor('alice', 'HTTP/app.corp.test');
    assert.equal(cred.client.name.components[0], 'alice');
    assert.deepEqual(cred.server.name.components, ['HTTP', 'app.corp.test']);
    const n = s.kdc.requests.length;
    assert.equal(n, 4); // AS x2, S4U2Self, S4U2Proxy
    await s.client.serviceTicketFor('alice', 'HTTP/app.corp.test');
    assert.equal(s.kdc.requests.length, n);
    // Evidence ticket is reused for the same user.
    await s.client.s4u2self('alice');
    assert.equal(s.kdc.requests.length, n);
  });

  it('shares one KDC round trip between concurrent callers', async () => {
    await Promise.all(Array.from({ length: 5 }, () => s.client.serviceTicketFor('alice', 'HTTP/app.corp.test')));
    assert.equal(s.kdc.requests.length, 4);
  });

  it('renews cached tickets shortly before expiry (injected clock)', async () => {
    await s.client.serviceTicketFor('alice', 'HTTP/app.corp.test');
    s.advance(10 * 3600_000 - 4 * 60_000); // inside the 5-minute refresh margin
    await s.client.serviceTicketFor('alice', 'HTTP/app.corp.test');
    assert.equal(s.kdc.requests.length, 8);
  });

  it('builds a Negotiate header the service accepts and verifies its mutual-auth reply', async () => {
    const neg = await s.client.negotiateHeader('alice', 'HTTP/app.corp.test');
    assert.match(neg.header, /^Negotiate /);
    const { user, wwwAuthenticate } = s.kdc.acceptNegotiate('HTTP/app.corp.test', neg.header);
    assert.equal(user, `alice@${REALM}`);
    assert.doesNotThrow(() => neg.verify(wwwAuthenticate));
    // A reply made for another request (another authenticator time) does not verify.
    s.advance(1);
    const other = await s.client.negotiateHeader('alice', 'HTTP/app.corp.test');
    assert.throws(() => other.verify(wwwAuthenticate), { code: 'KRB-MUTUAL-AUTH-FAILED' });
    assert.throws(() => neg.verify('NTLM'), { code: 'KRB-NTLM-ONLY' });
    assert.throws(() => neg.verify(undefined), { code: 'KRB-MUTUAL-AUTH-FAILED' });
  });

  it('explains the delegation failures', async () => {
    const bob = await s.client.s4u2self('bob');
    assert.equal(bob.flags & TicketFlags.FORWARDABLE, 0);
    await assert.rejects(s.client.serviceTicketFor('bob', 'HTTP/app.corp.test'), (e) => {
      assert.ok(isKerberosError(e, 'KRB-KDC-ERROR'));
      assert.equal(e.krbCode, 13);
      assert.equal(e.krbName, 'KDC_ERR_BADOPTION');
      assert.match(e.hint ?? '', /not forwardable/);
      return true;
    });
    await assert.rejects(s.client.serviceTicketFor('alice', 'HTTP/other.corp.test'), (e) => {
      assert.ok(isKerberosError(e) && e.krbCode === 13 && /may not delegate/.test(e.hint ?? ''));
      return true;
    });
    await assert.rejects(s.client.serviceTicketFor('nobody', 'HTTP/app.corp.test'), {
      code: 'KRB-KDC-ERROR',
      krbCode: 6,
      krbName: 'KDC_ERR_C_PRINCIPAL_UNKNOWN',
    });
    await assert.rejects(s.client.serviceTicketFor('dave', 'HTTP/app.corp.test'), {
      code: 'KRB-KDC-ERROR',
      krbCode: 12,
      krbName: 'KDC_ERR_POLICY',
    });
    await assert.rejects(s.client.serviceTicketFor('alice', 'HTTP/nosuch.corp.test'), {
      code: 'KRB-KDC-ERROR',
      krbCode: 7,
    });
  });

  it('detects clock skew from the KDC time in a KRB-ERROR', async () => {
    s.kdc.now = () => s.clock() + 3600_000;
    await assert.rejects(s.client.getTgt(), (e) => {
      assert.ok(isKerberosError(e, 'KRB-CLOCK-SKEW'));
      assert.equal(e.skewMs, 3600_000);
      return true;
    });
  });

  it('detects clock skew on a KRB_AP_ERR_SKEW answer', async () => {
    // Small enough to pass the PREAUTH_REQUIRED check, too large for the KDC's own check.
    const tolerant = new KerberosClient({
      realm: REALM,
      principal: 'connector',
      keytab: s.keytab,
      kdcs: [],
      send: s.kdc.send,
      clock: s.clock,
      maxSkewMs: 3600_000,
    });
    s.kdc.now = () => s.clock() + 10 * 60_000;
    await assert.rejects(tolerant.getTgt(), { code: 'KRB-CLOCK-SKEW', krbCode: 37 });
  });

  it('refuses without an AES key, and when the KDC takes none of ours', async () => {
    const rc4only = new Keytab([
      {
        principal: parsePrincipal(`connector@${REALM}`),
        timestamp: new Date(0),
        kvno: 2,
        enctype: 23,
        key: new Uint8Array(16),
      },
    ]);
    const c1 = new KerberosClient({
      realm: REALM,
      principal: 'connector',
      keytab: rc4only,
      kdcs: [],
      send: s.kdc.send,
      clock: s.clock,
    });
    await assert.rejects(c1.getTgt(), { code: 'KRB-NO-COMMON-ENCTYPE' });
    assert.equal(s.kdc.requests.length, 0);
    s.kdc.addAccount('connector', { key: key(17) }); // the KDC now holds only aes128 for us
    await assert.rejects(s.client.getTgt(), { code: 'KRB-NO-COMMON-ENCTYPE', krbCode: 14 });
  });

  it('uses the salt from ETYPE-INFO2 for a password', async () => {
    const k = getEnctype(18).stringToKey('s3cret', 'CORP.TESTweird-salt');
    s.kdc.addAccount('carol', { key: { keytype: 18, keyvalue: k }, salt: 'CORP.TESTweird-salt' });
    const c = new KerberosClient({
      realm: REALM,
      principal: 'carol',
      password: 's3cret',
      kdcs: [],
      send: s.kdc.send,
      clock: s.clock,
    });
    assert.equal((await c.getTgt()).client.name.components[0], 'carol');
    const wrong = new KerberosClient({
      realm: REALM,
      principal: 'carol',
      password: 'nope',
      kdcs: [],
      send: s.kdc.send,
      clock: s.clock,
    });
    await assert.rejects(wrong.getTgt(), { code: 'KRB-KDC-ERROR', krbCode: 24 });
  });

  it('maps user names: plain, realm-qualified, and UPN as enterprise name', () => {
    assert.deepEqual(s.client.userPrincipal('alice').name, { nameType: 1, components: ['alice'] });
    assert.deepEqual(s.client.userPrincipal('alice@corp.test').name, { nameType: 1, components: ['alice'] });
    assert.deepEqual(s.client.userPrincipal('alice@contoso.com'), {
      name: { nameType: 10, components: ['alice@contoso.com'] },
      realm: REALM,
    });
    assert.deepEqual(s.client.servicePrincipal('HTTP/app.corp.test').name, {
      nameType: 2,
      components: ['HTTP', 'app.corp.test'],
    });
  });
});
