/**
 * Rules both store implementations (sqlite/, postgres/) apply outside SQL: enum checks, the enrollment token's
 * format and hashing, the audit page size, the directory's checks and defaults. One copy, so the two stores answer alike.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { ID_PATTERN } from './ids.ts';
import type { AppPatch, ConnectorPatch, NewApp, PreAuth } from './types.ts';
import {
  LICENCE_SKUS,
  type IdentitySettings,
  type Licence,
  type LicenceSku,
  type OidcSettings,
  type Principal,
} from './directory-types.ts';
import { checkBackendTimeout, checkInternalUrl, checkSso, parseExternalUrl, requireSlug } from './validate.ts';
import { checkHsts, checkLinkTranslation, checkSessionCookie } from './app-web.ts';

export function checkPreAuth(value: string): PreAuth {
  if (value !== 'passthrough' && value !== 'idp')
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'preAuth: passthrough or idp');
  return value;
}

export function checkConnectorId(id: string): string {
  if (!ID_PATTERN.test(id) || !id.startsWith('con_'))
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'id: expected con_<16 hex>');
  return id;
}

export function checkTtlSeconds(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'ttlSeconds: must be positive');
  return ttlSeconds;
}

/** `dbe_<row id>.<secret>`: the id finds the row, the secret (32 random bytes, base64url) proves possession. */
const ENROLLMENT_TOKEN = /^dbe_(enr_[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export function newEnrollmentSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function formatEnrollmentToken(id: string, secret: string): string {
  return `dbe_${id}.${secret}`;
}

/** The row id and the secret, or null when the text is not an enrollment token at all. */
export function parseEnrollmentToken(token: unknown): { id: string; secret: string } | null {
  const match = typeof token === 'string' ? ENROLLMENT_TOKEN.exec(token) : null;
  return match ? { id: match[1], secret: match[2] } : null;
}

/** Only this hash is stored. */
export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/** Audit log paging: the default and the largest page. */
export const AUDIT_PAGE = { default: 50, max: 500 } as const;

/** App patch field → column, the same in both stores (externalHost follows externalUrl). */
export const APP_PATCH_COLUMNS: Record<keyof AppPatch, string> = {
  name: 'name',
  externalUrl: 'external_url',
  internalUrl: 'internal_url',
  groupId: 'group_id',
  preAuth: 'pre_auth',
  backendTimeout: 'backend_timeout',
  tlsVerify: 'tls_verify',
  backendCa: 'backend_ca',
  retryWrites: 'retry_writes',
  sso: 'sso',
  hsts: 'hsts',
  linkTranslation: 'link_translation',
  sessionCookie: 'session_cookie',
  enabled: 'enabled',
};

/** The JSON columns of a new app, checked and defaulted (both stores). */
export function newAppJsonColumns(input: NewApp): {
  sso: string;
  hsts: string | null;
  linkTranslation: string;
  sessionCookie: string;
} {
  const hsts = checkHsts(input.hsts ?? null);
  return {
    sso: JSON.stringify(checkSso(input.sso ?? { mode: 'none' })),
    hsts: hsts ? JSON.stringify(hsts) : null,
    linkTranslation: JSON.stringify(checkLinkTranslation(input.linkTranslation ?? {})),
    sessionCookie: JSON.stringify(checkSessionCookie(input.sessionCookie ?? {})),
  };
}

/**
 * An app patch checked field by field, as the columns to set (both stores): `sso` as JSON text, and `external_host`
 * derived from a new externalUrl. `externalHost` is returned too, for the uniqueness check.
 */
export function appPatchColumns(patch: AppPatch): { columns: [string, unknown][]; externalHost: string | undefined } {
  const given: AppPatch = { ...patch };
  let externalHost: string | undefined;
  if (given.name !== undefined) requireSlug('name', given.name);
  if (given.externalUrl !== undefined)
    ({ externalUrl: given.externalUrl, externalHost } = parseExternalUrl(given.externalUrl));
  if (given.internalUrl !== undefined) checkInternalUrl(given.internalUrl);
  if (given.preAuth !== undefined) checkPreAuth(given.preAuth);
  if (given.backendTimeout !== undefined) checkBackendTimeout(given.backendTimeout);
  const json: Partial<Record<keyof AppPatch, string | null>> = {};
  if (given.sso !== undefined) json.sso = JSON.stringify(checkSso(given.sso));
  if (given.hsts !== undefined) {
    const hsts = checkHsts(given.hsts);
    json.hsts = hsts ? JSON.stringify(hsts) : null;
  }
  if (given.linkTranslation !== undefined)
    json.linkTranslation = JSON.stringify(checkLinkTranslation(given.linkTranslation));
  if (given.sessionCookie !== undefined) json.sessionCookie = JSON.stringify(checkSessionCookie(given.sessionCookie));
  const columns: [string, unknown][] = [];
  for (const [key, column] of Object.entries(APP_PATCH_COLUMNS) as [keyof AppPatch, string][]) {
    const value = key in json ? json[key] : given[key];
    if (value !== undefined) columns.push([column, value]);
  }
  if (externalHost !== undefined) columns.push(['external_host', externalHost]);
  return { columns, externalHost };
}

/** Connector patch field → column. Only these can change: identity and tenant are fixed at enrollment, the certificate
 *  changes only by renewal (edge/enroll/renewal.ts). */
export const CONNECTOR_PATCH_COLUMNS: Record<keyof ConnectorPatch, string> = {
  name: 'name',
  enabled: 'enabled',
  groupId: 'group_id',
  version: 'version',
  hostname: 'hostname',
  lastSeenAt: 'last_seen_at',
  lastAddress: 'last_address',
  certSerial: 'cert_serial',
  certNotAfter: 'cert_not_after',
  previousCertSerial: 'previous_cert_serial',
};

// ---- The directory (directory-types.ts): the same checks and defaults in both stores. ----

const UPN = /^[a-z0-9._%+'-]+(@[a-z0-9.-]+)?$/;

export function normaliseUpn(upn: string): string {
  const value = upn.trim().toLowerCase();
  if (!UPN.test(value) || value.length > 254)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'upn must look like name or name@domain');
  return value;
}

/** What `users.findByLogin` looks up (lower-case, trimmed), or null when it cannot be anyone's login. */
export function loginKey(login: string): string | null {
  const value = login.trim().toLowerCase();
  return value && value.length <= 254 ? value : null;
}

export function checkDirectoryGroupName(name: string | undefined): string {
  const value = name?.trim();
  if (!value || value.length > 256)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'name is required (up to 256 characters)');
  return value;
}

/** The name a group mirrored from the identity provider gets when a local group already has its name. */
export const externalGroupName = (name: string, externalId: string, taken: boolean): string =>
  taken ? `${name} (${externalId})` : name;
export const EXTERNAL_GROUP_DESCRIPTION = 'From the identity provider';

export function checkSku(sku: string): LicenceSku {
  if (!(LICENCE_SKUS as readonly string[]).includes(sku))
    throw new DrawbridgeError('DB-ADMIN-INVALID', `sku must be one of ${LICENCE_SKUS.join(', ')}`);
  return sku as LicenceSku;
}

export function checkSeats(seats: number): number {
  if (!Number.isInteger(seats) || seats < 0)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'seats must be a whole number ≥ 0');
  return seats;
}

