import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  certificateMatchesKey,
  commonNameOf,
  createCsr,
  createSelfSignedCa,
  CsrError,
  generateKeyPair,
  importKeyPairPem,
  isIssuedBy,
  issueClientCertificate,
  issueServerCertificate,
  normalizeSerial,
  randomSerial,
  sha256Fingerprint,
  verifyCsr,
  writeSecretFile,
  x509,
} from './index.ts';

async function testCa() {
  const pair = await generateKeyPair();
  const cert = await createSelfSignedCa({ commonName: 'Test CA', keys: pair.keys, validityDays: 30 });
  return { cert, keys: pair.keys };
}

test('keys export as PKCS#8 and SPKI PEM and import back as a working pair', async () => {
  const pair = await generateKeyPair();
  assert.match(pair.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(pair.publicKeyPem, /^-----BEGIN PUBLIC KEY-----\n/);
  const again = await importKeyPairPem(pair.privateKeyPem);
  const csr = await createCsr(again, 'roundtrip');
  const verified = await verifyCsr(csr);
  assert.equal(
    Buffer.from(verified.publicKey.rawData).toString('base64'),
    pair.publicKeyPem.split('\n').slice(1, -2).join(''),
  );
});

test('serials are 16 random bytes, positive, minimal DER', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const s = randomSerial();
    assert.match(s, /^[4-7][0-9a-f]{31}$/);
    seen.add(s);
  }
  assert.equal(seen.size, 200);
  assert.equal(normalizeSerial('00:AB:CD'), 'abcd');
});

test('CSR round trip: a CSR verifies, a tampered one does not', async () => {
  const pair = await generateKeyPair();
  const pem = await createCsr(pair.keys, 'con-host');
  const ok = await verifyCsr(pem);
  assert.equal(ok.subject, 'CN=con-host');

  // Flip one bit inside the signed subject (CN text), keeping the structure parseable.
  const der = Buffer.from(new x509.Pkcs10CertificateRequest(pem).rawData);
  const at = der.indexOf(Buffer.from('con-host'));
  assert.ok(at > 0);
  der[at] ^= 0x01;
  const tampered = new x509.Pkcs10CertificateRequest(der).toString('pem');
  await assert.rejects(verifyCsr(tampered), (err) => err instanceof CsrError && /signature/.test(err.message));

  // Another key's signature over this request.
  await assert.rejects(
    verifyCsr('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n'),
    CsrError,
  );
  await assert.rejects(verifyCsr('not a csr'), CsrError);
});

test('issued client certificate verifies against the CA and carries CN + clientAuth only', async () => {
  const ca = await testCa();
  const pair = await generateKeyPair();
  const { publicKey } = await verifyCsr(await createCsr(pair.keys, 'ignored'));
  const issued = await issueClientCertificate({ ca, publicKey, commonName: 'con_abc', validityDays: 7 });
  assert.equal(commonNameOf(issued.cert), 'con_abc');
  assert.ok(await isIssuedBy(issued.cert, ca.cert));
  assert.ok(await certificateMatchesKey(issued.cert, pair.keys));

  const node = new X509Certificate(issued.certPem);
  assert.ok(node.checkIssued(new X509Certificate(ca.cert.toString('pem'))));
  assert.ok(node.verify(new X509Certificate(ca.cert.toString('pem')).publicKey));
  assert.deepEqual(node.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(node.ca, false);
  assert.equal(normalizeSerial(node.serialNumber), issued.serial);
  assert.equal(node.fingerprint256, sha256Fingerprint(issued.certPem));
  const days = (issued.notAfter.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 6.99 && days <= 7, `validity ${days}`);

  const other = await testCa();
  assert.equal(await isIssuedBy(issued.cert, other.cert), false);
});

test('server certificate names dNSName and iPAddress SANs with serverAuth', async () => {
  const ca = await testCa();
  const pair = await generateKeyPair();
  const issued = await issueServerCertificate({
    ca,
    publicKey: pair.keys.publicKey,
    dnsNames: ['t.example', '*.t.example'],
    ipAddresses: ['127.0.0.1', '::1'],
    validityDays: 2,
  });
  const node = new X509Certificate(issued.certPem);
  assert.equal(node.subjectAltName, 'DNS:t.example, DNS:*.t.example, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  assert.deepEqual(node.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  assert.equal(node.checkHost('a.t.example'), '*.t.example');
  assert.equal(node.checkIP('::1'), '::1');
  assert.equal(new X509Certificate(ca.cert.toString('pem')).ca, true);
});

test('secret files are written 0600 even over a wider existing file', {
  skip: process.platform === 'win32',
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'db-pki-'));
  try {
    const path = join(dir, 'k.key');
    await writeSecretFile(path, 'a');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await writeSecretFile(path, 'b');
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
