import { randomBytes } from 'node:crypto';

/**
 * A random positive 16-byte certificate serial as 32 lower-case hex digits. The first byte is kept in 0x40–0x7f so
 * the DER INTEGER is positive, minimal (no leading zero byte) and always the same length: 126 random bits.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x3f) | 0x40;
  return bytes.toString('hex');
}

/**
 * One spelling of a serial for comparisons and storage: lower-case hex, no separators, no leading zero bytes.
 * Node's X509Certificate reports upper case; @peculiar/x509 lower case.
 */
export function normalizeSerial(serial: string): string {
  let hex = serial.replace(/[^0-9a-fA-F]/g, '').toLowerCase();
  while (hex.length > 2 && hex.startsWith('00')) hex = hex.slice(2);
  return hex;
}
