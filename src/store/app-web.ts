/**
 * An app's web settings (issue 14): HSTS, link translation and its session cookie. Checked and defaulted here once,
 * for both stores and the admin API; each is one JSON column (text in SQLite, jsonb in PostgreSQL).
 */
import { DrawbridgeError } from '../errors/drawbridge-error.ts';

/** Strict-Transport-Security on every answer of the app's host; null (the default) sends none. */
export interface AppHsts {
  /** Seconds; RFC 6797 max-age. 0 tells browsers to forget an earlier policy. */
  maxAge: number;
  includeSubDomains: boolean;
}

/** Internal URLs of the tenant's apps → their external URLs (edge/proxy/link-translation.ts). */
export interface AppLinkTranslation {
  /** Location, Content-Location, Refresh, Link, Set-Cookie Domain/Path (default true). */
  headers: boolean;
  /** HTML, CSS, JavaScript and JSON bodies, streamed, compressed ones too (default false). */
  body: boolean;
}

/** The app session cookie the edge sets on the app host after sign-in (edge/signin/app-host.ts). */
export interface AppSessionCookie {
  /**
   * `user`: persistent when the user chose to stay signed in (and the tenant allows it) — the default;
   * `always`: persistent (Max-Age); `never`: a browser-session cookie.
   */
  persistent: 'user' | 'always' | 'never';
  /** Caps the app session (and a persistent cookie's Max-Age), never beyond the central session; null: no cap. */
  lifetimeSeconds: number | null;
  sameSite: 'Lax' | 'Strict' | 'None';
}

export const HSTS_MAX_AGE_LIMIT = 2 * 365 * 24 * 3600;
export const COOKIE_LIFETIME = { min: 60, max: 400 * 24 * 3600 } as const;
export const DEFAULT_LINK_TRANSLATION: AppLinkTranslation = { headers: true, body: false };
export const DEFAULT_SESSION_COOKIE: AppSessionCookie = { persistent: 'user', lifetimeSeconds: null, sameSite: 'Lax' };

const bad = (why: string): never => {
  throw new DrawbridgeError('DB-ADMIN-INVALID', why);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function checkHsts(value: unknown): AppHsts | null {
  if (value === null || value === false) return null;
  if (!isObject(value)) return bad('hsts: null (off) or { maxAge, includeSubDomains }');
  const maxAge = value.maxAge ?? 31536000;
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0 || maxAge > HSTS_MAX_AGE_LIMIT)
    bad(`hsts.maxAge: whole seconds from 0 to ${HSTS_MAX_AGE_LIMIT}`);
  const includeSubDomains = value.includeSubDomains ?? false;
  if (typeof includeSubDomains !== 'boolean') bad('hsts.includeSubDomains: true or false');
  return { maxAge: maxAge as number, includeSubDomains: includeSubDomains as boolean };
}

export function checkLinkTranslation(
  value: unknown,
  base: AppLinkTranslation = DEFAULT_LINK_TRANSLATION,
): AppLinkTranslation {
  if (!isObject(value)) return bad('linkTranslation: { headers, body }');
  const out = { ...base };
  for (const key of ['headers', 'body'] as const) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'boolean') bad(`linkTranslation.${key}: true or false`);
    out[key] = v as boolean;
  }
  return out;
}

export function checkSessionCookie(value: unknown, base: AppSessionCookie = DEFAULT_SESSION_COOKIE): AppSessionCookie {
  if (!isObject(value)) return bad('sessionCookie: { persistent, lifetimeSeconds, sameSite }');
  const out = { ...base };
  if (value.persistent !== undefined) {
    if (value.persistent !== 'user' && value.persistent !== 'always' && value.persistent !== 'never')
      bad('sessionCookie.persistent: user, always or never');
    out.persistent = value.persistent as AppSessionCookie['persistent'];
  }
  if (value.lifetimeSeconds !== undefined) {
    const v = value.lifetimeSeconds;
    if (
      v !== null &&
      (typeof v !== 'number' || !Number.isInteger(v) || v < COOKIE_LIFETIME.min || v > COOKIE_LIFETIME.max)
    ) {
      bad(`sessionCookie.lifetimeSeconds: null or whole seconds from ${COOKIE_LIFETIME.min} to ${COOKIE_LIFETIME.max}`);
    }
    out.lifetimeSeconds = v as number | null;
  }
  if (value.sameSite !== undefined) {
    if (value.sameSite !== 'Lax' && value.sameSite !== 'Strict' && value.sameSite !== 'None')
      bad('sessionCookie.sameSite: Lax, Strict or None');
    out.sameSite = value.sameSite as AppSessionCookie['sameSite'];
  }
  return out;
}

/** Stored JSON back to settings; a damaged value reads as the default rather than failing every request. */
export function parseStored<T>(text: string | null | undefined, check: (v: unknown) => T, fallback: T): T {
  if (!text) return fallback;
  try {
    return check(JSON.parse(text));
  } catch {
    return fallback;
  }
}

/** The header value, or null when the app sends none. */
export function hstsHeader(hsts: AppHsts | null): string | null {
  return hsts ? `max-age=${hsts.maxAge}${hsts.includeSubDomains ? '; includeSubDomains' : ''}` : null;
}
