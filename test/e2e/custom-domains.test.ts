import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { stringify as toYaml } from 'yaml';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { createSelfSignedCa, issueServerCertificate, type CertificateAuthority } from '../../src/pki/certificates.ts';
import { generateKeyPair } from '../../src/pki/keys.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DOMAIN = 'apps.localhost';
const TOKEN = 'custom-domains-test-admin-token-0123456789';
const pebbleMissing = spawnSync('sh', ['-c', 'command -v pebble && command -v pebble-challtestsrv']).status !== 0;

interface Edge {
  port: number;
  adminUrl: string;
  output(): string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

/** `drawbridge edge` as a real process on SQLite, with `extra` config. */
async function startEdge(dir: string, extra: Record<string, unknown> = {}, port = 0): Promise<Edge> {
  const dev = await createDevCertificates(path.join(dir, 'certs'), DOMAIN);
  const configFile = path.join(dir, 'edge.yaml');
  await writeFile(
    configFile,
    toYaml({
      stateDir: path.join(dir, 'edge'),
      domain: DOMAIN,
      listen: { host: '127.0.0.1', port },
      tls: [{ certFile: dev.certPath, keyFile: dev.keyPath }],
      admin: { host: '127.0.0.1', port: 0, token: TOKEN },
      log: { level: 'debug' },
      ...extra,
    }),
  );
  const child: ChildProcess = fork(MAIN, ['edge', '--config', configFile, '--drain-seconds', '1', '--workers', '1'], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const ready = await new Promise<{ publicPort: number; adminPort: number }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edge not ready in 60 s:\n${output}`));
    }, 60_000);
    child.on('message', (m: { event?: string; publicPort?: number; adminPort?: number }) => {
      if (m.event === 'ready') {
        clearTimeout(timer);
        resolve(m as { publicPort: number; adminPort: number });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`edge exited (${code}):\n${output}`));
    });
  });
  return {
    port: ready.publicPort,
    adminUrl: `http://127.0.0.1:${ready.adminPort}/api/v1`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function admin<T = Record<string, unknown>>(
  edge: Edge,
  method: string,
  apiPath: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await request(`${edge.adminUrl}${apiPath}`, {
    method: method as 'GET',
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, body: (text ? JSON.parse(text) : null) as T };
}

/** A tenant and a connector group to publish apps on (no connector: these tests look at TLS and routing only). */
async function tenantWithGroup(edge: Edge): Promise<string> {
  const tenant = await admin(edge, 'POST', '/tenants', { name: 'contoso' });
  assert.equal(tenant.status, 201, JSON.stringify(tenant.body));
  const group = await admin(edge, 'POST', '/tenants/contoso/connector-groups', { name: 'default' });
  assert.equal(group.status, 201, JSON.stringify(group.body));
  return '/tenants/contoso';
}

async function publish(edge: Edge, name: string, externalUrl: string): Promise<void> {
  const res = await admin(edge, 'POST', '/tenants/contoso/apps', {
    name,
    externalUrl,
    internalUrl: 'http://127.0.0.1:9',
    groupId: 'default',
    preAuth: 'passthrough',
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}

/** The leaf certificate the edge presents for `servername`. */
function servedCertificate(
  port: number,
  servername: string,
  ca?: string,
): Promise<{ cert: X509Certificate; authorized: boolean; error: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      ca,
      ALPNProtocols: ['http/1.1'],
    });
    socket.setTimeout(20_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      const authError = socket.authorizationError;
      socket.destroy();
      if (!peer) return reject(new Error('no peer certificate'));
      resolve({ cert: peer, authorized: socket.authorized, error: authError ? String(authError) : null });
    });
    socket.once('error', reject);
  });
}

async function customCa(): Promise<CertificateAuthority> {
  const pair = await generateKeyPair();
  return {
    keys: pair.keys,
    cert: await createSelfSignedCa({ commonName: 'Customer CA', keys: pair.keys, validityDays: 30 }),
  };
}

