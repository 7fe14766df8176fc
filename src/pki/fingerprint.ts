import { createHash } from 'node:crypto';
import { pemToDer, isPem } from './pem.ts';

/**
 * SHA-256 fingerprint of a certificate (DER bytes or PEM), in the colon-separated upper-case form that OpenSSL and
 * Node's `X509Certificate.fingerprint256` print.
 */
export function sha256Fingerprint(cert: string | Uint8Array): string {
  const der =
    typeof cert === 'string'
      ? isPem(cert, 'CERTIFICATE')
        ? pemToDer(cert, 'CERTIFICATE')
        : Buffer.from(cert, 'base64')
      : cert;
  const hex = createHash('sha256').update(der).digest('hex').toUpperCase();
  return hex.match(/../g)!.join(':');
}
