// The KCD lab itself, checked with MIT's reference tools (kinit, kvno, klist,
// curl --negotiate): if the lab is broken, this file says so before the
// Kerberos interop and connector tests fail for obscure reasons.
//
//   ./node_modules/.bin/node --test test/kcd/        (root; first run ≈ 1 min)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  FAILURE_MODE_NAMES,
  failureModes,
  kdcLogSize,
  kdcRefusals,
  type LabInfo,
  labEnv,
  labUnavailable,
  mitKinit,
  mitKvnoS4u,
  readLabInfo,
  run,
  runLabScript,
  startLab,
  stopLab,
} from './lab.ts';

const skip = labUnavailable();

type HttpAnswer = { status: number; headers: Record<string, string[]>; body: string };

/** GET through node:http to address:port with the given Host (no DNS involved). */
function get(
  server: { address: string; port: number; host: string },
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: server.address,
        port: server.port,
        path: '/',
        headers: { host: `${server.host}:${server.port}`, ...headers },
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => (body += d));
        res.on('end', () => {
          const all: Record<string, string[]> = {};
          for (let i = 0; i < res.rawHeaders.length; i += 2) {
            (all[res.rawHeaders[i].toLowerCase()] ??= []).push(res.rawHeaders[i + 1]);
          }
          resolve({ status: res.statusCode ?? 0, headers: all, body });
        });
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', reject).end();
  });
}

// ---- a minimal LDAP simple bind (RFC 4511), enough to prove the lab's LDAP credentials

function ber(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

/** Simple bind as `dn`; resolves with the LDAP resultCode (0 success, 49 invalid credentials). */
function ldapSimpleBind(url: string, dn: string, password: string): Promise<number> {
  const { hostname, port } = new URL(url);
  const bind = ber(
    0x60,
    Buffer.concat([ber(0x02, Buffer.from([3])), ber(0x04, Buffer.from(dn)), ber(0x80, Buffer.from(password))]),
  );
  const message = ber(0x30, Buffer.concat([ber(0x02, Buffer.from([1])), bind]));
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port || 389), hostname);
    let buf = Buffer.alloc(0);
    sock.setTimeout(10_000, () => sock.destroy(new Error('LDAP timeout')));
    sock.on('connect', () => sock.write(message));
    sock.on('error', reject);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      // LDAPMessage: 30 len, 02 01 <id>, 61 len, 0a 01 <resultCode>, ...
      let i = 1;
      const first = buf[i++];
      if (first === undefined) return;
      if (first & 0x80) i += first & 0x7f;
      if (buf.length < i + 3) return;
      i += 2 + buf[i + 1]; // messageID
      if (buf[i] !== 0x61) return reject(new Error(`not a BindResponse: ${buf.toString('hex')}`));
      const l = buf[i + 1];
      i += 2 + (l & 0x80 ? l & 0x7f : 0);
      if (buf.length < i + 3) return;
      sock.destroy();
      resolve(buf[i + 2]);
    });
  });
}