export function checkPrincipal(p: Principal): Principal {
  if (!p || (p.type !== 'user' && p.type !== 'group') || typeof p.id !== 'string') {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'principal must be {type: "user"|"group", id}');
  }
  return p;
}

export const noLicence = (sku: string): DrawbridgeError =>
  new DrawbridgeError('DB-ADMIN-NOT-FOUND', `the tenant has no ${sku} licence; set its seats first`);
export const seatsExceeded = (sku: string, seats: number, used: number): DrawbridgeError =>
  new DrawbridgeError(
    'DB-ADMIN-CONFLICT',
    `the ${sku} licence has ${seats} seats and this assignment would need ${used}`,
  );

/**
 * Whether a user holds a licence: direct assignments are seat-checked when made; group-based ones count only while
 * the pool is not oversubscribed.
 */
export const holdsLicence = (licence: Licence, direct: boolean, viaGroup: boolean): boolean =>
  direct || (viaGroup && licence.used <= licence.seats);

export const DEFAULT_IDLE_SECONDS = 8 * 3600;
export const DEFAULT_ABSOLUTE_SECONDS = 24 * 3600;

export function defaultIdentitySettings(tenantId: string): IdentitySettings {
  return {
    tenantId,
    requireMfa: false,
    sessionIdleSeconds: DEFAULT_IDLE_SECONDS,
    sessionAbsoluteSeconds: DEFAULT_ABSOLUTE_SECONDS,
    allowPersistentSessions: false,
    oidc: null,
  };
}

