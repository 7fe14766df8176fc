// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill loaded first.
// It is here only transitively (via @simplewebauthn/server): package.json should list reflect-metadata directly.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { webcrypto } from 'node:crypto';

/**
 * The one place that wires @peculiar/x509 to Node's WebCrypto. Every pki module imports `x509` from here so the
 * provider is set before first use.
 */
x509.cryptoProvider.set(globalThis.crypto);

export { x509 };

/** ECDSA P-256 with SHA-256: the only algorithm Drawbridge issues. */
export const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export const subtle = globalThis.crypto.subtle;

// The project compiles without the DOM lib: take the WebCrypto types from node:crypto.
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
export type KeyAlgorithm = webcrypto.KeyAlgorithm & { namedCurve?: string };
