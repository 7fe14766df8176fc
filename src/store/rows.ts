/**
 * Rows → the interface's records, once for both implementations. Only how a driver hands back a cell differs:
 * SQLite gives 0/1, ISO text and JSON text; PostgreSQL gives booleans, Dates and parsed jsonb. Each implementation
 * passes its `CellReaders`.
 */
import type { App, AuditEvent, Connector, ConnectorGroup, EnrollmentToken, PreAuth, Tenant } from './types.ts';
import type {
  AppAssignment,
  DirectoryGroup,
  IdentitySettings,
  LicenceAssignment,
  LicenceSku,
  OidcSettings,
  Principal,
  PrincipalType,
  SigninLogEntry,
  SigninResult,
  TotpEnrollment,
  User,
  WebAuthnCredential,
} from './directory-types.ts';
import { parseStoredSso } from './validate.ts';
import {
  checkHsts,
  checkLinkTranslation,
  checkSessionCookie,
  DEFAULT_LINK_TRANSLATION,
  DEFAULT_SESSION_COOKIE,
  parseStored,
} from './app-web.ts';

type Row = Record<string, unknown>;

export interface CellReaders {
  bool(v: unknown): boolean;
  /** A timestamp as the ISO text the interface uses. */
  time(v: unknown): string;
  /** A JSON column as JSON text (or null), for readers that re-check what they parse. */
  jsonText(v: unknown): string | null;
  /** A JSON object column. */
  object(v: unknown): Record<string, unknown>;
}

const str = (v: unknown): string => v as string;
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));

export function appFromRow(r: Row, read: CellReaders): App {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    name: str(r.name),
    externalUrl: str(r.external_url),
    externalHost: str(r.external_host),
    internalUrl: str(r.internal_url),
    groupId: str(r.group_id),
    preAuth: str(r.pre_auth) as PreAuth,
    backendTimeout: Number(r.backend_timeout),
    tlsVerify: read.bool(r.tls_verify),
    backendCa: strOrNull(r.backend_ca),
    retryWrites: read.bool(r.retry_writes),
    // The shared reader re-checks it: a damaged value reads as none.
    sso: parseStoredSso(read.jsonText(r.sso)),
    hsts: parseStored(read.jsonText(r.hsts), checkHsts, null),
    linkTranslation: parseStored(
      read.jsonText(r.link_translation),
      (v) => checkLinkTranslation(v),
      DEFAULT_LINK_TRANSLATION,
    ),
    sessionCookie: parseStored(read.jsonText(r.session_cookie), (v) => checkSessionCookie(v), DEFAULT_SESSION_COOKIE),
    enabled: read.bool(r.enabled),
    createdAt: read.time(r.created_at),
    updatedAt: read.time(r.updated_at),
  };
}

export function connectorFromRow(r: Row, read: CellReaders): Connector {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    groupId: str(r.group_id),
    name: str(r.name),
    enabled: read.bool(r.enabled),
    certSerial: str(r.cert_serial),
    certNotAfter: read.time(r.cert_not_after),
    previousCertSerial: strOrNull(r.previous_cert_serial),
    version: strOrNull(r.version),
    hostname: strOrNull(r.hostname),
    lastSeenAt: timeOrNull(r.last_seen_at, read),
    lastAddress: strOrNull(r.last_address),
    createdAt: read.time(r.created_at),
  };
}

export function groupFromRow(r: Row, read: CellReaders): ConnectorGroup {
  return { id: str(r.id), tenantId: str(r.tenant_id), name: str(r.name), createdAt: read.time(r.created_at) };
}

export function tenantFromRow(r: Row, read: CellReaders): Tenant {
  return {
    id: str(r.tenant_id),
    name: str(r.name),
    displayName: str(r.display_name),
    createdAt: read.time(r.created_at),
  };
}

export function tokenFromRow(r: Row, read: CellReaders): EnrollmentToken {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    groupId: str(r.group_id),
    expiresAt: read.time(r.expires_at),
    usedAt: timeOrNull(r.used_at, read),
    connectorId: strOrNull(r.connector_id),
    createdAt: read.time(r.created_at),
  };
}

