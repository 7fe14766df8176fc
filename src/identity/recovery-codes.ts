/** One-time recovery codes for when the authenticator is lost: shown once, stored only as SHA-256 hashes. */
import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

export function generateRecoveryCodes(count = 10): string[] {
  const codes: string[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = randomBytes(10);
    let code = '';
    for (let j = 0; j < 10; j++) code += ALPHABET[bytes[j] % ALPHABET.length];
    codes.push(`${code.slice(0, 5)}-${code.slice(5)}`);
  }
  return codes;
}

/** Normalises what people type (case, spaces, missing dash) before hashing. */
export function hashRecoveryCode(code: string): string {
  const clean = code.toLowerCase().replace(/[^a-z0-9]/g, '');
  return createHash('sha256')
    .update(`${clean.slice(0, 5)}-${clean.slice(5)}`)
    .digest('hex');
}

export function looksLikeRecoveryCode(code: string): boolean {
  return /^[a-z0-9]{5}-?[a-z0-9]{5}$/i.test(code.trim());
}
