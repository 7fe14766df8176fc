/**
 * Header SSO's signed assertion (`sso: headers` with `jwt: true`): the edge mints, for each request of a signed-in
 * user to such an app, a short-lived ES256 JWT and sends it on the tunnel stream (`x-drawbridge-assertion`); the
 * connector passes it to the backend. The signing key never leaves the edge: connectors hold no secret that could
 * forge an identity, and backends verify with the public keys the edge publishes at
 * `https://<login host>/.well-known/jwks.json` (also on the tunnel host).
 *
 * Claims: iss (the login host URL), sub (user id), aud (the app's external URL), iat/nbf/exp (60 s), jti, tid
 * (tenant), upn, email, name, groups, amr (how the user signed in), app (app id). Signing uses node:crypto directly
 * (synchronous, ~50 µs); a token is reused for the same user, app and identity while it has 30 s or more to live.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomUUID, sign, type KeyObject, type JsonWebKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeSecretFile } from '../../pki/files.ts';
import type { App } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';

export const JWKS_PATH = '/.well-known/jwks.json';
export const ASSERTION_LIFETIME_S = 60;
const REUSE_MIN_LEFT_S = 30;
const KEY_FILE = 'sso-signing-key.json';

export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicJwk: JsonWebKey;
}

/** RFC 7638 thumbprint of an EC public key: the key id. */
function thumbprint(jwk: JsonWebKey): string {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical).digest('base64url');
}

/** The edge's ES256 key: `<stateDir>/sso-signing-key.json` (0600), made on first use. */
export async function loadOrCreateSigningKey(stateDir: string): Promise<SigningKey> {
  const file = path.join(stateDir, KEY_FILE);
  let privateJwk: JsonWebKey;
  try {
    privateJwk = (JSON.parse(await readFile(file, 'utf8')) as { privateJwk: JsonWebKey }).privateJwk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
    await writeSecretFile(file, JSON.stringify({ created: new Date().toISOString(), privateJwk }) + '\n');
  }
  const privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
  const pub = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = thumbprint(pub);
  return { kid, privateKey, publicJwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, kid, alg: 'ES256', use: 'sig' } };
}

export function jwksDocument(keys: readonly SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Mints (or reuses) the assertion for `identity` at `app`; null for apps that do not ask for one. */
export function createAssertionMinter(key: SigningKey, issuer: () => string, clock: () => number = Date.now): (app: App, identity: Identity) => string | null {
  const header = b64({ alg: 'ES256', typ: 'JWT', kid: key.kid });
  const cache = new Map<string, { token: string; exp: number }>();
  return function mint(app, identity) {
    if (app.sso.mode !== 'headers' || !app.sso.jwt) return null;
    const now = Math.floor(clock() / 1000);
    const cacheKey = `${app.id}\u0000${app.updatedAt}\u0000${identity.userId}\u0000${identity.upn}\u0000${identity.email ?? ''}\u0000${identity.groups.join(',')}\u0000${identity.authMethods.join(',')}`;
    const hit = cache.get(cacheKey);
    if (hit && hit.exp - now >= REUSE_MIN_LEFT_S) return hit.token;
    const exp = now + ASSERTION_LIFETIME_S;
    const claims = {
      iss: issuer(), sub: identity.userId, aud: app.externalUrl, iat: now, nbf: now - 5, exp, jti: randomUUID(),
      tid: identity.tenantId, upn: identity.upn, email: identity.email, name: identity.displayName, groups: identity.groups,
      amr: identity.authMethods, app: app.id,
    };
    const input = `${header}.${b64(claims)}`;
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    const token = `${input}.${signature}`;
    if (cache.size >= 10_000) cache.clear();
    cache.set(cacheKey, { token, exp });
    return token;
  };
}