async function leafFor(
  ca: CertificateAuthority,
  dnsNames: string[],
): Promise<{ certificate: string; privateKey: string; serial: string }> {
  const pair = await generateKeyPair();
  const issued = await issueServerCertificate({ ca, publicKey: pair.keys.publicKey, dnsNames, validityDays: 10 });
  return {
    certificate: issued.certPem + ca.cert.toString('pem'),
    privateKey: pair.privateKeyPem,
    serial: issued.serial,
  };
}

const serialOf = (cert: X509Certificate): string => cert.serialNumber.toLowerCase().replace(/^0+/, '');

describe('custom domains: uploaded certificates and wildcard apps', { timeout: 240_000 }, () => {
  let dir: string;
  let edge: Edge;
  let ca: CertificateAuthority;
  let caPem: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-domains-'));
    edge = await startEdge(dir);
    await tenantWithGroup(edge);
    ca = await customCa();
    caPem = ca.cert.toString('pem');
  });
  after(async () => {
    await edge?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an uploaded certificate is served by SNI for the app's host at once, and a renewal replaces it live", async () => {
    const host = 'shop.contoso.test';
    await publish(edge, 'shop', `https://${host}`);
    const before = await servedCertificate(edge.port, host, caPem);
    assert.equal(before.authorized, false, "before the upload the edge's own certificate is served");

    const first = await leafFor(ca, [host]);
    const up = await admin(edge, 'PUT', '/tenants/contoso/apps/shop/certificate', first);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    assert.equal(up.body.source, 'upload');
    const served = await waitFor('the uploaded certificate', async () => {
      const s = await servedCertificate(edge.port, host, caPem);
      return serialOf(s.cert) === first.serial.replace(/^0+/, '') ? s : undefined;
    });
    assert.equal(served.authorized, true, served.error ?? '');
    // Only its app's host: another name under the edge's domain keeps the edge's certificate.
    assert.equal((await servedCertificate(edge.port, `x.${DOMAIN}`, caPem)).authorized, false);

    // The CLI uploads the renewed certificate; the next handshake gets it, without a restart.
    const second = await leafFor(ca, [host]);
    await writeFile(path.join(dir, 'renewed.pem'), second.certificate);
    await writeFile(path.join(dir, 'renewed.key'), second.privateKey, { mode: 0o600 });
    const cli = await promisify(execFile)(process.execPath, [
      MAIN,
      'admin',
      'apps',
      'cert-upload',
      'shop',
      '--tenant',
      'contoso',
      '--cert',
      path.join(dir, 'renewed.pem'),
      '--key',
      path.join(dir, 'renewed.key'),
      '--admin-url',
      edge.adminUrl.replace(/\/api\/v1$/, ''),
      '--token',
      TOKEN,
    ]);
    assert.match(cli.stdout, new RegExp(`Serving DNS:${host.replace(/\./g, '\\.')} for ${host.replace(/\./g, '\\.')}`));
    await waitFor('the renewed certificate', async () => {
      const s = await servedCertificate(edge.port, host, caPem);
      return serialOf(s.cert) === second.serial.replace(/^0+/, '') && s.authorized ? true : undefined;
    });
  });

  it("refuses a certificate that does not cover the app's host, or a key that is not its own", async () => {
    await publish(edge, 'crm', 'https://crm.contoso.test');
    const other = await leafFor(ca, ['elsewhere.example.test']);
    const wrongHost = await admin(edge, 'PUT', '/tenants/contoso/apps/crm/certificate', other);
    assert.equal(wrongHost.status, 400);
    assert.match(JSON.stringify(wrongHost.body), /do not cover the app's host crm\.contoso\.test/);
    const mine = await leafFor(ca, ['crm.contoso.test']);
    const wrongKey = await admin(edge, 'PUT', '/tenants/contoso/apps/crm/certificate', {
      certificate: mine.certificate,
      privateKey: other.privateKey,
    });
    assert.equal(wrongKey.status, 400);
    assert.match(JSON.stringify(wrongKey.body), /does not belong to the certificate/);
  });

  it('a wildcard app serves every host under its suffix; a more specific app wins for its own host', async () => {
    await publish(edge, 'corp', 'https://*.corp.example.com');
    await publish(edge, 'payroll', 'https://payroll.corp.example.com');
    const wildcard = await leafFor(ca, ['*.corp.example.com']);
    const specific = await leafFor(ca, ['payroll.corp.example.com']);
    assert.equal((await admin(edge, 'PUT', '/tenants/contoso/apps/corp/certificate', wildcard)).status, 200);
    assert.equal((await admin(edge, 'PUT', '/tenants/contoso/apps/payroll/certificate', specific)).status, 200);
    await waitFor('both certificates', async () => {
      const a = await servedCertificate(edge.port, 'a.corp.example.com', caPem);
      const p = await servedCertificate(edge.port, 'payroll.corp.example.com', caPem);
      return serialOf(a.cert) === wildcard.serial.replace(/^0+/, '') &&
        serialOf(p.cert) === specific.serial.replace(/^0+/, '')
        ? true
        : undefined;
    });
    assert.equal((await servedCertificate(edge.port, 'a.corp.example.com', caPem)).authorized, true);

    // Routing: a.corp.example.com reaches the wildcard app (it has no connector: 503 naming no route problem),
    // a host outside every app is unknown.
    const agent = new Agent({
      connect: {
        ca: caPem,
        lookup: (_h: string, o: { all?: boolean }, cb: (...a: unknown[]) => void) =>
          o.all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4),
      } as never,
    });
    try {
      const get = async (host: string) => {
        const res = await request(`https://${host}:${edge.port}/`, { dispatcher: agent });
        const body = await res.body.text();
        return { status: res.statusCode, body };
      };
      const underWildcard = await get('a.corp.example.com');
      assert.doesNotMatch(
        underWildcard.body,
        /DB-ROUTE-UNKNOWN-HOST/,
        `a.corp.example.com: ${underWildcard.status} ${underWildcard.body.slice(0, 200)}`,
      );
      const refused = await admin(edge, 'POST', '/tenants/contoso/apps', {
        name: 'bad',
        externalUrl: 'https://a.*.example.com',
        internalUrl: 'http://127.0.0.1:9',
        groupId: 'default',
        preAuth: 'passthrough',
      });
      assert.equal(refused.status, 400);
      const signIn = await admin(edge, 'POST', '/tenants/contoso/apps', {
        name: 'bad',
        externalUrl: 'https://*.other.example.com',
        internalUrl: 'http://127.0.0.1:9',
        groupId: 'default',
      });
      assert.equal(signIn.status, 400);
      assert.match(JSON.stringify(signIn.body), /must be preAuth: passthrough/);
    } finally {
      await agent.close();
    }
  });
});

