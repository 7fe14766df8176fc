import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { stringify as toYaml } from 'yaml';
import { createDevCertificates } from '../../src/pki/dev-certs.ts';
import { exportPrivateKeyPem } from '../../src/pki/keys.ts';
import { subtle, x509, type CryptoKeyPair } from '../../src/pki/crypto.ts';
import { TUNNEL_ALPN } from '../../src/tunnel/protocol.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DOMAIN = 'apps.localhost';
/** Served by the RSA certificate, picked by SNI; every other name gets the dev (ECDSA) certificate. */
const RSA_HOST = `rsa.${DOMAIN}`;
const LOGIN_HOST = `login.${DOMAIN}`;

const AEAD_ECDSA = ['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'];
const AEAD_RSA = ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305'];
/** Every TLS 1.2-and-older suite this OpenSSL knows; the client lowers its security level so it offers each one. */
const LEGACY_SUITES = tls
  .getCiphers()
  .filter((c) => !c.startsWith('tls_'))
  .map((c) => c.toUpperCase());

interface Edge {
  port: number;
  stop(): Promise<void>;
}

/** A self-signed RSA certificate for RSA_HOST, so the ECDHE-RSA suites and an SNI-chosen context are covered too. */
async function rsaCertificate(dir: string): Promise<{ certFile: string; keyFile: string }> {
  const keys = (await subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: [{ CN: [RSA_HOST] }],
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: RSA_HOST }])],
  });
  const certFile = path.join(dir, 'rsa.crt');
  const keyFile = path.join(dir, 'rsa.key');
  await writeFile(certFile, cert.toString('pem'));
  await writeFile(keyFile, await exportPrivateKeyPem(keys.privateKey), { mode: 0o600 });
  return { certFile, keyFile };
}

/** `drawbridge edge` as a real process, with `tlsProfile` set (or left to its default when undefined). */
async function startEdge(dir: string, tlsProfile: string | undefined): Promise<Edge> {
  const dev = await createDevCertificates(path.join(dir, 'certs'), DOMAIN);
  const configFile = path.join(dir, 'edge.yaml');
  await writeFile(
    configFile,
    toYaml({
      stateDir: path.join(dir, 'edge'),
      domain: DOMAIN,
      listen: { host: '127.0.0.1', port: 0 },
      tls: [{ certFile: dev.certPath, keyFile: dev.keyPath }, await rsaCertificate(dir)],
      ...(tlsProfile ? { tlsProfile } : {}),
      admin: { host: '127.0.0.1', port: 0 },
    }),
  );
  const child: ChildProcess = fork(MAIN, ['edge', '--config', configFile, '--drain-seconds', '1'], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    output += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`edge not ready in 60 s:\n${output}`));
    }, 60_000);
    child.on('message', (m: { event?: string; publicPort?: number }) => {
      if (m.event === 'ready') {
        clearTimeout(timer);
        resolve(m.publicPort as number);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`edge exited (${code}):\n${output}`));
    });
  });
  return {
    port,
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

type Outcome = { ok: true; version: string; cipher: string } | { ok: false; error: string };

/** One handshake; `ok` when the edge completed it. */
function handshake(port: number, options: tls.ConnectionOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    let socket: tls.TLSSocket;
    try {
      socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    } catch (err) {
      resolve({ ok: false, error: (err as Error).message }); // this client cannot even offer it
      return;
    }
    socket.setTimeout(20_000, () => socket.destroy(new Error('handshake timed out')));
    socket.once('secureConnect', () => {
      const outcome: Outcome = { ok: true, version: socket.getProtocol() ?? '', cipher: socket.getCipher().name };
      socket.destroy();
      resolve(outcome);
    });
    socket.once('error', (err) => resolve({ ok: false, error: err.message }));
  });
}

/** The TLS 1.2 suites the edge accepts for `servername`, one handshake per suite. */
async function acceptedTls12Suites(port: number, servername: string | undefined): Promise<string[]> {
  const accepted: string[] = [];
  for (const suite of LEGACY_SUITES) {
    const outcome = await handshake(port, {
      servername,
      ciphers: `${suite}:@SECLEVEL=0`,
      maxVersion: 'TLSv1.2',
      minVersion: 'TLSv1',
    });
    if (outcome.ok) accepted.push(outcome.cipher);
  }
  return accepted.sort();
}

describe('public port TLS: Mozilla intermediate by default', { timeout: 240_000 }, () => {
  let dir: string;
  let edge: Edge;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-tls-'));
    edge = await startEdge(dir, undefined);
  });
  after(async () => {
    await edge?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('accepts only the AEAD suites in TLS 1.2, for SNI-chosen and default certificates', async () => {
    assert.ok(
      LEGACY_SUITES.includes('ECDHE-ECDSA-AES128-SHA') && LEGACY_SUITES.includes('ECDHE-RSA-AES256-SHA384'),
      'the client can offer CBC suites',
    );
    assert.deepEqual(await acceptedTls12Suites(edge.port, LOGIN_HOST), [...AEAD_ECDSA].sort());
    assert.deepEqual(await acceptedTls12Suites(edge.port, RSA_HOST), [...AEAD_RSA].sort());
    assert.deepEqual(await acceptedTls12Suites(edge.port, undefined), [...AEAD_ECDSA].sort());
  });

  it('speaks TLS 1.3 and refuses TLS 1.1', async () => {
    const v13 = await handshake(edge.port, { servername: LOGIN_HOST });
    assert.ok(v13.ok && v13.version === 'TLSv1.3', JSON.stringify(v13));
    const v11 = await handshake(edge.port, {
      servername: LOGIN_HOST,
      ciphers: 'DEFAULT:@SECLEVEL=0',
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
    });
    assert.equal(v11.ok, false);
  });

  it('the tunnel server on the same port refuses TLS 1.2', async () => {
    const outcome = await handshake(edge.port, {
      servername: `tunnel.${DOMAIN}`,
      ALPNProtocols: [TUNNEL_ALPN],
      maxVersion: 'TLSv1.2',
    });
    assert.equal(outcome.ok, false);
  });
});

describe('public port TLS: tlsProfile modern', { timeout: 240_000 }, () => {
  let dir: string;
  let edge: Edge;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'drawbridge-tls-'));
    edge = await startEdge(dir, 'modern');
  });
  after(async () => {
    await edge?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses every TLS 1.2 handshake and completes TLS 1.3 ones', async () => {
    for (const servername of [LOGIN_HOST, RSA_HOST, undefined]) {
      const v12 = await handshake(edge.port, { servername, maxVersion: 'TLSv1.2' });
      assert.equal(v12.ok, false, `TLS 1.2 refused for ${servername ?? 'no SNI'}`);
      const v13 = await handshake(edge.port, { servername });
      assert.ok(v13.ok && v13.version === 'TLSv1.3', JSON.stringify(v13));
    }
  });
});