/** The settings after `patch`, checked; the OIDC block with its defaults filled in. */
export function mergeIdentitySettings(
  current: IdentitySettings,
  patch: Partial<Omit<IdentitySettings, 'tenantId'>>,
): IdentitySettings {
  const merged = { ...current, ...patch, tenantId: current.tenantId };
  if (!Number.isInteger(merged.sessionIdleSeconds) || merged.sessionIdleSeconds < 60)
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'sessionIdleSeconds must be ≥ 60');
  if (!Number.isInteger(merged.sessionAbsoluteSeconds) || merged.sessionAbsoluteSeconds < merged.sessionIdleSeconds) {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'sessionAbsoluteSeconds must be ≥ sessionIdleSeconds');
  }
  return { ...merged, oidc: merged.oidc ? checkOidc(merged.oidc) : null };
}

export function checkOidc(oidc: OidcSettings): OidcSettings {
  let issuer: URL;
  try {
    issuer = new URL(oidc.issuer);
  } catch {
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'oidc.issuer must be a URL');
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
  if (issuer.protocol !== 'https:' && !(loopback && oidc.allowInsecureLoopback))
    throw new DrawbridgeError('DB-ADMIN-INVALID', 'oidc.issuer must be https');
  if (!oidc.clientId) throw new DrawbridgeError('DB-ADMIN-INVALID', 'oidc.clientId is required');
  return {
    issuer: oidc.issuer,
    clientId: oidc.clientId,
    clientSecret: oidc.clientSecret ?? null,
    displayName: oidc.displayName || 'your organisation',
    scopes: oidc.scopes?.length ? oidc.scopes : ['openid', 'profile', 'email'],
    usernameClaim: oidc.usernameClaim || 'preferred_username',
    groupsClaim: oidc.groupsClaim || 'groups',
    autoCreateUsers: oidc.autoCreateUsers ?? true,
    allowInsecureLoopback: oidc.allowInsecureLoopback ?? false,
  };
}

/** What the sealed secrets are bound to (AES-GCM additional data), so a sealed value cannot be moved to another row. */
export const sealedFor = {
  totp: (tenantId: string, userId: string): string => `totp:${tenantId}:${userId}`,
  oidc: (tenantId: string): string => `oidc:${tenantId}`,
  tunnelCa: (): string => 'edge:tunnel-ca',
  signingKey: (kid: string): string => `edge:signing-key:${kid}`,
  appCertificate: (tenantId: string, appId: string): string => `edge:app-certificate:${tenantId}:${appId}`,
  acmeAccount: (directoryUrl: string): string => `edge:acme-account:${directoryUrl}`,
};

/** Page sizes of the directory's lists (users, sign-in log): the default and the largest. */
export const pageLimit = (limit: number | undefined): number => Math.min(Math.max(limit ?? 100, 1), 1000);

/** Users are paged by UPN; the cursor is the last UPN of the page, opaque to callers. */
export const userCursor = {
  encode: (upn: string): string => Buffer.from(upn).toString('base64url'),
  decode: (cursor: string | undefined): string => (cursor ? Buffer.from(cursor, 'base64url').toString() : ''),
};

/** The sign-in log is paged newest first by its sequence number; the cursor is the last one of the page. */
export const signinCursor = {
  encode: (seq: unknown): string => Buffer.from(String(seq)).toString('base64url'),
  decode(cursor: string): number {
    const seq = Number(Buffer.from(cursor, 'base64url').toString());
    if (!Number.isInteger(seq)) throw new DrawbridgeError('DB-ADMIN-INVALID', 'cursor is not valid');
    return seq;
  },
};

/** Sign-in log filter field → column (exact match); `since`/`until` bound the time, `cursor` the sequence. */
export const SIGNIN_FILTER_COLUMNS = {
  userId: 'user_id',
  username: 'username',
  appId: 'app_id',
  result: 'result',
  code: 'code',
  event: 'event',
  clientIp: 'client_ip',
} as const;

/** The sign-in log entry as stored: free text cut to size, detail never missing. */
export function signinEntryToStore<
  E extends { username: string | null; userAgent: string | null; detail?: Record<string, unknown> },
>(entry: E): E & { detail: Record<string, unknown> } {
  return {
    ...entry,
    username: entry.username?.slice(0, 256) ?? null,
    userAgent: entry.userAgent?.slice(0, 512) ?? null,
    detail: entry.detail ?? {},
  };
}
