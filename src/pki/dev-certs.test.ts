import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createDevCertificates } from './dev-certs.ts';
import { createSelfSignedCa, generateKeyPair, issueServerCertificate } from './index.ts';

async function withTmp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'db-dev-certs-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Serves `cert`/`key`, then dials with SNI `servername` trusting only `ca`; resolves the handshake outcome. */
async function handshake(opts: {
  cert: string;
  key: string;
  ca: string;
  servername: string;
  host?: string;
}): Promise<{ ok: boolean; error?: string }> {
  const server = tls.createServer({ cert: opts.cert, key: opts.key }, (socket) => socket.end());
  server.listen(0, opts.host ?? '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect(
        { host: opts.host ?? '127.0.0.1', port, servername: opts.servername, ca: opts.ca },
        () => {
          socket.destroy();
          resolve({ ok: true });
        },
      );
      socket.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
    });
  } finally {
    server.close();
  }
}

test('dev certificates: a TLS client trusting the dev CA accepts foo.apps.localhost, apps.localhost and localhost', async () => {
  await withTmp(async (dir) => {
    const paths = await createDevCertificates(join(dir, 'certs'), 'apps.localhost');
    const [ca, cert, key] = await Promise.all(
      [paths.caCertPath, paths.certPath, paths.keyPath].map((p) => readFile(p, 'utf8')),
    );
    for (const servername of ['foo.apps.localhost', 'apps.localhost', 'localhost']) {
      assert.deepEqual(await handshake({ cert, key, ca, servername }), { ok: true }, servername);
    }
    // A name outside the certificate is refused.
    assert.equal(
      (await handshake({ cert, key, ca, servername: 'foo.other.localhost' })).error,
      'ERR_TLS_CERT_ALTNAME_INVALID',
    );
    // Without the dev CA the system roots do not know it.
    const untrusted = await handshake({ cert, key, ca: (await testOtherCa()).pem, servername: 'foo.apps.localhost' });
    assert.equal(untrusted.ok, false);

    const node = new X509Certificate(cert);
    assert.equal(
      node.subjectAltName,
      'DNS:apps.localhost, DNS:*.apps.localhost, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    assert.equal(node.checkIP('127.0.0.1'), '127.0.0.1');
    if (process.platform !== 'win32') {
      assert.equal((await stat(paths.keyPath)).mode & 0o777, 0o600);
      assert.equal((await stat(join(dir, 'certs', 'dev-ca.key'))).mode & 0o777, 0o600);
    }
  });
});

test('dev certificates: reused while valid for the same domain; the CA survives a domain change', async () => {
  await withTmp(async (dir) => {
    const first = await createDevCertificates(dir, 'apps.localhost');
    const caBefore = await readFile(first.caCertPath, 'utf8');
    const certBefore = await readFile(first.certPath, 'utf8');
    await createDevCertificates(dir, 'apps.localhost');
    assert.equal(await readFile(first.certPath, 'utf8'), certBefore, 'same domain: server certificate reused');

    await createDevCertificates(dir, 'dev.localhost');
    assert.equal(await readFile(first.caCertPath, 'utf8'), caBefore, 'CA kept');
    const certAfter = await readFile(first.certPath, 'utf8');
    assert.notEqual(certAfter, certBefore);
    assert.match(new X509Certificate(certAfter).subjectAltName ?? '', /DNS:\*\.dev\.localhost/);
  });
});

test('dev certificates: a single-label domain is refused', async () => {
  await withTmp(async (dir) => {
    await assert.rejects(createDevCertificates(dir, 'localhost'), /two labels/);
  });
});

test('pitfall: OpenSSL does not match *.localhost against hr.localhost (why the dev domain has two labels)', async () => {
  const ca = await testOtherCa();
  const pair = await generateKeyPair();
  const issued = await issueServerCertificate({
    ca: ca.ca,
    publicKey: pair.keys.publicKey,
    dnsNames: ['*.localhost'],
    validityDays: 1,
  });
  const result = await handshake({
    cert: issued.certPem,
    key: pair.privateKeyPem,
    ca: ca.pem,
    servername: 'hr.localhost',
  });
  assert.deepEqual(result, { ok: false, error: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

async function testOtherCa() {
  const pair = await generateKeyPair();
  const cert = await createSelfSignedCa({ commonName: 'Other CA', keys: pair.keys, validityDays: 2 });
  return { ca: { cert, keys: pair.keys }, pem: cert.toString('pem') };
}
