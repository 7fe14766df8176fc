/**
 * Single sign-on end to end, against the real Samba AD lab: `drawbridge dev` (edge with sign-in), connectors started
 * with --kerberos-config, users who sign in at the edge and open IWA apps published with sso: kerberos; and a header
 * SSO app whose backend verifies the edge's JWT against its JWKS. Each Kerberos failure mode yields its code on the
 * page and in the connector log, and `drawbridge connector diagnose kcd` names the broken step.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { fetch as undiciFetch } from 'undici';
import { register } from '../../src/connector/enroll/register.ts';
import { CLOCK_OFFSET_ENV } from '../../src/connector/sso/kerberos-config.ts';
import { startChild, stopChild, type Child } from '../../src/cli/child.ts';
import { Keytab } from '../../src/kerberos/index.ts';
import { openStore } from '../../src/store/open.ts';
import { openDirectory } from '../../src/edge/signin/extension.ts';
import type { ErrorCode } from '../../src/errors/catalogue.ts';
import { Client, signIn } from '../e2e/identity-harness.ts';
import { startDevStack, logsOf, type DevStack } from '../helpers/dev-stack.ts';
import { labUnavailable, startLab, stopLab, type LabInfo } from './lab.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const NODE = process.execPath;
const PASSWORD = 'Kcd-Sso-Test-2024!';
const skip = labUnavailable();

type AppRow = { id: string; name: string; externalUrl: string };
type Connector = {
  name: string;
  stateDir: string;
  krbConfig: string;
  log: string;
  child: Child<Record<string, unknown>>;
  env: NodeJS.ProcessEnv;
};

describe('sso: Kerberos constrained delegation and header SSO, end to end with the Samba AD lab', {
  skip,
  timeout: 600_000,
}, () => {
  let lab: LabInfo;
  let stack: DevStack;
  let work: string;
  let tenantId: string;
  const connectors = new Map<string, Connector>();
  const apps = new Map<string, AppRow>();
  const clients = new Map<string, Client>();
  let jwtBackend: http.Server;
  let lastJwtCheck: Record<string, unknown> | null = null;

  before(async () => {
    lab = await startLab();
    stack = await startDevStack(['--connectors', '0']);
    work = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-sso-'));
    tenantId = (await stack.admin<{ items: { id: string; name: string }[] }>('GET', '/tenants')).body.items.find(
      (t) => t.name === 'contoso',
    )!.id;

    // Keytabs for the broken set-ups: one with only an RC4 key (no enctype the library or AD will share).
    const good = await Keytab.read(lab.connector.keytab);
    const rc4 = new Keytab(
      good.entries.slice(0, 1).map((e) => ({ ...e, enctype: 23, key: new Uint8Array(16).fill(7) })),
    );
    await rc4.write(path.join(work, 'rc4.keytab'));

    const base = { realm: lab.realm, kdcs: [`${lab.kdc.host}:${lab.kdc.port}`] };
    await Promise.all([
      addConnector('kcd', { ...base, principal: lab.connector.principal, keytab: lab.connector.keytab }),
      addConnector('kconly', {
        ...base,
        principal: lab.connectorKerberosOnly.principal,
        keytab: lab.connectorKerberosOnly.keytab,
      }),
      addConnector('nokdc', {
        ...base,
        kdcs: ['127.0.0.1:9'],
        timeoutMs: 500,
        principal: lab.connector.principal,
        keytab: lab.connector.keytab,
      }),
      addConnector(
        'skew',
        { ...base, principal: lab.connector.principal, keytab: lab.connector.keytab },
        { [CLOCK_OFFSET_ENV]: String(3600_000) },
      ),
      addConnector('rc4', { ...base, principal: lab.connector.principal, keytab: path.join(work, 'rc4.keytab') }),
    ]);

    jwtBackend = http.createServer((req, res) => void checkJwt(req, res));
    await new Promise<void>((r) => jwtBackend.listen(0, '127.0.0.1', r));
    const appUrl = `http://${lab.app.address}:${lab.app.port}/`;
    const kerberos = (spn: string) => ({ mode: 'kerberos', spn, loginIdentity: 'upnUserPart' });
    await Promise.all([
      publish('iwa', 'kcd', appUrl, kerberos(lab.app.spn)),
      publish('iwa-other', 'kcd', appUrl, kerberos(lab.otherSpn)),
      publish('iwa-nosuch', 'kcd', appUrl, kerberos(lab.unknownSpn)),
      publish('iwa-ntlm', 'kcd', `http://${lab.ntlm.address}:${lab.ntlm.port}/`, kerberos(lab.app.spn)),
      publish('iwa-kconly', 'kconly', appUrl, kerberos(lab.app.spn)),
      publish('iwa-nokdc', 'nokdc', appUrl, kerberos(lab.app.spn)),
      publish('iwa-skew', 'skew', appUrl, kerberos(lab.app.spn)),
      publish('iwa-rc4', 'rc4', appUrl, kerberos(lab.app.spn)),
      publish('hdr', 'kcd', `http://127.0.0.1:${(jwtBackend.address() as AddressInfo).port}`, {
        mode: 'headers',
        headers: { user: 'X-Remote-User', email: 'X-Remote-Email', groups: 'X-Remote-Groups' },
        jwt: true,
      }),
    ]);
    await seedUsers();
    await waitForConfig();
  });

  after(async () => {
    try {
      await Promise.all([...connectors.values()].map((c) => stopChild(c.child.process)));
      await stack?.stop();
      jwtBackend?.close();
      if (work && !process.env.KEEP_TEST_STATE) await rm(work, { recursive: true, force: true });
    } finally {
      await stopLab(); // also when a step above failed: the lab must not outlive the tests
    }
  });

  async function addConnector(
    name: string,
    krb: Record<string, unknown>,
    env: Record<string, string> = {},
  ): Promise<void> {
    const group = (
      await stack.admin<{ id: string }>('POST', `/tenants/${tenantId}/connector-groups`, { name: `kcd-${name}` })
    ).body;
    const { token } = (
      await stack.admin<{ token: string }>('POST', `/tenants/${tenantId}/enrollment-tokens`, { groupId: group.id })
    ).body;
    const stateDir = path.join(work, name);
    await register({
      edgeUrl: `https://tunnel.apps.localhost:${stack.publicPort}`,
      token,
      stateDir,
      caFile: stack.dev.caCertPath,
      version: 'test',
      connectAddress: `127.0.0.1:${stack.publicPort}`,
      name: `kcd-${name}`,
    });
    const krbConfig = path.join(work, `${name}.krb.json`);
    await writeFile(krbConfig, JSON.stringify(krb), { mode: 0o600 });
    const log = path.join(work, `${name}.log`);
    // startChild forks with this process's environment: set the extra variables just for the fork.
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
    Object.assign(process.env, env);
    const started = startChild(
      ['connector', 'run', '--state-dir', stateDir, '--tunnels', '1', '--kerberos-config', krbConfig],
      log,
    );
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    connectors.set(name, { name, stateDir, krbConfig, log, child: await started, env: { ...process.env, ...env } });
  }

  async function publish(
    name: string,
    connector: string,
    internalUrl: string,
    sso: Record<string, unknown>,
  ): Promise<void> {
    const res = await stack.admin<AppRow>('POST', `/tenants/${tenantId}/apps`, {
      name,
      internalUrl,
      groupId: `kcd-${connector}`,
      preAuth: 'idp',
      sso,
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    apps.set(name, res.body);
  }

  /** Directory users whose UPN user part is their AD account (loginIdentity: upnUserPart), licensed and assigned. */
  async function seedUsers(): Promise<void> {
    const store = await openStore({ kind: 'sqlite', stateDir: path.join(stack.dir, 'edge') });
    try {
      const directory = openDirectory(store, path.join(stack.dir, 'edge'));
      await directory.licences.setSeats(tenantId, 'basic', 50).catch(() => {});
      for (const name of ['alice', 'bob', 'dave', 'nosuchuser']) {
        const user = await directory.users.create(tenantId, {
          upn: `${name}@corp.test`,
          displayName: name,
          email: `${name}@corp.test`,
          onPremName: name,
          password: PASSWORD,
        });
        await directory.licences.assign(tenantId, 'basic', { type: 'user', id: user.id });
        for (const app of apps.values())
          await directory.assignments.assign(tenantId, app.id, { type: 'user', id: user.id });
      }
    } finally {
      await store.close();
    }
  }

  /** Every connector has the apps of its group (the edge routes only to tunnels that acknowledged them). */
  async function waitForConfig(): Promise<void> {
    const deadline = Date.now() + 20_000;
    for (const c of connectors.values()) {
      while (
        !(await readFile(path.join(c.stateDir, 'config.json'), 'utf8').then(
          (t) => (JSON.parse(t) as { apps: unknown[] }).apps.length > 0,
          () => false,
        ))
      ) {
        if (Date.now() > deadline)
          throw new Error(`connector ${c.name} has no config: ${await readFile(c.log, 'utf8').catch(() => '')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async function open(user: string, app: string, headers: Record<string, string> = {}) {
    let client = clients.get(user);
    if (!client) clients.set(user, (client = new Client(stack.publicPort)));
    const url = `${apps.get(app)!.externalUrl}/`;
    const res = await signIn(client, url, `${user}@corp.test`, PASSWORD);
    if (Object.keys(headers).length === 0) return res;
    return client.request(url, { headers });
  }

  const correlationIdOf = (html: string): string => /Correlation id<\/dt><dd><code>([^<]+)</.exec(html)?.[1] ?? '';

  async function connectorLogLine(connector: string, correlationId: string, code: string): Promise<string> {
    for (let i = 0; i < 20; i++) {
      const line = (await readFile(connectors.get(connector)!.log, 'utf8'))
        .split('\n')
        .find((l) => l.includes(correlationId) && l.includes(code));
      if (line) return line;
      await new Promise((r) => setTimeout(r, 100));
    }
    return '';
  }

  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  async function checkJwt(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // What a backend does: fetch the edge's JWKS once (cached by jose), verify each request's assertion.
    jwks ??= createRemoteJWKSet(new URL(`https://login.apps.localhost:${stack.publicPort}/.well-known/jwks.json`), {
      timeoutDuration: 15_000,
      [customFetch]: (url: string, init: RequestInit) =>
        undiciFetch(url, { ...init, dispatcher: stack.agent } as never) as unknown as Promise<Response>,
    });
    const app = apps.get('hdr')!;
    try {
      const { payload, protectedHeader } = await jwtVerify(String(req.headers['x-drawbridge-assertion']), jwks, {
        audience: app.externalUrl,
        issuer: `https://login.apps.localhost:${stack.publicPort}`,
        algorithms: ['ES256'],
        maxTokenAge: '2m',
      });
      lastJwtCheck = {
        ok: true,
        payload,
        protectedHeader,
        user: req.headers['x-remote-user'],
        email: req.headers['x-remote-email'],
        groups: req.headers['x-remote-groups'],
      };
    } catch (err) {
      lastJwtCheck = { ok: false, error: (err as Error).message, user: req.headers['x-remote-user'] };
    }
    res
      .writeHead(lastJwtCheck.ok ? 200 : 401, { 'content-type': 'application/json' })
      .end(JSON.stringify(lastJwtCheck));
  }

  it('alice signs in at the edge, opens the IWA app, and Apache sees alice@CORP.TEST (Negotiate, mutual auth verified)', async () => {
    const t0 = performance.now();
    const res = await open('alice', 'iwa');
    assert.equal(
      res.status,
      200,
      `${res.body}\n${logsOf(stack.dir)}\n${await readFile(connectors.get('kcd')!.log, 'utf8')}`,
    );
    assert.match(res.body, /alice@CORP\.TEST/);
    const first = performance.now() - t0;
    // Cached ticket: the next requests do no KDC round trip.
    const t1 = performance.now();
    for (let i = 0; i < 20; i++) {
      const again = await clients.get('alice')!.request(`${apps.get('iwa')!.externalUrl}/`);
      assert.equal(again.status, 200);
      assert.match(again.body, /alice@CORP\.TEST/);
    }
    process.stderr.write(
      `# sso: first IWA request incl. sign-in ${first.toFixed(0)} ms; cached ticket: ${((performance.now() - t1) / 20).toFixed(1)} ms per request\n`,
    );
  });

  const failures: { name: string; user: string; app: string; connector: string; code: ErrorCode; step: string }[] = [
    {
      name: 'SPN outside the delegation list',
      user: 'alice',
      app: 'iwa-other',
      connector: 'kcd',
      code: 'DB-KCD-DELEGATION-NOT-ALLOWED',
      step: 'S4U2Proxy',
    },
    {
      name: 'SPN registered nowhere',
      user: 'alice',
      app: 'iwa-nosuch',
      connector: 'kcd',
      code: 'DB-KCD-SPN-UNKNOWN',
      step: 'S4U2Proxy',
    },
    {
      name: 'protocol transition off ("Kerberos only")',
      user: 'alice',
      app: 'iwa-kconly',
      connector: 'kconly',
      code: 'DB-KCD-PROTOCOL-TRANSITION-OFF',
      step: 'S4U2Proxy',
    },
    {
      name: 'user sensitive, cannot be delegated',
      user: 'bob',
      app: 'iwa',
      connector: 'kcd',
      code: 'DB-KCD-USER-SENSITIVE',
      step: 'S4U2Proxy',
    },
    {
      name: 'user unknown in AD',
      user: 'nosuchuser',
      app: 'iwa',
      connector: 'kcd',
      code: 'DB-KCD-USER-UNKNOWN',
      step: 'S4U2Self',
    },
    {
      name: 'user disabled in AD',
      user: 'dave',
      app: 'iwa',
      connector: 'kcd',
      code: 'DB-KCD-USER-DISABLED',
      step: 'S4U2Self',
    },
    {
      name: 'clock skew of an hour',
      user: 'alice',
      app: 'iwa-skew',
      connector: 'skew',
      code: 'DB-KCD-CLOCK-SKEW',
      step: 'TGT',
    },
    {
      name: 'no common enctype (RC4-only keytab)',
      user: 'alice',
      app: 'iwa-rc4',
      connector: 'rc4',
      code: 'DB-KCD-NO-COMMON-ENCTYPE',
      step: 'keytab',
    },
    {
      name: 'KDC unreachable',
      user: 'alice',
      app: 'iwa-nokdc',
      connector: 'nokdc',
      code: 'DB-KCD-KDC-UNREACHABLE',
      step: 'TGT',
    },
    {
      name: 'backend offers only NTLM',
      user: 'alice',
      app: 'iwa-ntlm',
      connector: 'kcd',
      code: 'DB-KCD-BACKEND-NTLM',
      step: 'backend',
    },
  ];

  for (const f of failures) {
    it(`${f.name}: ${f.code} on the page and in the connector log; diagnose fails at ${f.step}`, async () => {
      const res = await open(f.user, f.app);
      assert.match(
        res.body,
        new RegExp(f.code),
        `page for ${f.user} at ${f.app}: ${res.status}\n${res.body.slice(0, 2000)}`,
      );
      assert.ok(res.status >= 400, `status ${res.status}`);
      const correlationId = correlationIdOf(res.body);
      assert.ok(correlationId, 'the page shows a correlation id');
      const line = await connectorLogLine(f.connector, correlationId, f.code);
      assert.ok(line, `connector log has ${f.code} for ${correlationId}`);
      if (f.code === 'DB-KCD-BACKEND-NTLM') assert.match(line, /only NTLM/);

      const c = connectors.get(f.connector)!;
      const d = await diagnose(c, f.app, f.user);
      assert.equal(d.code, 1, d.out);
      assert.match(d.out, new RegExp(`KCD fails at ${f.step}: ${f.code}`), d.out);
      assert.match(d.out, /What to do: /);
    });
  }

  it('diagnose passes every step for alice at the IWA app (exit 0, mutual authentication verified)', async () => {
    const d = await diagnose(connectors.get('kcd')!, 'iwa', 'alice');
    assert.equal(d.code, 0, d.out);
    for (const step of ['keytab', 'TGT', 'S4U2Self', 'S4U2Proxy', 'backend'])
      assert.match(d.out, new RegExp(`✔ ${step}`));
    assert.match(d.out, /mutual authentication verified/);
  });

  it('header SSO: the backend verifies the edge-signed JWT against the JWKS; client copies of the headers are dropped', async () => {
    const res = await open('alice', 'hdr', {
      'x-remote-user': 'mallory@corp.test',
      'x-drawbridge-assertion': 'forged.jwt.value',
      'x-remote-groups': 'Domain Admins',
    });
    assert.equal(res.status, 200, `${res.body}\n${JSON.stringify(lastJwtCheck)}`);
    const check = JSON.parse(res.body) as {
      ok: boolean;
      user: string;
      email: string;
      groups: string;
      payload: Record<string, unknown>;
      protectedHeader: Record<string, unknown>;
    };
    assert.equal(check.ok, true);
    assert.equal(check.user, 'alice@corp.test');
    assert.equal(check.email, 'alice@corp.test');
    assert.equal(check.groups, '');
    assert.equal(check.payload.upn, 'alice@corp.test');
    assert.equal(check.payload.aud, apps.get('hdr')!.externalUrl);
    assert.equal(check.protectedHeader.alg, 'ES256');
    assert.ok((check.payload.exp as number) - (check.payload.iat as number) <= 60);
    assert.ok(lastJwtCheck);
  });

  function diagnose(c: Connector, app: string, user: string): Promise<{ code: number; out: string }> {
    return new Promise((resolve) => {
      execFile(
        NODE,
        [
          MAIN,
          'connector',
          'diagnose',
          'kcd',
          '--app',
          app,
          '--user',
          user,
          '--state-dir',
          c.stateDir,
          '--kerberos-config',
          c.krbConfig,
        ],
        { env: c.env, timeout: 60_000, encoding: 'utf8' },
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
      );
    });
  }
});
