// src/kerberos against a real Active Directory KDC (the Samba lab) and a real
// GSSAPI acceptor (Apache + mod_auth_gssapi): the connector's whole KCD flow,
// and every failure mode the diagnostics must recognise.
//
//   ./node_modules/.bin/node --test test/kcd/        (root; see lab.ts)
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { formatPrincipal } from '../../src/kerberos/asn1/principal.ts';
import { KerberosClient } from '../../src/kerberos/client.ts';
import type { Credential } from '../../src/kerberos/credential.ts';
import { isKerberosError, KerberosError } from '../../src/kerberos/errors.ts';
import { TicketFlags } from '../../src/kerberos/messages/constants.ts';
import {
  FAILURE_MODE_NAMES,
  failureModes,
  kdcLogSize,
  kdcRefusals,
  type LabInfo,
  type LabServiceAccount,
  labUnavailable,
  startLab,
  stopLab,
} from './lab.ts';

const skip = labUnavailable();
const AES256 = 18;

function clientFor(lab: LabInfo, account: LabServiceAccount): Promise<KerberosClient> {
  return KerberosClient.fromKeytabFile(account.keytab, {
    realm: lab.realm,
    principal: account.principal,
    kdcs: [`${lab.kdc.host}:${lab.kdc.port}`],
  });
}

const name = (c: Credential, part: 'client' | 'server'): string => formatPrincipal(c[part].name, c[part].realm);
const forwardable = (c: Credential): boolean => (c.flags & TicketFlags.FORWARDABLE) !== 0;

type HttpAnswer = { status: number; headers: Record<string, string[]>; body: string };

/** GET / at address:port with Host `host:port` and an optional Authorization header. */
function get(server: { address: string; port: number; host: string }, authorization?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `${server.host}:${server.port}` };
    if (authorization) headers.authorization = authorization;
    const req = request({ host: server.address, port: server.port, path: '/', headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => {
        const all: Record<string, string[]> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          (all[res.rawHeaders[i].toLowerCase()] ??= []).push(res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode ?? 0, headers: all, body });
      });
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject).end();
  });
}

