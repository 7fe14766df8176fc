/**
 * Sealing of the edge's own secrets (the tunnel CA key, the assertion signing keys) for both stores: the key ring's
 * sealing key (the one TOTP secrets use; AAD keeps each value to its row), and one clear error when a value no longer
 * opens, which means the key ring was replaced (SQLite's identity.key, PostgreSQL's identity_keys row).
 */
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { open, seal, type KeyRing } from '../identity/keys.ts';

export function sealEdgeSecret(keys: KeyRing, plaintext: string, aad: string): string {
  return seal(keys.key('totp'), plaintext, aad);
}

export function openEdgeSecret(keys: KeyRing, sealed: string, aad: string): string {
  try {
    return open(keys.key('totp'), sealed, aad);
  } catch (err) {
    throw new DrawbridgeError(
      'DB-CONFIG-INVALID',
      `the store holds ${aad} but it does not open with the store's key ring (was identity.key or the identity_keys row replaced?). Restore the key ring and the database from one backup`,
      { cause: err },
    );
  }
}
