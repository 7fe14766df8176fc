/**
 * Password hashing: argon2id (Node's built-in `crypto.argon2`, OWASP parameters), stored as a PHC string
 * `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>` so parameters can be raised later without breaking old hashes.
 */
import { argon2, randomBytes, timingSafeEqual } from 'node:crypto';

export interface Argon2Params {
  /** Memory in KiB. */
  m: number;
  /** Passes. */
  t: number;
  /** Parallelism. */
  p: number;
}

export const DEFAULT_PARAMS: Argon2Params = { m: 19456, t: 2, p: 1 };
const TAG_LENGTH = 32;
/** Longer passwords are refused before hashing: argon2 cost is per byte of input only marginally, but bodies are bounded. */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, params: Argon2Params): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    argon2(
      'argon2id',
      {
        message: password,
        nonce: salt,
        parallelism: params.p,
        tagLength: TAG_LENGTH,
        memory: params.m,
        passes: params.t,
      },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string, params: Argon2Params = DEFAULT_PARAMS): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, params);
  return `$argon2id$v=19$m=${params.m},t=${params.t},p=${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

/** Hash of a random password: verified against when the user is unknown, so timing does not reveal who exists. */
let dummyHash: Promise<string> | null = null;

/**
 * Constant-time check of `password` against a stored PHC string. `stored = null` (unknown user, no password set)
 * still spends the same work and returns false.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const target = stored ?? (await (dummyHash ??= hashPassword(randomBytes(16).toString('hex'))));
  const match = PHC.exec(target);
  if (!match) return false;
  const params = { m: Number(match[1]), t: Number(match[2]), p: Number(match[3]) };
  const expected = Buffer.from(match[5], 'base64url');
  const actual = await derive(password, Buffer.from(match[4], 'base64url'), params);
  return actual.length === expected.length && timingSafeEqual(actual, expected) && stored !== null;
}

/** True when the stored hash uses weaker parameters than today's defaults (rehash on next successful sign-in). */
export function needsRehash(stored: string): boolean {
  const match = PHC.exec(stored);
  if (!match) return true;
  return Number(match[1]) < DEFAULT_PARAMS.m || Number(match[2]) < DEFAULT_PARAMS.t;
}

/** A readable random password for admin resets: 4 groups of 5 from an unambiguous alphabet (~100 bits). */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  let out = '';
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 5 === 0) out += '-';
    out += alphabet[bytes[i] % alphabet.length];
  }
  return out;
}