/** Await `p`, expecting a KerberosError; returns it. */
async function rejection(p: Promise<unknown>): Promise<KerberosError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KerberosError, `expected a KerberosError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the KDC to refuse');
}

describe('src/kerberos against the Samba AD lab and Apache mod_auth_gssapi', { skip }, () => {
  let lab: LabInfo;
  let connector: KerberosClient;

  before(async () => {
    lab = await startLab();
    connector = await clientFor(lab, lab.connector);
  });
  after(() => stopLab());

  it('AS exchange: a TGT with the connector keytab', async () => {
    const tgt = await connector.getTgt();
    assert.equal(name(tgt, 'client'), 'connector@CORP.TEST');
    assert.equal(name(tgt, 'server'), 'krbtgt/CORP.TEST@CORP.TEST');
    assert.equal(tgt.sessionKey.keytype, AES256);
    assert.ok(tgt.endtime.getTime() > Date.now());
  });

  it('AS exchange with a password (alice), and the wrong one refused', async () => {
    const alice = new KerberosClient({
      realm: lab.realm,
      principal: 'alice',
      password: lab.users.alice.password ?? '',
      kdcs: [`127.0.0.1:${lab.kdc.port}`],
    });
    assert.equal(name(await alice.getTgt(), 'client'), 'alice@CORP.TEST');
    const wrong = new KerberosClient({
      realm: lab.realm,
      principal: 'alice',
      password: 'not-her-password',
      kdcs: [`127.0.0.1:${lab.kdc.port}`],
    });
    const err = await rejection(wrong.getTgt());
    assert.equal(err.code, 'KRB-KDC-ERROR');
    assert.equal(err.krbName, 'KDC_ERR_PREAUTH_FAILED');
  });

  it('S4U2Self: a forwardable evidence ticket for alice, to the connector itself', async () => {
    const evidence = await connector.s4u2self('alice');
    assert.equal(name(evidence, 'client'), 'alice@CORP.TEST');
    assert.equal(name(evidence, 'server'), 'connector@CORP.TEST');
    assert.ok(forwardable(evidence), 'protocol transition on: the evidence ticket must be forwardable');
  });

  it("S4U2Proxy: alice's AES ticket for HTTP/app.corp.test", async () => {
    const ticket = await connector.s4u2proxy(await connector.s4u2self('alice'), lab.app.spn);
    assert.equal(name(ticket, 'client'), 'alice@CORP.TEST');
    assert.equal(name(ticket, 'server'), 'HTTP/app.corp.test@CORP.TEST');
    assert.equal(ticket.ticket.encPart.etype, AES256);
  });

  it('Apache accepts the Negotiate header: REMOTE_USER is alice@CORP.TEST, mutual auth verifies', async () => {
    const negotiate = await connector.negotiateHeader('alice', lab.app.spn);
    const r = await get(lab.app, negotiate.header);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^REMOTE_USER=alice@CORP\.TEST$/m);
    assert.match(r.body, /^AUTH_TYPE=Negotiate$/m);
    assert.deepEqual(r.headers['x-remote-user'], ['alice@CORP.TEST']);
    assert.doesNotThrow(() => negotiate.verify(r.headers['www-authenticate']));
  });

  it('a second request with a fresh authenticator (cached ticket) is accepted too', async () => {
    const negotiate = await connector.negotiateHeader('alice', lab.app.spn);
    const r = await get(lab.app, negotiate.header);
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.headers['x-remote-user'], ['alice@CORP.TEST']);
  });

  it('the NTLM-only backend: verify() says KRB-NTLM-ONLY', async () => {
    const negotiate = await connector.negotiateHeader('alice', lab.app.spn);
    const r = await get(lab.ntlm, negotiate.header);
    assert.equal(r.status, 401);
    assert.deepEqual(r.headers['www-authenticate'], ['NTLM']);
    assert.throws(
      () => negotiate.verify(r.headers['www-authenticate']),
      (err) => isKerberosError(err, 'KRB-NTLM-ONLY'),
    );
  });

  it('the two BADOPTION causes differ in the evidence ticket: not forwardable for bob and for connector-kconly', async () => {
    assert.equal(forwardable(await connector.s4u2self('bob')), false, 'bob is sensitive and cannot be delegated');
    const kconly = await clientFor(lab, lab.connectorKerberosOnly);
    assert.equal(forwardable(await kconly.s4u2self('alice')), false, 'connector-kconly has no protocol transition');
  });

  describe("failure modes: the KDC's KRB-ERROR reaches the caller", () => {
    for (const modeName of FAILURE_MODE_NAMES) {
      it(modeName, async () => {
        const mode = failureModes(lab).find((m) => m.name === modeName);
        assert.ok(mode);
        const client = await clientFor(lab, mode.service);
        await client.getTgt();
        const offset = await kdcLogSize(lab);
        let err: KerberosError;
        if (mode.failsAt === 'S4U2Self') {
          err = await rejection(client.s4u2self(mode.user));
        } else {
          const evidence = await client.s4u2self(mode.user);
          err = await rejection(client.s4u2proxy(evidence, mode.spn));
        }
        assert.equal(err.code, 'KRB-KDC-ERROR', err.message);
        assert.equal(err.krbCode, mode.code, `${mode.description}: ${err.message}`);
        assert.equal(err.krbName, mode.error);
        const wanted = [mode.error.replace('KDC_', ''), mode.service.principal, `reason=${mode.kdcReason}`];
        const logged = await kdcRefusals(lab, offset, wanted);
        assert.ok(
          logged.some((l) => wanted.every((w) => l.includes(w))),
          `KDC log: ${logged.join('\n')}`,
        );
        // and the one-call path the connector uses fails the same way
        const again = await rejection(client.serviceTicketFor(mode.user, mode.spn));
        assert.equal(again.krbCode, mode.code);
      });
    }
  });
});
