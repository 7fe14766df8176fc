/**
 * Rules both store implementations (sqlite/, postgres/) apply outside SQL: enum checks, the enrollment token's
 * format and hashing, the audit page size. One copy, so the two stores answer alike.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DrawbridgeError } from '../errors/drawbridge-error.ts';
import { ID_PATTERN } from './ids.ts';
import type { AppPatch, ConnectorPatch, PreAuth } from './types.ts';
import { checkBackendTimeout, checkInternalUrl, checkSso, parseExternalUrl, requireSlug } from './validate.ts';

export function checkPreAuth(value: string): PreAuth {
  if (value !== 'passthrough' && value !== 'idp') throw new DrawbridgeError('DB-ADMIN-INVALID', 'preAuth: passthrough or idp');
  return value;
}

export function checkConnectorId(id: string): string {
  if (!ID_PATTERN.test(id) || !id.startsWith('con_')) throw new DrawbridgeError('DB-ADMIN-INVALID', 'id: expected con_<16 hex>');
  return id;
}

export function checkTtlSeconds(ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new DrawbridgeError('DB-ADMIN-INVALID', 'ttlSeconds: must be positive');
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
  enabled: 'enabled',
};

/**
 * An app patch checked field by field, as the columns to set (both stores): `sso` as JSON text, and `external_host`
 * derived from a new externalUrl. `externalHost` is returned too, for the uniqueness check.
 */
export function appPatchColumns(patch: AppPatch): { columns: [string, unknown][]; externalHost: string | undefined } {
  const given: AppPatch = { ...patch };
  let externalHost: string | undefined;
  if (given.name !== undefined) requireSlug('name', given.name);
  if (given.externalUrl !== undefined) ({ externalUrl: given.externalUrl, externalHost } = parseExternalUrl(given.externalUrl));
  if (given.internalUrl !== undefined) checkInternalUrl(given.internalUrl);
  if (given.preAuth !== undefined) checkPreAuth(given.preAuth);
  if (given.backendTimeout !== undefined) checkBackendTimeout(given.backendTimeout);
  const ssoText = given.sso === undefined ? undefined : JSON.stringify(checkSso(given.sso));
  const columns: [string, unknown][] = [];
  for (const [key, column] of Object.entries(APP_PATCH_COLUMNS) as [keyof AppPatch, string][]) {
    const value = key === 'sso' ? ssoText : given[key];
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