describe('KCD lab (Samba AD + Apache, checked with MIT tools)', { skip }, () => {
  let lab: LabInfo;
  let tmp: string;
  let ccConnector: string;
  let ccKerberosOnly: string;

  before(async () => {
    lab = await startLab();
    tmp = await mkdtemp(`${lab.dir}/ccache/lab-test.`);
    ccConnector = `FILE:${tmp}/connector`;
    ccKerberosOnly = `FILE:${tmp}/connector-kconly`;
  });
  after(async () => {
    try {
      if (tmp) await rm(tmp, { recursive: true, force: true });
    } finally {
      await stopLab();
    }
  });

  it('describes itself in lab.json', async () => {
    assert.equal(lab.realm, 'CORP.TEST');
    assert.deepEqual(lab.kdc, { host: '127.0.0.1', port: 88 });
    assert.equal(lab.app.port, 18080);
    assert.equal(lab.ntlm.port, 18081);
    assert.equal(lab.app.spn, 'HTTP/app.corp.test');
    assert.deepEqual(lab.connector.allowedToDelegateTo, ['HTTP/app.corp.test']);
    assert.equal(lab.connector.protocolTransition, true);
    assert.equal(lab.connectorKerberosOnly.protocolTransition, false);
    for (const kt of [lab.connector.keytab, lab.connectorKerberosOnly.keytab]) {
      assert.equal((await stat(kt)).mode & 0o777, 0o600, kt);
    }
    assert.equal((await stat(lab.app.keytab)).mode & 0o777, 0o640, lab.app.keytab);
    assert.equal((await stat(`${lab.dir}/lab.json`)).mode & 0o777, 0o600);
  });

  it('listens on 127.0.0.1 only', () => {
    // every socket of every process in the daemons' sessions (started with setsid)
    const sessions = [lab.pids.samba, lab.pids.apacheApp, lab.pids.apacheNtlm].join(',');
    const pids = new Set(
      execFileSync('ps', ['-o', 'pid=', '-s', sessions], { encoding: 'utf8' }).split(/\s+/).filter(Boolean),
    );
    assert.ok(pids.size >= 3, `processes of sessions ${sessions}: ${[...pids].join(' ')}`);
    const sockets = execFileSync('ss', ['-H', '-lntup'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => [...line.matchAll(/pid=(\d+)/g)].some((m) => pids.has(m[1])));
    const local = sockets.map((line) => line.trim().split(/\s+/)[4]);
    for (const port of [88, 389, 18080, 18081])
      assert.ok(local.includes(`127.0.0.1:${port}`), `127.0.0.1:${port} in ${local.join(' ')}`);
    const elsewhere = local.filter((addr) => !addr.startsWith('127.0.0.1:'));
    assert.deepEqual(elsewhere, [], 'sockets not bound to 127.0.0.1');
  });

  it('`up` again is a no-op while it runs', async () => {
    // runLabScript runs it under this process's lease (a bare `up` would hold "manual" and outlive the tests)
    await runLabScript(['up']);
    assert.deepEqual((await readLabInfo()).pids, lab.pids, 'the daemons were not restarted');
  });

  it('kinit with the connector keytab (and the Kerberos-only one)', async () => {
    await mitKinit(lab, lab.connector, ccConnector);
    await mitKinit(lab, lab.connectorKerberosOnly, ccKerberosOnly);
    const klist = await run('klist', ['-c', ccConnector], labEnv(lab));
    assert.match(klist.stdout, /Default principal: connector@CORP\.TEST/);
    assert.match(klist.stdout, /krbtgt\/CORP\.TEST@CORP\.TEST/);
  });

  it('S4U2Self + S4U2Proxy: kvno -U alice -P gets alice an AES ticket for HTTP/app.corp.test', async () => {
    const out = `FILE:${tmp}/alice`;
    const r = await mitKvnoS4u(lab, ccConnector, 'alice', lab.app.spn, {
      flag: '-U',
      outCache: out,
      tracePath: `${tmp}/trace-alice`,
    });
    assert.equal(r.code, 0, r.message);
    const klist = await run('klist', ['-e', '-f', '-c', out], labEnv(lab));
    assert.match(klist.stdout, /Default principal: alice@CORP\.TEST/);
    assert.match(
      klist.stdout,
      /HTTP\/app\.corp\.test@CORP\.TEST\n.*\n?.*Etype \(skey, tkt\): aes256-cts-hmac-sha1-96, aes256-cts-hmac-sha1-96/,
    );
  });

  it('the app wants Negotiate: 401 without credentials', async () => {
    const r = await get(lab.app);
    assert.equal(r.status, 401);
    assert.deepEqual(r.headers['www-authenticate'], ['Negotiate']);
    assert.equal(r.headers['x-remote-user'], undefined);
  });

  it('curl --negotiate with the delegated ticket: the app sees alice@CORP.TEST', async () => {
    const r = await run(
      'curl',
      [
        '-sS',
        '--fail',
        '-D',
        '-',
        '--negotiate',
        '-u',
        ':',
        '--resolve',
        `${lab.app.host}:${lab.app.port}:127.0.0.1`,
        lab.app.url,
      ],
      labEnv(lab, { KRB5CCNAME: `FILE:${tmp}/alice` }),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^REMOTE_USER=alice@CORP\.TEST$/m);
    assert.match(r.stdout, /^X-Remote-User: alice@CORP\.TEST\r$/im);
  });

  it('the NTLM backend answers 401 with only WWW-Authenticate: NTLM', async () => {
    const r = await get(lab.ntlm);
    assert.equal(r.status, 401);
    assert.deepEqual(r.headers['www-authenticate'], ['NTLM']);
    const withNegotiate = await get(lab.ntlm, { authorization: 'Negotiate YIIB' });
    assert.equal(withNegotiate.status, 401);
    assert.deepEqual(withNegotiate.headers['www-authenticate'], ['NTLM']);
  });

  it('LDAP: simple bind with the admin password (and not with a wrong one)', async () => {
    assert.equal(await ldapSimpleBind(lab.ldap.url, lab.ldap.bindDn, lab.ldap.password), 0);
    assert.equal(await ldapSimpleBind(lab.ldap.url, lab.ldap.bindDn, 'wrong'), 49);
  });

  describe('failure modes: the KDC refuses as expected', () => {
    // the names are known when node:test builds the tree, the lab only when it runs
    for (const name of FAILURE_MODE_NAMES) {
      it(name, async () => {
        const mode = failureModes(lab).find((m) => m.name === name);
        assert.ok(mode, `failure mode ${name}`);
        const cc = mode.service === lab.connector ? ccConnector : ccKerberosOnly;
        const off = await kdcLogSize(lab);
        // plain S4U2Self (as Drawbridge does it): the code and the KDC's reason
        const plain = await mitKvnoS4u(lab, cc, mode.user, mode.spn, {
          flag: '-I',
          tracePath: `${tmp}/trace-${name}-I`,
        });
        assert.equal(
          plain.code,
          mode.code,
          `${mode.description}: kvno -I ${mode.user} -P ${mode.spn}: ${plain.message}`,
        );
        const wanted = [mode.error.replace('KDC_', ''), mode.service.principal, `reason=${mode.kdcReason}`];
        const logged = await kdcRefusals(lab, off, wanted);
        assert.ok(
          logged.some((l) => wanted.every((w) => l.includes(w))),
          `KDC log: ${logged.join('\n')}`,
        );
        // MIT's enterprise-name flow (-U probes the user with an AS-REQ first)
        const enterprise = await mitKvnoS4u(lab, cc, mode.user, mode.spn, {
          flag: '-U',
          tracePath: `${tmp}/trace-${name}-U`,
        });
        assert.equal(enterprise.code, mode.code, `kvno -U ${mode.user} -P ${mode.spn}: ${enterprise.message}`);
      });
    }
  });
});