describe('custom domains: certificates from ACME (pebble)', {
  timeout: 300_000,
  skip: pebbleMissing ? 'pebble is not installed (apt-get install pebble)' : false,
}, () => {
  const host = 'store.fabrikam.test';
  let dir: string;
  let edge: Edge;
  let pebble: ChildProcess;
  let dns: ChildProcess;
  let pebbleOutput = '';
  let root: string;
  let apiCa: string;
  let managementPort: number;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-acme-'));
    // Pebble's own HTTPS (its ACME API) needs a certificate; the edge trusts it through acme.caFile.
    const apiCerts = await createDevCertificates(path.join(dir, 'pebble-certs'), 'pebble.localhost');
    apiCa = apiCerts.caCertPath;
    const [edgePort, acmePort, mgmtPort, dnsPort, dnsMgmtPort, httpPort] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    managementPort = mgmtPort;
    // Every name resolves to 127.0.0.1 (pebble-challtestsrv's default answer): pebble validates on the edge's port.
    dns = spawn(
      'pebble-challtestsrv',
      [
        '-dns01',
        `127.0.0.1:${dnsPort}`,
        '-http01',
        '',
        '-https01',
        '',
        '-tlsalpn01',
        '',
        '-management',
        `127.0.0.1:${dnsMgmtPort}`,
        '-defaultIPv4',
        '127.0.0.1',
        '-defaultIPv6',
        '',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    dns.stdout?.on('data', (d: Buffer) => {
      pebbleOutput += d.toString();
    });
    dns.stderr?.on('data', (d: Buffer) => {
      pebbleOutput += d.toString();
    });
    const pebbleConfig = path.join(dir, 'pebble.json');
    await writeFile(
      pebbleConfig,
      JSON.stringify({
        pebble: {
          listenAddress: `127.0.0.1:${acmePort}`,
          managementListenAddress: `127.0.0.1:${mgmtPort}`,
          certificate: apiCerts.certPath,
          privateKey: apiCerts.keyPath,
          httpPort,
          tlsPort: edgePort,
          ocspResponderURL: '',
          externalAccountBindingRequired: false,
        },
      }),
    );
    pebble = spawn('pebble', ['-config', pebbleConfig, '-dnsserver', `127.0.0.1:${dnsPort}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_VA_ALWAYS_VALID: '0',
        PEBBLE_WFE_NONCEREJECT: '0',
        PEBBLE_AUTHZREUSE: '0',
      },
    });
    pebble.stdout?.on('data', (d: Buffer) => {
      pebbleOutput += d.toString();
    });
    pebble.stderr?.on('data', (d: Buffer) => {
      pebbleOutput += d.toString();
    });
    const ca = (await import('node:fs')).readFileSync(apiCa, 'utf8');
    const agent = new Agent({ connect: { ca } });
    root = await waitFor(
      'pebble',
      async () => {
        const res = await request(`https://127.0.0.1:${mgmtPort}/roots/0`, { dispatcher: agent });
        const text = await res.body.text();
        return res.statusCode === 200 ? text : undefined;
      },
      60_000,
    ).finally(() => agent.close());
    await writeFile(path.join(dir, 'pebble-root.pem'), root);
    // Renewal window longer than pebble's certificates live: every check renews, so the test sees a renewal too.
    edge = await startEdge(
      dir,
      {
        acme: {
          directoryUrl: `https://127.0.0.1:${acmePort}/dir`,
          caFile: apiCa,
          email: 'admin@fabrikam.test',
          renewBeforeDays: 36_500,
          checkIntervalSeconds: 3,
        },
      },
      edgePort,
    );
    await tenantWithGroup(edge);
  });
  after(async () => {
    await edge?.stop();
    pebble?.kill('SIGTERM');
    dns?.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("an app with a custom domain gets a certificate from pebble by itself, renewed later; curl verifies each against pebble's root", async () => {
    await publish(edge, 'store', `https://${host}`);
    const curl = (): { code: number | null; out: string } => {
      const r = spawnSync(
        'curl',
        [
          '-sS',
          '-o',
          '/dev/null',
          '-w',
          '%{ssl_verify_result}',
          '--cacert',
          path.join(dir, 'pebble-root.pem'),
          '--resolve',
          `${host}:${edge.port}:127.0.0.1`,
          `https://${host}:${edge.port}/`,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      );
      return { code: r.status, out: `${r.stdout}${r.stderr}` };
    };
    const first = await waitFor(
      'a certificate from pebble',
      async () => {
        const s = await servedCertificate(edge.port, host, root);
        return s.authorized ? s.cert : undefined;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(
        `${err.message}\n--- edge\n${edge.output().slice(-4000)}\n--- pebble\n${pebbleOutput.slice(-3000)}`,
      );
    });
    assert.ok(first.subjectAltName?.includes(`DNS:${host}`), first.subjectAltName);
    const verified = curl();
    assert.equal(verified.code, 0, verified.out);
    assert.equal(verified.out, '0', "curl verified the chain against pebble's root");

    const renewed = await waitFor(
      'a renewed certificate',
      async () => {
        const s = await servedCertificate(edge.port, host, root);
        return s.authorized && s.cert.serialNumber !== first.serialNumber ? s.cert : undefined;
      },
      120_000,
    );
    assert.ok(renewed.subjectAltName?.includes(`DNS:${host}`));
    const again = curl();
    assert.equal(again.code, 0, again.out);
    assert.equal(again.out, '0');

    const shown = await admin(edge, 'GET', '/tenants/contoso/apps/store/certificate');
    assert.equal(shown.status, 200);
    assert.equal(shown.body.source, 'acme');
    void managementPort;
  });
});
