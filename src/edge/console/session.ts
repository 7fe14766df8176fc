/**
 * The console's own cookies, all host-only on `admin.<domain>` (`__Host-`, HttpOnly, Secure, SameSite=Lax):
 *
 * - a directory administrator's session is the app-host session the sign-in round trip sets
 *   (`__Host-drawbridge-session`, edge/signin/app-host.ts with the console's synthetic app): MFA, conditional access,
 *   revocation, sign-out everywhere and the periodic re-check of membership of a console group all apply;
 * - `__Host-drawbridge-console-tenant` remembers which tenant's directory to sign in with (signed; it grants nothing);
 * - `__Host-drawbridge-console` is a bootstrap-token session: signed, self-contained (any edge node verifies it),
 *   8 hours at most, bound to a hash of the token so that changing the token ends every such session.
 *
 * Every form carries a CSRF token: an HMAC of the session cookie's value, and an Origin that is not the console's
 * is refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { sign, unsign, type KeyRing } from '../../identity/keys.ts';
import { keyObject } from '../../lib/key-object.ts';
import { APP_COOKIE, parseCookies, serializeCookie } from '../signin/cookies.ts';

export const BOOTSTRAP_COOKIE = '__Host-drawbridge-console';
export const TENANT_COOKIE = '__Host-drawbridge-console-tenant';
export const BOOTSTRAP_SESSION_SECONDS = 8 * 3600;

const tokenTag = (token: string): string =>
  createHash('sha256').update(`console:${token}`).digest('base64url').slice(0, 16);

export function bootstrapCookie(keys: KeyRing, adminToken: string, now = Date.now()): string {
  const value = Buffer.from(
    JSON.stringify({ k: 'bootstrap', e: now + BOOTSTRAP_SESSION_SECONDS * 1000, t: tokenTag(adminToken) }),
  ).toString('base64url');
  return serializeCookie(BOOTSTRAP_COOKIE, sign(keys.key('cookie'), value));
}

/** True when the request carries a live bootstrap session for the current token. */
export function hasBootstrapSession(
  keys: KeyRing,
  adminToken: string,
  req: IncomingMessage,
  now = Date.now(),
): boolean {
  const raw = parseCookies(req.headers.cookie).get(BOOTSTRAP_COOKIE);
  const value = raw ? unsign(keys.key('cookie'), raw) : null;
  if (!value) return false;
  try {
    const s = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { k?: string; e?: number; t?: string };
    return s.k === 'bootstrap' && typeof s.e === 'number' && s.e > now && s.t === tokenTag(adminToken);
  } catch {
    return false;
  }
}

export function tenantCookie(keys: KeyRing, tenantId: string): string {
  return serializeCookie(TENANT_COOKIE, sign(keys.key('cookie'), tenantId));
}

export function chosenTenant(keys: KeyRing, req: IncomingMessage): string | null {
  const raw = parseCookies(req.headers.cookie).get(TENANT_COOKIE);
  return raw ? unsign(keys.key('cookie'), raw) : null;
}

/** A digest compared in constant time, so a wrong token takes as long as a right one whatever its length. */
export function tokenMatches(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The CSRF token of the session this request carries (bootstrap or directory), or of none. */
export function csrfFor(keys: KeyRing, req: IncomingMessage): string {
  const cookies = parseCookies(req.headers.cookie);
  const binding = cookies.get(BOOTSTRAP_COOKIE) ?? cookies.get(APP_COOKIE) ?? 'anonymous';
  return createHmac('sha256', keyObject(keys.key('csrf')))
    .update(`console|${binding}`)
    .digest('base64url');
}

export function csrfOk(keys: KeyRing, req: IncomingMessage, origin: string, token: string | null): boolean {
  const o = req.headers.origin;
  if (o && o !== 'null' && o !== origin) return false;
  if (req.headers['sec-fetch-site'] === 'cross-site') return false;
  if (!token) return false;
  const expected = csrfFor(keys, req);
  return token.length === expected.length && timingSafeEqual(Buffer.from(token), Buffer.from(expected));
}
