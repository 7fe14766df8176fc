import { SIGNING_ALGORITHM, x509, type CryptoKeyPair, type KeyAlgorithm } from './crypto.ts';

/** What a verified CSR gives the issuer: the requester's public key (the subject is ignored; the CA names it). */
export interface VerifiedCsr {
  publicKey: x509.PublicKey;
  /** The subject the requester asked for, for logs only. */
  subject: string;
}

/** Thrown by `verifyCsr`; the enroll handler maps it to DB-ENROLL-CSR-INVALID. */
export class CsrError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CsrError';
  }
}

/** A PKCS#10 request for `keys`, signed with ECDSA/SHA-256, subject `CN=<commonName>`. */
export async function createCsr(keys: CryptoKeyPair, commonName: string): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [commonName] }],
    keys,
    signingAlgorithm: SIGNING_ALGORITHM,
  });
  return csr.toString('pem');
}

const ALLOWED_CURVES = new Set(['P-256', 'P-384']);
/** PEM of a P-256 CSR is ~500 bytes; anything near this is not ours. */
const MAX_CSR_PEM_LENGTH = 16 * 1024;

/**
 * Parses a PEM PKCS#10 request, checks that it is an ECDSA P-256/P-384 key and that its self-signature verifies
 * (proof that the requester holds the private key). Throws CsrError with a safe reason otherwise.
 */
export async function verifyCsr(pem: string): Promise<VerifiedCsr> {
  if (
    typeof pem !== 'string' ||
    pem.length > MAX_CSR_PEM_LENGTH ||
    !pem.includes('-----BEGIN CERTIFICATE REQUEST-----')
  ) {
    throw new CsrError('not a PEM certificate request');
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(pem);
  } catch (err) {
    throw new CsrError('the certificate request does not parse', { cause: err });
  }
  let algorithm: KeyAlgorithm;
  try {
    algorithm = csr.publicKey.algorithm as KeyAlgorithm;
  } catch (err) {
    throw new CsrError('the public key does not parse', { cause: err });
  }
  if (algorithm.name !== 'ECDSA' || !algorithm.namedCurve || !ALLOWED_CURVES.has(algorithm.namedCurve)) {
    throw new CsrError('the key must be ECDSA P-256 or P-384');
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (err) {
    throw new CsrError('the signature does not verify', { cause: err });
  }
  if (!ok) throw new CsrError('the signature does not verify');
  return { publicKey: csr.publicKey, subject: csr.subject };
}
