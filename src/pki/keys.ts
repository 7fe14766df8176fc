import { KEY_ALGORITHM, subtle, type CryptoKey, type CryptoKeyPair } from './crypto.ts';
import { derToPem, pemToDer } from './pem.ts';

export interface KeyPairPem {
  keys: CryptoKeyPair;
  /** PKCS#8 `PRIVATE KEY`. */
  privateKeyPem: string;
  /** SPKI `PUBLIC KEY`. */
  publicKeyPem: string;
}

/** A fresh ECDSA P-256 key pair, extractable so it can be written to disk once. */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const keys = (await subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  return {
    keys,
    privateKeyPem: await exportPrivateKeyPem(keys.privateKey),
    publicKeyPem: await exportPublicKeyPem(keys.publicKey),
  };
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return derToPem(new Uint8Array(await subtle.exportKey('pkcs8', key)), 'PRIVATE KEY');
}

export async function exportPublicKeyPem(key: CryptoKey): Promise<string> {
  return derToPem(new Uint8Array(await subtle.exportKey('spki', key)), 'PUBLIC KEY');
}

/**
 * Imports a PKCS#8 P-256 private key (as written by `exportPrivateKeyPem`) and derives its public key, so callers
 * holding only the key file get a usable pair.
 */
export async function importKeyPairPem(privateKeyPem: string): Promise<CryptoKeyPair> {
  const der = pemToDer(privateKeyPem, 'PRIVATE KEY');
  const privateKey = await subtle.importKey('pkcs8', der, KEY_ALGORITHM, true, ['sign']);
  // WebCrypto cannot derive a public key directly; the JWK of an EC private key carries x and y.
  const jwk = await subtle.exportKey('jwk', privateKey);
  const publicJwk = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const publicKey = await subtle.importKey('jwk', publicJwk, KEY_ALGORITHM, true, ['verify']);
  return { privateKey, publicKey };
}
