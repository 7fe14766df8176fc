import { isIP } from 'node:net';
import { SIGNING_ALGORITHM, x509, type CryptoKey, type CryptoKeyPair } from './crypto.ts';
import { randomSerial } from './serial.ts';

const DAY_MS = 86_400_000;
/** Backdate notBefore a little so a peer whose clock lags still accepts a fresh certificate. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A CA that can sign: its certificate and the CryptoKey pair behind it. */
export interface CertificateAuthority {
  cert: x509.X509Certificate;
  keys: CryptoKeyPair;
}

export interface IssuedCertificate {
  cert: x509.X509Certificate;
  certPem: string;
  /** Lower-case hex, as `randomSerial()` makes it. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

function validity(now: Date, validityDays: number): { notBefore: Date; notAfter: Date } {
  if (!(validityDays > 0)) throw new RangeError(`validityDays must be positive, got ${validityDays}`);
  // X.509 times have one-second precision; round so what we report equals what is encoded.
  const start = Math.floor((now.getTime() - CLOCK_SKEW_MS) / 1000) * 1000;
  const end = Math.floor((now.getTime() + validityDays * DAY_MS) / 1000) * 1000;
  return { notBefore: new Date(start), notAfter: new Date(end) };
}

/** A self-signed CA: basicConstraints CA:TRUE pathlen 0 (critical), keyCertSign + cRLSign, subject key id. */
export async function createSelfSignedCa(opts: {
  commonName: string;
  keys: CryptoKeyPair;
  validityDays: number;
  now?: Date;
}): Promise<x509.X509Certificate> {
  const { notBefore, notAfter } = validity(opts.now ?? new Date(), opts.validityDays);
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.commonName] }],
    notBefore,
    notAfter,
    keys: opts.keys,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(opts.keys.publicKey),
    ],
  });
}

interface LeafOptions {
  ca: CertificateAuthority;
  publicKey: x509.PublicKey | CryptoKey;
  commonName: string;
  validityDays: number;
  now?: Date;
}

async function issueLeaf(opts: LeafOptions, extra: x509.Extension[]): Promise<IssuedCertificate> {
  const { notBefore, notAfter } = validity(opts.now ?? new Date(), opts.validityDays);
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: [{ CN: [opts.commonName] }],
    issuer: opts.ca.cert.subjectName,
    notBefore,
    notAfter,
    publicKey: opts.publicKey,
    signingKey: opts.ca.keys.privateKey,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      ...extra,
      await x509.SubjectKeyIdentifierExtension.create(opts.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(opts.ca.cert.publicKey),
    ],
  });
  return { cert, certPem: cert.toString('pem'), serial, notBefore, notAfter };
}

/**
 * A TLS server certificate: SANs are `dnsNames` (dNSName) and `ipAddresses` (iPAddress), EKU serverAuth. The CN is
 * the first name, for humans only (clients match SANs).
 */
export function issueServerCertificate(
  opts: Omit<LeafOptions, 'commonName'> & { dnsNames: string[]; ipAddresses?: string[]; commonName?: string },
): Promise<IssuedCertificate> {
  const names: x509.JsonGeneralName[] = [
    ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => {
      if (!isIP(value)) throw new RangeError(`not an IP address: ${value}`);
      return { type: 'ip' as const, value };
    }),
  ];
  if (names.length === 0) throw new RangeError('a server certificate needs at least one name');
  const commonName = opts.commonName ?? opts.dnsNames[0] ?? opts.ipAddresses![0];
  return issueLeaf({ ...opts, commonName }, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
    new x509.SubjectAlternativeNameExtension(names, false),
  ]);
}

/** A TLS client certificate: subject CN=<commonName>, EKU clientAuth, no SAN. */
export function issueClientCertificate(opts: LeafOptions): Promise<IssuedCertificate> {
  return issueLeaf(opts, [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false)]);
}

/**
 * An edge node's certificate for the relay between nodes: subject CN=<commonName>, EKU clientAuth and serverAuth (each
 * node both dials its peers and is dialled by them), no SAN (peers check the subject, not a host name).
 */
export function issueNodeCertificate(opts: LeafOptions): Promise<IssuedCertificate> {
  return issueLeaf(opts, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth], false),
  ]);
}

/** Splits a host into the SAN it needs: IP literals (with or without brackets) go to iPAddress, names to dNSName. */
export function sanForHost(host: string): { dnsNames: string[]; ipAddresses: string[] } {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) ? { dnsNames: [], ipAddresses: [bare] } : { dnsNames: [bare.toLowerCase()], ipAddresses: [] };
}

/** The dNSName and iPAddress entries of a certificate's SAN (empty when it has none). */
export function certificateNames(cert: x509.X509Certificate): { dnsNames: string[]; ipAddresses: string[] } {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const json = san ? san.names.toJSON() : [];
  return {
    dnsNames: json.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()),
    ipAddresses: json.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

/** The first CN of a certificate subject, or null. */
export function commonNameOf(cert: x509.X509Certificate): string | null {
  const values = cert.subjectName.getField('CN');
  return values.length > 0 ? values[0] : null;
}

/** True when `cert` was signed by `ca`'s key, and `at` falls within its validity. */
export async function isIssuedBy(
  cert: x509.X509Certificate,
  ca: x509.X509Certificate,
  at: Date = new Date(),
): Promise<boolean> {
  if (cert.issuer !== ca.subject) return false;
  return cert.verify({ publicKey: ca.publicKey, date: at });
}

/** Milliseconds from `now` until the certificate expires (negative once expired). */
export function remainingMs(cert: x509.X509Certificate, now: Date = new Date()): number {
  return cert.notAfter.getTime() - now.getTime();
}

/** True when the certificate carries the public half of `keys` (SPKI bytes compared). */
export async function certificateMatchesKey(
  cert: x509.X509Certificate,
  keys: { publicKey: CryptoKey },
): Promise<boolean> {
  const pub = await x509.PublicKey.create(keys.publicKey);
  return Buffer.from(pub.rawData).equals(Buffer.from(cert.publicKey.rawData));
}

export const DAY = DAY_MS;
