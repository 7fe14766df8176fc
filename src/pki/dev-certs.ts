import { join } from 'node:path';
import { x509 } from './crypto.ts';
import { generateKeyPair, importKeyPairPem } from './keys.ts';
import {
  certificateMatchesKey,
  certificateNames,
  createSelfSignedCa,
  DAY,
  isIssuedBy,
  issueServerCertificate,
  remainingMs,
  type CertificateAuthority,
} from './certificates.ts';
import { ensureSecretDir, PUBLIC_FILE_MODE, readTextIfExists, writeFileAtomic, writeSecretFile } from './files.ts';

export interface DevCertificates {
  caCertPath: string;
  certPath: string;
  keyPath: string;
}

const CA_NAME = 'Drawbridge Dev CA';
const CA_VALIDITY_DAYS = 3650;
/** Browsers refuse leaf certificates valid for more than 398 days. */
const SERVER_VALIDITY_DAYS = 397;
/** Reuse files only while they stay valid for at least this long. */
const MIN_REMAINING_MS = DAY;

/** The names one dev server certificate covers for `domain`. */
export function devServerNames(domain: string): { dnsNames: string[]; ipAddresses: string[] } {
  return { dnsNames: [domain, `*.${domain}`, 'localhost'], ipAddresses: ['127.0.0.1', '::1'] };
}

/**
 * A local "Drawbridge Dev CA" and one server certificate for `domain`, `*.domain`, localhost, 127.0.0.1 and ::1,
 * in `dir` (dev-ca.crt, dev-ca.key, dev-server.crt, dev-server.key; keys 0600).
 *
 * `domain` must have at least two labels (`apps.localhost`): OpenSSL, and so Node and curl, never match a wildcard
 * directly under one label, so `*.localhost` would cover nothing.
 *
 * Existing files are reused while valid for at least a day and, for the server certificate, issued by the CA on
 * disk for exactly these names; the CA is kept whenever it is still good, so a browser that trusts it keeps doing so.
 */
export async function createDevCertificates(dir: string, domain: string): Promise<DevCertificates> {
  domain = domain.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) {
    throw new RangeError(
      `dev domain must be a host name with at least two labels (like apps.localhost), got "${domain}"`,
    );
  }
  await ensureSecretDir(dir);
  const paths = {
    caCertPath: join(dir, 'dev-ca.crt'),
    caKeyPath: join(dir, 'dev-ca.key'),
    certPath: join(dir, 'dev-server.crt'),
    keyPath: join(dir, 'dev-server.key'),
  };
  const now = new Date();

  let ca = await loadCa(paths.caCertPath, paths.caKeyPath, now);
  let caIsNew = false;
  if (!ca) {
    const pair = await generateKeyPair();
    const cert = await createSelfSignedCa({
      commonName: CA_NAME,
      keys: pair.keys,
      validityDays: CA_VALIDITY_DAYS,
      now,
    });
    await writeSecretFile(paths.caKeyPath, pair.privateKeyPem);
    await writeFileAtomic(paths.caCertPath, cert.toString('pem'), PUBLIC_FILE_MODE);
    ca = { cert, keys: pair.keys };
    caIsNew = true;
  }

  const wanted = devServerNames(domain);
  if (caIsNew || !(await serverStillGood(paths.certPath, paths.keyPath, ca, wanted, now))) {
    const pair = await generateKeyPair();
    const issued = await issueServerCertificate({
      ca,
      publicKey: pair.keys.publicKey,
      ...wanted,
      commonName: domain,
      validityDays: SERVER_VALIDITY_DAYS,
      now,
    });
    await writeSecretFile(paths.keyPath, pair.privateKeyPem);
    await writeFileAtomic(paths.certPath, issued.certPem, PUBLIC_FILE_MODE);
  }
  return { caCertPath: paths.caCertPath, certPath: paths.certPath, keyPath: paths.keyPath };
}

async function loadCa(certPath: string, keyPath: string, now: Date): Promise<CertificateAuthority | null> {
  const [certPem, keyPem] = await Promise.all([readTextIfExists(certPath), readTextIfExists(keyPath)]);
  if (!certPem || !keyPem) return null;
  try {
    const cert = new x509.X509Certificate(certPem);
    if (cert.subject !== `CN=${CA_NAME}` || remainingMs(cert, now) < MIN_REMAINING_MS) return null;
    const keys = await importKeyPairPem(keyPem);
    if (!(await certificateMatchesKey(cert, keys))) return null;
    return { cert, keys };
  } catch {
    return null;
  }
}

async function serverStillGood(
  certPath: string,
  keyPath: string,
  ca: CertificateAuthority,
  wanted: { dnsNames: string[]; ipAddresses: string[] },
  now: Date,
): Promise<boolean> {
  const [certPem, keyPem] = await Promise.all([readTextIfExists(certPath), readTextIfExists(keyPath)]);
  if (!certPem || !keyPem) return false;
  try {
    const cert = new x509.X509Certificate(certPem);
    if (remainingMs(cert, now) < MIN_REMAINING_MS || !(await isIssuedBy(cert, ca.cert, now))) return false;
    const names = certificateNames(cert);
    if (!sameSet(names.dnsNames, wanted.dnsNames) || !sameSet(names.ipAddresses, wanted.ipAddresses)) return false;
    return await certificateMatchesKey(cert, await importKeyPairPem(keyPem));
  } catch {
    return false;
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
