/**
 * The identity key ring: one 32-byte master key in `<stateDir>/identity.key` (0600), from which HKDF derives a
 * separate key per purpose (cookie signatures, sign-in state, TOTP secret encryption). Nothing else is secret.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyObject } from '../lib/key-object.ts';

/** `channel`: the command line's TCP channel tokens (edge/signin/cli-login.ts). */
export type KeyPurpose = 'cookie' | 'state' | 'totp' | 'csrf' | 'channel';

export interface KeyRing {
  key(purpose: KeyPurpose): Buffer;
}

export function keyRingFrom(master: Buffer): KeyRing {
  const cache = new Map<KeyPurpose, Buffer>();
  return {
    key(purpose) {
      let k = cache.get(purpose);
      if (!k) {
        k = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `drawbridge identity ${purpose} v1`, 32));
        cache.set(purpose, k);
      }
      return k;
    },
  };
}

export function loadKeyRing(stateDir: string): KeyRing {
  const file = join(stateDir, 'identity.key');
  let master: Buffer;
  try {
    master = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url');
    if (master.length !== 32) throw new Error(`${file} does not hold a 32-byte key`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirSync(stateDir, { recursive: true });
    master = randomBytes(32);
    try {
      writeFileSync(file, `${master.toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      return loadKeyRing(stateDir);
    }
  }
  return keyRingFrom(master);
}

/** AES-256-GCM: `v1.<iv>.<ciphertext>.<tag>` (base64url), with `aad` binding the value to its row. */
export function seal(key: Buffer, plaintext: string, aad: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyObject(key), iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
}

export function open(key: Buffer, sealed: string, aad: string): string {
  const [v, iv, ct, tag] = sealed.split('.');
  if (v !== 'v1' || !iv || ct === undefined || !tag) throw new Error('sealed value has an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', keyObject(key), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}

/** `value.signature` with HMAC-SHA256 (base64url); `purpose` keeps a cookie from passing as a state and vice versa. */
export function sign(key: Buffer, value: string): string {
  return `${value}.${createHmac('sha256', keyObject(key)).update(value).digest('base64url')}`;
}

/**
 * Signatures already verified, per key: a session cookie is checked on every request of its browser, and the HMAC
 * was the largest cost of a pre-authenticated request. Keyed by the whole signed text, so only an exact, previously
 * verified value hits; bounded, and cleared when full.
 */
const verified = new WeakMap<Buffer, Map<string, string>>();
const VERIFIED_MAX = 50_000;

/** The value if the signature is right (constant-time), else null. */
export function unsign(key: Buffer, signed: string): string | null {
  const known = verified.get(key)?.get(signed);
  if (known !== undefined) return known;
  const value = unsignUncached(key, signed);
  if (value !== null) {
    let cache = verified.get(key);
    if (!cache) verified.set(key, (cache = new Map()));
    if (cache.size >= VERIFIED_MAX) cache.clear();
    cache.set(signed, value);
  }
  return value;
}

function unsignUncached(key: Buffer, signed: string): string | null {
  const dot = signed.lastIndexOf('.');
  if (dot <= 0) return null;
  const value = signed.slice(0, dot);
  const expected = Buffer.from(createHmac('sha256', keyObject(key)).update(value).digest('base64url'));
  const actual = Buffer.from(signed.slice(dot + 1));
  return actual.length === expected.length && timingSafeEqual(actual, expected) ? value : null;
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
