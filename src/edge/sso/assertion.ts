/**
 * Header SSO's signed assertion (`sso: headers` with `jwt: true`): the edge mints, for each request of a signed-in
 * user to such an app, a short-lived ES256 JWT and sends it on the tunnel stream (`x-drawbridge-assertion`); the
 * connector passes it to the backend. The signing keys never leave the edge and its store: connectors hold no secret
 * that could forge an identity, and backends verify with the public keys the edge publishes at
 * `https://<login host>/.well-known/jwks.json` (also on the tunnel host).
 *
 * Claims: iss (the login host URL), sub (user id), aud (the app's external URL), iat/nbf/exp (60 s), jti, tid
 * (tenant), upn, email, name, groups, amr (how the user signed in), app (app id). Signing uses node:crypto directly
 * (synchronous, ~50 µs); a token is reused for the same user, app and identity while it has 30 s or more to live.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  sign,
  type KeyObject,
  type JsonWebKey,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { App, Store } from '../../store/types.ts';
import type { Identity } from '../../tunnel/protocol.ts';

export const JWKS_PATH = '/.well-known/jwks.json';
export const ASSERTION_LIFETIME_S = 60;
const REUSE_MIN_LEFT_S = 30;
/** Where versions before the shared store kept the key: imported once into an empty store. */
const FORMER_KEY_FILE = 'sso-signing-key.json';

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

/** The signing keys every edge node on the store shares: `published` go in the JWKS, `active` signs. */
export interface SigningKeys {
  active: SigningKey;
  published: SigningKey[];
}

/**
 * The deployment's ES256 keys, from the store (sealed there), the first made on first start: nodes starting together
 * offer theirs and the store keeps one. An edge upgrading from a version that kept `<stateDir>/sso-signing-key.json`
 * offers that key instead, so backends that cached its JWKS keep verifying. Several keys may be published (a rotation
 * keeps the old one until its tokens have expired); exactly one signs.
 */
export async function loadOrCreateSigningKeys(store: Pick<Store, 'edgeKeys'>, stateDir: string): Promise<SigningKeys> {
  let rows = await store.edgeKeys.listSigningKeys();
  if (!rows.some((r) => r.active)) {
    const privateJwk = (rows.length === 0 ? await readFormerKey(stateDir) : null) ?? newPrivateJwk();
    rows = await store.edgeKeys.ensureSigningKey({
      kid: signingKeyFrom(privateJwk).kid,
      privateJwk: JSON.stringify(privateJwk),
    });
  }
  const published = rows.map((r) => signingKeyFrom(JSON.parse(r.privateJwk) as JsonWebKey));
  const active = published[rows.findIndex((r) => r.active)];
  if (!active) throw new Error('the store holds signing keys but none is active');
  return { active, published };
}

/** A new ES256 private key, as a JWK (what the store keeps). */
export function newPrivateJwk(): JsonWebKey {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
}

async function readFormerKey(stateDir: string): Promise<JsonWebKey | null> {
  try {
    return (JSON.parse(await readFile(path.join(stateDir, FORMER_KEY_FILE), 'utf8')) as { privateJwk: JsonWebKey })
      .privateJwk;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

export function signingKeyFrom(privateJwk: JsonWebKey): SigningKey {
  const privateKey = createPrivateKey({ key: privateJwk, format: 'jwk' });
  const pub = createPublicKey(privateKey).export({ format: 'jwk' });
  const kid = thumbprint(pub);
  return {
    kid,
    privateKey,
    publicJwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y, kid, alg: 'ES256', use: 'sig' },
  };
}

export function jwksDocument(keys: readonly SigningKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.publicJwk) });
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Mints (or reuses) the assertion for `identity` at `app`; null for apps that do not ask for one. */
export function createAssertionMinter(
  key: SigningKey,
  issuer: () => string,
  clock: () => number = Date.now,
): (app: App, identity: Identity) => string | null {
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
      iss: issuer(),
      sub: identity.userId,
      aud: app.externalUrl,
      iat: now,
      nbf: now - 5,
      exp,
      jti: randomUUID(),
      tid: identity.tenantId,
      upn: identity.upn,
      email: identity.email,
      name: identity.displayName,
      groups: identity.groups,
      amr: identity.authMethods,
      app: app.id,
    };
    const input = `${header}.${b64(claims)}`;
    const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' }).toString(
      'base64url',
    );
    const token = `${input}.${signature}`;
    if (cache.size >= 10_000) cache.clear();
    cache.set(cacheKey, { token, exp });
    return token;
  };
}