export function auditFromRow(r: Row, read: CellReaders): AuditEvent {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    time: read.time(r.time),
    actor: str(r.actor),
    action: str(r.action),
    target: strOrNull(r.target),
    detail: read.object(r.detail),
  };
}

function timeOrNull(v: unknown, read: CellReaders): string | null {
  return v === null || v === undefined ? null : read.time(v);
}

// ---- The directory (directory-types.ts). ----

export function userFromRow(r: Row, read: CellReaders): User {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    upn: str(r.upn),
    displayName: str(r.display_name),
    email: strOrNull(r.email),
    onPremName: strOrNull(r.onprem_name),
    enabled: read.bool(r.enabled),
    source: str(r.source) as User['source'],
    hasPassword: r.password_hash !== null && r.password_hash !== undefined,
    failedCount: Number(r.failed_count),
    lockedUntil: timeOrNull(r.locked_until, read),
    lastSignInAt: timeOrNull(r.last_signin_at, read),
    createdAt: read.time(r.created_at),
    updatedAt: read.time(r.updated_at),
  };
}

export function directoryGroupFromRow(r: Row, read: CellReaders): DirectoryGroup {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    name: str(r.name),
    description: str(r.description),
    externalId: strOrNull(r.external_id),
    createdAt: read.time(r.created_at),
  };
}

const principalFromRow = (r: Row): Principal => ({
  type: str(r.principal_type) as PrincipalType,
  id: str(r.principal_id),
});

export function licenceAssignmentFromRow(r: Row, read: CellReaders): LicenceAssignment {
  return {
    tenantId: str(r.tenant_id),
    sku: str(r.sku) as LicenceSku,
    principal: principalFromRow(r),
    createdAt: read.time(r.created_at),
  };
}

export function appAssignmentFromRow(r: Row, read: CellReaders): AppAssignment {
  return {
    tenantId: str(r.tenant_id),
    appId: str(r.app_id),
    principal: principalFromRow(r),
    createdAt: read.time(r.created_at),
  };
}

export function webauthnFromRow(r: Row, read: CellReaders): WebAuthnCredential {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    userId: str(r.user_id),
    credentialId: str(r.credential_id),
    publicKey: str(r.public_key),
    counter: Number(r.counter),
    transports: JSON.parse(read.jsonText(r.transports) ?? '[]') as string[],
    name: str(r.name),
    createdAt: read.time(r.created_at),
    lastUsedAt: timeOrNull(r.last_used_at, read),
  };
}

/** The TOTP enrolment with its secret still sealed (the store opens it with its key ring). */
export function totpFromRow(r: Row, read: CellReaders): Omit<TotpEnrollment, 'secret'> & { sealed: string } {
  return {
    sealed: str(r.secret_sealed),
    confirmed: read.bool(r.confirmed),
    lastStep: r.last_step === null ? null : Number(r.last_step),
    createdAt: read.time(r.created_at),
  };
}

export function signinEntryFromRow(r: Row, read: CellReaders): SigninLogEntry {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    time: read.time(r.time),
    event: str(r.event),
    userId: strOrNull(r.user_id),
    username: strOrNull(r.username),
    appId: strOrNull(r.app_id),
    clientIp: strOrNull(r.client_ip),
    userAgent: strOrNull(r.user_agent),
    result: str(r.result) as SigninResult,
    code: strOrNull(r.code),
    authMethod: strOrNull(r.auth_method),
    mfaMethod: strOrNull(r.mfa_method),
    correlationId: strOrNull(r.correlation_id),
    detail: read.object(r.detail),
  };
}

/** Identity settings; `oidc` is the opened (decrypted) OIDC block, or null. */
export function identitySettingsFromRow(
  tenantId: string,
  r: Row,
  read: CellReaders,
  oidc: OidcSettings | null,
): IdentitySettings {
  return {
    tenantId,
    requireMfa: read.bool(r.require_mfa),
    sessionIdleSeconds: Number(r.session_idle),
    sessionAbsoluteSeconds: Number(r.session_absolute),
    allowPersistentSessions: read.bool(r.allow_persistent),
    oidc,
  };
}
